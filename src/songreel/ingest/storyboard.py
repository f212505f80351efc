"""Read a storyboard YAML file into a validated :class:`~songreel.schema.storyboard.Storyboard`.

Every error names ``FILE:LINE: field``, the value received and what is accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import MissingFileError, StoryboardError, did_you_mean
from ..schema.messages import describe

PATH_FIELDS_TOP = ("song", "lyrics")
PATH_FIELDS_SHOT = ("clip", "first_frame", "last_frame")


def load_storyboard(path, *, text: str | None = None):
    """Load and validate a storyboard file.

    Parameters
    ----------
    path : str or Path
        The YAML file. Relative paths inside it are resolved against its folder.
    text : str, optional
        Use this text instead of reading ``path`` (the path still names the file in messages
        and anchors relative paths).

    Returns
    -------
    Storyboard

    Raises
    ------
    MissingFileError
        The storyboard file does not exist.
    StoryboardError
        Malformed YAML, unknown keys, wrong types or values; the message names FILE:LINE and field.
    """
    path = Path(path)
    if text is None:
        if not path.exists():
            raise MissingFileError(f"{path}: no such storyboard file")
        if path.is_dir():
            raise StoryboardError("is a folder, expected a storyboard .yaml file", path=path)
        try:
            raw = path.read_bytes()
        except PermissionError:
            raise StoryboardError("cannot be read (permission denied); expected a readable storyboard file",
                                  path=path) from None
        text = _decode(raw, path)
    data, lines = parse_yaml(text, path)
    return validate_storyboard(data, lines, path)


def _decode(raw: bytes, path: Path) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise StoryboardError(f"byte 0x{raw[e.start]:02x} is not UTF-8 text; expected a UTF-8 encoded "
                              "YAML file (re-save it as UTF-8)", path=path, line=line) from None
    if "\x00" in text:
        raise StoryboardError("contains NUL bytes; expected a UTF-8 YAML text file", path=path)
    return text


def parse_yaml(text: str, path: Path) -> tuple[Any, dict[str, int]]:
    """Parse YAML keeping the source line of every node.

    Returns
    -------
    data : object
        Plain dicts/lists/scalars.
    lines : dict
        Maps dotted field paths (``shots[2].length``) to 1-based lines.
    """
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        problem = e.problem or str(e)
        if "\t" in problem or "'\\t'" in problem or (mark and _tab_at(text, mark)):
            msg = "a tab character; YAML indents with spaces only"
        else:
            msg = f"malformed YAML: {problem}"
            if e.context:
                msg += f" ({e.context})"
        raise StoryboardError(msg, path=path, line=line) from None
    except yaml.reader.ReaderError as e:  # a control character: no mark, a position in the text
        ch = e.character if isinstance(e.character, int) else ord(str(e.character)[:1] or "\0")
        line = text[: max(int(e.position or 0), 0)].count("\n") + 1
        raise StoryboardError(f"control character U+{ch:04X} is not allowed in YAML; expected printable text "
                              "(remove it)", path=path, line=line) from None
    except yaml.YAMLError as e:
        raise StoryboardError("malformed YAML: " + " ".join(str(e).split()), path=path) from None
    if node is None:
        raise StoryboardError("is empty; expected a storyboard starting with 'songreel: 1'", path=path)
    lines: dict[str, int] = {}
    data = _construct(node, "", lines, path)
    return data, lines


def _tab_at(text: str, mark) -> bool:
    line = text.splitlines()[mark.line] if mark.line < len(text.splitlines()) else ""
    return "\t" in line[: max(mark.column + 1, 1)]


def _construct(node, prefix: str, lines: dict, path: Path):
    import yaml

    lines[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                raise StoryboardError("expected a plain key", path=path, line=knode.start_mark.line + 1)
            key = knode.value
            if key in out:
                raise StoryboardError(f'key "{key}" appears twice; expected each key once',
                                      path=path, line=knode.start_mark.line + 1,
                                      field=_join(prefix, key))
            out[key] = _construct(vnode, _join(prefix, key), lines, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, f"{prefix}[{i}]", lines, path) for i, v in enumerate(node.value)]
    # YAML 1.1 reads an unquoted 1:30 as the base-60 number 90: keep clock values as written, so
    # "length: 1:30" means a minute and a half and messages quote what the user typed
    if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in node.value:
        return node.value
    # scalars: resolve with the safe constructor (ints, floats, bools, null, strings)
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as e:
        raise StoryboardError(f"cannot read value: {e.problem}", path=path,
                              line=node.start_mark.line + 1, field=prefix or None) from None
    finally:
        loader.dispose()


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key




def validate_storyboard(data: Any, lines: dict[str, int], path: Path):
    """Validate parsed YAML into a Storyboard, resolving paths relative to ``path``'s folder."""
    from pydantic import ValidationError

    from ..schema.storyboard import Storyboard

    if not isinstance(data, dict):
        raise StoryboardError(f"got {type(data).__name__}, expected a mapping starting with 'songreel: 1'",
                              path=path, line=1)
    if "songreel" not in data:
        raise StoryboardError("missing 'songreel: 1' (the format version); expected it as the first key",
                              path=path, line=1, field="songreel")
    try:
        sb = Storyboard.model_validate(data)
    except ValidationError as e:
        raise _translate(e, data, lines, path) from None
    base = path.parent
    resolve = lambda p: p if p is None or p == "next" or Path(p).is_absolute() else (base / p)  # noqa: E731
    shots = [s.model_copy(update={k: resolve(getattr(s, k)) for k in PATH_FIELDS_SHOT}) for s in sb.shots]
    chars = {k: c.model_copy(update={
        "image": resolve(c.image), "ref": [resolve(r) for r in c.ref],
        "looks": {n: lk.model_copy(update={"ref": [resolve(r) for r in lk.ref]}) for n, lk in c.looks.items()},
    }) for k, c in sb.characters.items()}
    sb = sb.model_copy(update={"song": resolve(sb.song), "lyrics": resolve(sb.lyrics), "shots": shots,
                               "characters": chars})
    sb._path = path
    sb._lines = lines
    _check_characters(sb, path, lines)
    from .cast import check_cast

    check_cast(sb)
    return sb


