"""Camera moves and audio-reactive pulses on a shot, applied to yuv420p planes at assembly.

``camera:`` strings (storyboard, per shot)::

    push-in [factor]                 scale 1 -> factor over the shot (default 1.15)
    pull-out [factor]                scale factor -> 1
    pan left|right|up|down [amount]  travel ``amount`` of the frame (default 0.1) at scale 1 + amount
    ken-burns [factor]               push-in to factor while drifting towards a corner
    static | none                    no move

Scale runs geometrically (``factor ** u``: constant apparent speed) over the shot's rendered frames,
handles included, so a move carries on through the transitions either side. ``pulse: 0.03`` adds a
scale kick of up to 3 % following the song's onset envelope (fast attack, ~150 ms release).

Only shots with a move or a pulse pay for the per-frame resampling (:mod:`.warp`); others stay on the
pass-through path.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from . import warp

CAMERA_ACCEPTED = ("push-in [factor], pull-out [factor], pan left|right|up|down [amount], "
                   "ken-burns [factor] or static")
_CAMERA = re.compile(r"^\s*(push-in|push|pull-out|pull|pan|ken-burns|kenburns|static|none)"
                     r"(?:\s+(left|right|up|down))?(?:\s+(\d+(?:\.\d+)?))?\s*$", re.I)


@dataclass(frozen=True)
class CameraMove:
    """A move over a shot: ``kind`` in push-in, pull-out, pan, ken-burns."""

    kind: str
    amount: float
    direction: str = ""

    def at(self, u: float, width: int, height: int) -> tuple[float, tuple[float, float]]:
        """``(scale, (dx, dy) luma pixels)`` at shot progress ``u`` in [0, 1]."""
        u = min(max(u, 0.0), 1.0)
        if self.kind == "push-in":
            return self.amount ** u, (0.0, 0.0)
        if self.kind == "pull-out":
            return self.amount ** (1.0 - u), (0.0, 0.0)
        if self.kind == "pan":
            s = 1.0 + self.amount
            span = (s - 1.0) / 2 * (width if self.direction in ("left", "right") else height)
            # "pan right": the camera moves right, so the picture moves left
            d = span * (1.0 - 2.0 * u) * (1 if self.direction in ("right", "down") else -1)
            return s, ((d, 0.0) if self.direction in ("left", "right") else (0.0, d))
        if self.kind == "ken-burns":
            s = self.amount ** u
            k = 0.8 * (s - 1.0) / 2
            return s, (-k * width, -k * height)
        return 1.0, (0.0, 0.0)


def parse_camera(value: Optional[str], *, field: str = "camera") -> Optional[CameraMove]:
    """Parse a ``camera:`` string; None / ``static`` / ``none`` mean no move.

    Raises
    ------
    InputError
        Naming the field, the value received and the accepted forms.
    """
    from ..errors import InputError

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


class PulseEnvelope:
    """The onset envelope as a 0..1 kick per project frame: normalised by its 95th percentile,
    peak-held with an exponential release so a kick reads as a beat, not a flicker."""

    def __init__(self, envelope: Sequence[float], rate: float, fps: float, *, release: float = 0.15):
        env = np.asarray(envelope, dtype=np.float64)
        self.rate = float(rate)
        self.fps = float(fps)
        if env.size == 0 or rate <= 0:
            self._env = np.zeros(1)
            return
        ref = max(float(np.percentile(env, 95)), 0.25 * float(env.max()))  # sparse envelopes: 1/4 of the peak
        env = np.clip(env / ref, 0.0, 1.0) if ref > 0 else np.zeros_like(env)
        # peak-hold with release (time constant in seconds)
        decay = math.exp(-1.0 / (release * self.rate))
        out = np.empty_like(env)
        level = 0.0
        for i, x in enumerate(env):
            level = max(x, level * decay)
            out[i] = level
        self._env = out

    def at_frame(self, f: int) -> float:
        i = int(round(f / self.fps * self.rate))
        return float(self._env[i]) if 0 <= i < len(self._env) else 0.0


class ShotMotion:
    """A shot's camera move and pulse, applied per project frame."""

    def __init__(self, move: Optional[CameraMove], pulse: float, envelope: Optional[PulseEnvelope],
                 render_start: int, render_frames: int, width: int, height: int):
        self.move = move
        self.pulse = pulse if envelope is not None else 0.0
        self.envelope = envelope
        self.start = render_start
        self.span = max(render_frames - 1, 1)
        self.width, self.height = width, height

    def params(self, f: int) -> tuple[float, tuple[float, float]]:
        u = (f - self.start) / self.span
        s, shift = self.move.at(u, self.width, self.height) if self.move else (1.0, (0.0, 0.0))
        if self.pulse:
            s *= 1.0 + self.pulse * self.envelope.at_frame(f)
        return s, shift

    def apply(self, planes: np.ndarray, f: int) -> np.ndarray:
        s, shift = self.params(f)
        return warp.transform(planes, self.height, s, shift=shift)


def shot_motion(shot, plan, analysis, *, field: Optional[str] = None) -> Optional[ShotMotion]:
    """The :class:`ShotMotion` of a planned shot, or None when it has neither move nor pulse."""
    spec = shot.spec
    move = parse_camera(getattr(spec, "camera", None), field=field or f"shots[{shot.index}].camera")
    pulse = float(getattr(spec, "pulse", 0.0) or 0.0)
    env = None
    if pulse and analysis is not None and getattr(analysis, "onset_envelope", None):
        env = PulseEnvelope(analysis.onset_envelope, analysis.envelope_rate, float(plan.fps))
    if move is None and (not pulse or env is None):
        return None
    return ShotMotion(move, pulse, env, shot.render_start, shot.render_frames, plan.width, plan.height)


def check_storyboard(sb) -> None:
    """Validate every shot's ``camera:`` (and backend ``interpolate:`` option) before anything is
    generated, so a typo fails in a second, not after the clips are made.

    Raises
    ------
    InputError
        ``FILE:LINE: shots[i].camera: got "...", expected ...``.
    """
    from .retime import MODES

    for i, shot in enumerate(sb.shots):
        parse_camera(getattr(shot, "camera", None), field=sb.where(f"shots[{i}].camera"))
        mode = getattr(shot, "interpolate", None)
        if mode is None and shot.backend is not None:
            mode = shot.backend.options.get("interpolate")
        if mode is not None and str(mode) not in MODES:
            from ..errors import InputError

            raise InputError(f'{sb.where(f"shots[{i}].interpolate")}: got "{mode}", expected one of '
                             f"{', '.join(MODES)}")
