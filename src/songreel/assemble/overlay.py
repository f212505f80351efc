"""Draw an RGB overlay (e.g. burnt-in lyrics) on composed yuv420p frames."""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def overlaid(frames, overlay, fps: Fraction, first: int = 0):
    """Apply ``overlay.apply(rgb, seconds) -> rgb`` to frames numbered from ``first``, converting
    only the frames it changes (an unchanged frame keeps its exact picture)."""
    import av

    for k, item in enumerate(frames):
        t = Fraction(first + k) / fps
        if isinstance(item, np.ndarray):
            rgb = av.VideoFrame.from_ndarray(item, format="yuv420p").to_ndarray(format="rgb24")
        else:
            rgb = item.to_ndarray(format="rgb24")
        out = overlay.apply(rgb, t)
        if out is rgb:  # nothing drawn on this frame: keep the exact picture
            yield item
            continue
        yield av.VideoFrame.from_ndarray(out, format="rgb24").reformat(format="yuv420p").to_ndarray()
