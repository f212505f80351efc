"""Colour: match each shot to its neighbours, and score every seam for the report.

Matching works on the yuv420p planes directly — a cheap stand-in for LAB mean/std transfer: Y
is lightness, U/V are the blue/red opponent axes, and a per-plane affine ``(x - m) * g + m'`` is
a 256-entry lookup table, a few milliseconds a frame at 1080p. Per-shot statistics come from a few
frames sampled while streaming through the shot (never a whole clip in memory); each shot's target is
the mean of its own and its neighbours' statistics, and ``strength`` (the storyboard's
``color_match``, 0..1) moves it that far towards the target.

Seam score: for every cut or transition, the jump between the last clean frame of the outgoing shot
and the first clean frame of the incoming one (outside the transition), ``sqrt(dY² + dU² + dV²)`` of
the plane means plus half the change in luma contrast (std), in 8-bit code values; the highest is
the ``worst``. Nothing is flagged (see :data:`SEAM_FLAG`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from . import warp

# No threshold on this score tells a defect from a deliberate cut. On real footage
# (benchmarks/seam_calibration.py, docs/benchmarks.md) ordinary cuts between two different shots score
# 13-220 (median 87) and 20 flagged 90% of them, while a 15-25 code-value exposure or colour jump in one
# continuous picture scores 15-25. So no seam is flagged; scores and the worst seam are still reported.
SEAM_FLAG = math.inf
GAIN_LIMITS = {0: (0.5, 2.0), 1: (0.67, 1.5), 2: (0.67, 1.5)}
SAMPLES_PER_SHOT = 3


@dataclass(frozen=True)
class PlaneStats:
    """Means and standard deviations of Y, U, V (8-bit code values)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def of(cls, planes: np.ndarray, height: int, step: int = 4) -> "PlaneStats":
        ps = [p[::step, ::step].astype(np.float32) for p in warp.split(planes, height)]
        return cls(_yuv([float(p.mean()) for p in ps]), _yuv([float(p.std()) for p in ps]))

    @classmethod
    def average(cls, items: list["PlaneStats"]) -> "PlaneStats":
        n = len(items)
        return cls(_yuv([sum(s.mean[k] for s in items) / n for k in range(3)]),
                   _yuv([sum(s.std[k] for s in items) / n for k in range(3)]))


def _yuv(values: list[float]) -> tuple[float, float, float]:
    """One value per plane (Y, U, V) as a 3-tuple."""
    y, u, v = values
    return y, u, v


def seam_score(a: PlaneStats, b: PlaneStats) -> dict[str, Any]:
    """Luma and colour jump from ``a`` (outgoing) to ``b`` (incoming)."""
    dy = b.mean[0] - a.mean[0]
    du, dv = b.mean[1] - a.mean[1], b.mean[2] - a.mean[2]
    contrast = b.std[0] - a.std[0]
    score = math.sqrt(dy * dy + du * du + dv * dv) + 0.5 * abs(contrast)
    return {"luma_jump": round(dy, 2), "colour_jump": round(math.hypot(du, dv), 2),
            "contrast_jump": round(contrast, 2), "score": round(score, 2), "flagged": score > SEAM_FLAG}


class ColorLUT:
    """Three 256-entry tables applied to a packed yuv420p frame."""

    def __init__(self, luts: tuple[np.ndarray, np.ndarray, np.ndarray]):
        self.luts = luts

    @classmethod
    def matching(cls, src: PlaneStats, target: PlaneStats, strength: float) -> Optional["ColorLUT"]:
        x = np.arange(256, dtype=np.float64)
        luts = []
        identity = True
        for k in range(3):
            lo, hi = GAIN_LIMITS[k]
            g = target.std[k] / src.std[k] if src.std[k] > 1e-3 else 1.0
            g = min(max(g, lo), hi)
            y = (x - src.mean[k]) * g + target.mean[k]
            y = x + strength * (y - x)
            lut = np.clip(np.round(y), 0, 255).astype(np.uint8)
            identity &= bool(np.array_equal(lut, x.astype(np.uint8)))
            luts.append(lut)
        return None if identity else cls((luts[0], luts[1], luts[2]))

    def apply(self, planes: np.ndarray, height: int) -> np.ndarray:
        out = np.empty_like(planes)
        out[:height] = self.luts[0][planes[:height]]
        c_in = planes[height:].reshape(2, -1)
        c_out = out[height:].reshape(2, -1)
        c_out[0] = self.luts[1][c_in[0]]
        c_out[1] = self.luts[2][c_in[1]]
        return out


def sample_shot_stats(shot, clips, plan, *, reader_factory, samples: int = SAMPLES_PER_SHOT) -> PlaneStats:
    """Statistics of a shot from ``samples`` frames spread over its cut-to-cut span, streamed through
    one reader (frames decode in order; nothing but the current frame is held)."""
    n = max(1, min(samples, shot.frames))
    wanted = sorted({shot.start + int(round(k * (shot.frames - 1) / max(n - 1, 1))) for k in range(n)})
    reader = reader_factory(shot, clips)
    try:
        stats = [PlaneStats.of(reader.planes(f), plan.height) for f in wanted]
    finally:
        reader.close()
    return PlaneStats.average(stats)


def match_luts(stats: list[PlaneStats], strength: float) -> list[Optional[ColorLUT]]:
    """Per-shot tables moving each shot towards the mean of itself and its neighbours."""
    if strength <= 0 or len(stats) < 2:
        return [None] * len(stats)
    out = []
    for i, s in enumerate(stats):
        near = stats[max(0, i - 1):i + 2]
        out.append(ColorLUT.matching(s, PlaneStats.average(near), strength))
    return out
