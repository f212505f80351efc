"""Place a storyboard's shots on a song's beat grid, in exact frames. Pure: no media I/O.

Shots lie back to back from frame 0; the last one ends at the song's last frame. Lengths count
beats and bars of the analysis (bar 1 starts at the first downbeat; any lead-in before it belongs to
the first shot); ``at:`` anchors start a shot at a section, bar, beat or time (the previous shot
stretches to meet it). Every cut is the frame nearest its beat.
"""

from __future__ import annotations

import hashlib
import math
import re
from fractions import Fraction
from typing import Callable, Optional

from ..errors import PlanError
from ..schema.analysis import Analysis, Section
from ..schema.plan import Plan, PlannedShot, PlannedTransition, Segment
from ..schema.storyboard import Anchor, BackendSpec, Length, ShotSpec, Storyboard
from ..timebase import format_time, frames_in, seconds_to_frame
from .grid import Grid

DEFAULT_TRANSITION_BEATS = {"crossfade": 1, "dip": 1, "dip-white": 1, "zoom": 1, "whip": Fraction(1, 2),
                            "slide": Fraction(1, 2)}
NEEDS_HANDLES = {"crossfade", "zoom", "whip", "slide"}


def make_plan(storyboard: Storyboard, analysis: Analysis, *,
              segment_limit: Optional[Callable[[BackendSpec], Optional[int]]] = None,
              lyrics=None) -> Plan:
    """Place every shot on exact frames.

    Parameters
    ----------
    storyboard : Storyboard
    analysis : Analysis
        The song's grid; storyboard overrides (``bpm``, ``meter``, ``sections``) are already applied
        to it by the caller (see :func:`apply_overrides`).
    segment_limit : callable, optional
        ``segment_limit(backend_spec) -> max project frames per backend call`` (None = unlimited).
    lyrics : sequence, optional
        Parsed lyric lines (``.start`` seconds, ``.text``) for ``at: lyric N`` anchors.

    Returns
    -------
    Plan

    Raises
    ------
    PlanError
        A shot runs past the song, has no room, or its anchor is unknown or out of order; the message
        names the shot's field and line and says what the song contains.
    """
    fps = storyboard.video.fps
    total = frames_in(analysis.duration, fps)
    if total < 1:
        raise PlanError(f"{storyboard.song}: the song is {analysis.duration:.3f} s long; expected at least one frame")
    grid = Grid.from_analysis(analysis, fps)
    sections = tuple(analysis.sections) or (Section(0.0, analysis.duration, "song"),)
    shots = storyboard.shots
    n = len(shots)

    # 1. resolve starts: frame 0 for shot 0, anchors where given
    anchors: list[Optional[float]] = [None] * n
    for i, spec in enumerate(shots):
        if spec.at is not None:
            anchors[i] = _resolve(spec.at, grid, sections, lyrics, storyboard, f"shots[{i}].at", total)
    if anchors[0] not in (None, 0.0) and grid.frame_of(anchors[0]) != 0:
        # a first shot anchored later leaves a hole before it: the song starts on shot 1
        raise PlanError(f"{storyboard.where('shots[0].at')}: the first shot starts at the song's start; "
                        f'got at: "{shots[0].at}" ({format_time(grid.time_of(anchors[0]))}). '
                        "Put an earlier shot before it")

    starts: list[float] = [0.0] * n           # beat positions (shot 0: the lead-in starts at frame 0)
    ends: list[float] = [0.0] * n
    count_from = float(grid.bar_one) if grid.frames[grid.bar_one] > 0 else 0.0
    cursor = count_from
    for i, spec in enumerate(shots):
        field = f"shots[{i}]"
        if i > 0:
            if anchors[i] is not None:
                if grid.frame_of(anchors[i]) < grid.frame_of(cursor):
                    prev_end = format_time(grid.time_of(cursor))
                    raise PlanError(f'{storyboard.where(field + ".at")}: at: "{spec.at}" is '
                                    f"{format_time(grid.time_of(anchors[i]))}, before shot {i}'s end at {prev_end}; "
                                    "anchors must follow the shot order (shorten the shots before it)")
                ends[i - 1] = anchors[i]
                cursor = anchors[i]
            starts[i] = cursor
        # end of this shot
        end = _end_of(spec, i, cursor, grid, sections, lyrics, storyboard, total, n, anchors)
        if end is None:  # open: stretches to the next anchor or the song's end
            end = next((a for a in anchors[i + 1:] if a is not None), None) if i < n - 1 else None
            if end is not None and grid.frame_of(end) <= grid.frame_of(cursor):
                k = next(j for j in range(i + 1, n) if anchors[j] is not None)
                raise PlanError(f'{storyboard.where(f"shots[{k}].at")}: at: "{shots[k].at}" is '
                                f"{format_time(grid.time_of(end))}, not after shot {i + 1}'s start at "
                                f"{format_time(grid.time_of(cursor))}; anchors must follow the shot order")
            if end is None:
                if i < n - 1:
                    raise PlanError(f"{storyboard.where(field)}.length: missing; expected {LENGTH_HELP} "
                                    "(only the last shot, or a shot followed by an at: anchor, may omit it)")
                end = grid.pos_of_time(analysis.duration)
        ends[i] = end
        cursor = end

    # 2. to frames; the last shot always meets the song's end
    warnings: list[str] = []
    cut_frames = [0] + [grid.frame_of(ends[i]) for i in range(n - 1)] + [total]
    last_wanted = grid.frame_of(ends[-1])
    if shots[-1].length is not None and last_wanted < total - 1:
        warnings.append(f"shot {n} ({_short(shots[-1])}) stretched by "
                        f"{(total - last_wanted) / float(fps):.2f} s to end with the song")
    for i in range(n):
        a, b = cut_frames[i], cut_frames[i + 1]
        field = f"shots[{i}]"
        if b > total or a >= total:
            what = f'"{shots[i].length}"' if shots[i].length else "its anchor"
            raise PlanError(
                f"{storyboard.where(field + ('.length' if shots[i].length else '.at'))}: {what} runs to "
                f"{format_time(max(a, b) / float(fps))}, past the song's end at {format_time(analysis.duration)} "
                f"(shot {i + 1} starts at {format_time(a / float(fps))}; the song has "
                f"{_bars_left(grid, a, total)} left there)")
        if b <= a:
            raise PlanError(f"{storyboard.where(field)}: shot {i + 1} has no frames (starts and ends at "
                            f"{format_time(a / float(fps))}); give it a length or move the next anchor")

    # 3. transitions and handles
    trans: list[Optional[PlannedTransition]] = [None] * n
    heads = [0] * n
    tails = [0] * n
    for i in range(n - 1):
        t = shots[i].transition
        cut = cut_frames[i + 1]
        if t.kind == "cut":
            trans[i] = PlannedTransition("cut", cut, 0, cut)
            continue
        length = t.length or Length(Fraction(DEFAULT_TRANSITION_BEATS.get(t.kind, 1)), "beats")
        nframes = _duration_frames(length, grid, cut)
        nframes = max(2, min(nframes, cut_frames[i + 1] - cut_frames[i], cut_frames[i + 2] - cut_frames[i + 1]))
        start = cut - nframes if t.align == "end" else cut - nframes // 2
        trans[i] = PlannedTransition(t.kind, start, nframes, cut)
        if t.kind in NEEDS_HANDLES:
            tails[i] = start + nframes - cut
            heads[i + 1] = cut - start

    # 4. shots
    planned = []
    for i, spec in enumerate(shots):
        a, b = cut_frames[i], cut_frames[i + 1]
        backend = storyboard.backend_for(spec)
        names = _characters(spec)
        limit = segment_limit(backend) if segment_limit else None
        segs = _segments(a - heads[i], b + tails[i], limit, grid)
        start_pos = starts[i] if i > 0 else 0.0
        planned.append(PlannedShot(
            index=i, name=spec.name or f"shot {i + 1}", spec=spec,
            prompt=resolve_prompt(spec, storyboard), negative=_negative(spec, storyboard),
            seed=_seed(spec, storyboard, names), backend=backend, start=a, end=b, head=heads[i], tail=tails[i],
            transition=trans[i], segments=segs,
            start_beat=int(round(starts[i])), end_beat=int(round(ends[i])),
            position=grid.position(start_pos),
            section=section_name_at(grid.time_of(start_pos) if i > 0 else 0.0, sections),
            characters=names, takes=spec.takes,
        ))
    sec_frames = tuple((s.label, seconds_to_frame(s.start, fps), min(total, seconds_to_frame(s.end, fps)))
                       for s in sections)
    in_song = [i for i, f in enumerate(grid.frames) if 0 <= f < total]
    from .look import resolve_look  # what assembly needs, resolved here once

    return resolve_look(Plan(
        title=storyboard.title, fps=fps, width=storyboard.video.width, height=storyboard.video.height,
        duration=float(analysis.duration), total_frames=total, tempo=float(analysis.tempo), meter=grid.meter,
        beat_frames=tuple(grid.frames[i] for i in in_song),
        downbeat_beats=tuple(in_song.index(d) for d in grid.downbeats if d in in_song),
        sections=sec_frames, shots=tuple(planned), look=storyboard.look, zoom=storyboard.zoom,
        encode=storyboard.encode, warnings=tuple(warnings),
        extra={"character_images": {k: str(c.image) for k, c in storyboard.characters.items() if c.image}},
    ), storyboard)