def _check_characters(sb, path: Path, lines: dict) -> None:
    import re

    known = set(sb.characters)
    for i, shot in enumerate(sb.shots):
        if shot.prompt is None:
            continue
        for name in re.findall(r"\{([^{}]*)\}", shot.prompt):
            if name not in known:
                field = f"shots[{i}].prompt"
                accepted = ", ".join("{" + k + "}" for k in sorted(known)) or "none are defined under characters:"
                raise StoryboardError(f'unknown character "{{{name}}}"{did_you_mean(name, known)}; '
                                      f"known: {accepted}", path=path, line=lines.get(field), field=field)


def _translate(err, data, lines: dict, path: Path) -> StoryboardError:
    """Turn pydantic's first error into one songreel line."""
    errors = err.errors(include_url=False)
    # an unknown key usually explains a "missing" one next to it (shot: for shots:): report it first
    e = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
    loc = [p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    # BeforeValidator / union branches add non-field parts to loc; keep real field names only
    field = ""
    for part in loc:
        if isinstance(part, int):
            field += f"[{part}]"
        elif part in ("is-instance[Path]", "literal['next']", "lax-or-strict", "json-or-python"):
            continue
        else:
            field = _join(field, str(part)) if field else str(part)
    etype = e["type"]
    if etype == "extra_forbidden":
        parent, _, key = field.rpartition(".")
        model = _model_at(parent)
        accepted = sorted(_accepted_keys(model)) if model else []
        msg = f'unknown key "{key}"{did_you_mean(key, accepted)}'
        if accepted:
            msg += "; accepted: " + ", ".join(accepted)
    elif etype == "missing" and field == "song":
        msg = "missing; expected the song file, e.g. 'song: song.wav'"
    else:
        msg = describe(e)
    line = None
    probe = field
    while probe:
        if probe in lines:
            line = lines[probe]
            break
        probe = probe.rsplit(".", 1)[0] if "." in probe else (probe.rsplit("[", 1)[0] if "[" in probe else "")
    return StoryboardError(msg, path=path, line=line or 1, field=field or None)


def _model_at(field: str):
    """The pydantic model class that owns keys at dotted path ``field`` ('' = top level)."""
    from ..schema import storyboard as S

    if field == "":
        return S.Storyboard
    head = field.split(".")[-1]
    head = head.split("[")[0]
    return {"shots": S.ShotSpec, "video": S.VideoSpec, "zoom": S.ZoomSpec, "encode": S.EncodeSpec,
            "analysis": S.AnalysisOptions, "sections": S.SectionOverride, "executor": S.ExecutorSpec,
            "images": S.ImagesSpec}.get(head) or (
        S.LookSpec if field.startswith("characters.") and ".looks." in field else
        S.CharacterSpec if field.startswith("characters.") else None)


def _accepted_keys(model) -> list[str]:
    return [(f.alias or name) for name, f in model.model_fields.items()]
