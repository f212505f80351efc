"""The infinite-zoom layout: nested levels and the zoom position of every frame.

Laid out once by :func:`songreel.plan.zoom.plan_zoom` and carried in :attr:`songreel.schema.plan.Plan.layout`;
the compositor (:mod:`songreel.assemble.zoom`) and the nesting routes only read it.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

MIN_PIXELS = 3.0       # levels narrower than this many pixels are not drawn


@dataclass(frozen=True)
class ZoomLevel:
    """One picture of the nested stack.

    Attributes
    ----------
    index : int
        Geometric position, 0 = outermost.
    shot, sub, subs : int
        The shot it belongs to and its place among that shot's levels (in time order).
    base : float
        Zoom position (geometric Λ) at which it exactly fills the frame.
    ratio : float
        Magnification from this level to the next inner one (its centre ``1/ratio`` is that level).
    own_start, own_end : int
        Frames ``[own_start, own_end)`` where it is the outermost picture on screen.
    clip_start, clip_end : int
        Frames its clip covers; before ``clip_start`` / after ``clip_end`` the first / last frame is held.
    """

    index: int
    shot: int
    sub: int
    subs: int
    base: float
    ratio: float
    own_start: int
    own_end: int
    clip_start: int
    clip_end: int


@dataclass(frozen=True)
class ZoomLayout:
    """Everything the compositor and the nesting routes need, exact per frame.

    ``lam[f]`` is the geometric zoom position of frame ``f`` (``len == total_frames``); level ``g`` is
    drawn at scale ``exp(lam[f] - levels[g].base)`` of the frame (``>= 1``: the outermost, cropped;
    ``< 1``: pasted in the centre).
    """

    direction: str
    feather: float
    lam: tuple[float, ...]
    levels: tuple[ZoomLevel, ...]
    timeline: tuple[float, ...] = ()     # Λ(f) in time order, f = 0..total (inclusive)

    def scale(self, g: int, f: int) -> float:
        return math.exp(self.lam[f] - self.levels[g].base)

    def current(self, f: int) -> int:
        """Index of the outermost level on screen at frame ``f``."""
        bases = [lv.base for lv in self.levels]
        return max(0, min(len(bases) - 1, bisect.bisect_right(bases, self.lam[f] + 1e-12) - 1))

    def levels_of(self, shot: int) -> list[ZoomLevel]:
        """The levels of ``shot`` in time order."""
        return sorted((lv for lv in self.levels if lv.shot == shot), key=lambda lv: lv.sub)

    def planned_ratio(self, f: int) -> float:
        """Planned magnification of the picture from frame ``f`` to ``f + 1`` (> 1 in, < 1 out)."""
        return math.exp(self.lam[f + 1] - self.lam[f])
