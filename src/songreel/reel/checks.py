"""Checks made before anything runs: the song, footage, images and camera settings a storyboard
names, and the outputs a command will write. Each failure is one line naming the field or path."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError, MissingFileError, OutputError


def check_song(sb) -> None:
    song = Path(sb.song)
    if not song.exists():
        raise MissingFileError(f"{sb.where('song')}: {song}: no such file; expected the song's audio file "
                               "(wav, flac, mp3, ogg, m4a/aac or opus)")
    if song.is_dir():
        raise InputError(f"{sb.where('song')}: {song}: is a folder; expected the song's audio file")
    if not os.access(song, os.R_OK):
        raise InputError(f"{sb.where('song')}: {song}: cannot be read (permission denied); expected a readable "
                         "audio file")
    if song.stat().st_size == 0:
        raise InputError(f"{sb.where('song')}: {song}: is empty (0 bytes); expected an audio file "
                         "(wav, flac, mp3, ogg, m4a/aac or opus)")


def check_inputs(sb) -> None:
    """Open every footage file and conditioning image once, so a bad one fails before any generation."""
    from ..generate.sources import source_probe  # the footage backend reuses what this reads

    for i, shot in enumerate(sb.shots):
        if shot.clip is not None:
            source_probe(shot.clip, field=f"{sb.where(f'shots[{i}].clip')}")
        for name in ("first_frame", "last_frame"):
            image = getattr(shot, name)
            if image is not None and image != "next":
                _check_image(Path(image), sb.where(f"shots[{i}].{name}"))
    for name, c in sb.characters.items():
        if c.image is not None:
            _check_image(Path(c.image), sb.where(f"characters.{name}.image"))
    from ..plan.look import check_storyboard  # camera moves and retiming modes, before any generation

    check_storyboard(sb)


def _check_image(path: Path, where: str) -> None:
    from PIL import Image, UnidentifiedImageError

    if not path.exists():
        raise MissingFileError(f"{where}: {path}: no such image file; expected a PNG, JPEG or WebP")
    try:
        with Image.open(path) as im:
            im.verify()
    except PermissionError:
        raise InputError(f"{where}: {path}: cannot be read (permission denied)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InputError(f"{where}: {path}: not a readable image; expected a PNG, JPEG or WebP") from None


def check_output(out: Path, sb, *, force: bool) -> Path:
    """Refuse outputs that would destroy input or can't be written.

    Raises
    ------
    OutputError
    """
    out = Path(out)
    if out.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        raise OutputError(f"{out}: output must be an .mp4 file (got '{out.suffix or 'no extension'}')")
    inputs = [sb.path, sb.song, sb.lyrics] + [s.clip for s in sb.shots] + \
        [s.first_frame for s in sb.shots] + [c.image for c in sb.characters.values()]
    resolved = out.resolve()
    for p in inputs:
        if p is not None and p != "next" and Path(p).resolve() == resolved:
            raise OutputError(f"{out}: is one of the inputs ({p}); choose another output name")
    parent = resolved.parent
    if not parent.is_dir():
        raise OutputError(f"{out}: the folder {parent} does not exist; create it or choose another output")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{out}: the folder {parent} is not writable")
    if out.is_dir():
        raise OutputError(f"{out}: is a folder; expected a path for the .mp4 file to write")
    if out.exists() and not force:
        raise OutputError(f"{out}: already exists; pass force=True to replace it (the old file stays until the new "
                          "one is complete)")
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputError(f"{out}: exists and is read-only; choose another output name")
    return out


def remove_stale_output_temps(out: Path) -> list:
    """Remove temp files a killed render left beside ``out`` (``.out.tmp-<pid>.mp4``,
    ``.out.report.tmp-<pid>-<thread>.json``) whose process is gone. Nothing else is touched."""
    from ..fileio import remove_stale_temps

    out = Path(out)
    return remove_stale_temps(out.resolve().parent, prefix=f".{out.stem}.")


def check_output_file(out: Path, sb, *, force: bool, suffixes: tuple) -> Path:
    """Like :func:`check_output` for side outputs (timelines, sheets, subtitles)."""
    out = Path(out)
    if out.suffix.lower() not in suffixes:
        raise OutputError(f"{out}: expected a file ending in {', '.join(suffixes)} (got '{out.suffix or 'none'}')")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise OutputError(f"{out}: the folder {parent} does not exist; create it or choose another output")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{out}: the folder {parent} is not writable")
    if out.exists() and not force:
        raise OutputError(f"{out}: already exists; pass force=True to replace it")
    return out


