"""Timed lyrics: LRC and SRT files read into :class:`LyricLine` tuples, and lyric anchors resolved.

LRC (``[mm:ss.xx]text``): several time tags on one line give the line at each time; ID tags
(``[ar:...]``, ``[ti:...]``) are ignored; ``[offset:+/-ms]`` is honoured (positive = lyrics come
earlier, as the LRC convention says); enhanced-LRC word stamps (``<mm:ss.xx>``) are stripped; a time
tag with no text ends the previous line (the only end an LRC line has: otherwise its ``end`` is None,
and the subtitle writer holds it until the next line, for a few seconds at most). SRT: numbered cues
with ``HH:MM:SS,mmm --> HH:MM:SS,mmm``.

Times are seconds (floats): lyrics live at the edge, like audio analysis. The planner and the
subtitle writer snap them to frames.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..errors import InputError, MissingFileError, PlanError

FORMATS = (".lrc", ".srt")


@dataclass(frozen=True)
class LyricLine:
    """One sung line.

    Attributes
    ----------
    start : float
        Seconds from the start of the song.
    end : float or None
        Seconds; ``None`` when the file does not say (an LRC line not ended by an empty time tag).
    text : str
        The words; lines of a multi-line SRT cue are joined with ``"\\n"``.
    index : int
        1-based number in time order: ``lyric 3`` in a storyboard is the line with ``index == 3``.
    """

    start: float
    end: Optional[float]
    text: str
    index: int


class LyricsError(InputError):
    """A lyrics file is malformed: ``FILE:LINE: what was found, what is accepted``."""


def _err(path: Path, line: int, message: str) -> LyricsError:
    return LyricsError(f"{path}:{line}: {message}")


def load_lyrics(path: Path | str) -> tuple[LyricLine, ...]:
    """Read an ``.lrc`` or ``.srt`` file.

    Parameters
    ----------
    path : Path or str

    Returns
    -------
    tuple of LyricLine
        Sorted by start time, numbered from 1; an LRC line's ``end`` is the time of an empty time tag
        right after it, else ``None`` (the next line's start is not taken as its end: across an
        instrumental break that would keep the words up for the whole break).

    Raises
    ------
    MissingFileError
        The file does not exist.
    LyricsError (an InputError)
        Unknown suffix, undecodable text, a malformed time, a cue without timing — naming file:line.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: lyrics file does not exist")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise LyricsError(f"{path}: unknown lyrics format {suffix or '(no suffix)'!r}, expected .lrc or .srt")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise _err(path, line, "not UTF-8 text, expected a UTF-8 lyrics file") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return parse_lrc(lines, path) if suffix == ".lrc" else parse_srt(lines, path)


_TAG = re.compile(r"\[([^\]]*)\]")
_STAMP = re.compile(r"^\s*(\d+):(\d{1,2})(?:[.:](\d{1,3}))?\s*$")
_WORD_STAMP = re.compile(r"<\d+:\d{1,2}(?:[.:]\d{1,3})?>")
_ID_TAG = re.compile(r"^\s*([A-Za-z#][\w ]*)\s*:(.*)$")


def _stamp_seconds(m: re.Match) -> float:
    minutes, seconds, frac = int(m.group(1)), int(m.group(2)), m.group(3) or "0"
    return minutes * 60 + seconds + int(frac) / 10 ** len(frac)


def parse_lrc(lines: Sequence[str], path: Path | str = "<lrc>") -> tuple[LyricLine, ...]:
    """Parse LRC text (a sequence of lines). See :func:`load_lyrics`."""
    path = Path(path)
    offset = 0.0
    events: list[tuple[float, int, str]] = []   # (time, file line, text); text "" ends the previous line
    for n, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            continue
        stamps: list[float] = []
        pos = 0
        while True:
            m = _TAG.match(s, pos)
            if not m:
                break
            body = m.group(1)
            stamp = _STAMP.match(body)
            if stamp:
                if int(stamp.group(2)) >= 60:
                    raise _err(path, n, f"time tag [{body}] has {stamp.group(2)} seconds, expected 00-59")
                stamps.append(_stamp_seconds(stamp))
            else:
                tag = _ID_TAG.match(body)
                if not tag:
                    raise _err(path, n, f"got tag [{body}], expected a time [mm:ss.xx] or an ID tag [ar:...]")
                if tag.group(1).strip().lower() == "offset":
                    try:
                        offset = int(tag.group(2).strip().lstrip("+")) / 1000.0
                    except ValueError:
                        raise _err(path, n, f"got [offset:{tag.group(2).strip()}], expected milliseconds "
                                            "such as [offset:+250]") from None
            pos = m.end()
        rest = _WORD_STAMP.sub("", s[pos:]).strip()
        if not stamps:
            if rest:
                raise _err(path, n, f"got text without a time tag ({rest[:40]!r}), expected [mm:ss.xx]text")
            continue
        for t in stamps:
            events.append((t, n, rest))
    events.sort(key=lambda e: (e[0], e[1]))
    out: list[LyricLine] = []
    for k, (t, n, words) in enumerate(events):
        if not words:
            continue
        following = next((e for e in events[k + 1:] if e[0] > t), None)
        end = following[0] if following is not None and not following[2] else None
        start = max(0.0, t - offset)
        out.append(LyricLine(start, None if end is None else max(start, end - offset), words, 0))
    return tuple(LyricLine(l.start, l.end, l.text, i + 1) for i, l in enumerate(out))