LENGTH_HELP = '"N bars", "N beats" or "N s"'


def _end_of(spec: ShotSpec, i: int, cursor: float, grid: Grid, sections, lyrics, sb: Storyboard, total: int,
            n: int, anchors) -> Optional[float]:
    if spec.until is not None:
        end = _resolve(spec.until, grid, sections, lyrics, sb, f"shots[{i}].until", total, allow_end=True)
        if grid.frame_of(end) <= grid.frame_of(cursor):
            raise PlanError(f'{sb.where(f"shots[{i}].until")}: until: "{spec.until}" is at '
                            f"{format_time(grid.time_of(end))}, not after the shot's start at "
                            f"{format_time(grid.time_of(cursor))}")
        return end
    if spec.length is None:
        return None
    L = spec.length
    if L.unit == "beats":
        return cursor + float(L.amount)
    if L.unit == "bars":
        return grid.bars_from(cursor, L.amount)
    # seconds: from the shot's real start, snapped to the nearest beat so the cut stays on the music
    start_t = 0.0 if i == 0 else grid.time_of(cursor)
    return float(grid.nearest_beat(start_t + float(L.amount)))


def _duration_frames(length: Length, grid: Grid, cut: int) -> int:
    if length.unit == "s":
        return max(1, seconds_to_frame(float(length.amount), grid.fps))
    beats = float(length.amount) * (grid.meter if length.unit == "bars" else 1)
    pos = grid.pos_of_time(cut / float(grid.fps))
    span = grid.time_of(pos + beats / 2) - grid.time_of(pos - beats / 2)
    return max(1, int(round(span * float(grid.fps))))


