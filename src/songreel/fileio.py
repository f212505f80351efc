"""Crash-safe file writing shared by every stage: temp name, fsync, rename; stale-temp cleanup.

A final name only ever holds a complete file. Temp names are ``.<name>.tmp-<pid>-<thread>[.<ext>]``
so a later run can tell a dead writer's leftovers from a live one's.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

TEMP_RE = re.compile(r"^\..+\.tmp-(\d+)(?:-\d+)?(?:\.[A-Za-z0-9]+)?$")
"""Temp names written by songreel: ``.<name>.tmp-<pid>[-<thread>][.<ext>]``."""


def temp_path(path: Path) -> Path:
    """A temp name beside ``path``, unique per process and thread, matching :data:`TEMP_RE`."""
    path = Path(path)
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}-{threading.get_ident()}{path.suffix}")


def write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and fsync it (on disk before it is renamed or linked into place)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file, fsync and rename (the folder is fsynced too).

    A reader sees the old file or the new one, never a part; a crash leaves at most a temp file
    (removed by :func:`remove_stale_temps`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        write_synced(tmp, data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort; not every OS/filesystem allows it)."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_temps(folder: Path, *, older_than: float | None = None, prefix: str = "") -> list[Path]:
    """Remove songreel temp files in ``folder`` whose writing process is gone.

    ``older_than`` (seconds) also removes temps of live-looking pids older than that (pids are
    reused; a store on a network folder sees other machines' pids). ``prefix`` limits it to names
    starting with it (e.g. the temps of one output). Returns what was removed.
    """
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    now = time.time()
    for p in entries:
        m = TEMP_RE.match(p.name)
        if not m or not p.name.startswith(prefix) or not p.is_file():
            continue
        stale = not pid_alive(int(m.group(1)))
        if not stale and older_than is not None:
            try:
                stale = now - p.stat().st_mtime > older_than
            except OSError:
                continue
        if stale:
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def remove_files(paths, *, dry_run: bool = False) -> int:
    """Remove ``paths`` (those already gone are skipped) and return the bytes they held; with
    ``dry_run``, only count them."""
    freed = 0
    for p in paths:
        try:
            freed += Path(p).stat().st_size
            if not dry_run:
                Path(p).unlink()
        except OSError:
            pass
    return freed
