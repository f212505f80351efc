"""The storyboard, format version 1 (``songreel: 1``): what the user wrote, validated and frozen.

The YAML is parsed by :mod:`songreel.ingest.storyboard`, which maps every field back to its line.
Strings in musical units (``"2 bars"``, ``"crossfade 1 beat"``, ``"chorus 2"``) are parsed here
into small frozen objects; the planner turns them into frames.

Every model is frozen; :meth:`Frozen.with_` returns an edited copy.

One job, the format's data model, past 450 lines because each field's parser and its accepted-values
text stand beside the field they validate (characters and their looks, executors, images, encode,
zoom): the one place a user's word becomes typed data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from ..timebase import parse_fps, parse_time
from .messages import show as _show

FORMAT_VERSION = 1

# ---------------------------------------------------------------------------------------------------
# musical quantities


@dataclass(frozen=True)
class Length:
    """A duration in ``bars``, ``beats`` or seconds (``s``)."""

    amount: Fraction
    unit: Literal["bars", "beats", "s"]

    def __str__(self) -> str:
        n = self.amount
        num = str(n.numerator) if n.denominator == 1 else f"{float(n):g}"
        unit = self.unit[:-1] if (self.unit != "s" and n == 1) else self.unit
        return f"{num} {unit}" if self.unit != "s" else f"{num} s"


_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?|\d+/\d+)\s*(bars?|beats?|s|sec|secs|seconds?)\s*$", re.I)
_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d+):([0-5]\d(?:\.\d+)?)\s*$")
LENGTH_ACCEPTED = '"N bars", "N beats", "N s" or minutes:seconds ("1:30")'


def parse_length(value: Any) -> Length:
    """Parse ``"2 bars"``, ``"8 beats"``, ``"4.5 s"`` or ``"1:30"`` / ``"1:30.5"`` (minutes:seconds,
    also ``h:mm:ss``) into a :class:`Length` (> 0). A clock length is seconds, like ``"90 s"``.

    Raises
    ------
    ValueError
        Naming the received value and the accepted forms.
    """
    if isinstance(value, Length):
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"got {_show(value)}, expected {LENGTH_ACCEPTED}")
    if isinstance(value, (int, float)):
        raise ValueError(f"got {_show(value)} (no unit), expected {LENGTH_ACCEPTED} "
                         f'(did you mean "{value:g} s" or "{value:g} beats"?)')
    clock = _CLOCK.match(value)
    if clock:
        h, m, sec = clock.groups()
        amount = (int(h or 0) * 60 + int(m)) * 60 + Fraction(sec)
        if amount <= 0:
            raise ValueError(f"got {_show(value)}, expected a length greater than zero")
        return Length(amount, "s")
    m = _LENGTH.match(value)
    if not m:
        raise ValueError(f"got {_show(value)}, expected {LENGTH_ACCEPTED}")
    amount = Fraction(m.group(1))
    word = m.group(2).lower()
    unit: Literal["bars", "beats", "s"] = (
        "bars" if word.startswith("bar") else "beats" if word.startswith("beat") else "s")
    if amount <= 0:
        raise ValueError(f"got {_show(value)}, expected a length greater than zero")
    if unit == "bars" and amount.denominator not in (1, 2, 4):
        raise ValueError(f"got {_show(value)}, expected whole, half or quarter bars")
    return Length(amount, unit)


@dataclass(frozen=True)
class Anchor:
    """Where a shot starts or ends on the song.

    ``kind`` is ``section`` (``name`` + 1-based ``occurrence``, or ``number`` for ``section N``),
    ``bar``, ``beat`` (1-based ``number``), ``time`` (``seconds``) or ``lyric`` (``number`` or ``text``).
    """

    kind: Literal["section", "bar", "beat", "time", "lyric"]
    name: str = ""
    """Section label, case-folded with single spaces (labels match whatever their case); empty with
    ``number`` > 0 for ``section N``, the N-th section in song order."""
    occurrence: int = 1
    number: int = 0
    seconds: Fraction = Fraction(0)
    text: str = ""
    raw: str = ""

    def __str__(self) -> str:
        return self.raw


ANCHOR_ACCEPTED = ('a section ("chorus", "chorus 2", "section 3"), "bar 17", "beat 33", a time ("1:02.5"), '
                   'or "lyric 3" / "lyric: words"')
_ANCHOR_NUM = re.compile(r"^(bar|beat|lyric|section)\s+(\d+)$", re.I)
# a label (letters first; words, digits, -, ' and inner spaces), optionally its occurrence number
_ANCHOR_SECTION = re.compile(r"^([^\W\d_][\w\-' ]*?)(?:\s+(\d+))?$")


def section_key(label: str) -> str:
    """How section labels compare: case-folded, runs of spaces as one (``"Verse"`` = ``"verse"``)."""
    return " ".join(str(label).split()).casefold()


def parse_anchor(value: Any) -> Anchor:
    """Parse an ``at:`` / ``until:`` value into an :class:`Anchor`."""
    if isinstance(value, Anchor):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"got {_show(value)}, expected {ANCHOR_ACCEPTED}")
    if isinstance(value, (int, float)):
        return Anchor("time", seconds=Fraction(str(value)), raw=str(value))
    text = str(value).strip()
    if text.lower().startswith("lyric:"):
        words = text[6:].strip()
        if not words:
            raise ValueError(f"got {_show(value)}, expected words after 'lyric:'")
        return Anchor("lyric", text=words, raw=text)
    m = _ANCHOR_NUM.match(text)
    if m:
        n = int(m.group(2))
        if n < 1:
            raise ValueError(f"got {_show(value)}, expected {m.group(1)} numbers from 1")
        kind = m.group(1).lower()
        if kind == "section":   # the N-th section in song order: names any section, labelled or not
            return Anchor("section", number=n, raw=text)
        if kind == "bar":
            return Anchor("bar", number=n, raw=text)
        if kind == "beat":
            return Anchor("beat", number=n, raw=text)
        return Anchor("lyric", number=n, raw=text)   # _ANCHOR_NUM admits only bar|beat|lyric|section
    if re.match(r"^[\d:.]+s?$", text):
        return Anchor("time", seconds=parse_time(text), raw=text)
    m = _ANCHOR_SECTION.match(text)
    if m:
        occ = int(m.group(2)) if m.group(2) else 1
        if occ < 1:
            raise ValueError(f"got {_show(value)}, expected section occurrences from 1")
        return Anchor("section", name=section_key(m.group(1)), occurrence=occ, raw=text)
    raise ValueError(f"got {_show(value)}, expected {ANCHOR_ACCEPTED}")


TRANSITIONS = ("cut", "crossfade", "dip", "dip-white", "zoom", "whip", "slide")
TRANSITION_ACCEPTED = ('cut, crossfade, dip, dip-white, zoom, whip or slide, optionally with a length '
                       '("crossfade 1 beat", "dip 0.5 s")')


@dataclass(frozen=True)
class TransitionSpec:
    """How a shot hands over to the NEXT one; ``length`` None means the kind's default."""

    kind: str = "cut"
    length: Optional[Length] = None
    align: Literal["centre", "end"] = "centre"

    def __str__(self) -> str:
        return self.kind + (f" {self.length}" if self.length else "")


