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
from pathlib import Path
from typing import Callable, Optional

from ..errors import PlanError, SongreelError
from ..schema.analysis import Analysis, Section
from ..schema.plan import Plan, PlannedShot, PlannedTransition, Segment
from ..schema.storyboard import LENGTH_ACCEPTED, Anchor, BackendSpec, Length, ShotSpec, Storyboard
from ..timebase import format_time, frames_in, seconds_to_frame
from .cast import expand, resolve_cast
from .grid import Grid
from .sections import describe_sections, find_section, section_name_at, section_occurrences  # noqa: F401
from .wording import bars_beats, plural

DEFAULT_TRANSITION_BEATS: dict[str, int | Fraction] = {"crossfade": 1, "dip": 1, "dip-white": 1, "zoom": 1,
                                                       "whip": Fraction(1, 2), "slide": Fraction(1, 2)}
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
    wanted: list[Optional[float]] = [None] * n  # the end a shot's own length / until asks for
    notes: list[list[str]] = [[] for _ in range(n)]
    count_from = float(grid.bar_one) if grid.frames[grid.bar_one] > 0 else 0.0
    cursor = count_from
    for i, spec in enumerate(shots):
        if i > 0:
            anchor = anchors[i]
            if anchor is not None:
                origin = [count_from] + starts[1:]
                if grid.frame_of(anchor) < grid.frame_of(cursor):
                    raise PlanError(_overrun(i, anchor, cursor, origin, wanted, grid, storyboard))
                before = wanted[i - 1]
                if before is not None and grid.frame_of(anchor) > grid.frame_of(before):
                    first = 0 if i == 1 else grid.frame_of(starts[i - 1])
                    notes[i - 1].append(_stretch_note(i - 1, first, origin[i - 1], before, anchor, grid,
                                                      storyboard))
                ends[i - 1] = anchor
                cursor = anchor
            starts[i] = cursor
        # end of this shot
        end = _end_of(spec, i, cursor, grid, sections, lyrics, storyboard, total, n, anchors)
        wanted[i] = end
        if end is None:  # open: stretches to the next anchor or the song's end
            end = next((a for a in anchors[i + 1:] if a is not None), None) if i < n - 1 else None
            if end is not None and grid.frame_of(end) <= grid.frame_of(cursor):
                k = next(j for j in range(i + 1, n) if anchors[j] is not None)
                at_k = _anchor_is(_at_of(storyboard, k), end, grid)
                raise PlanError(f'{storyboard.where(f"shots[{k}].at")}: at: {at_k}, '
                                f"not after shot {i + 1}'s start at {format_time(grid.time_of(cursor))}; "
                                "anchors must follow the shot order")
            if end is None:
                if i < n - 1:
                    raise PlanError(f"{storyboard.where(f'shots[{i}]')}.length: missing; expected {LENGTH_HELP} "
                                    "(only the last shot, or a shot followed by an at: anchor, may omit it)")
                end = grid.pos_of_time(analysis.duration)
        ends[i] = end
        cursor = end

    # 2. to frames; the last shot always meets the song's end
    warnings: list[str] = []
    cut_frames = [0] + [grid.frame_of(ends[i]) for i in range(n - 1)] + [total]
    last_wanted = grid.frame_of(ends[-1])
    if shots[-1].length is not None and last_wanted < total - 1:
        notes[-1].append(f"stretched from {shots[-1].length} to {(total - cut_frames[-2]) / float(fps):.2f} s "
                         f"(+{(total - last_wanted) / float(fps):.2f} s) to end with the song")
    for i in range(n):
        warnings.extend(f"shot {i + 1} ({_short(shots[i])}): {note}" for note in notes[i])
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
        section = section_name_at(grid.time_of(start_pos) if i > 0 else 0.0, sections)
        cast = resolve_cast(spec, storyboard, section)
        planned.append(PlannedShot(
            index=i, name=spec.name or f"shot {i + 1}", spec=spec,
            prompt=resolve_prompt(spec, storyboard, cast), negative=_negative(spec, storyboard),
            seed=_seed(spec, storyboard, names, cast), backend=backend, start=a, end=b, head=heads[i],
            tail=tails[i], transition=trans[i], segments=segs,
            start_beat=int(round(starts[i])), end_beat=int(round(ends[i])),
            position=grid.position(start_pos), section=section,
            characters=names, takes=spec.takes, notes=tuple(notes[i]), cast=cast,
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
        extra={"character_images": {k: str(c.image) for k, c in storyboard.characters.items() if c.image},
               "image_first": tuple(i for i, spec in enumerate(shots) if spec.prompt is not None and (
                   storyboard.keyframes if spec.keyframes is None else spec.keyframes))},
    ), storyboard)


LENGTH_HELP = LENGTH_ACCEPTED


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


def _resolve(anchor: Anchor, grid: Grid, sections, lyrics, sb: Storyboard, field: str, total: int,
             allow_end: bool = False) -> float:
    where = sb.where(field)
    if anchor.kind == "section":
        if anchor.name in ("end", "song-end") and allow_end:
            return grid.pos_of_time(grid.duration)
        return float(grid.nearest_beat(find_section(anchor, sections, where).start))
    if anchor.kind == "bar":
        pos = grid.bar_start(anchor.number)
        if grid.frame_of(pos) >= total:
            bars = len([d for d in grid.downbeats if grid.frames[d] < total])
            raise PlanError(f'{where}: no bar {anchor.number}: the song has {plural(bars, "bar")} '
                            f"(bar 1 at {format_time(grid.times[grid.bar_one])}, {grid.meter} beats a bar)")
        return float(pos)
    if anchor.kind == "beat":
        pos = grid.bar_one + anchor.number - 1
        if grid.frame_of(pos) >= total:
            beats = len([f for f in grid.frames[grid.bar_one:] if f < total])
            raise PlanError(f"{where}: no beat {anchor.number}: the song has {plural(beats, 'beat')} from bar 1")
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


