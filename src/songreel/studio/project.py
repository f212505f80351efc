"""The project folder and the studio's one rule about paths: nothing outside it is read or written.

Every path the studio touches — an uploaded song, a storyboard's ``song:`` / ``clip:`` / ``lyrics:`` /
keyframe / character image and ``ref:`` pictures, a file a request names, a render output — goes through
:func:`inside`, which resolves it (following symlinks) and refuses anything that lands outside the
project folder, with a one-line :class:`~songreel.errors.InputError` naming the field and the value.
Uploads are stored under sanitised names by :func:`store_upload`.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import InputError

#: The storyboard the studio edits when the folder has none of its own.
DEFAULT_STORYBOARD = "storyboard.yaml"
#: Where the studio keeps its own state (render queue, previews) inside the project's clip store folder.
STATE_DIR = Path(".songreel") / "studio"
#: Largest upload accepted, per file.
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aac", ".opus")
MEDIA_SUFFIXES = AUDIO_SUFFIXES + (".mp4", ".mov", ".mkv", ".webm", ".png", ".jpg", ".jpeg", ".webp",
                                   ".lrc", ".srt")

# storyboard fields that name files, at the top level, on each shot, and on each character
_TOP_PATHS = ("song", "lyrics")
_SHOT_PATHS = ("clip", "first_frame", "last_frame")


class Project:
    """A project folder: the root every relative path resolves against and nothing escapes.

    Parameters
    ----------
    root : str or Path
        Created if missing.
    """

    def __init__(self, root) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def storyboards(self) -> list[str]:
        """Storyboard files in the folder (top level), by name."""
        return sorted(p.name for p in self.root.glob("*.yaml") if p.is_file() and _looks_like_storyboard(p))

    def songs(self) -> list[str]:
        """Audio files in the folder (top level), by name."""
        return sorted(p.name for p in self.root.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)

    def default_storyboard(self) -> Path:
        found = self.storyboards()
        return self.root / (DEFAULT_STORYBOARD if DEFAULT_STORYBOARD in found or not found else found[0])

    def inside(self, value: Any, field: str) -> Path:
        """``value`` (relative to the project, or absolute) resolved, if it stays inside the project.

        Raises
        ------
        InputError
            ``field: got VALUE, a path outside the project folder ROOT; expected a file inside it``.
        """
        if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
            raise InputError(f"{field}: got {value!r}, expected a file name inside the project folder")
        raw = Path(str(value))
        if "\x00" in str(value):
            raise InputError(f"{field}: got {str(value)!r}, a name with a NUL byte; expected a file name")
        path = (raw if raw.is_absolute() else self.root / raw).resolve()
        if path != self.root and self.root not in path.parents:
            raise InputError(f"{field}: got {str(value)!r}, a path outside the project folder {self.root}; "
                             "expected a file inside it")
        return path

    def check_storyboard_data(self, data: Any, name: str) -> None:
        """Refuse a parsed storyboard (plain or ruamel mapping) naming a path outside the project.

        Checked on the YAML before anything is loaded, so nothing outside the folder is even looked at.
        Absolute paths are refused too: a project that moves must keep working.
        """
        for field, value in storyboard_paths(data):
            if isinstance(value, str) and Path(value).is_absolute():
                raise InputError(f"{name}: {field}: got {value!r}, an absolute path; expected a path relative to "
                                 f"the project folder {self.root}")
            self.inside(value, f"{name}: {field}")

    def check_storyboard(self, sb) -> None:
        """The same check on a loaded storyboard (paths already resolved against its folder)."""
        for field, value in _loaded_paths(sb):
            self.inside(value, field)


def storyboard_paths(data: Any) -> Iterator[tuple[str, Any]]:
    """``(field, value)`` of every file a parsed storyboard names (including path-like backend options)."""
    if not isinstance(data, dict):
        return
    for key in _TOP_PATHS:
        if data.get(key) is not None:
            yield key, data[key]
    yield from _option_paths(data.get("backend"), "backend")
    zoom = data.get("zoom")
    if isinstance(zoom, dict):
        inpaint = zoom.get("inpaint")
        yield from _option_paths({"model": inpaint} if isinstance(inpaint, str) else inpaint, "zoom.inpaint")
    yield from _option_paths(data.get("images"), "images")
    chars = data.get("characters")
    if isinstance(chars, dict):
        for cname, c in chars.items():
            if not isinstance(c, dict):
                continue
            if c.get("image") is not None:
                yield f"characters.{cname}.image", c["image"]
            yield from _ref_paths(c.get("ref"), f"characters.{cname}.ref")
            looks = c.get("looks")
            if isinstance(looks, dict):
                for lname, look in looks.items():
                    if isinstance(look, dict):
                        yield from _ref_paths(look.get("ref"), f"characters.{cname}.looks.{lname}.ref")
    shots = data.get("shots")
    if isinstance(shots, list):
        for i, shot in enumerate(shots):
            if not isinstance(shot, dict):
                continue
            for key in _SHOT_PATHS:
                value = shot.get(key)
                if value is not None and value != "next":
                    yield f"shots[{i}].{key}", value
            yield from _option_paths(shot.get("backend"), f"shots[{i}].backend")


def _ref_paths(value: Any, field: str) -> Iterator[tuple[str, Any]]:
    # ref: one picture or a list of them
    if isinstance(value, list):
        for i, v in enumerate(value):
            yield f"{field}[{i}]", v
    elif value is not None:
        yield field, value


def _option_paths(block: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    # backend options are free-form; a value written like a path (a model folder, a LoRA file) is one
    if not isinstance(block, dict):
        return
    for key, value in block.items():
        if isinstance(value, str) and (value.startswith(("/", "./", "../", "~", "\\"))
                                       or re.match(r"^[A-Za-z]:", value)):
            yield f"{prefix}.{key}", value


def _loaded_paths(sb) -> Iterator[tuple[str, Path]]:
    yield "song", sb.song
    if sb.lyrics is not None:
        yield "lyrics", sb.lyrics
    for cname, c in sb.characters.items():
        if c.image is not None:
            yield f"characters.{cname}.image", c.image
        for i, ref in enumerate(c.ref):
            yield f"characters.{cname}.ref[{i}]", ref
        for lname, look in c.looks.items():
            for i, ref in enumerate(look.ref):
                yield f"characters.{cname}.looks.{lname}.ref[{i}]", ref
    for i, shot in enumerate(sb.shots):
        for key in _SHOT_PATHS:
            value = getattr(shot, key)
            if value is not None and value != "next":
                yield f"shots[{i}].{key}", value


def _looks_like_storyboard(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
    except OSError:
        return False
    return re.search(r"^songreel\s*:", head, re.M) is not None


def sanitize_name(name: str, *, allowed: tuple[str, ...] = MEDIA_SUFFIXES) -> str:
    """A safe file name from a user's: the last path part, ASCII letters, digits, ``._-``, no leading dot.

    Raises
    ------
    InputError
        The suffix is not one the studio accepts.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = "." + suffix.lower() if suffix else ""
    if suffix not in allowed:
        raise InputError(f"upload: got {name!r}, expected a file ending in {', '.join(allowed)}")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:80] or "upload"
    return stem + suffix


