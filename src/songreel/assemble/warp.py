"""Geometry on yuv420p planes: scale about a centre, translate, composite, blur — all in numpy.

A frame is PyAV's packed yuv420p layout, one ``(H * 3 // 2, W)`` uint8 array: the ``H x W`` luma
plane, then the ``H/2 x W/2`` U and V planes laid out as two rows of width ``W/2`` per chroma row
pair. :func:`split` returns views of the three planes and :func:`join` packs them back.

Scaling is separable bilinear sampling at sub-pixel positions (a zoom that advances 0.3 px a frame
moves 0.3 px, no integer-crop jitter); each plane is sampled with its own grid, so chroma stays
aligned with luma. Only frames that move pay for it (camera moves, zoom/whip/slide transitions).
"""

from __future__ import annotations

import numpy as np


def split(planes: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views ``(Y (H, W), U (H/2, W/2), V (H/2, W/2))`` of a packed yuv420p array."""
    w = planes.shape[1]
    y = planes[:height]
    chroma = planes[height:].reshape(2, height // 2, w // 2)
    return y, chroma[0], chroma[1]


def join(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pack three planes into PyAV's ``(H * 3 // 2, W)`` yuv420p layout."""
    h, w = y.shape
    out = np.empty((h * 3 // 2, w), dtype=np.uint8)
    out[:h] = y
    out[h:].reshape(2, h // 2, w // 2)[0] = u
    out[h:].reshape(2, h // 2, w // 2)[1] = v
    return out


def _axis(n_out: int, n_in: int, scale: float, centre: float, shift: float):
    """Source indices and weights along one axis: output pixel ``x`` samples source
    ``(x + 0.5 - c_out) / scale + centre - 0.5`` (pixel centres), ``c_out`` the output centre."""
    x = np.arange(n_out, dtype=np.float64) + 0.5
    src = (x - n_out / 2.0 - shift) / scale + centre - 0.5
    i0 = np.floor(src)
    w = (src - i0).astype(np.float32)
    inside = (src >= -0.5) & (src <= n_in - 0.5)
    i0 = i0.astype(np.int64)
    a = np.clip(i0, 0, n_in - 1)
    b = np.clip(i0 + 1, 0, n_in - 1)
    return a, b, w, inside


def scale_plane(plane: np.ndarray, scale: float, *, centre=(0.5, 0.5), shift=(0.0, 0.0),
                fill: float | None = None) -> np.ndarray:
    """Resample ``plane`` magnified by ``scale`` about ``centre`` (fractions of the source), moved by
    ``shift`` output pixels ``(dx, dy)``; float32 out, same shape.

    Pixels whose source lies outside the plane take ``fill``, or the nearest edge when ``fill`` is None.
    """
    h, w = plane.shape
    ya, yb, wy, yin = _axis(h, h, scale, centre[1] * h, shift[1])
    xa, xb, wx, xin = _axis(w, w, scale, centre[0] * w, shift[0])
    src = plane.astype(np.float32, copy=False)
    rows = src[ya] * (1.0 - wy)[:, None] + src[yb] * wy[:, None]
    out = rows[:, xa] * (1.0 - wx)[None, :] + rows[:, xb] * wx[None, :]
    if fill is not None:
        outside = ~(yin[:, None] & xin[None, :])
        out[outside] = fill
    return out


def scale_frame(planes: np.ndarray, height: int, scale: float, *, centre=(0.5, 0.5), shift=(0.0, 0.0),
                fill=None) -> list[np.ndarray]:
    """:func:`scale_plane` on all three planes (``shift`` in luma pixels); float32 ``[Y, U, V]``.

    ``fill`` is None (edge pixels) or a ``(y, u, v)`` triple."""
    out = []
    for k, p in enumerate(split(planes, height)):
        sub = 1.0 if k == 0 else 0.5
        f = None if fill is None else fill[k]
        out.append(scale_plane(p, scale, centre=centre, shift=(shift[0] * sub, shift[1] * sub), fill=f))
    return out


def to_planes(yuv: list[np.ndarray]) -> np.ndarray:
    """Round float32 ``[Y, U, V]`` to a packed uint8 yuv420p array."""
    y, u, v = (np.clip(p + 0.5, 0, 255).astype(np.uint8) for p in yuv)
    return join(y, u, v)


def transform(planes: np.ndarray, height: int, scale: float, *, centre=(0.5, 0.5),
              shift=(0.0, 0.0)) -> np.ndarray:
    """A camera move on one frame: magnify by ``scale`` (>= 1 keeps the frame covered) about
    ``centre``, moved by ``shift`` luma pixels. Identity returns ``planes`` unchanged."""
    if abs(scale - 1.0) < 1e-6 and abs(shift[0]) < 1e-6 and abs(shift[1]) < 1e-6 and centre == (0.5, 0.5):
        return planes
    return to_planes(scale_frame(planes, height, scale, centre=centre, shift=shift))


def box_blur_x(plane: np.ndarray, radius: int) -> np.ndarray:
    """Horizontal box blur of half-width ``radius`` px (edges clamped); float32."""
    p = plane.astype(np.float32, copy=False)
    if radius < 1:
        return p.copy() if p is plane else p
    padded = np.pad(p, ((0, 0), (radius + 1, radius)), mode="edge")
    c = np.cumsum(padded, axis=1, dtype=np.float32)
    k = 2 * radius + 1
    return (c[:, k:] - c[:, :-k]) / k


def feather_mask(h: int, w: int, rect: tuple[float, float, float, float], feather: float) -> np.ndarray:
    """Alpha ``(h, w)`` float32: 1 inside ``rect = (x0, y0, x1, y1)`` (pixels), falling linearly to 0
    over ``feather`` pixels outside its edges (so a rect covering the frame is opaque everywhere)."""
    x0, y0, x1, y1 = rect
    f = max(feather, 1e-3)
    xs = np.arange(w, dtype=np.float32) + 0.5
    ys = np.arange(h, dtype=np.float32) + 0.5
    ax = np.clip((np.minimum(xs - x0, x1 - xs) + f) / f, 0.0, 1.0)
    ay = np.clip((np.minimum(ys - y0, y1 - ys) + f) / f, 0.0, 1.0)
    return ay[:, None] * ax[None, :]
