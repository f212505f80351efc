"""Frame-rate conversion between two decoded neighbours: nearest, blend, or optical flow.

A project frame falls at source position ``p = i + t`` (exact rational time, ``0 <= t < 1``):

- ``nearest``: source frame ``i`` (the one on screen at that time) — no new pictures;
- ``blend``: ``(1 - t) * frame_i + t * frame_{i+1}`` in yuv420p (integer maths) — the default for model
  clips at 8–16 fps in a 24+ fps project (``auto``);
- ``flow``: motion-compensated interpolation with OpenCV's Farnebäck optical flow (the ``flow``
  extra): both neighbours are warped part of the way along the flow and mixed, so moving edges move
  instead of ghosting. Flow is estimated on a downscaled luma plane (:data:`FLOW_WIDTH`) and applied
  to all three planes.
"""

from __future__ import annotations

import numpy as np

from . import warp
from .transitions import mix

MODES = ("auto", "nearest", "blend", "flow")
FLOW_WIDTH = 480
AUTO_BLEND_RATIO = 2 / 3   # auto blends clips at or below 2/3 of the project rate (16 fps into 24)


def resolve_mode(mode: str, clip_fps, project_fps) -> str:
    """``auto`` -> ``blend`` for clips well below the project rate, else ``nearest``."""
    if mode == "auto":
        return "blend" if clip_fps and clip_fps <= project_fps * AUTO_BLEND_RATIO else "nearest"
    return mode


def check_mode(mode: str, *, field: str) -> str:
    from ..errors import InputError

    if mode not in MODES:
        raise InputError(f'{field}: got "{mode}", expected one of {", ".join(MODES)}')
    if mode == "flow":
        _cv2(field)
    return mode


def _cv2(field: str = "interpolate"):
    try:
        import cv2
    except ImportError:
        from ..errors import MissingExtraError

        raise MissingExtraError("flow", "opencv-python-headless", f"{field}: flow interpolation") from None
    return cv2


def blend(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return mix(a, b, t)


def flow(a: np.ndarray, b: np.ndarray, t: float, height: int) -> np.ndarray:
    """Motion-compensated frame at fraction ``t`` between yuv420p frames ``a`` and ``b``."""
    cv2 = _cv2()
    ya, yb = a[:height], b[:height]
    h, w = ya.shape
    scale = min(1.0, FLOW_WIDTH / w)
    sw, sh = max(8, int(round(w * scale))), max(8, int(round(h * scale)))
    small_a = cv2.resize(ya, (sw, sh), interpolation=cv2.INTER_AREA)
    small_b = cv2.resize(yb, (sw, sh), interpolation=cv2.INTER_AREA)
    fwd = cv2.calcOpticalFlowFarneback(small_a, small_b, None, 0.5, 3, 15, 3, 5, 1.2, 0)  # a(x) ~ b(x + F)
    out = []
    for pa, pb, sub in zip(warp.split(a, height), warp.split(b, height), (1, 2, 2)):
        ph, pw = pa.shape
        F = cv2.resize(fwd, (pw, ph), interpolation=cv2.INTER_LINEAR) * np.float32(pw / sw)
        gx, gy = np.meshgrid(np.arange(pw, dtype=np.float32), np.arange(ph, dtype=np.float32))
        # the pixel at x in the in-between frame came from a at x - t F and goes to b at x + (1 - t) F
        wa = cv2.remap(pa, gx - t * F[..., 0], gy - t * F[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        wb = cv2.remap(pb, gx + (1 - t) * F[..., 0], gy + (1 - t) * F[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
        out.append(wa.astype(np.float32) * (1 - t) + wb.astype(np.float32) * t)
    return warp.to_planes(out)
