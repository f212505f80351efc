"""Who is in a shot, as the planner resolved it: each character's look, description, reference
images and seed. Carried on :class:`~songreel.schema.plan.PlannedShot` so generation needs no storyboard."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional


@dataclass(frozen=True)
class CastMember:
    """One character in one shot.

    Attributes
    ----------
    name : str
        The character's name as written in prompts (``her`` for ``{her}``).
    look : str
        The selected look (``teen``, ``30s`` ...); empty for the character's own description.
    description : str
        The text ``{name}`` expands to in this shot.
    references : tuple of Path
        Reference images (absolute paths) of this look, in the order written.
    seed : int, optional
        The look's or the character's seed.
    """

    name: str
    look: str = ""
    description: str = ""
    references: tuple[Path, ...] = ()
    seed: Optional[int] = None

    def to_dict(self) -> dict:
        return {"name": self.name, "look": self.look, "description": self.description,
                "references": [str(p) for p in self.references], "seed": self.seed}


def shot_references(cast) -> tuple[Path, ...]:
    """Every reference image of a shot's cast, in cast order, each file once."""
    return tuple(dict.fromkeys(p for member in cast for p in member.references))
