"""Resolve what assembly needs from the storyboard, once, into the plan as plain frozen data.

``camera:`` strings (storyboard, per shot)::

    push-in [factor]                 scale 1 -> factor over the shot (default 1.15)
    pull-out [factor]                scale factor -> 1
    pan left|right|up|down [amount]  travel ``amount`` of the frame (default 0.1) at scale 1 + amount
    ken-burns [factor]               push-in to factor while drifting towards a corner
    static | none                    no move

Each planned shot carries its parsed :class:`~songreel.schema.plan.CameraMove`, its ``pulse`` and its
frame-rate conversion (the shot's ``interpolate:``, validated with the storyboard, else ``auto``); the plan
carries the storyboard's ``color_match``. Assembly reads these fields and never the storyboard.
"""

from __future__ import annotations

import re
from typing import Optional

from ..errors import InputError
from ..schema.plan import INTERPOLATE_MODES, CameraMove, Plan

CAMERA_ACCEPTED = ("push-in [factor], pull-out [factor], pan left|right|up|down [amount], "
                   "ken-burns [factor] or static")
_CAMERA = re.compile(r"^\s*(push-in|push|pull-out|pull|pan|ken-burns|kenburns|static|none)"
                     r"(?:\s+(left|right|up|down))?(?:\s+(\d+(?:\.\d+)?))?\s*$", re.I)


def parse_camera(value: Optional[str], *, field: str = "camera") -> Optional[CameraMove]:
    """Parse a ``camera:`` string; None / ``static`` / ``none`` mean no move.

    Raises
    ------
    InputError
        Naming the field, the value received and the accepted forms.
    """
    if value is None:
        return None
    m = _CAMERA.match(str(value))
    if not m:
        raise InputError(f'{field}: got "{value}", expected {CAMERA_ACCEPTED}')
    kind = m.group(1).lower()
    kind = {"push": "push-in", "pull": "pull-out", "kenburns": "ken-burns"}.get(kind, kind)
    if kind in ("static", "none"):
        return None
    direction = (m.group(2) or "").lower()
    if kind == "pan" and not direction:
        raise InputError(f'{field}: got "{value}", a pan needs a direction: pan left|right|up|down [amount]')
    if kind != "pan" and direction:
        raise InputError(f'{field}: got "{value}", only a pan takes a direction; expected {CAMERA_ACCEPTED}')
    num = m.group(3)
    if kind == "pan":
        amount = float(num) if num else 0.1
        if not 0 < amount <= 1:
            raise InputError(f'{field}: got "{value}", expected a pan amount in (0, 1] (fraction of the frame)')
    else:
        amount = float(num) if num else 1.15
        if not 1 < amount <= 4:
            raise InputError(f'{field}: got "{value}", expected a zoom factor in (1, 4] such as 1.15')
    return CameraMove(kind, amount, direction)


def _interpolate_of(spec, field: str) -> str:
    # retiming belongs to assembly, so it is a shot field, never a backend option
    mode = str(getattr(spec, "interpolate", None) or "auto")
    if mode not in INTERPOLATE_MODES:
        raise InputError(f'{field}: got "{mode}", expected one of {", ".join(INTERPOLATE_MODES)}')
    return mode


def check_storyboard(sb) -> None:
    """Validate every shot's ``camera:`` and ``interpolate:`` before anything is generated, so a typo
    fails in a second, not after the clips are made.

    Raises
    ------
    InputError
        ``FILE:LINE: shots[i].camera: got "...", expected ...``.
    """
    for i, shot in enumerate(sb.shots):
        parse_camera(getattr(shot, "camera", None), field=sb.where(f"shots[{i}].camera"))
        _interpolate_of(shot, sb.where(f"shots[{i}].interpolate"))


def resolve_look(plan: Plan, sb=None) -> Plan:
    """The plan with every shot's camera move, pulse and frame-rate conversion parsed, and the
    storyboard's ``color_match`` carried.

    Parameters
    ----------
    plan : Plan
    sb : Storyboard, optional
        For ``color_match`` and file:line in messages.

    Raises
    ------
    InputError
        A bad ``camera:`` or ``interpolate:`` value.
    """
    def where(path: str) -> str:
        return sb.where(path) if sb is not None else path

    shots = []
    for s in plan.shots:
        shots.append(s.with_(
            camera=parse_camera(getattr(s.spec, "camera", None), field=where(f"shots[{s.index}].camera")),
            pulse=float(getattr(s.spec, "pulse", 0.0) or 0.0),
            interpolate=_interpolate_of(s.spec, where(f"shots[{s.index}].interpolate"))))
    strength = float(getattr(sb, "color_match", 0.0) or 0.0) if sb is not None else plan.color_match
    return plan.with_(shots=tuple(shots), color_match=strength)
