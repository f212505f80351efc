"""Plan the infinite-zoom look: one continuous push through nested levels, its rate on the beat grid.

Vocabulary (see ``docs/zoom.md``):

- **Λ(f)**, the *zoom position*: natural log of the total magnification at project frame ``f``
  (``Λ(0) = 0``). It grows by ``log(zoom.factor)`` per ``zoom.per`` of music, measured on the song's
  beat grid (continuous beat times, not frame-snapped, so the speed never stutters), optionally
  weighted by the smoothed loudness (``zoom.energy``). It is strictly increasing, so the zoom never
  stops or reverses.
- **levels**: a shot is one or more levels. Level ``g`` (geometric order, 0 = outermost) is a picture
  whose centre holds level ``g + 1`` shrunk by ``ratio``. A shot the backend can extend (prompted shots:
  animatic, chain, outpaint) gets ``round(S / log(factor))`` levels, ``S`` being the shot's span of Λ,
  so one picture is never magnified much more than ``factor``; a shot from your own footage is one level.
- Level boundaries are frames: level ``g`` fills the frame exactly on the first frame of its *own* span
  (zoom in) — so every shot fills the frame exactly on its start frame, on the beat — and the ratio
  between neighbours is ``exp(Λ(next start) - Λ(start))``. Zooming out is the mirror image: levels are
  nested in reverse shot order and a level fills the frame exactly on the last frame of its span.
- A level is visible before its own span, small in the centre of the one outside it. Its clip must
  play there too: it starts ``pre-roll`` frames early, once the level is 1/:data:`PREROLL` of the
  frame wide; before that the compositor holds the clip's first frame (a tiny still).

:func:`plan_zoom` keeps every shot's ``start``/``end`` and ``plan.total_frames``; it sets each shot's
``segments`` to its levels' clip spans (they overlap in time: a level plays while it is the inner
picture of the previous one), ``head``/``tail`` to what those spans need beyond the shot, clears the
transitions (the zoom is the transition), and carries the :class:`~songreel.schema.zoom.ZoomLayout` in
``plan.layout`` (plain frozen data the compositor reads; it never lays the zoom out itself).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Optional

import numpy as np

from ..errors import SongreelError
from ..schema.plan import Plan, Segment
from ..schema.zoom import MIN_PIXELS, ZoomLayout, ZoomLevel  # noqa: F401 (the layout is schema data)

PREROLL = 8.0          # a level's clip starts playing once it is 1/PREROLL of the frame wide
MIN_WEIGHT = 0.05      # energy weighting never stops the zoom


def zoom_curve(plan: Plan, analysis=None) -> np.ndarray:
    """Λ(f) for ``f = 0 .. total_frames`` (inclusive), in time order.

    Parameters
    ----------
    plan : Plan
        Its ``zoom`` (per, factor, energy), ``fps`` and ``total_frames``.
    analysis : Analysis, optional
        Beat times (the grid) and the ``rms`` envelope; without it the plan's tempo is used.

    Returns
    -------
    numpy.ndarray
        float64, strictly increasing, ``Λ(0) = 0``.
    """
    z = plan.zoom
    fps = float(plan.fps)
    n = plan.total_frames
    t = np.arange(n + 1, dtype=np.float64) / fps
    per = z.per
    if per.unit == "s":
        units = t / float(per.amount)
    else:
        beats_per_unit = float(per.amount) * (plan.meter if per.unit == "bars" else 1)
        if analysis is not None:
            from .grid import Grid

            grid = Grid.from_analysis(analysis, plan.fps)
            pos = np.array([grid.pos_of_time(float(x)) for x in t])
        else:
            pos = t * (plan.tempo or 120.0) / 60.0
        units = pos / beats_per_unit
    step = np.diff(units)
    step = np.maximum(step, 1e-6)
    if z.energy > 0 and analysis is not None and len(analysis.rms) > 1 and analysis.envelope_rate > 0:
        step = step * _energy_weight(analysis, t, z.energy, plan)
    lam = np.concatenate([[0.0], np.cumsum(step * math.log(z.factor))])
    return lam


def _energy_weight(analysis, t: np.ndarray, energy: float, plan: Plan) -> np.ndarray:
    """Per-frame speed weight: mean 1 over the song, louder = faster (smoothed over about a beat)."""
    rms = np.asarray(analysis.rms, dtype=np.float64)
    rate = float(analysis.envelope_rate)
    beat = 60.0 / (plan.tempo or 120.0)
    win = max(1, int(round(beat * rate)))
    smooth = np.convolve(np.pad(rms, (win // 2, win - 1 - win // 2), mode="edge"), np.ones(win) / win, mode="valid")
    mid = (t[:-1] + t[1:]) / 2
    e = np.interp(mid * rate, np.arange(len(smooth)), smooth)
    mean = float(e.mean()) or 1.0
    return np.maximum(MIN_WEIGHT, (1.0 - energy) + energy * e / mean)


def plan_zoom(plan: Plan, sb=None, analysis=None, *, preroll: float = PREROLL,
              segment_limit=None) -> Plan:
    """Lay the plan's shots out as nested zoom levels.

    Parameters
    ----------
    plan : Plan
        A planned storyboard with ``look == "infinite-zoom"``.
    sb : Storyboard, optional
        Unused beyond what the plan carries (kept for the reel hook's signature).
    analysis : Analysis, optional
        The beat grid and loudness envelope the zoom rate follows.
    preroll : float
        A level's clip starts when the level is ``1/preroll`` of the frame wide.
    segment_limit : callable, optional
        ``segment_limit(backend_spec) -> max project frames per clip``; a level's pre-roll is cut so
        its clip fits (the compositor holds its first frame longer).

    Returns
    -------
    Plan
        Same shots and frames; segments = level clip spans; ``layout`` = :class:`ZoomLayout`.
    """
    z = plan.zoom
    n = plan.total_frames
    lam_t = zoom_curve(plan, analysis)
    log_f = math.log(z.factor)
    # 1. levels per shot, in time order: [own_start, own_end)
    spans: list[tuple[int, int, int, int]] = []      # (shot, sub, start, end) with sub filled later
    for shot in plan.shots:
        a, b = shot.start, shot.end
        S = lam_t[b] - lam_t[a]
        k = 1 if shot.spec.clip is not None else max(1, int(round(S / log_f)))
        bounds = [a]
        for i in range(1, k):
            target = lam_t[a] + S * i / k
            f = int(np.searchsorted(lam_t, target))
            if f - 1 >= a and abs(lam_t[f - 1] - target) < abs(lam_t[min(f, n)] - target):
                f -= 1
            if bounds[-1] < f < b:
                bounds.append(f)
        bounds.append(b)
        for i, (x, y) in enumerate(zip(bounds, bounds[1:])):
            spans.append((shot.index, i, x, y))
    subs_of: dict[int, int] = {}
    for s, i, _, _ in spans:
        subs_of[s] = max(subs_of.get(s, 0), i + 1)
    L = len(spans)
    lam_end = float(lam_t[n])
    # 2. geometry: geometric order, bases, ratios, the per-frame geometric position
    if z.direction == "in":
        order = list(range(L))
        lam_geo = lam_t[:n].copy()
        bases = [float(lam_t[spans[i][2]]) for i in order]
    else:
        order = list(range(L - 1, -1, -1))
        lam_geo = lam_end - lam_t[1:n + 1]
        bases = [lam_end - float(lam_t[spans[i][3]]) for i in order]
    bases_next = bases[1:] + [bases[-1] + (float(lam_t[spans[order[-1]][3]] - lam_t[spans[order[-1]][2]]))]
    # 3. clip spans: from when the level is 1/preroll wide (or its own start) to its own end (+1: the
    #    frame a chained successor starts from), mirrored when zooming out
    limits = {}
    levels: list = [None] * L
    for g, i in enumerate(order):
        shot_i, sub, a, b = spans[i]
        shot = plan.shots[shot_i]
        limit = None
        if segment_limit is not None:
            key = hash(shot.backend)
            if key not in limits:
                limits[key] = segment_limit(shot.backend)
            limit = limits[key]
        visible = bases[g] - math.log(preroll)
        if z.direction == "in":
            c0 = int(np.searchsorted(lam_geo, visible))        # first frame at least 1/preroll wide
            c0 = min(max(0, c0), a)
            c1 = min(n, b + 1)
            if limit:
                c0 = max(c0, min(a, c1 - limit))
        else:
            # lam_geo decreases with time: last frame still at least 1/preroll wide
            c1 = int(np.searchsorted(-lam_geo, -visible, side="right"))
            c1 = max(min(n, c1), b)
            c0 = a
            if limit:
                c1 = min(c1, max(b, c0 + limit))
        levels[g] = ZoomLevel(index=g, shot=shot_i, sub=sub, subs=subs_of[shot_i], base=bases[g],
                              ratio=math.exp(bases_next[g] - bases[g]), own_start=a, own_end=b,
                              clip_start=c0, clip_end=c1)
    layout = ZoomLayout(direction=z.direction, feather=float(z.feather), lam=tuple(float(x) for x in lam_geo),
                        levels=tuple(levels), timeline=tuple(float(x) for x in lam_t))
    # 4. shots: segments = level clip spans (time order), handles to cover them, no transitions
    shots = []
    for shot in plan.shots:
        lv = layout.levels_of(shot.index)
        segs = tuple(Segment(x.sub, x.clip_start, x.clip_end - x.clip_start) for x in lv)
        head = max(0, shot.start - min(x.clip_start for x in lv))
        tail = max(0, max(x.clip_end for x in lv) - shot.end)
        shots.append(shot.with_(segments=segs, head=head, tail=tail, transition=None))
    return plan.with_(shots=tuple(shots), layout=layout)


def layout_of(plan: Plan, analysis=None) -> ZoomLayout:
    """The plan's :class:`ZoomLayout` (laid out now if :func:`plan_zoom` has not run)."""
    if plan.layout is not None:
        return plan.layout
    layout = plan_zoom(plan, None, analysis).layout
    if layout is None:   # plan_zoom always lays the zoom out
        raise SongreelError("internal error: plan_zoom returned a plan without a zoom layout")
    return layout


def level_frame_index(level: ZoomLevel, f: int, clip_frames: int, clip_fps: Fraction, fps: Fraction,
                      lead: int = 0, start: Optional[int] = None) -> int:
    """Clip frame shown at project frame ``f`` (held at both ends)."""
    s = level.clip_start if start is None else start
    i = lead + int(Fraction(f - s) * Fraction(clip_fps) / Fraction(fps)) if f >= s else lead
    return max(0, min(i, clip_frames - 1))
