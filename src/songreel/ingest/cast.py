"""Load-time checks of a storyboard's characters: reference images open, every look a shot or a
section selects exists. Each failure is one line naming ``FILE:LINE: field``, the value and what is accepted."""

from __future__ import annotations

from pathlib import Path

from ..errors import MissingFileError, StoryboardError, did_you_mean
from ..schema.messages import show


def check_cast(sb) -> None:
    """Check reference images and looks of ``sb`` (a loaded :class:`Storyboard`).

    Raises
    ------
    MissingFileError
        A reference image does not exist.
    StoryboardError
        A reference image cannot be read as a picture, or a shot / section selects a look no
        character has.
    """
    for name, c in sb.characters.items():
        for k, ref in enumerate(c.ref):
            check_reference(Path(ref), sb, f"characters.{name}.ref[{k}]")
        for look, spec in c.looks.items():
            for k, ref in enumerate(spec.ref):
                check_reference(Path(ref), sb, f"characters.{name}.looks.{look}.ref[{k}]")
    every = sorted({look for c in sb.characters.values() for look in c.looks})
    for label, look in sb.ages.items():
        if look not in every:
            _unknown(sb, f"ages.{label}", look, every, " (no character has it)")
    for i, shot in enumerate(sb.shots):
        if shot.age is None:
            continue
        names = _named(shot.prompt or "")
        field = f"shots[{i}].age"
        if isinstance(shot.age, dict):
            for who, look in shot.age.items():
                if who not in sb.characters:
                    raise StoryboardError(f'got character "{who}"{did_you_mean(who, sb.characters)}; expected one '
                                          f"of the shot's characters: {', '.join(names) or 'none'}",
                                          path=sb.path, line=sb.line_of(f"{field}.{who}"), field=f"{field}.{who}")
                looks = sorted(sb.characters[who].looks)
                if look not in looks:
                    _unknown(sb, f"{field}.{who}", look, looks, f" for {who}")
            continue
        with_looks = [n for n in names if n in sb.characters and sb.characters[n].looks]
        if not with_looks:
            _unknown(sb, field, shot.age, every, " (none of the shot's characters has looks)")
        for who in with_looks:
            looks = sorted(sb.characters[who].looks)
            if shot.age not in looks:
                _unknown(sb, field, shot.age, looks, f" for {who}")


def check_reference(path: Path, sb, field: str) -> None:
    """One reference image: it exists and opens as a picture."""
    from PIL import Image, UnidentifiedImageError

    line = _line(sb, field)
    where = f"{sb.path}:{line}: {field}" if (sb.path and line) else sb.where(field)
    if not path.exists():
        raise MissingFileError(f"{where}: {path}: no such image file; expected a reference picture (PNG, JPEG "
                               "or WebP) beside the storyboard")
    try:
        with Image.open(path) as im:
            im.verify()
    except PermissionError:
        raise StoryboardError(f"{path}: cannot be read (permission denied); expected a readable PNG, JPEG or "
                              "WebP", path=sb.path, line=_line(sb, field), field=field) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise StoryboardError(f"{path}: not a readable image; expected a PNG, JPEG or WebP reference picture",
                              path=sb.path, line=_line(sb, field), field=field) from None


def _unknown(sb, field: str, look, accepted, why: str) -> None:
    listed = ", ".join(accepted) or "none (add looks: under the character)"
    raise StoryboardError(f"unknown look {show(look)}{why}{did_you_mean(look, accepted)}; accepted: {listed}",
                          path=sb.path, line=_line(sb, field), field=field)


def _line(sb, field: str):
    """Source line of ``field``; a list item written as a single value (``ref: a.png``) is its key's line."""
    import re

    for probe in (field, re.sub(r"\[\d+\]$", "", field)):
        if probe in sb._lines:
            return sb._lines[probe]
    return sb.line_of(field)


def _named(prompt: str) -> list:
    import re

    return list(dict.fromkeys(re.findall(r"\{([A-Za-z_][\w\-]*)\}", prompt)))
