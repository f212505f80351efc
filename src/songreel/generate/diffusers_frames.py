"""Frames in and out of diffusers pipelines: conditioning images at the generation size, pipeline
output as uint8 ``(F, H, W, 3)``, and the clip written to the store (through :class:`songreel.media.ClipWriter`)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def to_pil(a, w: int, h: int):
    """uint8 (H, W, 3) → PIL image of exactly ``w`` x ``h`` (cover-crop keeping the aspect, then resize)."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(np.asarray(a, dtype=np.uint8))[..., :3])
    if im.size == (w, h):
        return im
    sw, sh = im.size
    scale = max(w / sw, h / sh)
    cw, ch = min(sw, round(w / scale)), min(sh, round(h / scale))
    left, top = (sw - cw) // 2, (sh - ch) // 2
    return im.crop((left, top, left + cw, top + ch)).resize((w, h), Image.Resampling.LANCZOS)


def to_uint8(frames) -> np.ndarray:
    """Pipeline output (np float [0,1] (B,F,H,W,3), a torch tensor, or PIL lists) → uint8 (F,H,W,3)."""
    if hasattr(frames, "detach"):
        frames = frames.detach().float().cpu().numpy()
    if isinstance(frames, list):
        first = frames[0]
        if isinstance(first, list) or hasattr(first, "size") and not hasattr(first, "ndim"):
            seq = first if isinstance(first, list) else frames
            return np.stack([np.asarray(im.convert("RGB")) for im in seq])
        frames = np.asarray(first)
    a = np.asarray(frames)
    if a.ndim == 5:
        a = a[0]
    if a.ndim == 4 and a.shape[-1] not in (1, 3, 4) and a.shape[1] in (1, 3, 4):
        a = a.transpose(0, 2, 3, 1)
    if a.dtype != np.uint8:
        a = _float_to_uint8(a)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return np.ascontiguousarray(a[..., :3])


def _float_to_uint8(a: np.ndarray) -> np.ndarray:
    """[0, 1] floats → uint8, rounding half up, one frame at a time through one float32 buffer.

    Half the CPU of the whole-array ``clip(round(a * 255))`` with its four full-size temporaries (a
    121-frame 1536x1024 clip is 2.3 GB of float32 per temporary).
    """
    out = np.empty(a.shape, np.uint8)
    buf = np.empty(a.shape[1:], np.float32)
    for i in range(a.shape[0]):
        np.multiply(a[i], 255.0, out=buf, casting="unsafe")
        buf += 0.5
        np.clip(buf, 0.0, 255.0, out=buf)
        out[i] = buf  # truncates toward zero: with the +0.5, rounds half up
    return out


def fit_video(video: np.ndarray, w: int, h: int) -> np.ndarray:
    """Every frame at exactly ``w`` x ``h`` (pipelines that size from the image may differ)."""
    if video.shape[1:3] == (h, w):
        return video
    return np.stack([np.asarray(to_pil(fr, w, h)) for fr in video])


def write_clip(video: np.ndarray, out: Path, fps: Fraction, *, crf: int = 12, preset: str = "veryfast") -> None:
    """Encode uint8 ``(F, H, W, 3)`` frames to an H.264 MP4 at ``fps`` (odd sizes lose their last row/column)."""
    from ..media import ClipWriter

    f, h, w, _ = video.shape
    ew, eh = w - (w % 2), h - (h % 2)
    with ClipWriter(out, ew, eh, Fraction(fps), crf=crf, preset=preset) as writer:
        for i in range(f):
            writer.write(np.ascontiguousarray(video[i, :eh, :ew]))
