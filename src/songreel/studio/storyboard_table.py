"""The storyboard YAML and the studio's shot table, kept in step both ways.

The YAML is the truth. It is parsed with ruamel.yaml's round-trip loader, so an edit made in the table
changes only the keys whose cells changed: comments, key order, quoting, flow mappings and indentation
of everything else come back byte for byte. The table is a view: one row per shot with the columns in
:data:`COLUMNS`; an empty cell removes its key; added rows append shots; removed rows drop shots.
"""

from __future__ import annotations

import io
import re
from typing import Any, Optional

from ..errors import StoryboardError

#: The shot table's columns, in order: storyboard keys (``at`` is the anchor).
COLUMNS = ("name", "prompt", "length", "at", "transition", "backend", "seed", "takes")
_INT_COLUMNS = ("seed", "takes")
#: Column headers shown in the studio.
HEADERS = ("name", "prompt", "length (bars / beats / s)", "anchor (at)", "transition", "backend", "seed", "takes")


def _yaml(indent: tuple[int, int, int] = (2, 4, 2)):
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never fold a long prompt onto two lines
    y.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return y


class Document:
    """A storyboard's YAML text, parsed for round-trip editing.

    Parameters
    ----------
    text : str
    name : str
        The file name used in error messages.

    Raises
    ------
    StoryboardError
        The text is not YAML, or not a mapping.
    """

    def __init__(self, text: str, name: str = "storyboard.yaml") -> None:
        from ruamel.yaml.error import YAMLError

        self.name = name
        self.indent = _guess_indent(text)
        try:
            self.data = _yaml(self.indent).load(text)
        except YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise StoryboardError(f"{name}{line}: malformed YAML: {problem}") from None
        if self.data is None:
            from ruamel.yaml.comments import CommentedMap

            self.data = CommentedMap()
        if not hasattr(self.data, "get"):
            raise StoryboardError(f"{name}:1: got {type(self.data).__name__}, expected a mapping starting "
                                  "with 'songreel: 1'")

    def text(self) -> str:
        buf = io.StringIO()
        _yaml(self.indent).dump(self.data, buf)
        return buf.getvalue()

    def shots(self) -> list:
        shots = self.data.get("shots")
        return shots if isinstance(shots, list) else []

    def rows(self) -> list[list[str]]:
        """The shot table: one row of strings per shot (``""`` for a key that is absent)."""
        return [[_cell(shot, col) for col in COLUMNS] for shot in self.shots() if hasattr(shot, "get")]

    def set_rows(self, rows: list[list[Any]]) -> None:
        """Apply an edited table: change only cells that differ from the YAML."""
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        rows = [list(r) + [""] * (len(COLUMNS) - len(r)) for r in rows if any(_text(c) for c in r)]
        shots = self.data.get("shots")
        if not isinstance(shots, list):
            shots = CommentedSeq()
            self.data["shots"] = shots
        while len(shots) > len(rows):
            del shots[len(shots) - 1]
        for i, row in enumerate(rows):
            if i >= len(shots):
                shots.append(CommentedMap())
            shot = shots[i]
            if not hasattr(shot, "get"):
                continue
            for col, cell in zip(COLUMNS, row):
                _set_cell(shot, col, _text(cell))

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Set a top-level key (``None`` or ``""`` removes it)."""
        if value is None or value == "":
            self.data.pop(key, None)
        elif str(self.data.get(key, "")) != str(value):
            self.data[key] = value

    def characters(self) -> list[list[str]]:
        """``[name, description]`` rows of the ``characters:`` block."""
        chars = self.data.get("characters")
        if not hasattr(chars, "items"):
            return []
        out = []
        for k, v in chars.items():
            out.append([str(k), str(v.get("description", "")) if hasattr(v, "get") else _text(v)])
        return out

    def set_characters(self, rows: list[list[Any]]) -> None:
        """Apply an edited characters table (a character's image and seed, if any, are kept)."""
        from ruamel.yaml.comments import CommentedMap

        wanted = [(_text(r[0]), _text(r[1]) if len(r) > 1 else "") for r in rows if r and _text(r[0])]
        chars = self.data.get("characters")
        if not wanted:
            self.data.pop("characters", None)
            return
        if not hasattr(chars, "items"):
            chars = CommentedMap()
            self.data["characters"] = chars
        for k in [k for k in chars if str(k) not in {n for n, _ in wanted}]:
            del chars[k]
        for name, desc in wanted:
            cur = chars.get(name)
            if hasattr(cur, "get"):
                if str(cur.get("description", "")) != desc:
                    cur["description"] = desc
            elif _text(cur) != desc:
                chars[name] = desc


def new_storyboard(song: str, *, title: str = "", width: int = 1280, height: int = 720, fps: int = 24) -> str:
    """A starting storyboard for a song: one shot to the song's end."""
    import json

    return (f"songreel: 1\ntitle: {json.dumps(title)}\nsong: {json.dumps(song)}\n"
            f"video: {{width: {width}, height: {height}, fps: {fps}}}\nbackend: animatic\nstyle: \"\"\n"
            "shots:\n  - prompt: \"the opening shot\"\n")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = str(value).strip()
    return "" if s.lower() == "nan" else s


def _cell(shot, col: str) -> str:
    value = shot.get(col)
    if col == "backend" and hasattr(value, "get"):
        value = value.get("name", "")
    return _text(value)


def _set_cell(shot, col: str, cell: str) -> None:
    current = shot.get(col)
    if col == "backend" and hasattr(current, "get"):
        if cell and str(current.get("name", "")) != cell:
            current["name"] = cell
        elif not cell:
            del shot[col]
        return
    if _text(current) == cell:
        return
    if not cell:
        shot.pop(col, None)
        return
    value: Any = cell
    if col in _INT_COLUMNS and re.fullmatch(r"-?\d+", cell):
        value = int(cell)
    if col in shot:
        shot[col] = value
    elif col == "prompt":
        shot.insert(0, col, value)  # the prompt leads a shot, as people write them
    else:
        shot[col] = value


def _guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, dash offset) as the file writes its first block sequence; else 2, 4, 2."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(\S[^:#]*):\s*(#.*)?$", line)
        if not m or i + 1 >= len(lines):
            continue
        nxt = re.match(r"^(\s*)-(\s+)\S", lines[i + 1])
        if nxt:
            offset = len(nxt.group(1)) - len(m.group(1))
            return 2, offset + 1 + len(nxt.group(2)), offset
    return 2, 4, 2


def doc_or_error(text: str, name: str) -> tuple[Optional[Document], str]:
    """``(document, "")`` or ``(None, one-line error)``."""
    try:
        return Document(text, name), ""
    except StoryboardError as e:
        return None, str(e)