def parse_transition(value: Any) -> TransitionSpec:
    """Parse ``"cut"``, ``"crossfade"``, ``"crossfade 1 beat"``, ``"dip 2 beats"``."""
    if isinstance(value, TransitionSpec):
        return value
    if not isinstance(value, str):
        raise ValueError(f"got {_show(value)}, expected {TRANSITION_ACCEPTED}")
    parts = value.strip().split(None, 1)
    kind = parts[0].lower() if parts else ""
    if kind not in TRANSITIONS:
        from ..errors import did_you_mean

        raise ValueError(f"got {_show(value)}{did_you_mean(kind, TRANSITIONS)}, expected {TRANSITION_ACCEPTED}")
    length = None
    if len(parts) > 1:
        rest = parts[1].strip()
        align: Literal["centre", "end"] = "centre"
        if rest.endswith(" ending on the beat") or rest.endswith(" to the beat"):
            align = "end"
            rest = rest.rsplit(" ", 4)[0] if rest.endswith(" ending on the beat") else rest.rsplit(" ", 3)[0]
        try:
            length = parse_length(rest)
        except ValueError:
            raise ValueError(f"got {_show(value)}, expected {TRANSITION_ACCEPTED}") from None
        if kind == "cut":
            raise ValueError(f"got {_show(value)}, a cut has no length; expected {TRANSITION_ACCEPTED}")
        return TransitionSpec(kind, length, align)
    return TransitionSpec(kind, None)


