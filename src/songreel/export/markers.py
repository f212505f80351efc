"""Beat, bar and section markers for a plan: pure data, shared by the timeline and the contact sheet.

Bar 1 starts at the first downbeat at or after frame 0; beats before it (a pickup) are in bar 0.
Colours are OpenTimelineIO ``MarkerColor`` names, kept as strings so this module imports no OTIO.
"""

from __future__ import annotations

import bisect

BEAT_COLOUR = "GREEN"
BAR_COLOUR = "YELLOW"
SECTION_COLOUR = "PURPLE"


def _bar_beat(plan) -> list[tuple[int, int, int]]:
    """(frame, bar, beat-in-bar) for every beat inside ``[0, total_frames)``; bar 1 starts at the first
    downbeat at or after frame 0, beats before it (a pickup) are in bar 0."""
    downs = sorted(d for d in set(plan.downbeat_beats)
                   if 0 <= d < len(plan.beat_frames) and plan.beat_frames[d] >= 0)
    first = downs[0] if downs else None
    out = []
    for i, f in enumerate(plan.beat_frames):
        if not 0 <= f < plan.total_frames:
            continue
        n = bisect.bisect_right(downs, i)
        if n:
            bar, beat = n, i - downs[n - 1] + 1
        else:
            bar = 0
            beat = max(1, plan.meter - (first - i) + 1) if first is not None else i + 1
        out.append((f, bar, beat))
    return out


def beat_markers(plan) -> list[tuple[str, int, int, str, dict]]:
    """Markers for the plan: ``(name, frame, duration_frames, colour, metadata)``.

    Beats inside the song (downbeats as ``"bar N"``, others as ``"N.k"``) and one range marker per
    section. Pure: used by :func:`edit_to_otio` and by the contact sheet's beat strip.
    """
    out = []
    for f, bar, beat in _bar_beat(plan):
        if bar >= 1 and beat == 1:
            out.append((f"bar {bar}", f, 0, BAR_COLOUR, {"kind": "bar", "bar": bar, "frame": f}))
        else:
            out.append((f"{bar}.{beat}", f, 0, BEAT_COLOUR, {"kind": "beat", "bar": bar, "beat": beat, "frame": f}))
    seen: dict[str, int] = {}
    for label, a, b in plan.sections:
        a, b = max(0, a), min(plan.total_frames, b)
        if b <= a:
            continue
        seen[label] = seen.get(label, 0) + 1
        out.append((label, a, b - a, SECTION_COLOUR,
                    {"kind": "section", "label": label, "occurrence": seen[label],
                     "start_frame": a, "end_frame": b}))
    return out
