"""Check a draft against the song: sections that exist, in order, filled exactly on the bar grid.

A draft's shots lie back to back; the shots of each section must add up to exactly that section's
bars (cuts at section changes land on the section's first downbeat). Lengths are counted the way the
planner counts them: ``N bars`` from a downbeat steps over N real downbeats, ``N beats`` over N beats.

:func:`fit` repairs what it safely can and says so: a section's last shot takes whatever its
section has left (that is how the storyboard is written: a section's last shot runs to the next
section's ``at: bar N``), when the shots before it leave it at least one beat. Everything else —
an unknown section, shots out of order, shots that overrun their section, unknown characters or
lyric lines, the wrong number of shots — comes back as a list of problems to ask the model about.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Optional

from ..schema.storyboard import TRANSITIONS
from .answer import DraftAnswer, Shot, length_beats
from .structure import SongStructure, bars_text


def advance(grid, cursor: float, shot: Shot, meter: int) -> float:
    """Beat position after ``shot`` starting at ``cursor``, as the planner counts the written length."""
    if shot.beats == 0:
        return grid.bars_from(cursor, Fraction(shot.bars))
    return cursor + shot.bars * meter + shot.beats


def length_text(beats: int, meter: int) -> str:
    """``"2 bars"``, ``"6 beats"``: how a length in beats is written (whole bars when it is)."""
    bars, rest = divmod(int(beats), meter)
    if rest == 0:
        return bars_text(bars)
    return f"{int(beats)} beat" if beats == 1 else f"{int(beats)} beats"


def fit(answer: DraftAnswer, structure: SongStructure, *,
        shots: Optional[int] = None) -> tuple[Optional[DraftAnswer], list[str], list[str]]:
    """Check ``answer`` against the song and repair section totals where that is safe.

    Parameters
    ----------
    answer : DraftAnswer
    structure : SongStructure
    shots : int, optional
        The exact number of shots asked for.

    Returns
    -------
    (DraftAnswer or None, problems, notes)
        The fitted answer (section names canonical, each section's last shot filling it) and notes
        on what was repaired; or None and the problems, each one line naming the shot and saying what
        the song accepts.
    """
    s = structure
    m = s.meter
    problems: list[str] = []
    n = len(answer.shots)
    if shots is not None and n != shots:
        problems.append(f"there are {n} shots; exactly {shots} were asked for")

    # names, transitions, characters, lyrics
    names = answer.character_names()
    seen_names: set[str] = set()
    for c in answer.characters:
        for nm in (c.name, *(lk.name for lk in c.looks)):
            if nm in seen_names:
                problems.append(f'character name "{nm}" is used twice; every character and look needs its own name')
            seen_names.add(nm)
    lyric_numbers = {ly.number for ly in s.lyrics}
    order: list[int] = []
    fixed: list[Shot] = []
    for i, shot in enumerate(answer.shots, 1):
        sec = s.section(shot.section)
        if sec is None:
            problems.append(f'shot {i}: section "{shot.section}" is not in the song; the sections are: '
                            + ", ".join(x.name for x in s.sections))
            order.append(-1)
        else:
            order.append(s.sections.index(sec))
            shot = shot.model_copy(update={"section": sec.name})
        if shot.transition not in TRANSITIONS:
            problems.append(f'shot {i}: transition "{shot.transition}" is unknown; expected one of '
                            + ", ".join(TRANSITIONS))
        if length_beats(shot, m) < 1:
            problems.append(f"shot {i}: has no length (0 bars, 0 beats); expected at least 1 beat")
        for ref in re.findall(r"\{([^{}]*)\}", shot.prompt):
            if ref not in names:
                known = ", ".join("{" + k + "}" for k in names) or "none (the characters list is empty)"
                problems.append(f'shot {i}: prompt uses "{{{ref}}}", which is not a character; known: {known}')
        if shot.lyric is not None and shot.lyric not in lyric_numbers:
            have = f"1..{max(lyric_numbers)}" if lyric_numbers else "none (no lyrics were given)"
            problems.append(f"shot {i}: lyric line {shot.lyric} does not exist; lyric lines: {have}")
        fixed.append(shot)

    # song order: every section has shots, sections never go back
    if all(k >= 0 for k in order):
        for i in range(1, n):
            if order[i] < order[i - 1]:
                problems.append(f'shot {i + 1}: section "{fixed[i].section}" comes after '
                                f'"{fixed[i - 1].section}" (shot {i}) in the answer but before it in the song; '
                                "shots must follow the song's order")
                break
        missing = [sec.name for k, sec in enumerate(s.sections) if k not in order]
        if missing:
            problems.append("sections without a shot: " + ", ".join(missing) +
                            "; every section needs at least one shot")
    if problems:
        return None, problems, []

    # lengths: each section filled exactly; its last shot absorbs a mismatch when it safely can
    notes: list[str] = []
    grid = s.grid
    for k, sec in enumerate(s.sections):
        idx = [i for i in range(n) if order[i] == k]
        cursor = sec.start
        for i in idx[:-1]:
            cursor = advance(grid, cursor, fixed[i], m)
        last = idx[-1]
        nominal = advance(grid, cursor, fixed[last], m)
        if abs(nominal - sec.end) < 1e-6:
            continue
        total = sum(length_beats(fixed[i], m) for i in idx)
        want = round(sec.end - sec.start)
        shots_txt = f"shot {idx[0] + 1}" if len(idx) == 1 else f"shots {idx[0] + 1}-{idx[-1] + 1}"
        left = sec.end - cursor
        if left >= 1 - 1e-6:
            rest = round(left)
            bars, beats = divmod(rest, m)
            fixed[last] = fixed[last].model_copy(update={"bars": bars, "beats": beats})
            notes.append(f"shot {last + 1} set to {length_text(rest, m)} so that {sec.name} "
                         f"(bars {sec.first_bar}-{sec.last_bar}) is filled exactly "
                         f"(its shots added up to {length_text(total, m)})")
            continue
        problems.append(f'section "{sec.name}" has {bars_text(sec.bars)} (bars {sec.first_bar}-{sec.last_bar}, '
                        f"{want} beats); its {shots_txt} add up to {length_text(total, m)} ({total} beats); "
                        f"they must add up to exactly {bars_text(sec.bars)}")
    if problems:
        return None, problems, []
    return answer.model_copy(update={"shots": tuple(fixed)}), [], notes