def _parse_meter(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"got {_show(value)}, expected beats per bar 2..12 or a signature like 3/4, 6/8")
    if isinstance(value, int):
        n = value
    else:
        m = re.match(r"^\s*(\d+)\s*(?:/\s*(2|4|8|16))?\s*$", str(value))
        if not m:
            raise ValueError(f"got {_show(value)}, expected beats per bar 2..12 or a signature like 3/4, 6/8")
        n = int(m.group(1))
    if not 2 <= n <= 12:
        raise ValueError(f"got {_show(value)}, expected 2..12 beats per bar")
    return n


def _parse_seconds(value: Any) -> Fraction:
    if isinstance(value, bool):
        raise ValueError(f"got {_show(value)}, expected a time like 1:02.5 or 62.5")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"got {_show(value)}, expected a time at or after 0")
        return Fraction(str(value))
    return parse_time(value)


LengthField = Annotated[Length, BeforeValidator(parse_length)]
AnchorField = Annotated[Anchor, BeforeValidator(parse_anchor)]
TransitionField = Annotated[TransitionSpec, BeforeValidator(parse_transition)]
MeterField = Annotated[int, BeforeValidator(_parse_meter)]
SecondsField = Annotated[Fraction, BeforeValidator(_parse_seconds)]
NonEmptyStr = Annotated[str, Field(min_length=1)]

# ---------------------------------------------------------------------------------------------------
# models


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True,
                              str_strip_whitespace=False)

    def with_(self, **changes):
        """Return a copy with ``changes`` applied (validated fields are not re-parsed)."""
        return self.model_copy(update=changes)


class VideoSpec(Frozen):
    """Project frame size and exact frame rate."""

    width: int = Field(1280, ge=16, le=8192)
    height: int = Field(720, ge=16, le=8192)
    fps: Annotated[Fraction, BeforeValidator(lambda v: parse_fps(v))] = Fraction(24)

    @field_validator("width", "height")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"got {v}, expected an even number of pixels (H.264 yuv420p needs it)")
        return v


class BackendSpec(Frozen):
    """Which backend makes a shot, and its options (``{name: diffusers, model: ..., steps: 30}``)."""

    name: NonEmptyStr
    options: dict[str, Any] = Field(default_factory=dict)

    def option(self, key: str, default=None):
        return self.options.get(key, default)

    def __hash__(self):  # options are plain YAML scalars/lists/dicts
        import json

        return hash((self.name, json.dumps(self.options, sort_keys=True, default=str)))


def _parse_backend(value: Any) -> Any:
    if isinstance(value, BackendSpec):
        return value
    if isinstance(value, str):
        return {"name": value.strip()}
    if isinstance(value, dict):
        if "name" not in value:
            raise ValueError(f"got {_show(value)}, expected a backend name or {{name: ..., options...}}")
        return {"name": value["name"], "options": {k: v for k, v in value.items() if k != "name"}}
    raise ValueError(f"got {_show(value)}, expected a backend name such as animatic, or {{name: ..., ...}}")


BackendField = Annotated[BackendSpec, BeforeValidator(_parse_backend)]


def _parse_refs(value: Any) -> Any:
    """``ref: her.png`` or ``ref: [her-front.png, her-side.png]`` -> a list of paths."""
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (str, Path)) and str(v).strip() for v in value):
        return value
    raise ValueError(f"got {_show(value)}, expected an image file or a list of image files "
                     "(ref: [her-front.png, her-side.png])")


RefsField = Annotated[list[Path], BeforeValidator(_parse_refs)]


class LookSpec(Frozen):
    """One look of a character (an age, a costume): what replaces the character's own description,
    reference images and seed in the shots that select it. Unset fields fall back to the character's."""

    description: Optional[NonEmptyStr] = None
    ref: RefsField = Field(default_factory=list)
    seed: Optional[int] = Field(None, ge=0, lt=2**32)


def _parse_look(value: Any) -> Any:
    if isinstance(value, str):
        return {"description": value}
    return value


class CharacterSpec(Frozen):
    """A recurring character: ``{name}`` in a prompt is replaced by ``description``.

    ``ref`` holds reference images of them (they reach the backends that take references, and the
    keyframe image model); ``looks`` holds named looks (``teen``, ``30s``, ``old``) a shot selects with
    ``age:`` or the storyboard's ``ages:`` selects by section; ``image`` is the older single picture
    that opens the first shot naming the character as its first frame.
    """

    description: NonEmptyStr
    image: Optional[Path] = None
    seed: Optional[int] = Field(None, ge=0, lt=2**32)
    ref: RefsField = Field(default_factory=list)
    looks: dict[str, Annotated[LookSpec, BeforeValidator(_parse_look)]] = Field(default_factory=dict)


