"""The lock file: what a render used, so the same video can be made again months later.

``<storyboard stem>.lock.json`` beside the storyboard (``video.yaml`` -> ``video.lock.json``)::

    {
      "schema": "songreel.Lock.1",
      "storyboard": "video.yaml", "storyboard_sha256": "...",
      "song": "song.wav", "song_sha256": "...",
      "analysis_options": {"tracker": "librosa", "bpm": null, ...},
      "analysis": {...},          # the song analysis as detected (before storyboard overrides)
      "plan": {...},              # Plan.to_dict(): every shot on its frames
      "shots": [{"index": 0, "name": "shot 1", "named": false, "prompt": "...", "seed": 123,
                 "take": 0, "takes": 3, "picked": false, "clips": ["<key>", ...]}, ...],
      "songreel": "0.1.0", "written": 1767225600.0
    }

Semantics (see docs/reliability.md):

- A render reuses the locked analysis while the song's bytes (sha256) and the analysis options are
  unchanged, so a newer librosa or beat tracker cannot move the cuts. Otherwise it analyses afresh.
- A pick (``songreel pick``) belongs to a shot identified by its ``name:`` when it has one, else by
  its prompt and seed; a shot whose prompt or seed changed loses its pick (with a note).
- Every successful render rewrites the lock (atomically). ``songreel render --locked`` instead
  refuses to render when the storyboard or song changed since the lock, or the plan would differ.

This module is pure data + JSON; it imports nothing heavy.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

SCHEMA = "songreel.Lock.1"


def lock_path(storyboard: Path) -> Path:
    """``video.yaml`` -> ``video.lock.json`` (same folder)."""
    storyboard = Path(storyboard)
    return storyboard.with_name(storyboard.stem + ".lock.json")


@dataclass(frozen=True)
class ShotLock:
    """One shot's entry: who it is, which take is used and the clips it was made of."""

    index: int
    name: str
    prompt: str
    seed: int
    take: int = 0
    takes: int = 1
    picked: bool = False          # True when the user chose ``take`` (songreel pick)
    named: bool = False           # the storyboard gave this shot a name: (match by it)
    clips: tuple = ()

    def to_dict(self) -> dict:
        return {"index": self.index, "name": self.name, "named": self.named, "prompt": self.prompt,
                "seed": self.seed, "take": self.take, "takes": self.takes, "picked": self.picked,
                "clips": list(self.clips)}

    @classmethod
    def from_dict(cls, d: dict) -> "ShotLock":
        return cls(index=int(d["index"]), name=str(d.get("name", "")), prompt=str(d.get("prompt", "")),
                   seed=int(d.get("seed", 0)), take=int(d.get("take", 0)), takes=int(d.get("takes", 1)),
                   picked=bool(d.get("picked", False)), named=bool(d.get("named", False)),
                   clips=tuple(str(k) for k in d.get("clips", ())))

    def matches(self, shot) -> bool:
        """Is this entry about planned ``shot``? By name when named, else by prompt and seed."""
        if self.named:
            return bool(shot.spec.name) and shot.name == self.name
        return not shot.spec.name and shot.prompt == self.prompt and shot.seed == self.seed


@dataclass(frozen=True)
class Lock:
    storyboard: str
    storyboard_sha256: str
    song: str
    song_sha256: str
    analysis_options: dict
    analysis: dict
    plan: dict
    shots: tuple = ()
    version: str = ""
    written: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "storyboard": self.storyboard, "storyboard_sha256": self.storyboard_sha256,
                "song": self.song, "song_sha256": self.song_sha256, "analysis_options": self.analysis_options,
                "analysis": self.analysis, "plan": self.plan, "shots": [s.to_dict() for s in self.shots],
                "songreel": self.version, "written": self.written, **({"extra": self.extra} if self.extra else {})}

    @classmethod
    def from_dict(cls, d: dict) -> "Lock":
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            got = d.get("schema") if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"schema is {got!r}, expected {SCHEMA!r}")
        return cls(storyboard=str(d.get("storyboard", "")), storyboard_sha256=str(d.get("storyboard_sha256", "")),
                   song=str(d.get("song", "")), song_sha256=str(d.get("song_sha256", "")),
                   analysis_options=dict(d.get("analysis_options") or {}), analysis=dict(d.get("analysis") or {}),
                   plan=dict(d.get("plan") or {}), shots=tuple(ShotLock.from_dict(s) for s in d.get("shots", ())),
                   version=str(d.get("songreel", "")), written=float(d.get("written", 0.0)),
                   extra=dict(d.get("extra") or {}))

    def entry_for(self, shot) -> Optional[ShotLock]:
        """The entry describing planned ``shot`` (same name, or same prompt and seed), if any."""
        same_index = [s for s in self.shots if s.index == shot.index and s.matches(shot)]
        if same_index:
            return same_index[0]
        return next((s for s in self.shots if s.matches(shot)), None)

    def with_(self, **changes) -> "Lock":
        import dataclasses

        return dataclasses.replace(self, **changes)


def read_lock(path: Path) -> Optional[Lock]:
    """The lock at ``path``, or None when there is none.

    Raises
    ------
    ValueError
        The file exists but is not a readable lock (the caller reports it; it is never overwritten
        silently, since it may hold the user's picks).
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot be read ({getattr(e, 'strerror', None) or e})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"line {e.lineno}: not valid JSON ({e.msg})") from None
    try:
        return Lock.from_dict(doc)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(str(e)) from None


def write_lock(lock: Lock, path: Path) -> Path:
    """Write ``lock`` to ``path`` atomically (temp name, fsync, rename)."""
    path = Path(path)
    lock = lock.with_(written=time.time())
    data = (json.dumps(lock.to_dict(), indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    from ..fileio import atomic_write_bytes

    atomic_write_bytes(path, data)
    return path
