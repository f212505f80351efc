"""Read a video's frames at times: the sampler every footage reader shares, and footage clips made
from the user's file on the fly (no transcoded copy).

Times are the source's real timestamps (VFR and 29.97 sources stay in sync), rotation is honoured,
VP8/VP9 alpha is decoded through libvpx and composited over black.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from .errors import MediaError
from .media import fit_frame, frame_rgb


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
        self._still: Optional[np.ndarray] = None
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
            still = self._still
            if still is None:
                still = self._still = self._open().at(0.0)
                self.close()
            u = (c.offset + i) / max(c.total - 1, 1)
            return fit_frame(still, c.width, c.height, c.mode, zoom=1.0 + c.push * u, out_format="yuv420p")
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