def _segments(start: int, end: int, limit: Optional[int], grid: Grid) -> tuple[Segment, ...]:
    """Split ``[start, end)`` into the fewest pieces of at most ``limit`` frames, boundaries on beats
    where a beat falls within reach (an invisible join lands best where a cut could)."""
    total = end - start
    if not limit or total <= limit:
        return (Segment(0, start, total),)
    count = math.ceil(total / limit)
    bounds = [start]
    for k in range(1, count):
        lo = max(bounds[-1] + 1, end - limit * (count - k))   # leave the rest coverable
        hi = bounds[-1] + limit
        ideal = min(max(start + round(k * total / count), lo), hi)
        beats = [f for f in grid.frames if lo <= f <= hi]
        bounds.append(min(beats, key=lambda f: abs(f - ideal)) if beats else ideal)
    bounds.append(end)
    return tuple(Segment(j, a, b - a) for j, (a, b) in enumerate(zip(bounds, bounds[1:])))


# ---------------------------------------------------------------------------------------------------
# anchors


def section_occurrences(sections) -> list[tuple[str, int, Section]]:
    """``(label, occurrence, section)`` for each section; occurrences count from 1 per label."""
    seen: dict[str, int] = {}
    out = []
    for s in sections:
        seen[s.label] = seen.get(s.label, 0) + 1
        out.append((s.label, seen[s.label], s))
    return out


