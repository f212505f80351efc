"""Lyrics as subtitles (SRT, WebVTT) aligned to the video's frames, and a burn-in overlay.

Every cue starts and ends on a frame boundary of the project rate: a lyric's time is snapped to its
nearest frame once (:func:`lyric_cues`), and a frame boundary is written as the whole millisecond at or
just before it (``floor(frame * 1000 / fps)``). A player shows a cue on the frames whose presentation
time is in ``[start, end)``, so the cue appears exactly on its frame and leaves exactly on its end
frame, even at 23.976 fps where frame times are not whole milliseconds.

A line whose end the lyrics file does not give (an LRC line not ended by an empty time tag) stays
until the next line starts, for at most :data:`HOLD` seconds, so an instrumental break shows no words.

Burned-in lyrics (:class:`LyricBurnIn`) sit at the bottom of the frame, or at the top when a shot is
an animatic preview with its caption strip (which fills the bottom of the frame):
:meth:`LyricBurnIn.for_plan` chooses.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal, Optional, Sequence, Union

import numpy as np

from ..errors import InputError, OutputError
from ..fileio import temp_path
from ..ingest.lyrics import LyricLine, resolve_lyric_anchor  # noqa: F401 (the planner imports it from here)
from ..timebase import seconds_to_frame


#: Seconds a lyric line without an end stays on screen at most (it leaves earlier when the next starts).
HOLD = 5.0


@dataclass(frozen=True)
class Cue:
    """One subtitle on frames ``[start_frame, end_frame)``; ``index`` is 1-based."""

    index: int
    start_frame: int
    end_frame: int
    text: str


def lyric_cues(lines: Sequence[LyricLine], *, fps: Fraction, total_frames: Optional[int] = None,
               hold: float = HOLD) -> tuple[Cue, ...]:
    """Snap lyric lines to frames.

    Parameters
    ----------
    lines : sequence of LyricLine
    fps : Fraction
        Project rate.
    total_frames : int, optional
        Video length; cues are cut at its end, lines starting after it are dropped.
    hold : float
        Seconds a line without an end stays up at most (until the next line starts, if sooner).

    Returns
    -------
    tuple of Cue
        In time order, not overlapping (a cue ends where the next begins), each at least one frame.
    """
    fps = Fraction(fps)
    if fps <= 0:
        raise InputError(f"fps: got {fps}, expected a positive frame rate")
    if hold <= 0:
        raise InputError(f"hold: got {hold}, expected seconds > 0")
    ordered = sorted(lines, key=lambda l: (l.start, l.index))
    starts = [seconds_to_frame(l.start, fps) for l in ordered]
    out: list[Cue] = []
    for k, (line, a) in enumerate(zip(ordered, starts)):
        end = line.end if line.end is not None else line.start + hold
        b = seconds_to_frame(end, fps)
        if k + 1 < len(ordered):
            b = min(b, starts[k + 1])
        if total_frames is not None:
            if a >= total_frames:
                break
            b = min(b, total_frames)
        a = max(0, a)
        if b <= a:
            if k + 1 < len(ordered) and starts[k + 1] <= a:
                continue  # two lines on the same frame: the later one wins
            b = a + 1
        out.append(Cue(len(out) + 1, a, b, line.text))
    return tuple(out)


def frame_ms(frame: int, fps: Fraction) -> int:
    """The whole millisecond at or just before frame ``frame`` starts."""
    return (Fraction(frame) * 1000 / Fraction(fps)).__floor__()


def _clock(ms: int, sep: str) -> str:
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cues(items, fps, total_frames, hold) -> tuple[Cue, ...]:
    items = list(items)
    if items and all(isinstance(c, Cue) for c in items):
        return tuple(items)
    return lyric_cues(items, fps=fps, total_frames=total_frames, hold=hold)


def srt_text(cues: Sequence[Cue], *, fps: Fraction) -> str:
    """SubRip text for frame-aligned cues."""
    blocks = []
    for c in cues:
        blocks.append(f"{c.index}\n{_clock(frame_ms(c.start_frame, fps), ',')} --> "
                      f"{_clock(frame_ms(c.end_frame, fps), ',')}\n{c.text.strip()}\n")
    return "\n".join(blocks)


def vtt_text(cues: Sequence[Cue], *, fps: Fraction) -> str:
    """WebVTT text for frame-aligned cues (``-->`` in lyrics is escaped as ``--&gt;``)."""
    out = ["WEBVTT", ""]
    for c in cues:
        body = c.text.strip().replace("&", "&amp;").replace("<", "&lt;").replace("-->", "--&gt;")
        out += [str(c.index), f"{_clock(frame_ms(c.start_frame, fps), '.')} --> "
                              f"{_clock(frame_ms(c.end_frame, fps), '.')}", body, ""]
    return "\n".join(out)


def _write(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        tmp.write_text(text, encoding="utf-8", newline="\n")
        os.replace(tmp, path)
    except OSError as e:
        raise OutputError(f"{path}: cannot write subtitles ({e.strerror or e})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_srt(lines: Sequence[Union[LyricLine, Cue]], path: Path | str, *, fps: Fraction,
              total_frames: Optional[int] = None, hold: float = HOLD) -> Path:
    """Write lyric lines (or ready cues) as an ``.srt`` aligned to the video's frames.

    Parameters
    ----------
    lines : sequence of LyricLine or Cue
    path : Path or str
        Written atomically.
    fps : Fraction
        The video's exact rate (``plan.fps``).
    total_frames : int, optional
        The video's length in frames (``plan.total_frames``).
    hold : float
        Seconds a line without an end stays up at most.

    Returns
    -------
    Path
    """
    return _write(Path(path), srt_text(_cues(lines, fps, total_frames, hold), fps=fps))


def write_vtt(lines: Sequence[Union[LyricLine, Cue]], path: Path | str, *, fps: Fraction,
              total_frames: Optional[int] = None, hold: float = HOLD) -> Path:
    """Write lyric lines (or ready cues) as a WebVTT ``.vtt``; see :func:`write_srt`."""
    return _write(Path(path), vtt_text(_cues(lines, fps, total_frames, hold), fps=fps))


@dataclass
class LyricBurnIn:
    """Draws the current lyric onto video frames.

    ``apply(frame, t)`` returns the frame with the cue showing at time ``t`` drawn in (the input is
    returned untouched when no cue is showing). The text image of each cue is rendered once per frame
    size and blended into the rows it covers only, so it is cheap to call for every frame.

    Parameters
    ----------
    cues : sequence of Cue
        From :func:`lyric_cues` (frame-aligned).
    fps : Fraction
        Project rate: ``t`` maps to frame ``round(t * fps)``.
    font_size : int, optional
        Pixels; default ``height / 18``.
    position : {"bottom", "top", "middle"}
    margin : float
        Distance from the edge, as a fraction of the height.
    colour, outline : (r, g, b)
        Text fill and its outline.
    """

    cues: Sequence[Cue]
    fps: Fraction
    font_size: Optional[int] = None
    position: Literal["bottom", "top", "middle"] = "bottom"
    margin: float = 0.06
    colour: tuple[int, int, int] = (255, 255, 255)
    outline: tuple[int, int, int] = (0, 0, 0)
    _starts: list = field(init=False, repr=False)
    _cache: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self):
        if self.position not in ("bottom", "top", "middle"):
            raise InputError(f"burn-in position: got {self.position!r}, expected 'bottom', 'top' or 'middle'")
        self.cues = tuple(sorted(self.cues, key=lambda c: c.start_frame))
        self.fps = Fraction(self.fps)
        self._starts = [c.start_frame for c in self.cues]

    @classmethod
    def from_lyrics(cls, lines: Sequence[LyricLine], *, fps: Fraction, total_frames: Optional[int] = None,
                    **kwargs) -> "LyricBurnIn":
        return cls(lyric_cues(lines, fps=fps, total_frames=total_frames), fps, **kwargs)

    @classmethod
    def for_plan(cls, lines: Sequence[LyricLine], plan, **kwargs) -> "LyricBurnIn":
        """Burn-in for a planned film: frame-aligned to ``plan``, placed clear of animatic captions.

        The animatic backend draws a caption strip (shot, bar.beat, prompt) across the bottom of
        every frame unless its ``caption`` option is false; when any shot shows one, the lyrics go
        at the top of the frame for the whole film (one place, not jumping from shot to shot).
        ``position`` in ``kwargs`` overrides the choice.
        """
        if "position" not in kwargs:
            kwargs["position"] = "top" if any(captioned(s.backend) for s in plan.shots) else "bottom"
        return cls.from_lyrics(lines, fps=plan.fps, total_frames=plan.total_frames, **kwargs)

    def cue_at(self, frame: int) -> Optional[Cue]:
        """The cue showing on project frame ``frame``, if any."""
        k = bisect.bisect_right(self._starts, frame) - 1
        if k >= 0 and self.cues[k].start_frame <= frame < self.cues[k].end_frame:
            return self.cues[k]
        return None

    def _overlay(self, cue: Cue, width: int, height: int):
        key = (cue.index, width, height)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        from PIL import Image, ImageDraw

        from .contact_sheet import _wrap, font

        size = self.font_size or max(10, height // 18)
        fnt = font(size)
        stroke = max(1, size // 12)
        probe = ImageDraw.Draw(Image.new("L", (1, 1)))
        lines: list[str] = []
        for part in cue.text.split("\n"):
            lines += _wrap(probe, part, fnt, int(width * 0.9), 3)
        line_h = int(size * 1.25)
        box_h = line_h * len(lines) + 2 * stroke + 4
        img = Image.new("RGBA", (width, box_h), (0, 0, 0, 0))
        d = ImageDraw.Draw(img)
        for i, line in enumerate(lines):
            w = d.textlength(line, font=fnt)
            d.text(((width - w) / 2, stroke + 2 + i * line_h), line, font=fnt, fill=self.colour + (255,),
                   stroke_width=stroke, stroke_fill=self.outline + (255,))
        rgba = np.asarray(img)
        m = int(self.margin * height)
        if self.position == "bottom":
            y = height - m - box_h
        elif self.position == "top":
            y = m
        else:
            y = (height - box_h) // 2
        y = min(max(0, y), max(0, height - box_h))
        rgba = rgba[: height - y]
        alpha = rgba[..., 3:4].astype(np.float32) / 255.0
        hit = (y, rgba[..., :3].astype(np.float32), alpha)
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[key] = hit
        return hit

    def apply(self, frame: np.ndarray, t) -> np.ndarray:
        """Return ``frame`` (``(H, W, 3)`` uint8) with the lyric showing at ``t`` seconds drawn in."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise InputError(f"burn-in frame: got shape {frame.shape} {frame.dtype}, expected (H, W, 3) uint8")
        index = seconds_to_frame(t, self.fps)
        cue = self.cue_at(index)
        if cue is None:
            return frame
        h, w = frame.shape[:2]
        y, rgb, alpha = self._overlay(cue, w, h)
        out = frame.copy()
        rows = out[y:y + rgb.shape[0]].astype(np.float32)
        out[y:y + rgb.shape[0]] = (rows * (1 - alpha) + rgb * alpha + 0.5).astype(np.uint8)
        return out


def captioned(backend) -> bool:
    """True when ``backend`` (a ``BackendSpec``) is the animatic with its caption strip on."""
    return backend.name == "animatic" and backend.options.get("caption", True) is not False


__all__ = ["HOLD", "captioned", "Cue", "lyric_cues", "frame_ms", "srt_text", "vtt_text", "write_srt", "write_vtt",
           "LyricBurnIn",
           "resolve_lyric_anchor"]
