"""Flags and thresholds: which measures make a shot worth a second look, and how much each costs its score.

Every threshold is a module constant, documented in ``docs/qa.md`` with what it means on screen.
A measure that does not apply to a shot (no chained boundary, no reference image, too few motion
peaks) is ``None`` and neither flags nor costs anything.

A shot's score is ``prod(1 - weight * penalty)`` over its measures, where ``penalty`` rises smoothly
from 0 (well inside the threshold) through 0.5 (at the threshold) to 1 (well past it): the score is
continuous, so two takes with the same flags can still be ranked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

#: fraction of a shot's frames that are black (or one flat grey) from which it is flagged ``black``
BLACK_FRACTION = 0.25
#: fraction of consecutive frame pairs that are still from which a shot is flagged ``frozen``
FROZEN_FRACTION = 0.75
#: 90th percentile of frame-to-frame brightness wobble (code values) from which a shot is ``flicker``
FLICKER_LEVELS = 2.5
#: a chained boundary is a ``seam`` when its luma jump is this many times the shot's 90th-percentile
#: frame-to-frame change and at least SEAM_MIN_JUMP code values
SEAM_RATIO = 4.0
SEAM_MIN_JUMP = 6.0
#: ``colour_drift`` along a chain, any segment against the first: mean luma (code values), contrast
#: (relative change of the luma spread), chroma (distance of the mean U, V) or saturation (code values)
DRIFT_LUMA = 20.0
DRIFT_CONTRAST = 0.30
DRIFT_CHROMA = 10.0
DRIFT_SATURATION = 12.0
#: ``identity``: best cosine similarity of the shot's frames to the character's reference image below this
IDENTITY_MIN = 0.75
#: ``off_beat``: beat-alignment score of the motion peaks below this (1 on the beat, ~0.42 by chance)
BEAT_ALIGNMENT_MIN = 0.3

FLAGS = ("black", "frozen", "flicker", "seam", "colour_drift", "identity", "off_beat")


@dataclass(frozen=True)
class Rule:
    """One flag: the measure(s) it reads, how far past its threshold a shot is, its score weight."""

    flag: str
    weight: float
    ratio: Callable[[dict], float | None]   # measure / threshold (>= 1 means flagged), None: n/a
    reason: Callable[[dict], str]


def _get(m: dict, key: str) -> float | None:
    v = m.get(key)
    return None if v is None else float(v)


def _over(key: str, thr: float):
    def f(m):
        v = _get(m, key)
        return None if v is None else v / thr
    return f


def _under(key: str, thr: float):
    def f(m):
        v = _get(m, key)
        return None if v is None else thr / max(v, 1e-6)
    return f


def _seam(m):
    jump, ratio = _get(m, "seam_jump"), _get(m, "seam_ratio")
    if jump is None or ratio is None:
        return None
    return min(ratio / SEAM_RATIO, jump / SEAM_MIN_JUMP)


def _drift(m):
    parts = [(_get(m, "drift_luma"), DRIFT_LUMA), (_get(m, "drift_contrast"), DRIFT_CONTRAST),
             (_get(m, "drift_chroma"), DRIFT_CHROMA), (_get(m, "drift_saturation"), DRIFT_SATURATION)]
    ratios = [v / t for v, t in parts if v is not None]
    return max(ratios) if ratios else None


def _drift_reason(m) -> str:
    bits = []
    if (_get(m, "drift_luma") or 0) >= DRIFT_LUMA:
        bits.append(f"brightness moved {m['drift_luma']:.0f} levels")
    if (_get(m, "drift_contrast") or 0) >= DRIFT_CONTRAST:
        bits.append(f"contrast changed {100 * m['drift_contrast']:.0f}%")
    if (_get(m, "drift_chroma") or 0) >= DRIFT_CHROMA:
        bits.append(f"colour cast moved {m['drift_chroma']:.0f} levels")
    if (_get(m, "drift_saturation") or 0) >= DRIFT_SATURATION:
        bits.append(f"saturation moved {m['drift_saturation']:.0f} levels")
    return "along the chain against its first segment: " + (", ".join(bits) or "colour moved")


RULES = (
    Rule("black", 1.0, _over("black_fraction", BLACK_FRACTION),
         lambda m: f"{100 * m['black_fraction']:.0f}% of frames are black or blank"),
    Rule("frozen", 0.9, _over("still_fraction", FROZEN_FRACTION),
         lambda m: f"{100 * m['still_fraction']:.0f}% of frames do not move"),
    Rule("flicker", 0.7, _over("flicker", FLICKER_LEVELS),
         lambda m: f"brightness jumps {m['flicker']:.1f} levels frame to frame"),
    Rule("seam", 0.6, _seam,
         lambda m: f"a jump of {m['seam_jump']:.0f} levels ({m['seam_ratio']:.0f}x the shot's motion) at frame "
                   f"{m['seam_frame']}"),
    Rule("colour_drift", 0.5, _drift, _drift_reason),
    Rule("identity", 0.7, _under("identity", IDENTITY_MIN),
         lambda m: f"looks like {m.get('identity_character') or 'the character'} only {m['identity']:.2f} "
                   f"(cosine; {IDENTITY_MIN} wanted)"),
    Rule("off_beat", 0.3, _under("beat_alignment", BEAT_ALIGNMENT_MIN),
         lambda m: f"motion peaks miss the beat (alignment {m['beat_alignment']:.2f}, chance is about 0.42)"),
)


def penalty(ratio: float) -> float:
    """0 well inside the threshold, 0.5 at it (``ratio == 1``), toward 1 well past it."""
    return 1.0 / (1.0 + math.exp(-8.0 * (ratio - 1.0)))


def judge(measures: dict) -> tuple[float, list, dict]:
    """Score and flag one shot's measures.

    Returns
    -------
    score : float
        0..1, higher is better.
    flags : list of str
        In :data:`FLAGS` order.
    reasons : dict
        ``{flag: one-line reason}``.
    """
    score = 1.0
    flags: list = []
    reasons: dict = {}
    for rule in RULES:
        r = rule.ratio(measures)
        if r is None or not math.isfinite(r):
            continue
        score *= 1.0 - rule.weight * penalty(r)
        if r >= 1.0:
            flags.append(rule.flag)
            reasons[rule.flag] = rule.reason(measures)
    if "black" in flags and "frozen" in flags:  # a black shot is still by nature: one reason is enough
        flags.remove("frozen")
        reasons.pop("frozen")
    return round(max(0.0, min(1.0, score)), 4), flags, reasons
