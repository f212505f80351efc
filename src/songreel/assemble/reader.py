"""Stream a shot's frames at project frame numbers from its clips (one decoder open at a time).

A footage clip (``clip.conform`` set) is no file of its own: its frames are made from the user's
source on the fly by :class:`songreel.sampling.FootageFrames` (decoded, retimed, rotated, fitted).
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Iterator, Optional, Union

import numpy as np

from ..schema.clip import ClipRef
from ..schema.plan import PlannedShot

if TYPE_CHECKING:
    import av

    from ..sampling import FootageFrames

Picture = Union["av.VideoFrame", np.ndarray]


def decoder_thread_count(requested: int = 0) -> int:
    """Threads for one clip decoder: ``requested``, or for 0 a quarter of the cores (at least 1).

    Decoding the store's clips is 5-10 % of the CPU of the x264 encode they feed, and at most two
    decoders are open at once (a transition). FFmpeg's own choice (cores + 1 frame threads per
    decoder) only adds frames in flight — memory — and threads that compete with x264's: on 2 cores
    one thread per decoder, running in the compose thread, keeps x264 fed at the same speed with
    ~30-45 MiB less peak RSS (docs/benchmarks.md, issue 9).
    """
    if requested and requested > 0:
        return int(requested)
    return max(1, (os.cpu_count() or 1) // 4)


class ShotReader:
    """Yield a shot's picture for increasing project frames at the project size.

    Clip ``j`` covers project frames ``[segment.start, segment.end)``; project frame ``f`` falls at clip
    position ``p = lead + (f - segment.start) * clip.fps / fps`` (exact rational time). ``nearest``
    shows frame ``floor(p)``; ``blend`` / ``flow`` make the in-between picture from ``floor(p)`` and
    the next frame (see :mod:`.retime`); ``auto`` blends clips at 16 fps or less in a 24 fps project.

    :meth:`frame` returns the decoded ``av.VideoFrame`` itself when it is already yuv420p at the
    project size and needs no blending (the pass-through path: no copy to numpy and back); otherwise a
    packed yuv420p ``(H * 3 // 2, W)`` array. :meth:`planes` always returns the array.

    ``tap`` (e.g. :class:`songreel.qa.tap.ShotTap`) sees every clip frame as it is decoded:
    ``tap.frame(segment, k, picture)`` for clip frame ``k`` and ``tap.end(segment, frames)`` when a
    clip has no more.
    """

    def __init__(self, shot: PlannedShot, clips: tuple[ClipRef, ...], fps: Fraction, width: int, height: int,
                 *, interpolate: str = "auto", decoder_threads: int = 0, tap: Any = None):
        self.shot = shot
        self.clips = clips
        self.fps = Fraction(fps)
        self.width, self.height = width, height
        self.interpolate = interpolate
        self.decoder_threads = decoder_threads
        self.tap = tap
        self._count = 0           # clip frames decoded from the open clip
        self._seg = -1
        self._container: Optional[Any] = None    # the open av container of a rendered clip
        self._iter: Optional[Iterator[Any]] = None  # the open clip's frames
        self._index = -1          # clip index of self._cur
        self._cur: Optional[Any] = None  # decoded frames (av.VideoFrame): current and the one after it
        self._next: Optional[Any] = None
        self._ended = False
        self._mode = "nearest"
        self._footage: Optional[FootageFrames] = None
        self.stats = {"decoded": 0, "blended": 0, "conformed": 0}

    def _open(self, j: int):
        import av

        from . import retime

        self.close()
        self._count = 0
        clip = self.clips[j]
        if clip.conform is not None:  # the user's footage, conformed on the fly
            from ..sampling import FootageFrames

            footage = FootageFrames(clip.conform, field=f"shot {self.shot.index + 1}: clip")
            self._iter = (footage.picture(i) for i in range(clip.frames))
            self._footage = footage
            self._seg = j
            self._index = -1
            self._cur = self._next = None
            self._ended = False
            self._mode = retime.resolve_mode(self.interpolate, clip.fps, self.fps)
            return
        try:
            self._container = av.open(str(clip.path))
        except (av.error.FFmpegError, OSError) as e:
            from ..errors import MediaError

            raise MediaError(f"shot {self.shot.index + 1}: clip {clip.path}: cannot be decoded "
                             f"({type(e).__name__})") from None
        container = self._container
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = decoder_thread_count(self.decoder_threads)
        self._iter = container.decode(stream)
        self._seg = j
        self._index = -1
        self._cur = self._next = None
        self._ended = False
        self._mode = retime.resolve_mode(self.interpolate, clip.fps, self.fps)

    def _decode(self) -> Optional[Any]:
        if self._ended or self._iter is None:
            return None
        try:
            frame = next(self._iter)
        except StopIteration:
            self._ended = True
            if self.tap is not None:
                self.tap.end(self._seg, self._count)
            return None
        if self.tap is not None:
            self.tap.frame(self._seg, self._count, frame)
        self._count += 1
        self.stats["decoded"] += 1
        return frame

    def _seek_to(self, want: int) -> Any:
        """Advance so that ``self._cur`` is clip frame ``want`` (or the last one there is); returns it."""
        cur = self._cur
        if cur is None:
            cur = self._cur = self._decode()
            self._index = 0
            if cur is None:
                from ..errors import MediaError

                raise MediaError(f"shot {self.shot.index + 1}: clip {self.clips[self._seg].path}: has no "
                                 "decodable video frames")
            self._next = self._decode()
        while self._index < want and self._next is not None:
            cur, self._next = self._next, self._decode()
            self._cur = cur
            self._index += 1
        return cur

    def _position(self, f: int) -> tuple[int, Fraction, ClipRef]:
        segs = self.shot.segments
        j = next((k for k, s in enumerate(segs) if s.start <= f < s.end), len(segs) - 1 if f >= segs[-1].end else 0)
        if j != self._seg:
            self._open(j)
        seg, clip = segs[j], self.clips[j]
        p = clip.lead + Fraction(f - seg.start) * Fraction(clip.fps) / self.fps
        p = min(max(p, Fraction(0)), Fraction(max(clip.frames - 1, 0)))
        return j, p, clip

    def frame(self, f: int) -> Picture:
        """The picture of project frame ``f`` (must not decrease): an ``av.VideoFrame`` on the
        pass-through path, else packed yuv420p planes."""
        _, p, clip = self._position(f)
        i = int(p)  # floor: p >= 0
        t = p - i
        frame = self._seek_to(i)
        if t and self._mode != "nearest" and self._next is not None and self._index == i:
            a, b = self._as_planes(frame), self._as_planes(self._next)
            self.stats["blended"] += 1
            from . import retime

            if self._mode == "flow":
                return retime.flow(a, b, float(t), self.height)
            return retime.blend(a, b, float(t))
        if frame.width == self.width and frame.height == self.height and frame.format.name == "yuv420p":
            return frame
        return self._as_planes(frame)

    def planes(self, f: int) -> np.ndarray:
        """``(H * 3 // 2, W)`` uint8 yuv420p of project frame ``f`` (must not decrease)."""
        pic = self.frame(f)
        return pic if isinstance(pic, np.ndarray) else pic.to_ndarray()

    def _as_planes(self, frame) -> np.ndarray:
        if frame.width == self.width and frame.height == self.height and frame.format.name == "yuv420p":
            return frame.to_ndarray()
        self.stats["conformed"] += 1
        return conform_frame(frame, self.width, self.height, self.shot.spec.conform)

    def close(self):
        if self._container is not None:
            self._container.close()
            self._container = None
        if self._footage is not None:
            self._footage.close()
            self._footage = None
        self._cur = self._next = None


def conform_frame(frame, width: int, height: int, mode: str = "cover") -> np.ndarray:
    """A decoded frame of any size/format as packed yuv420p at ``width x height`` (cover or contain).

    Same-aspect frames are scaled by swscale straight from their own pixel format; others go through
    :func:`songreel.media.fit_frame` (crop or pad in RGB).
    """
    if abs(frame.width * height - frame.height * width) <= max(frame.width, frame.height) // 2 and \
            not frame.format.name.startswith(("yuva", "rgba", "bgra", "argb", "gbrap")):
        return frame.reformat(width=width, height=height, format="yuv420p", interpolation="BICUBIC").to_ndarray()
    from ..media import fit_frame, frame_rgb

    out = fit_frame(frame_rgb(frame), width, height, mode, out_format="yuv420p")
    return out.to_ndarray()
