"""Small PyAV helpers shared by backends and assembly: write a clip, probe a file, read frames.

FFmpeg vocabulary: container, stream, frame, packet, pts, time_base. Encoders are flushed explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from .errors import MediaError, MissingFileError


class ClipWriter:
    """Write RGB frames to an H.264 MP4 at an exact rate (frame ``i`` has pts ``i``).

    Parameters
    ----------
    path : Path
    width, height : int
        Even sizes.
    fps : Fraction
    crf : int
        Quality (lower is better); store clips use a near-transparent 12-16.
    preset : str
        x264 preset.
    """

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, *, crf: int = 14,
                 preset: str = "veryfast", threads: int = 0):
        import av

        self.path = Path(path)
        self.container = av.open(str(self.path), mode="w", format="mp4")
        self.stream = self.container.add_stream("libx264", rate=Fraction(fps))
        self.stream.width, self.stream.height = width, height
        self.stream.pix_fmt = "yuv420p"
        self.stream.time_base = 1 / Fraction(fps)
        self._frame_tb = 1 / Fraction(fps)
        self.stream.options = {"crf": str(crf), "preset": preset}
        self.stream.codec_context.thread_count = threads
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        """Encode one ``(H, W, 3)`` uint8 frame."""
        import av

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = self.frames
        frame.time_base = self._frame_tb
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def write_yuv(self, frame) -> None:
        """Encode an ``av.VideoFrame`` already in yuv420p at the stream size."""
        frame.pts = self.frames
        frame.time_base = self._frame_tb
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            try:
                self.container.close()
            except Exception:
                pass


@dataclass(frozen=True)
class VideoInfo:
    """What a media file holds, as far as the video is concerned."""

    path: Path
    width: int            # display width (after rotation)
    height: int           # display height
    coded_width: int
    coded_height: int
    rotation: int         # degrees to rotate decoded frames clockwise for display (0/90/180/270)
    fps: Optional[Fraction]
    duration: Optional[float]
    frames: Optional[int]
    has_audio: bool
    alpha: bool
    is_image: bool = False


def probe_video(path, *, field: str = "clip") -> VideoInfo:
    """Inspect a video or still image file.

    Raises
    ------
    MissingFileError, MediaError
    """
    import av

    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"{field}: {path}: no such file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise MediaError(f"{field}: {path}: not a readable video or image ({type(e).__name__}); "
                         "expected a video (mp4, mov, webm, mkv) or a still (png, jpg)") from None
    with container:
        if not container.streams.video:
            raise MediaError(f"{field}: {path}: has no video stream "
                             f"({'audio only' if container.streams.audio else 'no streams'}); expected a "
                             "video or a still image")
        vs = container.streams.video[0]
        cc = vs.codec_context
        fmt = container.format.name or ""
        is_image = fmt in ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe") or (
            vs.frames == 1 and cc.name in ("png", "mjpeg", "webp", "bmp", "tiff"))
        rotation = _rotation(container, vs)
        w, h = cc.width, cc.height
        dw, dh = (h, w) if rotation in (90, 270) else (w, h)
        fps = vs.average_rate or vs.guessed_rate or vs.base_rate
        duration = None
        if vs.duration is not None and vs.time_base is not None:
            duration = float(vs.duration * vs.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        alpha = cc.pix_fmt is not None and ("a" in cc.pix_fmt.replace("yuv", "").replace("nv", "")
                                            and cc.pix_fmt.startswith(("yuva", "rgba", "bgra", "argb", "gbrap")))
        if not alpha and cc.name in ("vp8", "vp9"):
            alpha = str(vs.metadata.get("alpha_mode", vs.metadata.get("ALPHA_MODE", "0"))) == "1"
        return VideoInfo(path, dw, dh, w, h, rotation, Fraction(fps) if fps else None, duration,
                         vs.frames or None, bool(container.streams.audio), alpha, is_image)


def _rotation(container, vs) -> int:
    """Clockwise display rotation: FFmpeg's display-matrix angle is counter-clockwise, so negate it.

    PyAV exposes the matrix on decoded frames (``VideoFrame.rotation``); one frame is decoded to read it.
    """
    tag = vs.metadata.get("rotate")
    if tag is not None:
        try:
            return int(tag) % 360
        except ValueError:
            pass
    try:
        for frame in container.decode(vs):
            return int(round(-float(getattr(frame, "rotation", 0) or 0))) % 360
    except Exception:  # undecodable first frame: report no rotation, decoding will fail clearly later
        return 0
    return 0


def iter_rgb(path, *, stream: int = 0, rotation: Optional[int] = None) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(seconds, (H, W, 3) uint8)`` for every decoded frame, rotated for display
    (``rotation=None`` reads it from the frames)."""
    import av

    with av.open(str(path)) as c:
        vs = c.streams.video[stream]
        vs.thread_type = "AUTO"
        for frame in c.decode(vs):
            t = float(frame.pts * vs.time_base) if frame.pts is not None else float(frame.time or 0.0)
            rgb = frame.to_ndarray(format="rgb24")
            if rotation is None:
                rotation = int(round(-float(getattr(frame, "rotation", 0) or 0))) % 360
            if rotation:
                rgb = np.rot90(rgb, k=-(rotation // 90))
            yield t, rgb


ALPHA_FORMATS = ("yuva", "rgba", "bgra", "argb", "abgr", "gbrap", "ya8", "ya16")


def has_alpha(frame) -> bool:
    """True when a decoded frame's pixel format carries an alpha plane."""
    return frame.format.name.startswith(ALPHA_FORMATS)


def frame_rgb(frame) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB of a decoded frame; a frame with alpha is composited over black."""
    if has_alpha(frame):
        rgba = frame.to_ndarray(format="rgba").astype(np.uint16)
        a = rgba[..., 3:4]
        return ((rgba[..., :3] * a + 127) // 255).astype(np.uint8)
    return frame.to_ndarray(format="rgb24")


MIN_SCALE_SIDE = 16


def _enlarge_tiny(rgb: np.ndarray) -> np.ndarray:
    """Nearest-neighbour enlarge a frame smaller than :data:`MIN_SCALE_SIDE` on a side (a 1x1 clip)
    so swscale can take it; the picture (flat blocks) is what a scaler would make of it anyway."""
    h, w = rgb.shape[:2]
    if h >= MIN_SCALE_SIDE and w >= MIN_SCALE_SIDE:
        return rgb
    k = -(-MIN_SCALE_SIDE // min(h, w))
    return np.repeat(np.repeat(rgb, k, axis=0), k, axis=1)


def fit_frame(rgb: np.ndarray, width: int, height: int, mode: str = "cover", *, zoom: float = 1.0,
              centre: tuple[float, float] = (0.5, 0.5), out_format: str = "rgb24"):
    """Conform a frame to ``width x height``.

    ``cover`` crops to the target aspect then scales (no bars); ``contain`` scales to fit inside and
    pads with black. ``zoom > 1`` crops further around ``centre`` (camera push). Scaling is done by
    swscale (bicubic) in one pass, optionally straight to ``yuv420p`` (``out_format``).

    Returns
    -------
    numpy.ndarray or av.VideoFrame
        RGB ``(height, width, 3)`` uint8 for ``rgb24``, else an ``av.VideoFrame`` in ``out_format``.
    """
    import av

    rgb = _enlarge_tiny(rgb)
    h, w = rgb.shape[:2]
    target = width / height
    if mode == "contain":
        scale = min(width / w, height / h) * zoom
        nw, nh = max(2, int(round(w * scale / 2)) * 2), max(2, int(round(h * scale / 2)) * 2)
        nw, nh = min(nw, width), min(nh, height)
        small = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
            width=nw, height=nh, interpolation="BICUBIC").to_ndarray(format="rgb24")
        canvas = np.zeros((height, width, 3), dtype=np.uint8)
        y0, x0 = (height - nh) // 2, (width - nw) // 2
        canvas[y0:y0 + nh, x0:x0 + nw] = small
        if out_format == "rgb24":
            return canvas
        return av.VideoFrame.from_ndarray(canvas, format="rgb24").reformat(format=out_format)
    # cover: the largest window of the target aspect, shrunk by zoom, around centre
    if w / h > target:
        cw, ch = h * target, float(h)
    else:
        cw, ch = float(w), w / target
    cw, ch = cw / zoom, ch / zoom
    cx = min(max(centre[0] * w, cw / 2), w - cw / 2)
    cy = min(max(centre[1] * h, ch / 2), h - ch / 2)
    x0, y0 = int(round(cx - cw / 2)), int(round(cy - ch / 2))
    x1, y1 = min(w, x0 + max(1, int(round(cw)))), min(h, y0 + max(1, int(round(ch))))
    crop = rgb[max(0, y0):y1, max(0, x0):x1]
    if crop.shape[0] == height and crop.shape[1] == width and out_format == "rgb24":
        return np.ascontiguousarray(crop)
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(crop), format="rgb24")
    out = frame.reformat(width=width, height=height, format=out_format, interpolation="BICUBIC")
    return out.to_ndarray(format="rgb24") if out_format == "rgb24" else out


class FrameSampler:
    """Sample a video at arbitrary increasing times, streaming (holds two decoded frames).

    ``at(t)`` returns the frame on screen at ``t`` seconds (the last frame whose timestamp is <= t),
    so VFR sources are retimed on their real timestamps. Times must not decrease; ``restart()`` rewinds.
    """

    def __init__(self, path, *, rotation: Optional[int] = None, field: str = "clip"):
        self.path = Path(path)
        self.rotation = rotation
        self.field = field
        self._open()

    def _open(self):
        import av

        try:
            self._container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError) as e:
            raise MediaError(f"{self.field}: {self.path}: cannot be decoded ({type(e).__name__})") from None
        if not self._container.streams.video:
            self._container.close()
            raise MediaError(f"{self.field}: {self.path}: has no video stream; expected a video or a still image")
        vs = self._container.streams.video[0]
        vs.thread_type = "AUTO"
        self._stream = vs
        self._frames = _decode_with_alpha(self._container, vs)
        self._t0 = None
        self._cur = self._next = None
        self._advance()
        self._cur = self._next
        self._advance()
        if self._cur is None:
            raise MediaError(f"{self.field}: {self.path}: has no decodable video frames")

    def _advance(self):
        import av

        try:
            frame = next(self._frames)
        except StopIteration:
            self._next = None
            return
        except av.error.FFmpegError as e:
            raise MediaError(f"{self.field}: {self.path}: decoding failed ({e})") from None
        t = float(frame.pts * self._stream.time_base) if frame.pts is not None else float(frame.time or 0)
        if self._t0 is None:
            self._t0 = t
        rot = self.rotation
        if rot is None:
            rot = self.rotation = int(round(-float(getattr(frame, "rotation", 0) or 0))) % 360
        self._next = (t - self._t0, frame, rot)

    def at(self, t: float) -> np.ndarray:
        """RGB frame showing at ``t`` seconds from the first frame (display-rotated)."""
        self.at_raw(t)
        return self._rgb(self._cur)

    def frame_at(self, t: float):
        """``(av.VideoFrame, rotation)`` of the frame showing at ``t`` (as :meth:`at`, undecoded to RGB)."""
        self.at_raw(t)
        return self._cur[1], self._cur[2]

    def at_raw(self, t: float) -> None:
        while self._next is not None and self._next[0] <= t + 1e-6:
            self._cur = self._next
            self._advance()

    def blend_at(self, t: float) -> np.ndarray:
        """Like :meth:`at`, but between two source frames the picture is their mix weighted by where
        ``t`` falls between their timestamps (frame blending for slowed-down or low-rate sources)."""
        cur = self.at(t)
        if self._next is None:
            return cur
        t0, t1 = self._cur[0], self._next[0]
        w = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
        if w <= 1e-3:
            return cur
        nxt = self._rgb(self._next)
        return ((cur.astype(np.float32) * (1.0 - w) + nxt.astype(np.float32) * w) + 0.5).astype(np.uint8)

    @staticmethod
    def _rgb(item) -> np.ndarray:
        _, frame, rot = item
        rgb = frame_rgb(frame)
        if rot:
            rgb = np.ascontiguousarray(np.rot90(rgb, k=-(rot // 90)))
        return rgb

    def seek(self, t: float) -> None:
        """Jump to the keyframe at or before ``t`` (seconds from the first frame), so that reading
        from ``t`` on does not decode everything before it. Frames decoded from a keyframe are the
        frames a decode from the start gives (closed GOPs: H.264 IDR, VP8/VP9); a seek that lands
        past ``t`` falls back to decoding from the start."""
        vs = self._stream
        if vs.time_base is None or t <= 1.0:
            return
        target = int((self._t0 + max(0.0, t - 0.5)) / float(vs.time_base))
        try:
            self._container.seek(target, stream=vs, backward=True)
        except Exception:  # not seekable: decode from the start
            self.restart()
            return
        t0 = self._t0
        self._frames = _decode_with_alpha(self._container, vs)
        self._cur = self._next = None
        self._advance()
        self._cur = self._next
        self._advance()
        self._t0 = t0
        if self._cur is None or self._cur[0] > t + 1e-6:
            self.restart()

    @property
    def exhausted(self) -> bool:
        return self._next is None

    def restart(self):
        self.close()
        self._open()

    def close(self):
        try:
            self._container.close()
        except Exception:
            pass


class FootageFrames:
    """The frames of a footage clip made from the user's file on the fly (see
    :class:`songreel.schema.clip.FootageConform`): no transcoded copy exists.

    Frames are asked for in increasing order (a looping shot rewinds the decoder by itself); with
    ``seek`` the decoder jumps to the keyframe before the first frame asked for (the tail frames made
    for chaining), otherwise it decodes from the start, which is exact for any stream. A
    source frame already yuv420p at the output size, unrotated and without alpha, is returned as the
    decoded ``av.VideoFrame`` itself (no conversion); others are fitted by :func:`fit_frame`.
    """

    def __init__(self, conform, *, field: str = "clip", seek: bool = False):
        self.c = conform
        self.field = field
        self.seek = seek
        self._sampler: Optional[FrameSampler] = None
        self._still = None
        self._last_t = -1.0

    def _open(self) -> FrameSampler:
        if self._sampler is None:
            self._sampler = FrameSampler(self.c.source, field=self.field)
        return self._sampler

    def source_time(self, i: int) -> float:
        """Seconds into the source shown by clip frame ``i``."""
        c = self.c
        fps = float(c.fps)
        t = (c.offset + i) / fps
        if c.fit == "stretch":
            t = t * c.usable / max(c.total / fps, 1e-9)
        elif c.fit == "loop":
            t = t % c.usable
        else:  # hold the last frame
            t = min(t, c.usable - 1e-3)
        return t + c.start_in

    def picture(self, i: int):
        """Clip frame ``i`` as an ``av.VideoFrame`` in yuv420p at the clip size."""
        c = self.c
        if c.still:
            if self._still is None:
                self._still = self._open().at(0.0)
                self.close()
            u = (c.offset + i) / max(c.total - 1, 1)
            return fit_frame(self._still, c.width, c.height, c.mode, zoom=1.0 + c.push * u, out_format="yuv420p")
        t = self.source_time(i)
        fresh = self._sampler is None
        sampler = self._open()
        if t < self._last_t:
            sampler.restart()
            fresh = True
        if fresh and self.seek:
            sampler.seek(t)
        self._last_t = t
        if c.fit == "stretch":  # a slowed-down clip blends neighbouring frames instead of stuttering
            return fit_frame(sampler.blend_at(t), c.width, c.height, c.mode, out_format="yuv420p")
        frame, rot = sampler.frame_at(t)
        if not rot and frame.format.name == "yuv420p" and frame.width == c.width and frame.height == c.height:
            return frame
        return fit_frame(FrameSampler._rgb((0.0, frame, rot)), c.width, c.height, c.mode, out_format="yuv420p")

    def rgb(self, i: int) -> np.ndarray:
        """Clip frame ``i`` as ``(H, W, 3)`` uint8 RGB (what the screen shows, for chaining)."""
        return self.picture(i).to_ndarray(format="rgb24")

    def close(self) -> None:
        if self._sampler is not None:
            self._sampler.close()
            self._sampler = None


def clip_frame_rgb(clip, index: int) -> np.ndarray:
    """RGB ``(H, W, 3)`` of frame ``index`` of a :class:`~songreel.schema.clip.ClipRef` (a stored clip
    decoded in order, or footage made on the fly from its source)."""
    import av

    if clip.conform is not None:
        frames = FootageFrames(clip.conform)
        try:
            return frames.rgb(min(max(index, 0), clip.frames - 1))
        finally:
            frames.close()
    last = None
    with av.open(str(clip.path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            last = frame
            if i >= index:
                break
    if last is None:
        raise MediaError(f"{clip.path}: clip has no frames")
    return last.to_ndarray(format="rgb24")


def _decode_with_alpha(container, vs):
    """Decode ``vs``; VP8/VP9 with an alpha channel (WebM ``alpha_mode=1``) go through libvpx, the
    decoder that reads the alpha side data (FFmpeg's native VP9 decoder drops it)."""
    import av

    cc = vs.codec_context
    alpha = str(vs.metadata.get("alpha_mode", vs.metadata.get("ALPHA_MODE", "0"))) == "1"
    lib = {"vp9": "libvpx-vp9", "vp8": "libvpx"}.get(cc.name)
    if alpha and lib and lib in av.codecs_available:
        ctx = av.CodecContext.create(lib, "r")

        def frames():
            for packet in container.demux(vs):
                if packet.size == 0:  # the demuxer's end marker: flushed below, once
                    continue
                for frame in ctx.decode(packet):
                    if frame.pts is None:
                        frame.pts = packet.pts
                    yield frame
            for frame in ctx.decode(None):
                yield frame

        return frames()
    return container.decode(vs)


def media_duration(path, *, field: str = "clip") -> float:
    """Duration in seconds from the last frame's timestamp + one frame (works without a container duration)."""
    info = probe_video(path, field=field)
    if info.duration and info.frames:
        return info.duration
    import av

    last = None
    first = None
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        for packet in c.demux(vs):
            if packet.pts is None:
                continue
            t = float(packet.pts * vs.time_base)
            first = t if first is None else min(first, t)
            last = t if last is None else max(last, t)
        step = 1 / float(info.fps) if info.fps else 0.04
    if last is None:
        raise MediaError(f"{field}: {path}: has no video packets")
    return last - first + step