def store_upload(project: Project, src, name: Optional[str] = None, *,
                 allowed: tuple[str, ...] = MEDIA_SUFFIXES, limit: int = MAX_UPLOAD_BYTES) -> Path:
    """Copy an uploaded temp file into the project folder under a sanitised name; never overwrite.

    A name already taken by different content gets ``-2``, ``-3``...; the same content is reused.

    Returns
    -------
    Path
        The file inside the project folder.
    """
    src = Path(src)
    size = src.stat().st_size
    if size > limit:
        raise InputError(f"upload: {name or src.name} is {size / 2**20:.0f} MiB, expected at most "
                         f"{limit / 2**20:.0f} MiB")
    clean = sanitize_name(name or src.name, allowed=allowed)
    stem, suffix = clean[: -len(Path(clean).suffix) or None], Path(clean).suffix
    for n in range(1, 1000):
        target = project.inside(clean if n == 1 else f"{stem}-{n}{suffix}", "upload")
        if target.exists():
            if target.stat().st_size == size and _same(target, src):
                return target
            continue
        tmp = target.with_name(f".{target.name}.part")
        shutil.copyfile(src, tmp)
        try:
            os.link(tmp, target)  # link-if-absent: a file that appeared meanwhile is never replaced
        except FileExistsError:
            tmp.unlink(missing_ok=True)
            continue
        except OSError:
            if target.exists():
                tmp.unlink(missing_ok=True)
                continue
            os.replace(tmp, target)
        tmp.unlink(missing_ok=True)
        return target
    raise InputError(f"upload: too many files named like {clean} in {project.root}")


def _same(a: Path, b: Path) -> bool:
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True