def section_name_at(seconds: float, sections) -> str:
    """``"chorus 2"``-style name of the section holding ``seconds``."""
    occ = section_occurrences(sections)
    counts = {}
    for label, k, _ in occ:
        counts[label] = max(counts.get(label, 0), k)
    for label, k, s in occ:
        if s.start <= seconds + 1e-6 < s.end or s is occ[-1][2]:
            return label if counts[label] == 1 else f"{label} {k}"
    return ""


def describe_sections(sections) -> str:
    """``"intro at 0:00, verse ×2 at 0:08 and 0:40, chorus ×2 at 0:24 and 0:56"``."""
    groups: dict[str, list[float]] = {}
    for s in sections:
        groups.setdefault(s.label, []).append(s.start)
    parts = []
    for label, starts in groups.items():
        when = " and ".join(format_time(t).rsplit(".", 1)[0] for t in starts) if len(starts) <= 3 else \
            ", ".join(format_time(t).rsplit(".", 1)[0] for t in starts[:-1]) + " and " + \
            format_time(starts[-1]).rsplit(".", 1)[0]
        parts.append(f"{label} ×{len(starts)} at {when}" if len(starts) > 1 else f"{label} at {when}")
    return ", ".join(parts)


def _resolve(anchor: Anchor, grid: Grid, sections, lyrics, sb: Storyboard, field: str, total: int,
             allow_end: bool = False) -> float:
    where = sb.where(field)
    if anchor.kind == "section":
        occ = [(k, s) for label, k, s in section_occurrences(sections) if label == anchor.name]
        if anchor.name in ("end", "song-end") and allow_end:
            return grid.pos_of_time(grid.duration)
        if len(occ) < anchor.occurrence:
            have = describe_sections(sections)
            what = f"section '{anchor.raw}'"
            if occ:
                raise PlanError(f"{where}: no {what}: the song has {have}")
            from ..errors import did_you_mean

            raise PlanError(f"{where}: no {what}{did_you_mean(anchor.name, [s.label for s in sections])}: "
                            f"the song has {have}")
        s = occ[anchor.occurrence - 1][1]
        return float(grid.nearest_beat(s.start))
    if anchor.kind == "bar":
        pos = grid.bar_start(anchor.number)
        if grid.frame_of(pos) >= total:
            bars = len([d for d in grid.downbeats if grid.frames[d] < total])
            raise PlanError(f'{where}: no bar {anchor.number}: the song has {bars} bars '
                            f"(bar 1 at {format_time(grid.times[grid.bar_one])}, {grid.meter} beats a bar)")
        return float(pos)
    if anchor.kind == "beat":
        pos = grid.bar_one + anchor.number - 1
        if grid.frame_of(pos) >= total:
            beats = len([f for f in grid.frames[grid.bar_one:] if f < total])
            raise PlanError(f"{where}: no beat {anchor.number}: the song has {beats} beats from bar 1")
        return float(pos)
    if anchor.kind == "time":
        secs = float(anchor.seconds)
        if secs >= grid.duration:
            raise PlanError(f'{where}: "{anchor.raw}" is past the song\'s end at {format_time(grid.duration)}')
        return float(grid.nearest_beat(secs))
    if anchor.kind == "lyric":
        if lyrics is None:
            raise PlanError(f'{where}: "{anchor.raw}" needs lyrics: add "lyrics: song.lrc" (LRC or SRT) '
                            "to the storyboard")
        from ..ingest.lyrics import resolve_lyric_anchor

        try:
            secs = resolve_lyric_anchor(anchor, lyrics)
        except PlanError as e:
            raise PlanError(f"{where}: {e}") from None
        return float(grid.nearest_beat(secs))
    raise PlanError(f"{where}: cannot place anchor {anchor.raw!r}")


