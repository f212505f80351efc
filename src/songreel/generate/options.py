"""Backend options, checked at the door.

Every backend declares its options as a frozen pydantic model (a subclass of
:class:`BackendOptions`) in its class attribute ``Options``. The same model serves validation, the
docs table (:func:`options_table`) and any form that edits a backend (the studio). An unknown key or
a value of the wrong type is an :class:`~songreel.errors.InputError` naming the field, the value
received and what is accepted — before anything runs, above all before anything is paid for.

::

    class MyOptions(BackendOptions):
        steps: int = Field(30, ge=1, description="denoising steps")

    class MyBackend:
        Options = MyOptions
        def __init__(self, spec, *, project, field="backend"):
            self.options = parse_options(MyOptions, spec.options, backend="mine", field=field)
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import InputError, did_you_mean
from ..schema.messages import describe

__all__ = ["BackendOptions", "parse_options", "options_table"]


class BackendOptions(BaseModel):
    """Base of every backend's options model: unknown keys are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


T = TypeVar("T", bound=BaseModel)


def accepted(model: type[BaseModel]) -> list[str]:
    """The option names a model accepts, as written in a storyboard."""
    return sorted((f.alias or name) for name, f in model.model_fields.items())


def parse_options(model: type[T], options: dict[str, Any], *, backend: str, field: str = "backend") -> T:
    """Validate a backend's options from the storyboard.

    Parameters
    ----------
    model : type of BackendOptions
        The backend's options model.
    options : dict
        The options as written (the backend mapping less ``name``).
    backend : str
        The backend's name, for the message.
    field : str
        Where the options stand, e.g. ``story.yaml:7: shots[2].backend``.

    Returns
    -------
    BackendOptions
        The validated, frozen options.

    Raises
    ------
    InputError
        One line: ``{field}.{key}: unknown <backend> option (did you mean ...); accepted: ...`` or
        ``{field}.{key}: got X, expected Y``.
    """
    try:
        return model.model_validate(dict(options))
    except ValidationError as err:
        errors = err.errors(include_url=False)
        e = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
        loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in e["loc"]).replace(".[", "[")
        if e["type"] == "extra_forbidden":
            key = str(e["loc"][0])
            names = accepted(model)
            raise InputError(f"{field}.{key}: unknown {backend} option{did_you_mean(key, names)}; "
                             f"accepted: {', '.join(names)}") from None
        raise InputError(f"{field}.{loc}: {describe(e)}" if loc else f"{field}: {describe(e)}") from None


def options_table(model: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    """Rows ``(name, type, default, description)`` for docs and forms."""
    rows = []
    for name, f in model.model_fields.items():
        ann = f.annotation
        kind = getattr(ann, "__name__", None) or str(ann).replace("typing.", "")
        default = "required" if f.is_required() else repr(f.get_default(call_default_factory=True))
        rows.append((f.alias or name, kind, default, f.description or ""))
    return rows
