"""Transitions between shots: small frozen dataclasses with one ``apply``.

They work on ``yuv420p`` planes as one ``(H * 3 / 2, W)`` uint8 array (PyAV's layout), because YUV is
an affine function of RGB: a weighted mix of YUV frames whose weights sum to 1 equals the YUV of the
same mix in RGB. Blending there saves two colour conversions per transition frame.

``apply(a, b, u, before_cut=..., height=...)``: ``a`` is the outgoing shot's picture, ``b`` the
incoming one's (None where the kind does not need it), ``u`` runs over (0, 1) across the transition's
frames (``(k + 1) / (frames + 1)`` for its frame ``k``), ``before_cut`` is True before the cut frame.

==========  ==================================================================================
kind        picture
==========  ==================================================================================
cut         the next shot starts on the cut frame
crossfade   ``a (1 - u) + b u``, integer maths (exact mean at ``u = 1/2``)
dip         ``a`` fades to black until the cut, ``b`` fades up from it (``dip-white``: white)
zoom        zoom-through: ``a`` pushes into its centre (scale ``Z^u``) while ``b`` grows out of it
            (scale ``Z^(u-1)``, a feathered picture-in-picture); one constant exponential rate, so
            the motion has no jump
slide       ``b`` pushes ``a`` out to the left (smoothstep ease)
whip        a fast slide with horizontal motion blur that peaks mid-way
==========  ==================================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import warp

# limited-range yuv of black and white
BLACK_Y, WHITE_Y, NEUTRAL_C = 16, 235, 128


def _planes_const(shape, h: int, y: int) -> np.ndarray:
    out = np.full(shape, NEUTRAL_C, dtype=np.uint8)
    out[:h] = y
    return out


def mix(a: np.ndarray, b: np.ndarray, u: float) -> np.ndarray:
    """``round(a (1 - u) + b u)`` for uint8 arrays, with ``u`` quantised to 1/256 (uint16 maths)."""
    w = int(round(u * 256))
    if w <= 0:
        return a
    if w >= 256:
        return b
    out = a.astype(np.uint16) * (256 - w)
    out += b.astype(np.uint16) * w
    out += 128
    out >>= 8
    return out.astype(np.uint8)


@dataclass(frozen=True)
class Cut:
    """The next shot starts on the cut frame; nothing is blended."""

    kind = "cut"
    needs_handles = False

    def apply(self, a: Optional[np.ndarray], b: Optional[np.ndarray], u: float, *, before_cut: bool,
              height: int) -> np.ndarray:
        shown = a if before_cut else b
        if shown is None:
            raise ValueError(f"cut: the {'outgoing' if before_cut else 'incoming'} shot's picture is missing")
        return shown


@dataclass(frozen=True)
class Crossfade:
    """Mix from the outgoing shot ``a`` to the incoming ``b``; ``u`` runs over (0, 1)."""

    kind = "crossfade"
    needs_handles = True

    def apply(self, a, b, u, *, before_cut, height):
        return mix(a, b, u)


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
        target = _planes_const(src.shape, height, WHITE_Y if self.white else BLACK_Y)
        return mix(target, src, level)


@dataclass(frozen=True)
class ZoomThrough:
    """Zoom-through: the outgoing shot pushes into its centre while the incoming one grows out of it.

    ``factor`` is the magnification over the whole transition (both pictures grow by it, so they
    stay locked together: the incoming picture is always ``1 / factor`` of the outgoing one's
    scale); ``feather`` softens the inner picture's edge (fraction of its width); the inner picture
    fades in over the first ``fade_in`` of the transition so it never pops on.
    """

    kind = "zoom"
    needs_handles = True
    factor: float = 3.0
    feather: float = 0.06
    fade_in: float = 0.3

    def apply(self, a, b, u, *, before_cut, height):
        h = height
        sa = self.factor ** u
        sb = self.factor ** (u - 1.0)
        A = warp.scale_frame(a, h, sa)
        B = warp.scale_frame(b, h, sb)  # edges clamped: the feather ramp outside the rect shows b's edge
        k = min(1.0, u / self.fade_in) if self.fade_in > 0 else 1.0
        opacity = k * k * (3 - 2 * k)
        out = []
        for i, (pa, pb) in enumerate(zip(A, B)):
            ph, pw = pa.shape
            rw, rh = pw * sb, ph * sb
            rect = ((pw - rw) / 2, (ph - rh) / 2, (pw + rw) / 2, (ph + rh) / 2)
            alpha = warp.feather_mask(ph, pw, rect, self.feather * rw) * opacity
            out.append(pa + (pb - pa) * alpha)
        return warp.to_planes(out)


def _smoothstep(u: float) -> float:
    return u * u * (3 - 2 * u)


def _smootherstep(u: float) -> float:
    return u * u * u * (u * (6 * u - 15) + 10)


def _slide(a: np.ndarray, b: np.ndarray, height: int, x: int) -> list[np.ndarray]:
    """``b`` entering from the right by ``x`` luma pixels (even), ``a`` leaving to the left."""
    out = []
    for pa, pb, sub in zip(warp.split(a, height), warp.split(b, height), (1, 2, 2)):
        xs = x // sub
        w = pa.shape[1]
        out.append(np.concatenate([pa[:, xs:], pb[:, :xs]], axis=1) if 0 < xs < w else (pa if xs <= 0 else pb))
    return out


@dataclass(frozen=True)
class Slide:
    """The incoming shot pushes the outgoing one out to the left."""

    kind = "slide"
    needs_handles = True

    def apply(self, a, b, u, *, before_cut, height):
        w = a.shape[1]
        x = int(round(w * _smoothstep(u) / 2)) * 2
        return warp.join(*_slide(a, b, height, x))


@dataclass(frozen=True)
class Whip:
    """A whip pan: a fast slide (most of the travel mid-way) smeared by horizontal motion blur.

    ``blur`` is the blur half-width at the fastest point, as a fraction of the frame width.
    """

    kind = "whip"
    needs_handles = True
    blur: float = 0.06

    def apply(self, a, b, u, *, before_cut, height):
        w = a.shape[1]
        x = int(round(w * _smootherstep(u) / 2)) * 2
        planes = _slide(a, b, height, x)
        r = self.blur * w * math.sin(math.pi * u) ** 2
        out = [warp.box_blur_x(p, int(round(r / sub))) for p, sub in zip(planes, (1, 2, 2))]
        return warp.to_planes(out)


TRANSITIONS = {"cut": Cut(), "crossfade": Crossfade(), "dip": Dip(), "dip-white": Dip(white=True),
               "zoom": ZoomThrough(), "slide": Slide(), "whip": Whip()}


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
        raise UnknownNameError(f'transition "{kind}" cannot be rendered; accepted: '
                               f"{', '.join(TRANSITIONS)}") from None
