"""Exact frame time.

The timeline counts whole frames at a rational frame rate (:class:`fractions.Fraction`).
Seconds exist only at the edges (audio analysis, user input); they cross into frame time
through the named converters here and nowhere else.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Union

# NTSC-family rates that users write as decimals; kept exact.
_NTSC = {
    "23.976": Fraction(24000, 1001),
    "23.98": Fraction(24000, 1001),
    "29.97": Fraction(30000, 1001),
    "47.952": Fraction(48000, 1001),
    "59.94": Fraction(60000, 1001),
    "119.88": Fraction(120000, 1001),
}

Seconds = Union[int, float, Fraction]
"""A time in seconds at the edges of the timeline: user input and audio analysis."""


def parse_fps(value) -> Fraction:
    """Parse a frame rate into an exact fraction.

    Parameters
    ----------
    value : int, float, str or Fraction
        ``24``, ``"23.976"``, ``29.97``, ``"30000/1001"``.

    Returns
    -------
    Fraction
        The exact rate; decimal NTSC rates map to their ``N*1000/1001`` form.

    Raises
    ------
    ValueError
        If the value is not a positive rate between 1 and 240.
    """
    if isinstance(value, bool):
        raise ValueError(f"got {value!r}, expected a frame rate such as 24, 25, 29.97 or 30000/1001")
    if isinstance(value, Fraction):
        fps = value
    else:
        text = str(value).strip()
        if text in _NTSC:
            fps = _NTSC[text]
        else:
            try:
                fps = Fraction(text)
            except (ValueError, ZeroDivisionError):
                raise ValueError(
                    f"got {value!r}, expected a frame rate such as 24, 25, 29.97 or 30000/1001") from None
            # 23.976023976... written out in full still means 24000/1001
            for exact in _NTSC.values():
                if abs(fps - exact) < Fraction(1, 1000) and fps.denominator != 1:
                    fps = exact
    if not (1 <= fps <= 240):
        raise ValueError(f"got {value!r}, expected a frame rate between 1 and 240")
    return fps


def seconds_to_frame(seconds: Seconds, fps: Fraction) -> int:
    """Nearest frame index to a time in seconds (half frames round up)."""
    exact = Fraction(seconds) * fps if not isinstance(seconds, float) else Fraction(repr(seconds)) * fps
    return int(exact + Fraction(1, 2)) if exact >= 0 else -int(-exact + Fraction(1, 2))


def frame_to_seconds(frame: int, fps: Fraction) -> Fraction:
    """Exact start time of a frame, in seconds."""
    return Fraction(frame) / fps


def frames_in(seconds: Seconds, fps: Fraction) -> int:
    """Number of whole frames in a duration: ``round(seconds * fps)``, the song-length rule."""
    return seconds_to_frame(seconds, fps)


def format_time(seconds: Seconds) -> str:
    """``m:ss.ss`` for people (e.g. ``1:02.50``)."""
    s = float(seconds)
    sign = "-" if s < 0 else ""
    s = abs(s)
    return f"{sign}{int(s // 60)}:{s % 60:05.2f}"


def parse_time(text: str) -> Fraction:
    """Parse ``"1:02.5"``, ``"62.5"``, ``"62.5s"`` or ``"0:01:02.5"`` into exact seconds.

    Raises
    ------
    ValueError
        If the text is not a timecode.
    """
    raw = str(text).strip()
    body = raw[:-1].strip() if raw.endswith("s") else raw
    parts = body.split(":")
    try:
        if not 1 <= len(parts) <= 3 or any(p.strip() == "" for p in parts):
            raise ValueError
        total = Fraction(0)
        for p in parts:
            total = total * 60 + Fraction(p.strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"got {text!r}, expected a time like 1:02.5 or 62.5s") from None
    if total < 0:
        raise ValueError(f"got {text!r}, expected a time at or after 0:00")
    return total
