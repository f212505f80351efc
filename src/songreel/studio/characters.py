"""The storyboard's characters as the studio shows them: reference pictures and a character sheet per look.

Sheets come from the public :func:`songreel.character_sheet` (stored content-addressed in the project's
store, so showing them again costs nothing; the default ``animatic`` image model draws them
procedurally). A re-rolled sheet's seed is kept per storyboard file, character and look in
``.songreel/studio/sheets.json``, so the page shows the latest roll after a reload. Reference pictures
pass the project folder's path rule (:meth:`~songreel.studio.project.Project.inside`).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Optional

import songreel

from .project import Project


class SheetSeeds:
    """The re-rolled seed of each sheet: ``{storyboard file: {"character/look": seed}}``, on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def of(self, storyboard: str) -> dict:
        mine = self._read().get(Path(storyboard).name)
        return dict(mine) if isinstance(mine, dict) else {}

    def set(self, storyboard: str, key: str, seed: int) -> None:
        from ..fileio import atomic_write_bytes

        with self._lock:
            data = self._read()
            mine = data.get(Path(storyboard).name)
            if not isinstance(mine, dict):
                mine = data[Path(storyboard).name] = {}
            mine[key] = int(seed)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))


def sheet_key(character: str, look: str) -> str:
    return f"{character}/{look}"


def characters(project: Project, sb, seeds: Optional[dict] = None) -> list[dict]:
    """Every character of a loaded storyboard with its pictures.

    Returns
    -------
    list of dict
        Per character: ``name``, ``description``, ``refs`` (absolute paths of its reference pictures,
        inside the project) and ``looks``: the base look (``look`` ``""``) then each of ``looks:``, each
        with ``look``, ``caption`` (``"name · look"``; the base look is ``base``), ``description``,
        ``refs`` (the look's own, else the character's), ``sheet`` (PNG path) and ``seed``.

    Raises
    ------
    InputError
        A reference picture outside the project folder.
    """
    seeds = seeds or {}
    out = []
    for name, c in sb.characters.items():
        refs = [str(project.inside(r, f"characters.{name}.ref")) for r in c.ref]
        looks = []
        for look, spec in [("", None)] + list(c.looks.items()):
            sheet = songreel.character_sheet(sb, name, look=look, seed=seeds.get(sheet_key(name, look)))
            own = [str(project.inside(r, f"characters.{name}.looks.{look}.ref")) for r in spec.ref] if spec else []
            looks.append({"look": look, "caption": f"{name} · {look or 'base'}",
                          "description": (spec.description if spec else None) or c.description,
                          "refs": own or refs, "sheet": str(sheet.path), "seed": sheet.seed})
        out.append({"name": name, "description": c.description, "refs": refs, "looks": looks})
    return out


def reroll_sheet(sb, storyboard: str, character: str, look: str, seeds: SheetSeeds) -> dict:
    """Draw ``character``'s sheet of ``look`` with the next seed after the one shown, and keep that seed."""
    key = sheet_key(character, look)
    before = songreel.character_sheet(sb, character, look=look, seed=seeds.of(storyboard).get(key))
    sheet = songreel.character_sheet(sb, character, look=look, seed=(before.seed + 1) % 2**32)
    seeds.set(storyboard, key, sheet.seed)
    return {"name": character, "look": look, "sheet": str(sheet.path), "seed": sheet.seed,
            "previous": before.seed}