# ---------------------------------------------------------------------------------------------------
# prompts and seeds


def resolve_prompt(spec: ShotSpec, sb: Storyboard) -> str:
    """The full prompt: ``{name}`` replaced by the character description, the style appended."""
    if spec.prompt is None:
        return f"footage: {spec.clip.name}" if spec.clip else ""
    text = re.sub(r"\{([A-Za-z_][\w\-]*)\}", lambda m: sb.characters[m.group(1)].description
                  if m.group(1) in sb.characters else m.group(0), spec.prompt)
    if sb.style:
        text = f"{text.rstrip().rstrip(',.')}, {sb.style}"
    return text


def _negative(spec: ShotSpec, sb: Storyboard) -> str:
    parts = [p for p in (sb.negative, spec.negative) if p]
    return ", ".join(parts)


def _characters(spec: ShotSpec) -> tuple[str, ...]:
    if not spec.prompt:
        return ()
    return tuple(dict.fromkeys(re.findall(r"\{([A-Za-z_][\w\-]*)\}", spec.prompt)))


def _seed(spec: ShotSpec, sb: Storyboard, names) -> int:
    """The shot's seed: its own; else its first character's; else derived from the prompt text.

    Deriving from the text (not the index) keeps seeds stable when shots are inserted or reordered,
    so editing one shot regenerates that shot only.
    """
    if spec.seed is not None:
        return spec.seed
    for name in names:
        if sb.characters[name].seed is not None:
            return sb.characters[name].seed
    basis = f"{sb.seed}:{spec.prompt or spec.clip}"
    return int.from_bytes(hashlib.sha256(basis.encode()).digest()[:4], "big")


def _short(spec: ShotSpec) -> str:
    text = spec.prompt or str(spec.clip)
    return text if len(text) <= 40 else text[:37] + "..."


def _bars_left(grid: Grid, start_frame: int, total: int) -> str:
    beats = sum(1 for f in grid.frames if start_frame <= f < total)
    bars, rest = divmod(beats, grid.meter)
    return f"{bars} bars {rest} beats" if rest else f"{bars} bars"


def apply_overrides(analysis: Analysis, sb: Storyboard) -> Analysis:
    """Storyboard ``sections:`` replace the detected ones (snapped to the nearest downbeat)."""
    if not sb.sections:
        return analysis
    grid = Grid.from_analysis(analysis, sb.video.fps)
    starts = []
    for k, s in enumerate(sb.sections):
        pos = _resolve(s.at, grid, analysis.sections or (Section(0, analysis.duration, "song"),), None, sb,
                       f"sections[{k}].at", frames_in(analysis.duration, sb.video.fps))
        t = grid.time_of(pos)
        if starts and t <= starts[-1][0]:
            raise PlanError(f"{sb.where(f'sections[{k}].at')}: sections must be in song order; "
                            f'"{s.at}" is at {format_time(t)}, not after {format_time(starts[-1][0])}')
        starts.append((t, s.label))
    if starts[0][0] > 0:
        starts.insert(0, (0.0, "intro"))
    starts[0] = (0.0, starts[0][1])
    secs = tuple(Section(t, (starts[k + 1][0] if k + 1 < len(starts) else analysis.duration), label)
                 for k, (t, label) in enumerate(starts))
    return analysis.with_(sections=secs)
