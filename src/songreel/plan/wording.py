"""How the planner words musical amounts in notes and messages ("1 bar 3 beats", "2 bars")."""

from __future__ import annotations


def plural(n, word: str) -> str:
    """``"1 beat"``, ``"3 beats"``, ``"0.5 beats"``: the word agrees with ``n``."""
    num = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{num} {word}" if n == 1 else f"{num} {word}s"


def bars_beats(beats, meter: int) -> str:
    """A count of beats as bars and beats: ``"17 bars"``, ``"1 bar 3 beats"``, ``"3 beats"``.

    Parameters
    ----------
    beats : int or float
        A non-negative number of beats (a fraction of a beat is kept, ``"2 bars 1.5 beats"``).
    meter : int
        Beats per bar.
    """
    if isinstance(beats, float) and beats.is_integer():
        beats = int(beats)
    bars, rest = divmod(beats, meter)
    bars = int(bars)
    if isinstance(rest, float):
        rest = round(rest, 3)
        rest = int(rest) if float(rest).is_integer() else rest
    parts = ([plural(bars, "bar")] if bars else []) + ([plural(rest, "beat")] if rest else [])
    return " ".join(parts) or "0 beats"
