"""What the song analysis hands to the planner: tempo, beat grid, bars, sections, envelopes.

Times are seconds (floats): analysis lives at the audio edge. The planner snaps them to frames.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

SCHEMA = "songreel.Analysis.1"


@dataclass(frozen=True)
class Section:
    """A labelled span of the song, ``start <= t < end`` in seconds."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Analysis:
    """The musical reading of one audio file.

    Attributes
    ----------
    duration : float
        Song length in seconds (decoded samples / sample rate).
    tempo : float
        Beats per minute of the beat grid.
    meter : int
        Beats per bar.
    beats : tuple of float
        Beat times in seconds, increasing; extrapolated so the grid covers the whole song.
    downbeats : tuple of float
        The subset of ``beats`` that start a bar.
    sections : tuple of Section
        Contiguous, covering ``[0, duration)``; repeated material shares a label.
    envelope_rate : float
        Samples per second of ``onset_envelope`` and ``rms``.
    onset_envelope, rms : tuple of float
        Normalised to ``[0, 1]``.
    audio_hash : str
        sha256 of the audio file's bytes (the cache key).
    tracker : str
        Which beat tracker produced the grid (e.g. ``"librosa"``).
    """

    duration: float
    tempo: float
    meter: int
    beats: tuple[float, ...]
    downbeats: tuple[float, ...]
    sections: tuple[Section, ...] = ()
    envelope_rate: float = 0.0
    onset_envelope: tuple[float, ...] = ()
    rms: tuple[float, ...] = ()
    audio_hash: str = ""
    tracker: str = "librosa"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def with_(self, **changes) -> "Analysis":
        """Return a copy with some fields replaced."""
        return dataclasses.replace(self, **changes)

    def to_dict(self, *, envelopes: bool = True) -> dict:
        """JSON-ready dict; the public ``songreel analyze --json`` shape plus envelopes."""
        d = {
            "schema": SCHEMA,
            "tempo": self.tempo,
            "meter": self.meter,
            "beats": list(self.beats),
            "downbeats": list(self.downbeats),
            "sections": [dataclasses.asdict(s) for s in self.sections],
            "duration": self.duration,
            "audio_hash": self.audio_hash,
            "tracker": self.tracker,
        }
        if envelopes:
            d.update(envelope_rate=self.envelope_rate, onset_envelope=list(self.onset_envelope),
                     rms=list(self.rms))
        if self.extra:
            d["extra"] = self.extra
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Analysis":
        """Inverse of :meth:`to_dict`."""
        return cls(
            duration=float(d["duration"]), tempo=float(d["tempo"]), meter=int(d["meter"]),
            beats=tuple(float(x) for x in d["beats"]),
            downbeats=tuple(float(x) for x in d["downbeats"]),
            sections=tuple(Section(float(s["start"]), float(s["end"]), str(s["label"]))
                           for s in d.get("sections", ())),
            envelope_rate=float(d.get("envelope_rate", 0.0)),
            onset_envelope=tuple(d.get("onset_envelope", ())), rms=tuple(d.get("rms", ())),
            audio_hash=d.get("audio_hash", ""), tracker=d.get("tracker", "librosa"),
            extra=dict(d.get("extra", {})),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Analysis":
        return cls.from_dict(json.loads(text))
