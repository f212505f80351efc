"""The frames of a cuts-look edit, in order: clips read at project frames, colour-matched, moved,
blended through transitions.

Per frame, in order: clip frame (retimed: nearest / blend / flow, conformed if its size differs) ->
colour-match table -> camera move and pulse -> transition (if the frame is inside one).

The fast path: a frame that needs no change (a plain stretch of a shot whose clip is already yuv420p
at the project size, no camera move, no colour match) is the decoded ``av.VideoFrame`` itself, handed
to the encoder without a copy to numpy and back. Only transition frames are blended, only shots with a
camera move, pulse or colour match are resampled/remapped, and everything stays in yuv420p.

Every seam (cut or transition) is scored for luma/colour jump (:mod:`.color`) from the clean frames
either side of it; :meth:`Compositor.items` records those frames' statistics in
:attr:`Compositor.probe_stats` and :meth:`Compositor.seams` turns them into the report's seams.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..schema.edit import Edit
from ..schema.plan import PlannedTransition


class Compositor:
    """The frames of a cuts-look edit, in order (see the module docstring).

    :meth:`items` yields ``av.VideoFrame`` (pass-through) or packed yuv420p arrays; :attr:`stats` and
    :attr:`probe_stats` are filled as it runs.

    Parameters
    ----------
    edit : Edit
    color_match : float, optional
        Strength 0..1 of the colour match; defaults to ``edit.plan.color_match``.
    decoder_threads : int
        Threads per clip decoder (0 = auto).
    tap : callable, optional
        ``tap(shot_index)`` -> an object that sees every clip frame decoded for that shot's pictures
        (see :class:`~.reader.ShotReader`), or None.
    """

    def __init__(self, edit: Edit, *, color_match: Optional[float] = None, decoder_threads: int = 0,
                 tap: Optional[Callable[[int], Any]] = None):
        from .camera import shot_motion
        from .retime import check_mode
        from .transitions import transition_for

        self.edit = edit
        plan = self.plan = edit.plan
        self.shots = plan.shots
        self.H, self.W = plan.height, plan.width
        self.effects = [transition_for(s.transition.kind) if s.transition else None for s in self.shots]
        self.motions = [shot_motion(s, plan, edit.analysis) for s in self.shots]
        self.modes = [check_mode(s.interpolate, field=f"shots[{s.index}].interpolate") for s in self.shots]
        self.strength = float(plan.color_match if color_match is None else color_match)
        self.decoder_threads = decoder_threads
        self.tap = tap
        self.luts: list = [None] * len(self.shots)
        self._color_ready = False
        self.probes = self._seam_probes()
        self.probe_stats: dict = {}
        self.stats = {"passthrough_frames": 0, "composed_frames": 0, "transition_frames": 0, "moved_frames": 0,
                      "color_frames": 0, "decoded_frames": 0, "blended_frames": 0, "conformed_frames": 0,
                      "color_match": self.strength}

    def _reader(self, shot, clips, tap=None):
        from .reader import ShotReader

        return ShotReader(shot, clips, self.plan.fps, self.W, self.H, interpolate=self.modes[shot.index],
                          decoder_threads=self.decoder_threads, tap=tap)

    def prepare_color(self) -> list:
        """The per-shot colour tables (None where nothing changes), sampled once."""
        from .color import match_luts, sample_shot_stats

        if not self._color_ready:
            self._color_ready = True
            if self.strength > 0 and len(self.shots) >= 2:
                stats = [sample_shot_stats(s, self.edit.clips[s.index], self.plan, reader_factory=self._reader)
                         for s in self.shots]
                self.luts = match_luts(stats, self.strength)
        return self.luts

    def _seam_probes(self) -> dict:
        """frame -> [(seam index, side)] for the clean frames either side of each seam."""
        probes: dict = {}
        last = self.plan.total_frames - 1
        for k, s in enumerate(self.shots[:-1]):
            t = s.transition
            if t is None or not t.frames:
                cut = t.cut if t is not None else s.end
                before, after = cut - 1, cut
            else:
                before, after = t.start - 1, t.end
            before, after = min(max(before, 0), last), min(max(after, 0), last)
            probes.setdefault(before, []).append((k, 0))
            probes.setdefault(after, []).append((k, 1))
        return probes

    def items(self, ranges: Optional[Sequence[tuple[int, int]]] = None):
        """Yield output frames in order: ``av.VideoFrame`` or yuv420p planes ``(H * 3 // 2, W)``.

        ``ranges`` (sorted, disjoint ``[start, end)`` frame spans) limits the frames made; a shot
        with no frame in them is never opened. Default: every frame.
        """
        from .color import PlaneStats

        self.prepare_color()
        shots, H = self.shots, self.H
        readers: dict = {}
        st = self.stats
        probes = self.probes
        wanted = list(ranges) if ranges is not None else [(0, self.plan.total_frames)]

        def reader(i: int):
            if i not in readers:  # the colour sampling's readers are not tapped: they skip frames
                readers[i] = self._reader(shots[i], self.edit.clips[i], self.tap(i) if self.tap else None)
            return readers[i]

        def picture(i: int, f: int, array: bool):
            pic = reader(i).frame(f)
            lut, motion = self.luts[i], self.motions[i]
            if lut is None and motion is None and not array:
                return pic
            arr = pic if isinstance(pic, np.ndarray) else pic.to_ndarray()
            if lut is not None:
                arr = lut.apply(arr, H)
                st["color_frames"] += 1
            if motion is not None:
                arr = motion.apply(arr, f)
                st["moved_frames"] += 1
            return arr

        i = 0
        try:
            for lo, hi in wanted:
                for f in range(lo, hi):
                    while i < len(shots) - 1 and f >= shots[i].end:
                        i += 1
                    # close readers whose shot (with its tail handle) is over
                    for k in [k for k in readers if f >= shots[k].end + shots[k].tail]:
                        r = readers.pop(k)
                        self._collect(r)
                        r.close()
                    out_t = shots[i - 1].transition if i > 0 else None
                    own_t = shots[i].transition
                    t: Optional[PlannedTransition] = None
                    a_idx = i  # the outgoing shot of transition t
                    if out_t is not None and out_t.frames and out_t.start <= f < out_t.end:
                        a_idx, t = i - 1, out_t
                    elif own_t is not None and own_t.frames and own_t.start <= f < own_t.end:
                        a_idx, t = i, own_t
                    if t is None:
                        item = picture(i, f, False)
                    else:
                        fx = self.effects[a_idx]
                        if fx is None:
                            raise ValueError(f"shot {a_idx + 1}: has a transition but no effect to render it")
                        before = f < t.cut
                        u = (f - t.start + 1) / (t.frames + 1)
                        a = picture(a_idx, f, True) if (before or fx.needs_handles) else None
                        b = picture(a_idx + 1, f, True) if ((not before) or fx.needs_handles) else None
                        item = fx.apply(a, b, u, before_cut=before, height=H)
                        st["transition_frames"] += 1
                    if isinstance(item, np.ndarray):
                        st["composed_frames"] += 1
                    else:
                        st["passthrough_frames"] += 1
                    if f in probes:
                        arr = item if isinstance(item, np.ndarray) else item.to_ndarray()
                        self.probe_stats[f] = PlaneStats.of(arr, H)
                    yield item
        finally:
            for r in readers.values():
                self._collect(r)
                r.close()

    def _collect(self, r) -> None:
        self.stats["decoded_frames"] += r.stats["decoded"]
        self.stats["blended_frames"] += r.stats["blended"]
        self.stats["conformed_frames"] += r.stats["conformed"]
        r.stats = {"decoded": 0, "blended": 0, "conformed": 0}

    def seams(self) -> list:
        """One dict per seam whose probe frames were measured (see :class:`~.pipeline.AssemblyResult`)."""
        from .color import seam_score

        seams: list[dict[str, Any]] = []
        for k, s in enumerate(self.shots[:-1]):
            sides = [None, None]
            for f, found in self.probes.items():
                for kk, side in found:
                    if kk == k:
                        sides[side] = self.probe_stats.get(f)
            if sides[0] is None or sides[1] is None:
                continue
            t = s.transition
            doc = {"index": k, "shots": [k + 1, k + 2], "kind": t.kind if t else "cut",
                   "frame": t.cut if t else s.end}
            doc.update(seam_score(sides[0], sides[1]))
            seams.append(doc)
        if seams:
            worst = max(seams, key=lambda d: d["score"])
            for d in seams:
                d["worst"] = d is worst
        return seams


def compose_frames(edit: Edit, *, color_match: Optional[float] = None):
    """Yield every output frame of ``edit`` as yuv420p planes ``(H * 3 // 2, W)``, in order."""
    if edit.plan.look == "infinite-zoom":  # one continuous push through nested layers (assemble/zoom.py)
        from .zoom import compose_zoom

        yield from compose_zoom(edit)
        return
    for item in Compositor(edit, color_match=color_match).items():
        yield item if isinstance(item, np.ndarray) else item.to_ndarray()
