"""The song's structure on its bar grid: what a draft is built on and what is sent to a language model.

Bars are counted as the planner counts them: bar 1 starts at the first downbeat (a lead-in before it
belongs to the first shot); bar ``n`` starts at :meth:`Grid.bar_start`. A bar is part of the song when
at least one of its beats starts before the song ends; the song's last shot runs to the end.
Sections start on bars (the analysis puts their boundaries on downbeats; one that does not is moved
to the nearest bar).

Only text leaves the machine: :func:`summary_text` is what a model reads about the song.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Optional, Sequence

from ..schema.analysis import Analysis
from ..timebase import format_time

if TYPE_CHECKING:
    from ..plan.grid import Grid


@dataclass(frozen=True)
class SectionSpan:
    """One section of the song in bars.

    Attributes
    ----------
    name : str
        ``"chorus 2"`` style: the label, with its occurrence when the label repeats.
    label : str
        The analysis label (``verse``, ``chorus``, ``A`` ...).
    first_bar : int
        1-based bar where it starts (the first section starts at bar 1 and also holds the lead-in).
    bars : int
        Whole bars in it (the last section's last bar may be cut short by the song's end).
    start, end : float
        Beat positions on the grid (``end`` of the last section: its last bar's nominal end).
    start_s, end_s : float
        Seconds (the first section starts at 0, the last ends with the song).
    """

    name: str
    label: str
    first_bar: int
    bars: int
    start: float
    end: float
    start_s: float
    end_s: float

    @property
    def last_bar(self) -> int:
        return self.first_bar + self.bars - 1


@dataclass(frozen=True)
class LyricRef:
    """A lyric line as the draft sees it: number, words, and where it is sung (None when untimed)."""

    number: int
    text: str
    seconds: Optional[float] = None
    bar: Optional[int] = None


@dataclass(frozen=True)
class SongStructure:
    """A song on its bar grid, ready to be cut into shots.

    Attributes
    ----------
    grid : Grid
        The planner's beat grid at the draft's frame rate.
    sections : tuple of SectionSpan
        Contiguous, in song order, covering bars ``1 .. bars``.
    bars : int
        Bars in the song.
    meter : int
        Beats per bar.
    tempo : float
        BPM.
    duration : float
        Seconds.
    lyrics : tuple of LyricRef
    """

    grid: "Grid"
    sections: tuple[SectionSpan, ...]
    bars: int
    meter: int
    tempo: float
    duration: float
    lyrics: tuple[LyricRef, ...] = ()

    def section(self, name: str) -> Optional[SectionSpan]:
        """The section called ``name`` (case-insensitive), or None."""
        key = " ".join(str(name).split()).lower()
        return next((s for s in self.sections if s.name.lower() == key), None)

    def span(self, name: str) -> SectionSpan:
        """The section called ``name``; a draft that passed :func:`~songreel.draft.check.fit` has only these."""
        sec = self.section(name)
        if sec is None:
            raise LookupError(f"no section {name!r} in this song")
        return sec

    @property
    def bar_seconds(self) -> float:
        """Median bar length in seconds."""
        return self.grid.period * self.meter

    def bar_time(self, bar: int) -> float:
        """Seconds where bar ``bar`` starts (bar 1 of the song is shown from 0, the lead-in)."""
        return max(0.0, self.grid.time_of(self.grid.bar_start(bar)))


def song_structure(analysis: Analysis, fps: Fraction, lyrics: Sequence = ()) -> SongStructure:
    """Read the bar grid and sections of an analysed song.

    Parameters
    ----------
    analysis : Analysis
        With any storyboard overrides already applied.
    fps : Fraction
        The project frame rate (the planner snaps beats to these frames).
    lyrics : sequence, optional
        :class:`~songreel.ingest.lyrics.LyricLine` (timed) or plain strings (untimed).

    Returns
    -------
    SongStructure
    """
    from ..plan.grid import Grid
    from ..plan.planner import section_occurrences

    grid = Grid.from_analysis(analysis, fps)
    end_pos = grid.pos_of_time(analysis.duration)
    bars = 1
    while grid.bar_start(bars + 1) <= end_pos - 1 + 1e-9:
        bars += 1
    # section starts as bar numbers (the first one is bar 1: the lead-in belongs to it)
    downs = [grid.bar_start(n) for n in range(1, bars + 2)]
    starts: list[tuple[int, str]] = []
    occ = section_occurrences(analysis.sections) if analysis.sections else []
    for label, _k, sec in occ:
        pos = grid.pos_of_time(sec.start)
        bar = min(range(1, bars + 1), key=lambda n: abs(downs[n - 1] - pos)) if starts else 1
        if starts and bar <= starts[-1][0]:
            continue  # a section shorter than a bar joins the one before it
        starts.append((bar, label))
    if not starts:
        starts = [(1, "song")]
    counts: dict[str, int] = {}
    for _, label in starts:
        counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    spans = []
    for k, (bar, label) in enumerate(starts):
        nxt = starts[k + 1][0] if k + 1 < len(starts) else bars + 1
        seen[label] = seen.get(label, 0) + 1
        name = label if counts[label] == 1 else f"{label} {seen[label]}"
        start, end = float(downs[bar - 1]), float(downs[nxt - 1])
        spans.append(SectionSpan(
            name=name, label=label, first_bar=bar, bars=nxt - bar, start=start, end=end,
            start_s=0.0 if k == 0 else grid.time_of(start),
            end_s=float(analysis.duration) if k + 1 == len(starts) else grid.time_of(end)))
    return SongStructure(grid=grid, sections=tuple(spans), bars=bars, meter=grid.meter,
                         tempo=float(analysis.tempo), duration=float(analysis.duration),
                         lyrics=_lyric_refs(lyrics, grid, bars))


def _lyric_refs(lines: Sequence, grid, bars: int) -> tuple[LyricRef, ...]:
    out = []
    for i, line in enumerate(lines, 1):
        if isinstance(line, str):
            out.append(LyricRef(i, line))
            continue
        pos = grid.pos_of_time(float(line.start))
        bar = 1
        while bar < bars and grid.bar_start(bar + 1) <= pos + 1e-9:
            bar += 1
        out.append(LyricRef(int(getattr(line, "index", i)), " ".join(str(line.text).split()),
                            float(line.start), bar))
    return tuple(out)


def bars_text(n: int) -> str:
    return f"{n} bar" if n == 1 else f"{n} bars"


def summary_text(structure: SongStructure) -> str:
    """What a language model is told about the song: tempo, meter, bars, sections, lyric lines.

    Only numbers and words derived from the analysis (and the lyrics the user gave); never audio.
    """
    s = structure
    lines = [(f"Song: {format_time(s.duration)} long, {s.tempo:.1f} BPM, {s.meter} beats per bar, "
              f"{s.bars} bars (one bar is about {s.bar_seconds:.2f} s)."),
             "Sections in song order (name: bars, start time):"]
    for sec in s.sections:
        lines.append(f"- {sec.name}: bars {sec.first_bar}-{sec.last_bar} ({bars_text(sec.bars)}), "
                     f"from {format_time(sec.start_s)} to {format_time(sec.end_s)}")
    if s.lyrics:
        timed = s.lyrics[0].seconds is not None
        lines.append("Lyric lines (number: " + ("time, bar, words):" if timed else "words):"))
        for ly in s.lyrics:
            where = f"{format_time(ly.seconds)}, bar {ly.bar}, " if ly.seconds is not None else ""
            lines.append(f"{ly.number}: {where}\"{ly.text}\"")
    return "\n".join(lines)