def _parse_character(value: Any) -> Any:
    if isinstance(value, str):
        return {"description": value}
    return value


def _parse_age(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


class ImagesSpec(Frozen):
    """The image models of the image-first workflow: ``model`` makes character sheets (text to
    image), ``edit_model`` places characters into keyframes from their references. ``animatic`` (the
    default) is the procedural, weight-free preview of both."""

    model: NonEmptyStr = "animatic"
    edit_model: Optional[NonEmptyStr] = None
    steps: int = Field(28, ge=1, le=200)
    guidance: float = Field(4.0, ge=0.0, le=30.0)
    device: Optional[str] = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    max_side: int = Field(1024, ge=64, le=4096)


class SectionOverride(Frozen):
    """A user-declared section start: ``{at: "0:48" | "bar 17", label: chorus}``."""

    at: AnchorField
    label: NonEmptyStr


class ZoomSpec(Frozen):
    """Infinite-zoom rate on the musical grid."""

    per: LengthField = Length(Fraction(1), "bars")
    factor: float = Field(2.0, gt=1.0, le=16.0)
    energy: float = Field(0.0, ge=0.0, le=1.0)
    direction: Literal["in", "out"] = "in"
    nesting: Literal["auto", "outpaint", "chain", "animatic"] = "auto"
    feather: float = Field(0.08, ge=0.0, le=0.5)
    inpaint: Optional[Annotated[dict[str, Any], BeforeValidator(
        lambda v: {"model": v} if isinstance(v, str) else v)]] = None
    """Outpaint route: an inpaint model, ``"folder-or-hub-id"`` or ``{model, steps, guidance, max_side,
    device, dtype, overlap}``."""


class EncodeSpec(Frozen):
    """Video/audio encoding of the final file."""

    codec: Literal["h264", "h265"] = "h264"
    crf: int = Field(18, ge=0, le=51)
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                    "slower", "veryslow"] = "medium"
    audio: Literal["auto", "copy", "aac"] = "auto"
    audio_bitrate: int = Field(320_000, ge=64_000, le=512_000)


class ExecutorSpec(Frozen):
    """Where clips are generated: ``local`` (this process) or ``ray`` (a cluster, ``address`` or ``RAY_ADDRESS``)."""

    name: Literal["local", "ray"] = "local"
    address: Optional[NonEmptyStr] = None


def _parse_executor(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value.strip()}
    return value


class AnalysisOptions(Frozen):
    """Options passed to the song analysis; ``bpm``, ``meter``, ``first_downbeat`` each fix one reading."""

    tracker: Literal["librosa", "beat_this"] = "librosa"
    tempo_hint: Optional[float] = Field(None, gt=20, lt=400)
    bpm: Optional[float] = Field(None, gt=20, lt=400)
    meter: Optional[MeterField] = None
    first_downbeat: Optional[SecondsField] = None


