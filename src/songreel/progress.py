"""The one progress protocol: every long step of the API reports through it.

A render has stages (``analysis``, ``generate``, ``assemble``); each stage advances towards a total,
and the whole render's time left is estimated as it goes. The CLI draws these as Rich bars, the studio
as a progress bar; a script may ignore them, log them, or subclass :class:`Progress` and override
what it needs (every method is a no-op by default).
"""

from __future__ import annotations

from typing import Optional


class Progress:
    """Progress events of a long step. Override what you need; the defaults do nothing."""

    def stage(self, name: str, total: Optional[float] = None) -> None:
        """A stage starts (``analysis``, ``generate``, ``assemble``), with its total units if known."""

    def advance(self, name: str, done: float, total: Optional[float] = None, note: str = "") -> None:
        """Stage ``name`` has done ``done`` of ``total`` units; ``note`` says what (e.g. ``shot 3 generated``)."""

    def message(self, text: str) -> None:
        """A line worth showing to the person waiting (a note, a warning)."""

    def eta(self, seconds: Optional[float], note: str = "") -> None:
        """Estimated seconds left for the whole job (generation + assembly), from measured
        per-backend throughput; ``None`` while nothing is known yet, ``0`` when done."""


def fraction_callback(progress: Optional[Progress], stage: str):
    """Adapt a ``callback(fraction, message)`` (what analysis reports) onto ``progress``; None stays None."""
    if progress is None:
        return None

    def callback(fraction: float, message: str = "") -> None:
        progress.advance(stage, fraction, 1.0, message)

    return callback
