"""The backend contract and the frame math every backend shares.

A backend is one file in ``generate/`` plus one line in :data:`songreel.generate.registry.BACKENDS`.
It declares :class:`Capabilities` and implements one method::

    class MyBackend:
        name = "mine"
        version = "1"                 # bump when the same request would give different pixels

        def __init__(self, spec: BackendSpec, *, project: ProjectInfo): ...
        def capabilities(self) -> Capabilities: ...
        def generate(self, request: GenerationRequest, out: Path) -> GenerationResult: ...
        def close(self) -> None: ...  # optional: free models / sessions at the end of a render

``generate`` writes a media file to ``out`` (a temp name the store renames) holding at least
``request.frames`` frames at ``request.fps``; the store and the assembly trim to the beat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Optional, Protocol, runtime_checkable

from ..schema.clip import GenerationRequest


TAIL_FRAMES = 9
"""Final frames every clip hands back losslessly for chaining: enough for an LTX ``8m+1`` prefix (m = 1)."""


@dataclass(frozen=True)
class Capabilities:
    """What a backend can make.

    Attributes
    ----------
    native_fps : Fraction, optional
        The rate the model generates at; ``None`` renders at the project rate.
    frame_multiple, frame_offset : int
        Legal frame counts are ``frame_multiple * k + frame_offset`` (Wan: 4k+1, LTX: 8k+1).
    size_multiple : int
        Width and height must be multiples of this.
    max_frames : int, optional
        Longest clip in native frames; longer shots are split into segments.
    min_frames : int
    durations : tuple of Fraction
        Hosted APIs: the allowed clip lengths in seconds (e.g. 4, 6, 8); empty = any frame count.
    sizes : tuple of (int, int)
        Hosted APIs: the allowed output sizes; empty = any (subject to ``size_multiple``).
    first_frame, last_frame : bool
        Conditioning on an image as the first / last frame.
    video_prefix : int
        Max frames of the previous clip it can continue from (0 = none).
    chain_continuous : bool
        True when consecutive segments are continuous without conditioning (procedural backends).
    max_references : int
        Reference images (characters, style) one request may carry; 0 = none.
    """

    native_fps: Optional[Fraction] = None
    frame_multiple: int = 1
    frame_offset: int = 0
    size_multiple: int = 2
    max_frames: Optional[int] = None
    min_frames: int = 1
    durations: tuple[Fraction, ...] = ()
    sizes: tuple[tuple[int, int], ...] = ()
    first_frame: bool = False
    last_frame: bool = False
    video_prefix: int = 0
    chain_continuous: bool = False
    max_references: int = 0

    def max_seconds(self) -> Optional[Fraction]:
        """Longest clip in seconds, or None for unlimited."""
        if self.durations:
            return max(self.durations)
        if self.max_frames is not None and self.native_fps is not None:
            return Fraction(self.max_frames) / self.native_fps
        return None


@dataclass(frozen=True)
class ProjectInfo:
    """Project facts a backend may need: size, rate, where the storyboard lives."""

    width: int
    height: int
    fps: Fraction
    base_dir: Path
    store_dir: Path


@dataclass(frozen=True)
class GenerationResult:
    """What a backend made: the file it wrote and facts about it."""

    path: Path
    frames: int
    fps: Fraction
    width: int
    height: int
    provenance: dict = field(default_factory=dict)
    tail_frames: Optional[object] = field(default=None, repr=False)
    """The last few frames exactly as generated, uint8 ``(k, H, W, 3)``, kept losslessly by the store
    for chaining; ``None`` lets the store decode them from ``path`` (fine for lossless or source files)."""
    conform: Optional[object] = None
    """A :class:`~songreel.schema.clip.FootageConform` when ``path`` is the user's own file, read and
    conformed at assembly (nothing was written: the store keeps only the reference)."""


@runtime_checkable
class Backend(Protocol):
    name: str
    version: str

    def capabilities(self) -> Capabilities: ...

    def generate(self, request: GenerationRequest, out: Path) -> GenerationResult: ...


# ---------------------------------------------------------------------------------------------------
# frame math (shared; never repeated per backend)


def round_frames(frames: int, caps: Capabilities) -> int:
    """Smallest legal frame count ``>= frames`` under the frame rule (capped at ``max_frames``).

    >>> round_frames(30, Capabilities(frame_multiple=4, frame_offset=1))
    33
    """
    m, o = caps.frame_multiple, caps.frame_offset
    n = max(frames, caps.min_frames, o if o > 0 else 1)
    k = math.ceil((n - o) / m)
    n = m * k + o
    if caps.max_frames is not None and n > caps.max_frames:
        # largest legal count within the cap
        n = m * ((caps.max_frames - o) // m) + o
    return n


def round_size(width: int, height: int, caps: Capabilities) -> tuple[int, int]:
    """Nearest size on the size rule, keeping the aspect; hosted backends pick the closest allowed size."""
    if caps.sizes:
        aspect = width / height
        return min(caps.sizes, key=lambda s: (abs(math.log((s[0] / s[1]) / aspect)), abs(s[0] * s[1] - width * height)))
    q = max(caps.size_multiple, 1)
    return max(q, int(round(width / q)) * q), max(q, int(round(height / q)) * q)


def native_request_frames(project_frames: int, project_fps: Fraction, caps: Capabilities, *,
                          lead: int = 0) -> tuple[int, Fraction]:
    """Frames and rate to ask a backend for so its clip covers ``project_frames`` at ``project_fps``.

    Converts the duration to the backend's native rate, rounds up to the frame rule (a little long,
    never short; the assembly trims to the beat). Hosted backends get the shortest allowed duration
    that covers the segment. ``lead`` native frames are added in front (a segment chained on the
    previous clip's last frame starts by repeating it; the assembly drops those frames).

    Returns
    -------
    frames : int
        Native frames to request.
    fps : Fraction
        The rate they are generated at.
    """
    fps = caps.native_fps or project_fps
    seconds = Fraction(project_frames) / project_fps
    seconds += Fraction(lead) / fps
    if caps.durations:
        fitting = [d for d in sorted(caps.durations) if d >= seconds]
        dur = fitting[0] if fitting else max(caps.durations)
        return int(math.ceil(dur * fps)), fps
    need = int(math.ceil(seconds * fps))
    return round_frames(need, caps), fps


def max_project_frames(caps: Capabilities, project_fps: Fraction) -> Optional[int]:
    """Longest segment, in project frames, one backend call can cover; None = unlimited."""
    secs = caps.max_seconds()
    if secs is None:
        return None
    return max(1, int(math.floor(secs * project_fps)))