def resolve_prompt(spec: ShotSpec, sb: Storyboard, cast=()) -> str:
    """The full prompt: ``{name}`` replaced by the character description (of the look ``cast``
    selected, if any), the style appended."""
    if spec.prompt is None:
        return f"footage: {spec.clip.name}" if spec.clip else ""
    text = expand(spec.prompt, cast, sb)
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


def _seed(spec: ShotSpec, sb: Storyboard, names, cast=()) -> int:
    """The shot's seed: its own; else its first character's; else derived from the prompt text.

    Deriving from the text (not the index) keeps seeds stable when shots are inserted or reordered,
    so editing one shot regenerates that shot only.
    """
    if spec.seed is not None:
        return spec.seed
    for member in cast:   # a look's seed, else the character's
        if member.seed is not None:
            return member.seed
    for name in names:
        seed = sb.characters[name].seed
        if seed is not None:
            return seed
    basis = f"{sb.seed}:{spec.prompt or _as_written(spec.clip, sb)}"
    return int.from_bytes(hashlib.sha256(basis.encode()).digest()[:4], "big")


def _as_written(path, sb: Storyboard) -> str:
    """A footage path relative to the storyboard's folder, as a storyboard would spell it, so a seed
    derived from it does not change with the working directory or when the project folder moves."""
    import os

    if path is None:
        return "None"
    base = Path(sb.base_dir).resolve() if sb.base_dir is not None else Path.cwd()
    return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()


def _short(spec: ShotSpec) -> str:
    text = spec.prompt or str(spec.clip)
    return text if len(text) <= 40 else text[:37] + "..."


def _bars_left(grid: Grid, start_frame: int, total: int) -> str:
    beats = sum(1 for f in grid.frames if start_frame <= f < total)
    return bars_beats(beats, grid.meter)


def _at_of(sb: Storyboard, i: int) -> Anchor:
    """Shot ``i``'s ``at:`` anchor; asked only of shots whose anchor was resolved, so None is a bug."""
    at = sb.shots[i].at
    if at is None:
        raise SongreelError(f"{sb.where(f'shots[{i}]')}: internal error: shot {i + 1} has no at: anchor to report")
    return at


def _anchor_is(anchor: Anchor, pos: float, grid: Grid, verb: str = "is") -> str:
    """``"bar 3" is 0:04.00``; a time anchor also says it was snapped to the nearest beat, and by how much."""
    t = grid.time_of(pos)
    if anchor.kind == "time":
        delta = t - float(anchor.seconds)
        return (f'"{anchor.raw}" {verb} {format_time(t)} (snapped to the nearest beat, {delta:+.2f} s, '
                "so the cut lands on the music)")
    return f'"{anchor.raw}" {verb} {format_time(t)}'


def _length_words(spec: ShotSpec) -> tuple[str, str]:
    """(field, how it was written) of what sets a shot's end."""
    if spec.until is not None:
        return "until", f'until: "{spec.until}"'
    return "length", f'"{spec.length}"'


def _overrun(i: int, anchor: float, cursor: float, origin: list, wanted, grid: Grid, sb: Storyboard) -> str:
    """The message for an ``at:`` anchor that falls before the previous shots end: blame the length
    (or until) that runs past it, on its own line, and say how much room there is.

    ``origin[k]`` is the beat position shot ``k``'s length counts from."""
    shots = sb.shots
    af = grid.frame_of(anchor)
    # the shot on screen at the anchor is the one whose length overruns it
    j = max((k for k in range(1, i) if grid.frame_of(origin[k]) < af), default=0)
    if wanted[j] is not None:
        field, written = _length_words(shots[j])
        later = f" (and shot{'s' if i - j > 2 else ''} {j + 2}{f'–{i}' if i - j > 2 else ''} after it " \
                f"{'have' if i - j > 2 else 'has'} no room)" if j < i - 1 else ""
        return (f"{sb.where(f'shots[{j}].{field}')}: {written} runs to {format_time(grid.time_of(wanted[j]))}, "
                f"past shot {i + 1}'s at: {_anchor_is(_at_of(sb, i), anchor, grid, 'at')}{later}; shot {j + 1} has "
                f"{bars_beats(max(0.0, anchor - origin[j]), grid.meter)} from "
                f"{format_time(grid.time_of(origin[j]))} to there: shorten it, or leave out its {field} to "
                "stretch it to the anchor")
    return (f"{sb.where(f'shots[{i}].at')}: at: {_anchor_is(_at_of(sb, i), anchor, grid)}, before shot {i}'s end "
            f"at {format_time(grid.time_of(cursor))}; anchors must follow the shot order (shorten the shots "
            "before it)")


def _stretch_note(j: int, start_frame: int, origin: float, wanted: float, anchor: float, grid: Grid,
                  sb: Storyboard) -> str:
    _, written = _length_words(sb.shots[j])
    fps = float(grid.fps)
    return (f"stretched from {written} ({(grid.frame_of(wanted) - start_frame) / fps:.2f} s) to "
            f"{bars_beats(anchor - origin, grid.meter)} ({(grid.frame_of(anchor) - start_frame) / fps:.2f} s) "
            f'to meet shot {j + 2}\'s at: "{sb.shots[j + 1].at}" at {format_time(grid.time_of(anchor))}')


def apply_overrides(analysis: Analysis, sb: Storyboard) -> Analysis:
    """Storyboard ``sections:`` replace the detected ones (snapped to the nearest downbeat)."""
    if not sb.sections:
        return analysis
    grid = Grid.from_analysis(analysis, sb.video.fps)
    starts: list[tuple[float, str]] = []
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