class ShotSpec(Frozen):
    """One shot as written. Exactly one of ``prompt`` and ``clip``."""

    prompt: Optional[str] = None
    clip: Optional[Path] = None
    name: Optional[NonEmptyStr] = None
    length: Optional[LengthField] = None
    at: Optional[AnchorField] = None
    until: Optional[AnchorField] = None
    transition: TransitionField = TransitionSpec()
    seed: Optional[int] = Field(None, ge=0, lt=2**32)
    negative: Optional[str] = None
    backend: Optional[BackendField] = None
    takes: int = Field(1, ge=1, le=16)
    first_frame: Optional[Path] = None
    last_frame: Optional[Union[Literal["next"], Path]] = None
    fit: Literal["hold", "loop", "stretch"] = "loop"
    conform: Literal["cover", "contain"] = "cover"
    in_: Optional[SecondsField] = Field(None, alias="in")
    camera: Optional[str] = None
    pulse: float = Field(0.0, ge=0.0, le=0.5)
    interpolate: Optional[Literal["auto", "nearest", "blend", "flow"]] = None
    age: Optional[Annotated[Union[str, dict[str, str]], BeforeValidator(_parse_age)]] = None
    """The look of the shot's characters: one look name for all of them (``age: teen``), or one per
    character (``age: {her: 30s, him: old}``)."""
    keyframes: Optional[bool] = None
    """Make this shot image-first (keyframe image, then animate it); None follows the storyboard."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True,
                              populate_by_name=True)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.prompt is None) == (self.clip is None):
            got = "both" if self.prompt is not None else "neither"
            raise ValueError(f"got {got} of prompt and clip, expected exactly one: a prompt to generate, "
                             "or a clip (your own footage or still)")
        if self.prompt is not None and not self.prompt.strip():
            raise ValueError('got an empty prompt, expected text describing the shot')
        if self.length is not None and self.until is not None:
            raise ValueError("got both length and until, expected one of them")
        return self


class Storyboard(Frozen):
    """A whole storyboard, format version 1. Paths are absolute after loading."""

    songreel: int
    song: Path
    shots: list[ShotSpec] = Field(min_length=1)
    title: str = ""
    video: VideoSpec = VideoSpec()
    backend: BackendField = BackendSpec(name="animatic")
    style: str = ""
    negative: str = ""
    characters: dict[str, Annotated[CharacterSpec, BeforeValidator(_parse_character)]] = Field(
        default_factory=dict)
    bpm: Optional[float] = Field(None, gt=20, lt=400)
    meter: Optional[MeterField] = None
    first_downbeat: Optional[SecondsField] = None
    sections: Optional[list[SectionOverride]] = None
    analysis: AnalysisOptions = AnalysisOptions()
    look: Literal["cuts", "infinite-zoom"] = "cuts"
    zoom: ZoomSpec = ZoomSpec()
    encode: EncodeSpec = EncodeSpec()
    lyrics: Optional[Path] = None
    executor: Annotated[ExecutorSpec, BeforeValidator(_parse_executor)] = ExecutorSpec()
    color_match: float = Field(0.0, ge=0.0, le=1.0)
    seed: int = Field(0, ge=0, lt=2**32)
    ages: dict[str, Annotated[str, BeforeValidator(_parse_age)]] = Field(default_factory=dict)
    """Look by section label (``{verse: teen, chorus: 30s}``) for shots without their own ``age:``."""
    keyframes: bool = False
    images: ImagesSpec = ImagesSpec()

    _path: Optional[Path] = PrivateAttr(default=None)
    _lines: dict = PrivateAttr(default_factory=dict)

    @field_validator("songreel")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != FORMAT_VERSION:
            raise ValueError(f"got {v!r}, expected {FORMAT_VERSION} (the storyboard format this songreel reads)")
        return v

    @field_validator("characters")
    @classmethod
    def _names(cls, v: dict) -> dict:
        for name in v:
            if not re.fullmatch(r"[A-Za-z_][\w\-]*", name):
                raise ValueError(f'got character name "{name}", expected letters, digits, _ or - '
                                 "(it is written {name} in prompts)")
        return v

    @property
    def path(self) -> Optional[Path]:
        """The storyboard file this was loaded from."""
        return self._path

    @property
    def base_dir(self) -> Path:
        return self._path.parent if self._path else Path.cwd()

    def line_of(self, field: str) -> Optional[int]:
        """1-based source line of a dotted field path such as ``shots[2].length``, if known."""
        while field:
            if field in self._lines:
                return self._lines[field]
            field = field.rsplit(".", 1)[0] if "." in field else (field.rsplit("[", 1)[0] if "[" in field else "")
        return None

    def where(self, field: str) -> str:
        """``FILE:LINE: field`` prefix for messages."""
        line = self.line_of(field)
        loc = f"{self._path}:{line}" if (self._path and line) else (str(self._path) if self._path else "storyboard")
        return f"{loc}: {field}"

    def with_shot(self, index: int, **changes) -> "Storyboard":
        """Return a copy whose shot ``index`` (0-based) has ``changes`` applied."""
        shots = list(self.shots)
        shots[index] = shots[index].with_(**changes)
        return self._carry(self.model_copy(update={"shots": shots}))

    def with_(self, **changes) -> "Storyboard":
        return self._carry(self.model_copy(update=changes))

    def _carry(self, new: "Storyboard") -> "Storyboard":
        new._path = self._path
        new._lines = self._lines
        return new

    def backend_for(self, shot: ShotSpec) -> BackendSpec:
        """The backend that makes ``shot``: its own, else ``footage`` for clips, else the project's."""
        if shot.backend is not None:
            return shot.backend
        if shot.clip is not None:
            return BackendSpec(name="footage")
        return self.backend
