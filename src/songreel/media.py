"""Small PyAV helpers shared by backends and assembly: write a clip, probe a file, convert and fit frames
(reading frames at times lives in :mod:`songreel.sampling`).

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

    def write_planes(self, planes: np.ndarray) -> None:
        """Encode one packed yuv420p ``(H * 3 // 2, W)`` uint8 frame."""
        import av

        self.write_yuv(av.VideoFrame.from_ndarray(planes, format="yuv420p"))

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


def media_duration(path, *, field: str = "clip") -> float:
    """Duration in seconds from the last frame's timestamp + one frame (works without a container duration)."""
    info = probe_video(path, field=field)
    if info.duration and info.frames:
        return info.duration
    import av

    last: Optional[float] = None
    first: Optional[float] = None
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        for packet in c.demux(vs):
            if packet.pts is None:
                continue
            t = float(packet.pts * vs.time_base)
            first = t if first is None else min(first, t)
            last = t if last is None else max(last, t)
        step = 1 / float(info.fps) if info.fps else 0.04
    if last is None or first is None:
        raise MediaError(f"{field}: {path}: has no video packets")
    return last - first + step