_SRT_TIME = re.compile(
    r"^\s*(\d+):(\d{2}):(\d{2})[,.](\d{1,3})\s*-->\s*(\d+):(\d{2}):(\d{2})[,.](\d{1,3})(?:\s+.*)?$")


def parse_srt(lines: Sequence[str], path: Path | str = "<srt>") -> tuple[LyricLine, ...]:
    """Parse SRT text (a sequence of lines). See :func:`load_lyrics`."""
    path = Path(path)
    cues: list[tuple[float, float, str, int]] = []
    n, total = 0, len(lines)
    while n < total:
        if not lines[n].strip():
            n += 1
            continue
        first = n + 1
        head = lines[n].strip()
        timing_line = head
        if "-->" not in head:
            if not head.isdigit():
                raise _err(path, first, f"got {head[:40]!r}, expected a cue number or a timing line "
                                        "'00:00:01,000 --> 00:00:04,000'")
            n += 1
            if n >= total or "-->" not in lines[n]:
                raise _err(path, n + 1 if n < total else first,
                           f"cue {head} has no timing line, expected '00:00:01,000 --> 00:00:04,000'")
            timing_line = lines[n].strip()
        m = _SRT_TIME.match(timing_line)
        if not m:
            raise _err(path, n + 1, f"got timing {timing_line[:60]!r}, expected "
                                    "'HH:MM:SS,mmm --> HH:MM:SS,mmm'")
        g = m.groups()

        def secs(h, mi, s, ms):
            if int(mi) >= 60 or int(s) >= 60:
                raise _err(path, n + 1, f"got timing {timing_line[:60]!r}, minutes and seconds must be 00-59")
            return int(h) * 3600 + int(mi) * 60 + int(s) + int(ms) / 10 ** len(ms)

        a, b = secs(*g[:4]), secs(*g[4:])
        if b < a:
            raise _err(path, n + 1, f"cue ends at {b:.3f} s before it starts at {a:.3f} s, expected end >= start")
        n += 1
        text = []
        while n < total and lines[n].strip():
            text.append(re.sub(r"</?[a-zA-Z][^>]*>", "", lines[n].strip()))
            n += 1
        cues.append((a, b, "\n".join(text), first))
    cues.sort(key=lambda c: (c[0], c[3]))
    cues = [c for c in cues if c[2].strip()]
    return tuple(LyricLine(a, b, t, i + 1) for i, (a, b, t, _) in enumerate(cues))


# ---------------------------------------------------------------------------------------------------
# anchors


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in text)
    return " ".join(text.split())


def _when(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:05.2f}"


def resolve_lyric_anchor(anchor, lyrics: Sequence[LyricLine]) -> float:
    """The time a ``lyric`` anchor points at: the start of the line.

    Parameters
    ----------
    anchor : songreel.schema.storyboard.Anchor
        ``kind == "lyric"`` with ``number`` (1-based, ``lyric 3``) or ``text`` (``lyric: I remember``:
        the first line, in time order, containing those words — case, accents of width and punctuation
        ignored).
    lyrics : sequence of LyricLine

    Returns
    -------
    float
        Seconds.

    Raises
    ------
    PlanError
        ``no lyric 40: the lyrics have 22 lines``; ``no lyric matching 'I remember': closest is lyric 5
        "I remembered you" (0:42.10)``; no lyrics loaded.
    """
    raw = getattr(anchor, "raw", "") or str(anchor)
    if getattr(anchor, "kind", "lyric") != "lyric":
        raise PlanError(f"anchor {raw!r}: got a {anchor.kind} anchor, expected a lyric anchor")
    if not lyrics:
        raise PlanError(f"anchor {raw!r}: the storyboard has no lyrics (set 'lyrics: song.lrc' "
                        "to an .lrc or .srt file)")
    if not anchor.text:
        n = int(anchor.number)
        for line in lyrics:
            if line.index == n:
                return float(line.start)
        raise PlanError(f"no lyric {n}: the lyrics have {len(lyrics)} lines (lyric 1 to "
                        f"lyric {len(lyrics)})")
    want = _norm(anchor.text)
    if not want:
        raise PlanError(f"{raw!r}: got no words after 'lyric:', expected words from a lyric line")
    for line in lyrics:
        if want in _norm(line.text):
            return float(line.start)
    # closest line, for the message
    best, score = None, 0.0
    for line in lyrics:
        norm = _norm(line.text)
        r = difflib.SequenceMatcher(None, want, norm).ratio()
        # also compare against the best window of the same length
        words, k = norm.split(), len(want.split())
        for i in range(max(1, len(words) - k + 1)):
            r = max(r, difflib.SequenceMatcher(None, want, " ".join(words[i:i + k])).ratio())
        if r > score:
            best, score = line, r
    hint = (f": closest is lyric {best.index} {best.text.splitlines()[0]!r} ({_when(best.start)})"
            if best is not None and score >= 0.4 else f"; the lyrics have {len(lyrics)} lines")
    raise PlanError(f"no lyric matching {anchor.text!r}{hint}")


__all__ = ["LyricLine", "LyricsError", "load_lyrics", "parse_lrc", "parse_srt", "resolve_lyric_anchor"]
