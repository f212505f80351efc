"""One wording for validation errors: a pydantic error becomes ``got X, expected Y``.

Shared by the storyboard loader and the backend options check so that both say the same thing
about the same mistake.
"""

from __future__ import annotations

from typing import Any, Mapping

TYPE_WORDS = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "a whole number",
    "float_type": "a number", "float_parsing": "a number", "string_type": "text",
    "bool_type": "true or false", "bool_parsing": "true or false", "dict_type": "a mapping (key: value)",
    "list_type": "a list (- item)", "tuple_type": "a list (- item)", "path_type": "a file path",
    "model_type": "a mapping (key: value)", "model_attributes_type": "a mapping (key: value)",
    "url_parsing": "a URL (https://...)", "url_scheme": "a URL (https://...)",
}

_BOUNDS = {"greater_than": "> ", "greater_than_equal": ">= ", "less_than": "< ", "less_than_equal": "<= "}


def show(value: Any) -> str:
    """A received value as it appears in a message: strings quoted and cut at 60 characters."""
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f'"{shown}"'
    return repr(value)


def literal_choices(expected: str) -> list[str]:
    """The quoted choices in pydantic's ``expected`` text (``"'a', 'b' or 'c'"`` -> a, b, c)."""
    import re

    return re.findall(r"'([^']*)'", expected)


def describe(error: Mapping[str, Any]) -> str:
    """The ``got ..., expected ...`` part for one pydantic error dict (not its location).

    Parameters
    ----------
    error : dict
        One item of ``ValidationError.errors()``.
    """
    from ..errors import did_you_mean

    value = error.get("input")
    etype = error["type"]
    ctx = error.get("ctx", {}) or {}
    if etype == "missing":
        return "missing; it is required"
    if etype == "value_error":
        return str(ctx.get("error", error["msg"]))
    if etype in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        return f"got {show(value)}{did_you_mean(str(value), literal_choices(expected))}, expected {expected}"
    if etype in _BOUNDS:
        bound = next(iter(ctx.values()), "")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"got {show(value)}, expected a number {_BOUNDS[etype]}{bound}"
    if etype == "too_short":
        n = ctx.get("min_length", 1)
        return f"got {show(value)}, expected at least " + ("one item" if n == 1 else f"{n} items")
    if etype == "too_long":
        n = ctx.get("max_length", "?")
        return f"got {show(value)}, expected at most " + ("one item" if n == 1 else f"{n} items")
    if etype == "string_too_short":
        return f"got {show(value)}, expected non-empty text"
    if etype == "string_too_long":
        return f"got {show(value)}, expected at most {ctx.get('max_length', '?')} characters"
    if etype in TYPE_WORDS:
        return f"got {show(value)}, expected {TYPE_WORDS[etype]}"
    return f"got {show(value)}: {error['msg']}"
