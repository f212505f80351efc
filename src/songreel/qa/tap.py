"""Measure the report card from the frames the assembly decodes anyway.

A render decodes every clip to encode the film; decoding them all again for the card would cost
about as much CPU as the card itself. :class:`CardTaps` hands the assembly one :class:`ShotTap` per
shot still to be measured; each sees every clip frame its shot's reader decodes, in order, and feeds
the shot's meter with the on-screen ones, exactly as :func:`~.score.measure_shot` would.

A tap only reports measures when it saw every on-screen frame once and in order. Anything else (a
stretch joined from the chunk cache, a reader that stopped before a shot's last clip frame, a
decoding error) leaves the shot to be measured from its clips afterwards, so the card is the same
either way.
"""

from __future__ import annotations

from pathlib import Path

from .frames import WIDTH, SmallFrame, SmallPictures, clip_window
from .measures import ShotMeter


class ShotTap:
    """Feed one shot's meter from the clip frames the assembly decodes for it.

    The assembly calls :meth:`frame` for each decoded clip frame and :meth:`end` when a clip has no
    more; :meth:`measures` is the shot's measures, or None when the on-screen frames were not all
    seen exactly once in order.
    """

    def __init__(self, plan, shot, clips, *, flow: bool = True, width: int = WIDTH):
        from .score import shot_meter

        self.plan, self.shot, self.clips = plan, shot, clips
        self.width = width
        self.meter: ShotMeter | None = shot_meter(plan, shot, flow)
        lo, hi = shot.start, shot.end
        #: segment -> (first, end, step) of the clip frames shown on screen
        self.windows = {j: clip_window(plan, shot, j, clips[j], lo, hi) for j, seg in enumerate(shot.segments)
                        if j < len(clips) and seg.end > lo and seg.start < hi}
        self.seen = dict.fromkeys(self.windows, 0)  # clip frames seen so far, per segment
        self.ended: set = set()
        self.current = min(self.windows, default=0)
        self.last = max(self.windows, default=0)
        self.small: SmallPictures | None = None
        self.broken: str | None = None
        self.finished: tuple | None = None  # (measures, last luma) once the last on-screen frame is in

    def _complete(self, j: int) -> bool:
        first, end, _ = self.windows[j]
        return end <= first or self.seen[j] >= end or j in self.ended

    def frame(self, j: int, k: int, picture) -> None:
        """Clip frame ``k`` of segment ``j``, as decoded (``av.VideoFrame`` or packed yuv420p)."""
        if self.broken is not None or j not in self.windows:
            return
        try:
            if j != self.current:
                if j < self.current:
                    self.broken = f"segment {j + 1} decoded again after segment {self.current + 1}"
                    return
                skipped = [s for s in self.windows if self.current <= s < j and not self._complete(s)]
                if skipped:
                    self.broken = f"segment {skipped[0] + 1} left before its last on-screen frame"
                    return
                self.current, self.small = j, None
            if k < self.seen[j]:  # decoded again by a reader opened later: already measured
                return
            if k > self.seen[j]:
                self.broken = f"segment {j + 1}: frame {self.seen[j]} was not seen"
                return
            self.seen[j] = k + 1
            first, end, step = self.windows[j]
            if first <= k < end:
                if self.meter is None:  # finished: a later frame is off screen
                    return
                if self.small is None:
                    self.small = SmallPictures(self.width)
                t = self.shot.segments[j].start + (k - self.clips[j].lead) * step
                self.meter.add(SmallFrame(float(t), j, k == first, *self.small.planes(picture)))
                if j == self.last and k == end - 1:
                    self._finish()
        except Exception as e:  # noqa: BLE001 - the card must never stop the film; measured again later
            self.broken = f"{type(e).__name__}: {e}"

    def _finish(self) -> None:
        """Turn the meter into measures as soon as the shot is over, so its frames are let go."""
        if self.meter is not None:
            self.finished = (self.meter.finish(), self.meter.last_y)
            self.meter = self.small = None

    def end(self, j: int, frames: int) -> None:
        """Segment ``j``'s clip has no frame after its first ``frames``."""
        if j in self.windows and self.seen[j] >= frames:
            self.ended.add(j)

    @property
    def complete(self) -> bool:
        """Every on-screen frame was seen exactly once, in order."""
        return self.broken is None and all(self._complete(j) for j in self.windows)

    def measures(self, next_clips=None) -> dict | None:
        """The shot's measures (as :func:`~.score.measure_shot`), or None when not :attr:`complete`."""
        if not self.complete:
            return None
        from .score import with_next_seam

        self._finish()
        m, last_y = self.finished or ({}, None)
        return with_next_seam(self.plan, self.shot, m, last_y, next_clips=next_clips, width=self.width)


class CardTaps:
    """The taps of a render: one per shot whose measures are not kept in ``cache_dir`` yet.

    Call it with a 0-based shot index for that shot's :class:`ShotTap` (None: nothing to measure).
    The infinite-zoom look measures its levels as pictures of their own, not as the assembly
    composes them, so it gets no taps.

    Parameters
    ----------
    edit : Edit
    cache_dir : Path, optional
        Where measures are kept (see :func:`~.score.score_edit`).
    flow : bool
    width : int
    """

    def __init__(self, edit, *, cache_dir=None, flow: bool = True, width: int = WIDTH):
        from .score import _kept_measures, measures_key

        self.edit = edit
        plan = edit.plan
        self.taps: dict[int, ShotTap] = {}
        if plan.look == "infinite-zoom":
            return
        for shot in plan.shots:
            clips = edit.clips[shot.index]
            if cache_dir is not None:
                nxt = edit.clips[shot.index + 1] if shot.index + 1 < len(edit.clips) else None
                key = measures_key(plan, shot, clips, flow=flow, width=width, next_clips=nxt)
                if _kept_measures(Path(cache_dir), key) is not None:
                    continue
            self.taps[shot.index] = ShotTap(plan, shot, clips, flow=flow, width=width)

    def __call__(self, index: int) -> ShotTap | None:
        return self.taps.get(index)

    def measures(self) -> dict[int, dict]:
        """Measures of the shots measured in full while assembling, by 0-based shot."""
        clips = self.edit.clips
        out = {}
        for i, tap in self.taps.items():
            m = tap.measures(next_clips=clips[i + 1] if i + 1 < len(clips) else None)
            if m is not None:
                out[i] = m
        return out
