"""Generation requests and results: what passes between the planner/reel and a backend.

A request is everything that determines a clip; its :meth:`GenerationRequest.key` is the clip's
content address in the store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional


@dataclass(frozen=True)
class FrameRef:
    """A conditioning image (or a short run of frames) kept losslessly on disk.

    ``path`` is a PNG: one frame, or ``frames`` frames of a video prefix stacked top to bottom (older
    stores: an ``.npy`` array of shape ``(k, H, W, 3)`` uint8); ``sha256`` is of the decoded pixels,
    so the same picture always has the same key whatever file holds it.
    """

    path: Path
    sha256: str
    frames: int = 1

    def load(self):
        """Pixels as uint8: ``(H, W, 3)`` for one frame, ``(k, H, W, 3)`` for a prefix."""
        import numpy as np

        if self.path.suffix == ".npy":
            return np.load(self.path)
        from PIL import Image

        with Image.open(self.path) as im:
            px = np.asarray(im.convert("RGB"))
        if self.frames > 1:   # a run of frames stacked top to bottom in one lossless picture
            px = px.reshape(self.frames, px.shape[0] // self.frames, *px.shape[1:])
        return px


@dataclass(frozen=True)
class GenerationRequest:
    """One clip to make.

    Attributes
    ----------
    backend, model, version : str
        Who makes it; all three are part of the key.
    prompt, negative : str
        Full text after style and character substitution.
    seed : int
    frames : int
        Frames to generate at ``fps`` (already rounded to the backend's frame rule).
    fps : Fraction
        The rate the backend generates at (its native rate, or the project rate).
    width, height : int
        Generation size (already a multiple of the backend's size rule).
    first_frame, last_frame : FrameRef, optional
        Conditioning images for the first / last frame.
    prefix : FrameRef, optional
        The last ``k`` frames of the previous segment, for video-prefix continuation.
    context : dict
        Other determinants (JSON scalars): animatic caption and time offset, footage source hash and
        in-point, backend options that change pixels (steps, guidance ...).
    """

    backend: str
    model: str
    version: str
    prompt: str
    negative: str
    seed: int
    frames: int
    fps: Fraction
    width: int
    height: int
    first_frame: Optional[FrameRef] = None
    last_frame: Optional[FrameRef] = None
    prefix: Optional[FrameRef] = None
    context: dict = field(default_factory=dict, hash=False)
    source: Optional[Path] = field(default=None, compare=False)
    """A user file the clip is made from (footage); identified in the key by its hash in ``context``,
    so moving the project folder does not invalidate the clip."""
    references: tuple[Path, ...] = ()
    """Reference images (characters, style) for backends that take them; keyed by file content."""

    @property
    def seconds(self) -> Fraction:
        return Fraction(self.frames) / self.fps

    def key(self) -> str:
        """Content address: sha256 over every field that determines the pixels."""
        doc = {
            "backend": self.backend, "model": self.model, "version": self.version,
            "prompt": self.prompt, "negative": self.negative, "seed": self.seed,
            "frames": self.frames, "fps": str(self.fps), "size": [self.width, self.height],
            "first_frame": self.first_frame.sha256 if self.first_frame else None,
            "last_frame": self.last_frame.sha256 if self.last_frame else None,
            "prefix": self.prefix.sha256 if self.prefix else None,
            "context": self.context,
        }
        if self.references:  # only when present, so every other clip keeps its key
            doc["references"] = [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in self.references]
        blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:32]

    def with_(self, **changes) -> "GenerationRequest":
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict:
        """JSON-ready provenance (no secrets: requests never carry keys)."""
        return {
            "backend": self.backend, "model": self.model, "version": self.version,
            "prompt": self.prompt, "negative": self.negative, "seed": self.seed,
            "frames": self.frames, "fps": str(self.fps), "width": self.width, "height": self.height,
            "first_frame": self.first_frame.sha256 if self.first_frame else None,
            "last_frame": self.last_frame.sha256 if self.last_frame else None,
            "prefix": self.prefix.sha256 if self.prefix else None,
            "context": self.context,
        }


@dataclass(frozen=True)
class FootageConform:
    """How a footage clip is made from the user's file on the fly, instead of a transcoded copy.

    Clip frame ``i`` (at ``fps``) shows the source at time ``start_in + g(offset + i)`` where ``g``
    loops, holds or stretches the shot over the ``usable`` seconds of the source (``fit``); the
    picture is rotated for display, composited over black if it has alpha, and fitted to
    ``width x height`` (``mode``: cover or contain). A still gets a push-in of ``push`` over the shot.

    Attributes
    ----------
    source : str
        The file (absolute path) the clip is read from.
    sha256 : str
        The file's content hash (the clip's key holds it, so an edited file is a new clip).
    """

    source: str
    sha256: str
    still: bool
    frames: int
    fps: Fraction
    offset: int
    total: int
    fit: str
    mode: str
    start_in: float
    usable: float
    push: float
    width: int
    height: int

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["fps"] = str(self.fps)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FootageConform":
        return cls(**{**d, "fps": Fraction(d["fps"])})


@dataclass(frozen=True)
class ClipRef:
    """A finished clip in the store.

    Attributes
    ----------
    key : str
        The request's content address.
    path : Path
        The media file (any container PyAV reads).
    frames : int
        Decodable video frames in the file.
    fps : Fraction
        Frame rate of the file's frames (frame ``i`` shows at ``i / fps``).
    width, height : int
    last_frame : FrameRef, optional
        The final frame kept losslessly for chaining the next segment.
    tail : FrameRef, optional
        The final ``k`` frames, losslessly, for video-prefix continuation.
    lead : int
        Frames at the start that repeat the previous segment (image chaining); the assembly skips them.
    conform : FootageConform, optional
        Set for footage read from the user's file on the fly: ``path`` is then that file, and its
        frames are made by :class:`songreel.sampling.FootageFrames`, not decoded in order.
    reused : bool
        True when the store already had it.
    provenance : dict
        Request description plus backend facts (timings, job ids). Never secrets.
    """

    key: str
    path: Path
    frames: int
    fps: Fraction
    width: int
    height: int
    last_frame: Optional[FrameRef] = None
    tail: Optional[FrameRef] = None
    reused: bool = False
    provenance: dict = field(default_factory=dict, hash=False, compare=False)
    lead: int = 0
    conform: Optional[FootageConform] = None

    def with_(self, **changes) -> "ClipRef":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "path": str(self.path), "frames": self.frames, "fps": str(self.fps),
            "width": self.width, "height": self.height,
            "last_frame": _ref(self.last_frame), "tail": _ref(self.tail), "provenance": self.provenance,
            "lead": self.lead, "conform": self.conform.to_dict() if self.conform is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ClipRef":
        return cls(key=d["key"], path=Path(d["path"]), frames=int(d["frames"]), fps=Fraction(d["fps"]),
                   width=int(d["width"]), height=int(d["height"]), last_frame=_unref(d.get("last_frame")),
                   tail=_unref(d.get("tail")), provenance=d.get("provenance", {}), lead=int(d.get("lead", 0)),
                   conform=FootageConform.from_dict(d["conform"]) if d.get("conform") else None)


def _ref(r: Optional[FrameRef]):
    return None if r is None else {"path": str(r.path), "sha256": r.sha256, "frames": r.frames}


def _unref(d) -> Optional[FrameRef]:
    return None if not d else FrameRef(Path(d["path"]), d["sha256"], int(d.get("frames", 1)))
