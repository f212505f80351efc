"""The draft without a language model: one shot per phrase, cut on downbeats, sections respected.

Deterministic: the same song, concept and options always give the same storyboard. Phrases start
at each section's first bar; a section's leftover bars become a shot of their own when they are at
least half a phrase, else they lengthen the section's last shot. The default phrase is the longest
of 4, 2 or 1 bars that lasts at most :data:`MAX_PHRASE_SECONDS` (what video models make in one go).
Prompts are built from the concept, the section's role in the song and where the shot falls in the
story, plus the lyric line sung over it when the lyrics are timed.
"""

from __future__ import annotations

from typing import Optional

from .answer import DraftAnswer, Shot
from .structure import SectionSpan, SongStructure

MAX_PHRASE_SECONDS = 8.5

# how each kind of section is filmed; unknown labels (A, B, ...) get the default
SECTION_SHOTS = {
    "intro": "establishing wide shot, quiet and still, the world before the story",
    "verse": "medium shot, everyday detail, the story moving forward",
    "pre-chorus": "closer shot, rising tension",
    "chorus": "wide, bright and full of movement, the emotional peak",
    "bridge": "a change of place and colour, close-up, reflective",
    "solo": "dynamic camera, bold light",
    "outro": "slow pull back, fading light, the story coming to rest",
    "song": "cinematic shot",
}
DEFAULT_SHOT = "cinematic shot, a new moment of the story"
STORY_PARTS = ("as the story begins", "early in the story", "midway through the story", "late in the story",
               "as the story ends")


def phrase_beats(structure: SongStructure, *, cut_every: Optional[int] = None) -> int:
    """Beats per phrase: ``cut_every`` when given, else 4, 2 or 1 bars (see module docstring)."""
    if cut_every:
        return int(cut_every)
    for bars in (4, 2):
        if bars * structure.bar_seconds <= MAX_PHRASE_SECONDS:
            return bars * structure.meter
    return structure.meter


def offline_draft(structure: SongStructure, *, concept: str, shots: Optional[int] = None,
                  cut_every: Optional[int] = None, style: Optional[str] = None,
                  title: str = "") -> DraftAnswer:
    """Cut the song into shots without a model.

    Parameters
    ----------
    structure : SongStructure
    concept : str
        The story in a sentence; every prompt starts from it.
    shots : int, optional
        Exactly this many shots, spread over the sections by their length (at least one each).
    cut_every : int, optional
        Phrase length in beats.
    style : str, optional
    title : str

    Returns
    -------
    DraftAnswer
        Passes :func:`songreel.draft.check.fit` unchanged.
    """
    s = structure
    if shots is not None:
        counts = _spread(shots, [sec.end - sec.start for sec in s.sections])
        counts = _cap(counts, [round(sec.end - sec.start) for sec in s.sections])
        lengths = [_even(round(sec.end - sec.start), k, s.meter) for sec, k in zip(s.sections, counts)]
    else:
        p = phrase_beats(s, cut_every=cut_every)
        lengths = [_phrases(round(sec.end - sec.start), p) for sec in s.sections]
    total = sum(len(x) for x in lengths)
    out = []
    done = 0
    for sec, parts in zip(s.sections, lengths):
        pos = sec.start
        for j, beats in enumerate(parts):
            bars, rest = divmod(beats, s.meter)
            lyric = _lyric_in(s, pos, pos + beats)
            out.append(Shot(
                name=sec.name + (f" ({j + 1}/{len(parts)})" if len(parts) > 1 else ""),
                prompt=_prompt(concept, sec, j, len(parts), done, total, lyric),
                section=sec.name, bars=bars, beats=rest, transition="cut",
                lyric=lyric.number if lyric is not None else None))
            pos += beats
            done += 1
    return DraftAnswer(title=title, style=style or "", characters=(), shots=tuple(out))


def _phrases(beats: int, p: int) -> list[int]:
    """Split a section of ``beats`` into phrases of ``p`` from its start (see module docstring)."""
    if beats <= p:
        return [beats]
    n, rest = divmod(beats, p)
    parts = [p] * n
    if rest:
        if 2 * rest >= p:
            parts.append(rest)
        else:
            parts[-1] += rest
    return parts


def _even(beats: int, k: int, meter: int) -> list[int]:
    """``k`` lengths adding up to ``beats``: whole bars when there are enough bars, longest first."""
    bars, extra = divmod(beats, meter)
    if k <= bars:
        q, r = divmod(bars, k)
        parts = [(q + (1 if i < r else 0)) * meter for i in range(k)]
        parts[-1] += extra
        return parts
    q, r = divmod(beats, k)
    return [q + (1 if i < r else 0) for i in range(k)]


def _spread(n: int, weights: list[float]) -> list[int]:
    """``n`` shots over sections by length (largest remainder), every section at least one."""
    k = len(weights)
    counts = [1] * k
    left = n - k
    if left <= 0:
        return counts
    total = sum(weights) or 1.0
    quotas = [w / total * n for w in weights]
    extra = [max(0.0, q - 1) for q in quotas]
    whole = [int(e) for e in extra]
    while sum(whole) > left:
        j = max(range(k), key=lambda i: whole[i])
        whole[j] -= 1
    rems = sorted(range(k), key=lambda i: (-(extra[i] - whole[i]), i))
    for i in rems[: left - sum(whole)]:
        whole[i] += 1
    return [c + w for c, w in zip(counts, whole)]


def _cap(counts: list[int], beats: list[int]) -> list[int]:
    """No section gets more shots than it has beats; the excess goes where there is most room."""
    counts = list(counts)
    for i in range(len(counts)):
        while counts[i] > beats[i]:
            j = max(range(len(counts)), key=lambda k: beats[k] - counts[k])
            if beats[j] - counts[j] <= 0:
                break
            counts[i] -= 1
            counts[j] += 1
    return counts


def _lyric_in(s: SongStructure, a: float, b: float):
    """The first timed lyric line that starts within beat positions ``[a, b)``."""
    grid = s.grid
    for ly in s.lyrics:
        if ly.seconds is None:
            return None
        pos = grid.pos_of_time(ly.seconds)
        if a - 1e-9 <= pos < b - 1e-9:
            return ly
    return None


def _prompt(concept: str, sec: SectionSpan, j: int, n: int, done: int, total: int, lyric) -> str:
    concept = _plain(concept).rstrip(" .")
    how = SECTION_SHOTS.get(sec.label.lower(), DEFAULT_SHOT)
    part = STORY_PARTS[min(len(STORY_PARTS) - 1, done * len(STORY_PARTS) // max(1, total))]
    text = f"{concept}, {part}: {how}"
    if lyric is not None:
        text += f', evoking the words "{_plain(lyric.text)}"'
    if n > 1:
        where = f"the {sec.name}" if sec.label.lower() in SECTION_SHOTS else f"section {sec.name}"
        text += f" (moment {j + 1} of {n} in {where})"
    return text


def _plain(text: str) -> str:
    """One line, without the braces a storyboard reads as character names."""
    return " ".join(str(text).replace("{", "(").replace("}", ")").split())
