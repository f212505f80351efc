"""Camera moves and audio-reactive pulses on a shot, applied to yuv420p planes at assembly.

The move itself (:class:`~songreel.schema.plan.CameraMove`) is parsed by the planner
(:mod:`songreel.plan.look`) and carried on the planned shot.

Scale runs geometrically (``factor ** u``: constant apparent speed) over the shot's rendered frames,
handles included, so a move carries on through the transitions either side. ``pulse: 0.03`` adds a
scale kick of up to 3 % following the song's onset envelope (fast attack, ~150 ms release).

Only shots with a move or a pulse pay for the per-frame resampling (:mod:`.warp`); others stay on the
pass-through path.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from ..schema.plan import CameraMove
from . import warp

__all__ = ["CameraMove", "PulseEnvelope", "ShotMotion", "shot_motion"]


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
        if self.pulse and self.envelope is not None:  # pulse is 0 without an envelope
            s *= 1.0 + self.pulse * self.envelope.at_frame(f)
        return s, shift

    def apply(self, planes: np.ndarray, f: int) -> np.ndarray:
        s, shift = self.params(f)
        return warp.transform(planes, self.height, s, shift=shift)


def shot_motion(shot, plan, analysis) -> Optional[ShotMotion]:
    """The :class:`ShotMotion` of a planned shot, or None when it has neither move nor pulse."""
    move, pulse = shot.camera, float(shot.pulse or 0.0)
    env = None
    if pulse and analysis is not None and getattr(analysis, "onset_envelope", None):
        env = PulseEnvelope(analysis.onset_envelope, analysis.envelope_rate, float(plan.fps))
    if move is None and (not pulse or env is None):
        return None
    return ShotMotion(move, pulse, env, shot.render_start, shot.render_frames, plan.width, plan.height)
