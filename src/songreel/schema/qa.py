"""The report card: every shot's score, flags and measures — the ``qa`` section of ``OUT.report.json``.

::

    "qa": {
      "shots": [{"shot": 1, "score": 0.98, "flags": [], "reasons": {}, "measures": {...}}, ...],
      "worst": [3, 7],              # flagged shots, worst (lowest score) first
      "notes": ["identity not measured: ..."],
      "seconds": 1.9
    }

Pure data; nothing heavy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ShotQA:
    """One shot's card.

    Attributes
    ----------
    shot : int
        1-based shot number.
    score : float
        0..1, higher is better.
    flags : tuple of str
        ``black``, ``frozen``, ``flicker``, ``seam``, ``colour_drift``, ``identity``, ``off_beat``.
    reasons : dict
        ``{flag: one line a director reads}``.
    measures : dict
        The numbers behind the flags (see ``docs/qa.md``).
    take : int
        The take scored (0-based).
    """

    shot: int
    score: float
    flags: tuple = ()
    reasons: Mapping[str, str] = field(default_factory=dict)
    measures: Mapping[str, Any] = field(default_factory=dict)
    take: int = 0

    def to_dict(self) -> dict:
        return {"shot": self.shot, "score": self.score, "flags": list(self.flags), "reasons": dict(self.reasons),
                "measures": dict(self.measures), "take": self.take + 1}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ShotQA:
        return cls(shot=int(d["shot"]), score=float(d["score"]), flags=tuple(d.get("flags", ())),
                   reasons=dict(d.get("reasons", {})), measures=dict(d.get("measures", {})),
                   take=int(d.get("take", 1)) - 1)


@dataclass(frozen=True)
class QAReport:
    """Every shot's card, and the flagged shots worst first.

    Attributes
    ----------
    shots : tuple of ShotQA
        In story order.
    worst : tuple of int
        Shot numbers (1-based) of the flagged shots, lowest score first.
    notes : tuple of str
        Measures that could not run and why (e.g. the identity model is not installed).
    seconds : float
        Time spent scoring.
    sheet : Path, optional
        The review contact sheet, when one was drawn.
    measured_while_assembling : int
        Shots measured from the frames the render's assembly decoded (no second decode of their clips).
    """

    shots: tuple
    worst: tuple = ()
    notes: tuple = ()
    seconds: float = 0.0
    sheet: Any | None = None
    measured_while_assembling: int = 0

    def shot(self, number: int) -> ShotQA | None:
        """The card of shot ``number`` (1-based), or None."""
        return next((s for s in self.shots if s.shot == number), None)

    def to_dict(self) -> dict:
        return {"shots": [s.to_dict() for s in self.shots], "worst": list(self.worst), "notes": list(self.notes),
                "seconds": round(self.seconds, 3), "measured_while_assembling": self.measured_while_assembling}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> QAReport:
        return cls(shots=tuple(ShotQA.from_dict(s) for s in d.get("shots", ())),
                   worst=tuple(int(k) for k in d.get("worst", ())), notes=tuple(d.get("notes", ())),
                   seconds=float(d.get("seconds", 0.0)),
                   measured_while_assembling=int(d.get("measured_while_assembling", 0)))


def worst_first(shots) -> tuple:
    """Shot numbers of the flagged shots, lowest score first (ties: story order)."""
    return tuple(s.shot for s in sorted((s for s in shots if s.flags), key=lambda s: (s.score, s.shot)))
