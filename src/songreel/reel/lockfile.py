"""The lock file (``<name>.lock.json``): the analysis, plan, picks and clip keys of the last render,
so a render can be reproduced exactly (``locked=True``) and a pick survives edits of other shots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ..errors import InputError, OutputError
from .project import analysis_options


def read_lock(sb):
    """The storyboard's lock file (``<name>.lock.json``), or None.

    Raises
    ------
    InputError
        The lock exists but cannot be read (it is never overwritten silently: it holds your picks).
    """
    from ..schema.lock import lock_path, read_lock as _read

    if sb.path is None:
        return None
    path = lock_path(sb.path)
    try:
        return _read(path)
    except ValueError as e:
        raise InputError(f"{path}: not a readable songreel lock file ({e}); fix it, or move it away to "
                         "start a new one (it holds your picked takes)") from None


def picks_from_lock(plan, lock, notes: Optional[list] = None) -> dict:
    """``{shot index: take}`` for the shots whose pick in the lock still applies.

    A pick belongs to the shot with the same ``name:`` (or, for unnamed shots, the same prompt and
    seed); a pick whose shot changed is dropped with a note.
    """
    picks: dict = {}
    if lock is None:
        return picks
    for shot in plan.shots:
        entry = lock.entry_for(shot)
        if entry is not None and entry.picked:
            picks[shot.index] = entry.take
    if notes is not None:
        used = {id(lock.entry_for(s)) for s in plan.shots}
        for e in lock.shots:
            if e.picked and id(e) not in used:
                notes.append(f"the pick of take {e.take + 1} for {e.name} no longer applies (its prompt, seed or "
                             "name changed); the first take is used")
    return picks


def lock_inputs(sb) -> tuple:
    from ..ingest.audio import file_sha256

    song = Path(sb.song)
    return file_sha256(Path(sb.path)) if sb.path else "", file_sha256(song) if song.is_file() else ""


def check_locked(sb, lock) -> None:
    from ..schema.lock import lock_path

    if sb.path is None:
        raise InputError("locked=True: the storyboard was not loaded from a file, so it has no lock file")
    path = lock_path(sb.path)
    if lock is None:
        raise InputError(f"locked=True: {path}: no lock file; render once without locked=True to write it")
    sb_sha, song_sha = lock_inputs(sb)
    if sb_sha != lock.storyboard_sha256:
        raise InputError(f"locked=True: {sb.path} changed since {path.name} was written; render without locked=True "
                         "to use the changes (and update the lock)")
    if song_sha != lock.song_sha256:
        raise InputError(f"locked=True: the song {sb.song} changed since {path.name} was written; render without "
                         "locked=True to re-analyse it (and update the lock)")


def check_locked_plan(sb, lock, plan) -> None:
    from ..schema.lock import lock_path

    if plan.to_dict() != lock.plan:
        raise InputError(f"locked=True: the plan differs from {lock_path(sb.path).name} (a newer songreel places "
                         "the shots differently); render without locked=True to accept it")


def write_render_lock(sb, raw_analysis, plan, old, picks: dict, summary, takes) -> None:
    import dataclasses

    from .. import __version__ as version
    from ..generate.runner import takes_of
    from ..schema.lock import Lock, ShotLock, lock_path, write_lock

    sb_sha, song_sha = lock_inputs(sb)
    opts = analysis_options(sb)
    shots = []
    for shot in plan.shots:
        prev = old.entry_for(shot) if old is not None else None
        made = [t for (i, t) in getattr(summary, "takes", {}) if i == shot.index]
        n = max([takes_of(shot, takes)] + [t + 1 for t in made] + ([prev.takes] if prev else []))
        clips = summary.clips[shot.index] or ()
        shots.append(ShotLock(index=shot.index, name=shot.name, named=bool(shot.spec.name), prompt=shot.prompt,
                              seed=shot.seed, take=picks.get(shot.index, 0), takes=n,
                              picked=shot.index in picks, clips=tuple(c.key for c in clips)))
    song = os.path.relpath(sb.song, Path(sb.path).parent) if Path(sb.song).is_absolute() else str(sb.song)
    lock = Lock(storyboard=Path(sb.path).name, storyboard_sha256=sb_sha, song=song, song_sha256=song_sha,
                analysis_options=opts, analysis=dataclasses.replace(raw_analysis, extra={}).to_dict(envelopes=True),
                plan=plan.to_dict(), shots=tuple(shots), version=str(version))
    try:
        write_lock(lock, lock_path(sb.path))
    except OSError as e:
        raise OutputError(f"{lock_path(sb.path)}: cannot write the lock file ({e.strerror or e})") from None


def record_takes(sb, plan, lock, analysis, shot, n: int) -> None:
    """Remember in the lock how many takes a shot has (so ``pick`` accepts them)."""
    from ..schema.lock import ShotLock, lock_path, write_lock

    if sb.path is None:
        return
    if lock is None:
        lock = new_lock(sb, plan)
    entries = list(lock.shots)
    entry = lock.entry_for(shot)
    if entry is not None:
        import dataclasses

        entries[entries.index(entry)] = dataclasses.replace(entry, takes=max(entry.takes, n))
    else:
        entries.append(ShotLock(index=shot.index, name=shot.name, named=bool(shot.spec.name), prompt=shot.prompt,
                                seed=shot.seed, takes=n))
    write_lock(lock.with_(shots=tuple(entries)), lock_path(sb.path))


def new_lock(sb, plan):
    """A lock holding no analysis yet (written by ``takes``/``pick`` before any full render)."""
    from .. import __version__ as version
    from ..schema.lock import Lock

    sb_sha, song_sha = lock_inputs(sb)
    return Lock(storyboard=Path(sb.path).name, storyboard_sha256=sb_sha, song=Path(sb.song).name,
                song_sha256=song_sha, analysis_options=analysis_options(sb), analysis={}, plan=plan.to_dict(),
                shots=(), version=str(version))


