"""The edit: a plan plus the clips chosen for every segment of every shot — what assembly renders and
export describes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .analysis import Analysis
from .clip import ClipRef
from .plan import Plan


@dataclass(frozen=True)
class Edit:
    """Everything needed to render or export the film.

    Attributes
    ----------
    plan : Plan
    song : Path
        The song file, muxed unchanged.
    clips : tuple of tuple of ClipRef
        ``clips[i][j]`` is segment ``j`` of shot ``i``. Frame ``0`` of that clip shows at project frame
        ``plan.shots[i].segments[j].start``; clip frame for project frame ``f`` is the one whose time
        ``(f - segment.start) / plan.fps`` falls in (clips may run at their own fps).
    analysis : Analysis, optional
    video : Path, optional
        The rendered file, once assembled.
    """

    plan: Plan
    song: Path
    clips: tuple[tuple[ClipRef, ...], ...]
    analysis: Optional[Analysis] = None
    video: Optional[Path] = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def with_(self, **changes) -> "Edit":
        return dataclasses.replace(self, **changes)
