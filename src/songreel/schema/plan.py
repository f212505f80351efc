"""The plan: every shot placed on exact frames of the song's beat grid. Pure data, no media."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

from .storyboard import BackendSpec, EncodeSpec, ShotSpec, ZoomSpec
from .zoom import ZoomLayout

SCHEMA = "songreel.Plan.1"

#: frame-rate conversion of a clip slower or faster than the project (see :mod:`songreel.assemble.retime`)
INTERPOLATE_MODES = ("auto", "nearest", "blend", "flow")


@dataclass(frozen=True)
class CameraMove:
    """A move over a shot: ``kind`` in push-in, pull-out, pan, ken-burns (parsed by
    :func:`songreel.plan.look.parse_camera`, applied by :mod:`songreel.assemble.camera`)."""

    kind: str
    amount: float
    direction: str = ""

    def at(self, u: float, width: int, height: int) -> tuple[float, tuple[float, float]]:
        """``(scale, (dx, dy) luma pixels)`` at shot progress ``u`` in [0, 1]."""
        u = min(max(u, 0.0), 1.0)
        if self.kind == "push-in":
            return self.amount ** u, (0.0, 0.0)
        if self.kind == "pull-out":
            return self.amount ** (1.0 - u), (0.0, 0.0)
        if self.kind == "pan":
            s = 1.0 + self.amount
            span = (s - 1.0) / 2 * (width if self.direction in ("left", "right") else height)
            # "pan right": the camera moves right, so the picture moves left
            d = span * (1.0 - 2.0 * u) * (1 if self.direction in ("right", "down") else -1)
            return s, ((d, 0.0) if self.direction in ("left", "right") else (0.0, d))
        if self.kind == "ken-burns":
            s = self.amount ** u
            k = 0.8 * (s - 1.0) / 2
            return s, (-k * width, -k * height)
        return 1.0, (0.0, 0.0)


@dataclass(frozen=True)
class PlannedTransition:
    """The hand-over from one shot to the next, occupying frames ``[start, start + frames)``.

    A cut has ``frames == 0`` and ``start`` equal to the cut frame.
    """

    kind: str
    start: int
    frames: int
    cut: int

    @property
    def end(self) -> int:
        return self.start + self.frames


@dataclass(frozen=True)
class Segment:
    """A piece of a shot short enough for one backend call: frames ``[start, start + frames)``."""

    index: int
    start: int
    frames: int

    @property
    def end(self) -> int:
        return self.start + self.frames


@dataclass(frozen=True)
class PlannedShot:
    """One shot on the timeline.

    Attributes
    ----------
    index : int
        0-based position in the storyboard.
    start, end : int
        Cut frames: the shot is on screen alone over ``[start, end)`` (transitions overlap it).
    head, tail : int
        Handle frames the clip must also cover before ``start`` / after ``end`` for transitions.
    segments : tuple of Segment
        Contiguous, covering ``[start - head, end + tail)`` in project frames.
    start_beat, end_beat : int
        Indices into :attr:`Plan.beat_frames` of the cuts.
    notes : tuple of str
        What the planner changed from what was written (a length stretched to meet the next anchor
        or the song's end), one plain sentence each.
    camera : CameraMove, optional
        The shot's camera move, parsed once by the planner (None: static).
    pulse : float
        Scale kick on the song's onsets (0: none).
    interpolate : str
        Frame-rate conversion of its clips, one of :data:`INTERPOLATE_MODES` (the shot's field, else
        ``auto``).
    """

    index: int
    name: str
    spec: ShotSpec
    prompt: str
    negative: str
    seed: int
    backend: BackendSpec
    start: int
    end: int
    head: int = 0
    tail: int = 0
    transition: Optional[PlannedTransition] = None
    segments: tuple[Segment, ...] = ()
    start_beat: int = 0
    end_beat: int = 0
    position: str = ""
    section: str = ""
    characters: tuple[str, ...] = ()
    takes: int = 1
    notes: tuple[str, ...] = ()
    cast: tuple = ()
    """:class:`~songreel.schema.cast.CastMember` per character in the shot: resolved look and references."""
    camera: Optional[CameraMove] = None
    pulse: float = 0.0
    interpolate: str = "auto"

    @property
    def frames(self) -> int:
        """Frames between the cuts."""
        return self.end - self.start

    @property
    def render_start(self) -> int:
        return self.start - self.head

    @property
    def render_frames(self) -> int:
        """Frames the clips must cover, handles included."""
        return self.head + self.frames + self.tail

    def with_(self, **changes) -> "PlannedShot":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Plan:
    """Shots on exact frames.

    Attributes
    ----------
    fps : Fraction
    total_frames : int
        ``round(song seconds * fps)``.
    beat_frames : tuple of int
        Every beat of the grid snapped to its nearest frame (may include beats past either end).
    downbeat_beats : tuple of int
        Indices into ``beat_frames`` that start a bar; bar 1 is the first one at or after frame 0.
    sections : tuple of (label, start_frame, end_frame)
    color_match : float
        Strength 0..1 of the shot-to-neighbours colour match at assembly (the storyboard's).
    layout : ZoomLayout, optional
        The infinite-zoom layout (:func:`songreel.plan.zoom.plan_zoom`); None for the cuts look.
    """

    title: str
    fps: Fraction
    width: int
    height: int
    duration: float
    total_frames: int
    tempo: float
    meter: int
    beat_frames: tuple[int, ...]
    downbeat_beats: tuple[int, ...]
    sections: tuple[tuple[str, int, int], ...]
    shots: tuple[PlannedShot, ...]
    look: str = "cuts"
    zoom: ZoomSpec = ZoomSpec()
    encode: EncodeSpec = EncodeSpec()
    warnings: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    color_match: float = 0.0
    layout: Optional[ZoomLayout] = field(default=None, compare=False, hash=False, repr=False)

    def with_(self, **changes) -> "Plan":
        return dataclasses.replace(self, **changes)

    def with_shot(self, index: int, **changes) -> "Plan":
        """Return a copy with shot ``index`` edited."""
        shots = list(self.shots)
        shots[index] = shots[index].with_(**changes)
        return dataclasses.replace(self, shots=tuple(shots))

    def seconds(self, frame: int) -> Fraction:
        """Exact time of a frame."""
        return Fraction(frame) / self.fps

    @property
    def cuts(self) -> tuple[int, ...]:
        """Cut frames between shots (the boundaries; transitions are centred on or end at them)."""
        return tuple(s.end for s in self.shots[:-1])

    def shot_at(self, frame: int) -> PlannedShot:
        """The shot whose ``[start, end)`` holds ``frame``."""
        for s in self.shots:
            if s.start <= frame < s.end:
                return s
        return self.shots[-1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (``songreel plan --json`` and the lock file)."""
        fps = self.fps

        def t(f):
            return round(float(Fraction(f) / fps), 6)

        return {
            "schema": SCHEMA,
            "title": self.title,
            "fps": str(fps), "width": self.width, "height": self.height,
            "duration": self.duration, "total_frames": self.total_frames,
            "tempo": self.tempo, "meter": self.meter, "look": self.look,
            "sections": [{"label": l, "start_frame": a, "end_frame": b, "start": t(a), "end": t(b)}
                         for l, a, b in self.sections],
            "shots": [{
                "index": s.index, "name": s.name, "prompt": s.prompt, "negative": s.negative,
                "seed": s.seed, "backend": {"name": s.backend.name, **s.backend.options},
                "clip": str(s.spec.clip) if s.spec.clip else None,
                "start_frame": s.start, "end_frame": s.end, "frames": s.frames,
                "start": t(s.start), "end": t(s.end), "seconds": t(s.frames),
                "head": s.head, "tail": s.tail,
                "position": s.position, "section": s.section,
                "beats": s.end_beat - s.start_beat,
                "transition": None if s.transition is None else {
                    "kind": s.transition.kind, "start_frame": s.transition.start,
                    "frames": s.transition.frames, "cut_frame": s.transition.cut},
                "segments": [{"start_frame": g.start, "frames": g.frames} for g in s.segments],
                "characters": list(s.characters), "takes": s.takes, "notes": list(s.notes),
                **({"cast": [c.to_dict() for c in s.cast]} if any(c.look or c.references for c in s.cast) else {}),
            } for s in self.shots],
            "warnings": list(self.warnings),
        }
