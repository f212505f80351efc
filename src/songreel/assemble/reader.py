"""Stream a shot's frames at project frame numbers from its clips (one decoder open at a time)."""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

import numpy as np

from ..schema.clip import ClipRef
from ..schema.plan import PlannedShot


class ShotReader:
    """Yield a shot's picture for increasing project frames, as yuv420p planes at the project size.

    Clip ``j`` covers project frames ``[segment.start, segment.end)``; project frame ``f`` shows the clip
    frame whose time ``(f - segment.start) / fps`` it falls in — clips at other rates are retimed by
    frame index, never resampled in time.
    """

    def __init__(self, shot: PlannedShot, clips: tuple[ClipRef, ...], fps: Fraction, width: int, height: int):
        self.shot = shot
        self.clips = clips
        self.fps = fps
        self.width, self.height = width, height
        self._seg = -1
        self._container = None
        self._iter = None
        self._index = -1
        self._frame = None

    def _open(self, j: int):
        import av

        self.close()
        clip = self.clips[j]
        self._container = av.open(str(clip.path))
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._iter = self._container.decode(stream)
        self._seg = j
        self._index = -1
        self._frame = None

    def planes(self, f: int) -> np.ndarray:
        """``(H * 3 // 2, W)`` uint8 yuv420p of project frame ``f`` (must not decrease)."""
        segs = self.shot.segments
        j = next((k for k, s in enumerate(segs) if s.start <= f < s.end), len(segs) - 1 if f >= segs[-1].end else 0)
        if j != self._seg:
            self._open(j)
        seg, clip = segs[j], self.clips[j]
        want = clip.lead + int(Fraction(f - seg.start) * clip.fps / self.fps)
        want = max(0, min(want, clip.frames - 1))
        while self._index < want:
            try:
                self._frame = next(self._iter)
            except StopIteration:
                break  # a clip a frame short holds its last frame
            self._index += 1
        frame = self._frame
        if frame.width != self.width or frame.height != self.height or frame.format.name != "yuv420p":
            from ..media import fit_frame

            mode = self.shot.spec.conform
            out = fit_frame(frame.to_ndarray(format="rgb24"), self.width, self.height, mode,
                            out_format="yuv420p")
            return out.to_ndarray()
        return frame.to_ndarray()

    def close(self):
        if self._container is not None:
            self._container.close()
            self._container = None
