"""Transitions between shots: small frozen dataclasses with one ``apply``.

They work on ``yuv420p`` planes as one ``(H * 3 / 2, W)`` uint8 array (PyAV's layout), because YUV is
an affine function of RGB: a weighted mix of YUV frames whose weights sum to 1 equals the YUV of the
same mix in RGB. Blending there saves two colour conversions per transition frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

# limited-range yuv of black and white
BLACK_Y, WHITE_Y, NEUTRAL_C = 16, 235, 128


def _planes_const(shape, h: int, y: int) -> np.ndarray:
    out = np.full(shape, NEUTRAL_C, dtype=np.uint8)
    out[:h] = y
    return out


@dataclass(frozen=True)
class Cut:
    """The next shot starts on the cut frame; nothing is blended."""

    kind = "cut"
    needs_handles = False

    def apply(self, a: Optional[np.ndarray], b: Optional[np.ndarray], u: float, *, before_cut: bool,
              height: int) -> np.ndarray:
        return a if before_cut else b


@dataclass(frozen=True)
class Crossfade:
    """Mix from the outgoing shot ``a`` to the incoming ``b``; ``u`` runs over (0, 1)."""

    kind = "crossfade"
    needs_handles = True

    def apply(self, a, b, u, *, before_cut, height):
        mix = a.astype(np.float32) * (1.0 - u) + b.astype(np.float32) * u
        return (mix + 0.5).astype(np.uint8)


@dataclass(frozen=True)
class Dip:
    """Fade the outgoing shot to a colour until the cut, then up from it into the incoming shot."""

    kind = "dip"
    needs_handles = False
    white: bool = False

    def apply(self, a, b, u, *, before_cut, height):
        src = a if before_cut else b
        level = (1.0 - 2.0 * u) if before_cut else (2.0 * u - 1.0)
        level = float(np.clip(level, 0.0, 1.0))
        target = _planes_const(src.shape, height, WHITE_Y if self.white else BLACK_Y).astype(np.float32)
        mix = target + (src.astype(np.float32) - target) * level
        return (mix + 0.5).astype(np.uint8)


TRANSITIONS = {"cut": Cut(), "crossfade": Crossfade(), "dip": Dip(), "dip-white": Dip(white=True)}


def transition_for(kind: str):
    """The effect object for a planned transition kind.

    Raises
    ------
    UnknownNameError
        For kinds the assembly cannot render.
    """
    from ..errors import UnknownNameError

    try:
        return TRANSITIONS[kind]
    except KeyError:
        raise UnknownNameError(f'transition "{kind}" cannot be rendered yet; accepted: '
                               f"{', '.join(TRANSITIONS)}") from None
