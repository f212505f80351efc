"""The shot list a draft is made of: its data model and the JSON schema a language model must follow.

Both the offline draft and a model's answer end up as a :class:`DraftAnswer`; the writer turns it
into a storyboard. The JSON schema follows the Structured Outputs subset of the chat completions
API (``strict: true``): every object lists all its properties as required and forbids others, so a
server that enforces it (OpenAI, vLLM, llama.cpp server, Ollama) can only produce this shape.
Sections are an ``enum`` of the song's own section names, so a model cannot invent one.
"""

from __future__ import annotations

import json
import re
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..schema.storyboard import TRANSITIONS

NAME_RE = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
SCHEMA_NAME = "songreel_storyboard"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Look(_Frozen):
    """A character's look at one time of the story (``her_teen``: "at 16, braces, ...")."""

    name: str = Field(pattern=NAME_RE)
    description: str = Field(min_length=1)


class Character(_Frozen):
    """A recurring character; ``looks`` are extra names for the same person at other ages."""

    name: str = Field(pattern=NAME_RE)
    description: str = Field(min_length=1)
    looks: tuple[Look, ...] = ()


class Shot(_Frozen):
    """One shot: where it sits (section) and how long it lasts (bars + beats), what it shows."""

    name: str = ""
    prompt: str = Field(min_length=1)
    section: str
    bars: int = Field(ge=0)
    beats: int = Field(ge=0)
    transition: str = "cut"
    lyric: Optional[int] = None


class DraftAnswer(_Frozen):
    """A whole draft: title, style, characters and shots in song order."""

    title: str = ""
    style: str = ""
    characters: tuple[Character, ...] = ()
    shots: tuple[Shot, ...] = Field(min_length=1)

    def character_names(self) -> dict[str, str]:
        """Every name a prompt may use as ``{name}``, with its description (looks included)."""
        out = {}
        for c in self.characters:
            out[c.name] = c.description
            for look in c.looks:
                out[look.name] = f"{c.description}, {look.description}" if c.description else look.description
        return out


def length_beats(shot: Shot, meter: int) -> int:
    """A shot's nominal length in beats at ``meter`` beats a bar."""
    return shot.bars * meter + shot.beats


def answer_schema(section_names, *, shots: Optional[int] = None, lyric_lines: int = 0) -> dict:
    """The JSON schema of a draft for one song (strict Structured Outputs subset).

    Parameters
    ----------
    section_names : sequence of str
        The song's sections in order; a shot's ``section`` must be one of them.
    shots : int, optional
        Exact number of shots asked for (``minItems`` = ``maxItems``).
    lyric_lines : int
        How many lyric lines the model was given (0: ``lyric`` is always null).
    """
    def obj(props: dict, description: str = "") -> dict:
        d = {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
        if description:
            d["description"] = description
        return d

    look = obj({"name": {"type": "string", "description": "name used as {name} in prompts, e.g. her_teen"},
                "description": {"type": "string", "description": "how the character looks at this time"}})
    character = obj({
        "name": {"type": "string", "description": "short name used as {name} in prompts (letters, digits, _)"},
        "description": {"type": "string", "description": "what the character looks like, for a video model"},
        "looks": {"type": "array", "items": look,
                  "description": "the same person at other ages or times (empty if the story does not span time)"},
    })
    shot = obj({
        "name": {"type": "string", "description": "a short title for the shot"},
        "prompt": {"type": "string", "description": "what the video model should show; use {name} for characters"},
        "section": {"type": "string", "enum": list(section_names)},
        "bars": {"type": "integer", "minimum": 0, "description": "whole bars of the shot"},
        "beats": {"type": "integer", "minimum": 0, "description": "extra beats after the whole bars (usually 0)"},
        "transition": {"type": "string", "enum": list(TRANSITIONS),
                       "description": "how this shot hands over to the next one"},
        "lyric": {"type": ["integer", "null"] if lyric_lines else "null",
                  "description": "number of the lyric line sung during the shot, or null"},
    })
    shots_schema: dict = {"type": "array", "items": shot}
    if shots:
        shots_schema.update(minItems=int(shots), maxItems=int(shots))
    return obj({
        "title": {"type": "string"},
        "style": {"type": "string", "description": "the visual style shared by every shot"},
        "characters": {"type": "array", "items": character},
        "shots": shots_schema,
    }, "A music video storyboard on the song's bar grid")


def parse_answer(content: Optional[str]) -> tuple[Optional[DraftAnswer], list[str]]:
    """Parse a model's message into a :class:`DraftAnswer`.

    Returns
    -------
    (DraftAnswer or None, list of str)
        The answer, or None with the problems found (each names the JSON path and what was wrong).
    """
    if content is None or not str(content).strip():
        return None, ["the answer was empty; expected one JSON object"]
    text = _strip_fences(str(content))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return None, [(f"the answer is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); "
                       "expected one JSON object following the schema")]
    if not isinstance(data, dict):
        return None, [f"the answer is a JSON {type(data).__name__}; expected one JSON object"]
    try:
        return DraftAnswer.model_validate(data), []
    except ValidationError as e:
        return None, [_describe(err) for err in e.errors(include_url=False)][:12]


def _strip_fences(text: str) -> str:
    """A JSON object wrapped in a Markdown code fence (some local servers add one) is unwrapped."""
    m = re.match(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", text, re.S)
    return m.group(1) if m else text


def _describe(err) -> str:
    path = ""
    for part in err["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    value = err.get("input")
    shown = json.dumps(value, ensure_ascii=False)[:60] if not isinstance(value, dict) else "an object"
    if err["type"] == "missing":
        return f"{path}: missing"
    if err["type"] == "extra_forbidden":
        return f"{path}: not a field of the schema"
    return f"{path}: got {shown}, {err['msg'].lower()}"
