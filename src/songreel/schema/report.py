"""The render report as typed, frozen data: what every render prints and writes beside the video.

The JSON document (``OUT.report.json``, schema ``songreel.Report.1``) stays the source; :class:`Report`
gives its main figures names and types, and keeps the whole document in :attr:`Report.data` (also
reachable as ``report["sync"]`` for scripts that read the JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional


@dataclass(frozen=True)
class SyncReport:
    """The sync contract, measured from the written file.

    Attributes
    ----------
    max_cut_error_ms : float
        Largest distance of any cut from its nearest beat, in milliseconds.
    mean_cut_error_ms : float
    half_frame_ms : float
        Half a frame at the film's rate: a cut within this is on the beat frame.
    video_minus_audio_ms : float
        Video length minus audio length, in milliseconds.
    video_frames, expected_frames : int
        Frames in the file and frames the plan asked for (``round(song seconds * fps)``).
    video_seconds, audio_seconds : float
    """

    max_cut_error_ms: float
    mean_cut_error_ms: float
    half_frame_ms: float
    video_minus_audio_ms: float
    video_frames: int
    expected_frames: int
    video_seconds: float
    audio_seconds: float

    @property
    def on_beat(self) -> bool:
        """Every cut lands within half a frame of its beat."""
        return self.max_cut_error_ms <= self.half_frame_ms


@dataclass(frozen=True)
class ShotCounts:
    """How many shots the render had, made new and took from the store."""

    total: int
    generated: int
    reused: int
    failed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """A render's report.

    Attributes
    ----------
    sync : SyncReport
    shots : ShotCounts
    tempo : float
        The song's tempo as the plan used it, in BPM.
    meter : int
        Beats per bar.
    warnings : tuple of str
        Notes a director should read (stretched shots, dropped picks, upscaled footage...).
    data : dict
        The whole JSON document.
    """

    sync: SyncReport
    shots: ShotCounts
    tempo: float
    meter: int
    warnings: tuple[str, ...]
    data: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> "Report":
        """Read a report document (as written to ``OUT.report.json``)."""
        s = doc["sync"]
        sh = doc["shots"]
        sync = SyncReport(max_cut_error_ms=float(s["max_cut_error_ms"]),
                          mean_cut_error_ms=float(s.get("mean_cut_error_ms", 0.0)),
                          half_frame_ms=float(s["half_frame_ms"]),
                          video_minus_audio_ms=float(s["length_delta_ms"]),
                          video_frames=int(s["video_frames"]), expected_frames=int(s["expected_frames"]),
                          video_seconds=float(s["video_seconds"]), audio_seconds=float(s["audio_seconds"]))
        shots = ShotCounts(total=int(sh["total"]), generated=int(sh["generated"]), reused=int(sh["reused"]),
                           failed=dict(sh.get("failed", {})))
        song = doc.get("song", {})
        return cls(sync=sync, shots=shots, tempo=float(song.get("tempo", 0.0)), meter=int(song.get("meter", 4)),
                   warnings=tuple(doc.get("warnings", ())), data=doc)

    @classmethod
    def read(cls, path) -> "Report":
        """Read ``OUT.report.json``."""
        import json
        from pathlib import Path

        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    @property
    def qa(self):
        """The report card (:class:`~songreel.schema.qa.QAReport`: every shot's score and flags, the
        worst first), or None for a report written without one."""
        from .qa import QAReport

        doc = self.data.get("qa")
        return None if doc is None else QAReport.from_dict(doc)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Optional[Any] = None) -> Any:
        """A top-level section of the JSON document, or ``default``."""
        return self.data.get(key, default)
