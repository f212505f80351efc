"""The media beside an exported timeline: file names, references, and copying/linking into place.

:func:`media_names` names every source once (``shot003-<name>[-partN]<ext>``); :func:`media_url`
turns a source into the ``target_url`` a timeline stores; :func:`place` copies or hard-links a file
atomically; :func:`media_path` resolves a stored ``target_url`` back to a local file.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Optional
from urllib.parse import quote, unquote, urlparse

from ..errors import InputError, OutputError
from ..schema.edit import Edit


def media_url(path: Path, media_dir: Optional[Path], names: dict) -> str:
    """``target_url`` for ``path``: relative POSIX path under ``media_dir``, or an absolute file URL."""
    if media_dir is None:
        return Path(os.path.abspath(path)).as_uri()
    target = media_dir / names[Path(path)]
    if target.is_absolute():
        return target.as_uri()
    return quote(target.as_posix())


def _slug(text: str, limit: int = 32) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return s[:limit].strip("-") or "shot"


def media_names(edit: Edit) -> dict[Path, str]:
    """File names the media get inside the media folder (each source file once).

    Shots are named ``shot003-<name>[-partN]<ext>`` in story order, the song keeps its own name. A clip
    used by several shots keeps the name of its first use.
    """
    names: dict[Path, str] = {}
    used: set[str] = set()

    def claim(src: Path, name: str):
        if src in names:
            return
        stem, ext = os.path.splitext(name)
        candidate, n = name, 2
        while candidate.lower() in used:
            candidate, n = f"{stem}-{n}{ext}", n + 1
        used.add(candidate.lower())
        names[src] = candidate

    for shot, clips in zip(edit.plan.shots, edit.clips):
        for j, clip in enumerate(clips):
            part = f"-part{j + 1}" if len(clips) > 1 else ""
            claim(Path(clip.path), f"shot{shot.index + 1:03d}-{_slug(shot.name)}{part}{Path(clip.path).suffix}")
    claim(Path(edit.song), Path(edit.song).name)
    if edit.plan.look == "infinite-zoom" and edit.video is not None:
        claim(Path(edit.video), Path(edit.video).name)
    return names


def tmp_name(path: Path) -> Path:
    """The shared temp name (the stale-temp sweep recognises it); it keeps the suffix, from which
    OTIO picks the adapter."""
    from ..fileio import temp_path

    return temp_path(Path(path))


def place(src: Path, dst: Path, mode: str) -> None:
    """Copy or hard-link ``src`` to ``dst`` atomically (temp name + rename); skip if already there."""
    if dst.exists():
        try:
            if os.path.samefile(src, dst):
                return
            if mode == "copy" and dst.stat().st_size == src.stat().st_size and \
                    dst.stat().st_mtime >= src.stat().st_mtime:
                return
        except OSError:
            pass
    tmp = tmp_name(dst)
    try:
        if mode == "link":
            try:
                os.link(src, tmp)
            except OSError:  # other filesystem, or links not allowed: copy instead
                shutil.copy2(src, tmp)
        else:
            shutil.copy2(src, tmp)
        os.replace(tmp, dst)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{dst}: cannot write media ({e.strerror or e})") from None


def media_path(timeline_path: Path | str, target_url: str) -> Path:
    """Resolve a media reference's ``target_url`` (relative path or ``file://`` URL) to a local path."""
    parsed = urlparse(target_url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:
        raise InputError(f"{timeline_path}: media URL {target_url!r} is not a local file")
    p = Path(unquote(target_url))
    return p if p.is_absolute() else Path(timeline_path).resolve().parent / p

