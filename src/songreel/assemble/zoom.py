"""The infinite-zoom compositor: one continuous push through nested levels, streamed in yuv420p.

At output frame ``f`` (geometry laid out by :mod:`songreel.plan.zoom`, carried in ``plan.layout``):

1. the outermost level on screen, ``c``, is drawn at scale ``s_c = exp(Λ(f) - base_c) >= 1``: its centre
   ``1/s_c`` crop resampled to the frame;
2. each level inside it, ``g = c+1, c+2, ...`` while wider than :data:`~songreel.schema.zoom.MIN_PIXELS`,
   is resampled to ``s_g < 1`` of the frame and pasted at the centre with a feathered edge (``zoom.feather``
   of its size); the sharper inner picture replaces the blurry magnified centre of the outer one.

Both steps sample a *fractional* source box (Pillow ``resize(box=...)``, antialiased), so the scale is
exact to the sub-pixel on every frame — the zoom is a true exponential, with no integer-rounding jitter.
Levels far smaller than the frame are sampled from a cached 2× pyramid of their picture.

No pop at a level change: over the last half of a level's own span the next level's feathered edge
turns opaque (smoothstep), so when it becomes the outermost level nothing on screen changes; a level
that enters fades in over its first few pixels of width. Clips keep playing while they zoom: each level
has its own decoder, opened when it first shows and closed when it can no longer be seen.

Everything stays in yuv420p planes (luma and the two half-size chroma planes are resampled apart), so
no frame is converted to RGB.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Iterator, Optional

import numpy as np

from ..schema.clip import ClipRef
from ..schema.zoom import MIN_PIXELS, ZoomLayout

if TYPE_CHECKING:
    from ..sampling import FootageFrames

RESAMPLE_OUTER = "bicubic"     # the magnified outermost level
RESAMPLE_INNER = "bilinear"    # pasted (downscaled) levels: antialiased triangle filter
FADE_FROM = 0.2                # the next level turns opaque from this fraction of the current level on


def _pil_filter(name: str):
    from PIL import Image

    return {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
            "lanczos": Image.Resampling.LANCZOS, "box": Image.Resampling.BOX}[name]


# ---------------------------------------------------------------------------------------------------
# planes


def split_planes(planes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views ``(Y, U, V)`` of a PyAV yuv420p array ``(H * 3 // 2, W)``."""
    flat = planes.reshape(-1)
    n = width * height
    c = (width // 2) * (height // 2)
    return (flat[:n].reshape(height, width), flat[n:n + c].reshape(height // 2, width // 2),
            flat[n + c:n + 2 * c].reshape(height // 2, width // 2))


def join_planes(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The inverse of :func:`split_planes`."""
    h, w = y.shape
    out = np.empty((h * 3 // 2, w), dtype=np.uint8)
    flat = out.reshape(-1)
    n, c = y.size, u.size
    flat[:n] = y.reshape(-1)
    flat[n:n + c] = u.reshape(-1)
    flat[n + c:] = v.reshape(-1)
    return out


class Picture:
    """One level's current picture: three planes as Pillow images plus a lazily built 2× pyramid."""

    def __init__(self, planes: tuple[np.ndarray, ...]):
        from PIL import Image

        self.levels = [tuple(Image.fromarray(np.ascontiguousarray(p)) for p in planes)]

    @classmethod
    def from_yuv(cls, planes: np.ndarray, width: int, height: int) -> "Picture":
        return cls(split_planes(planes, width, height))

    def level(self, p: int):
        """Planes reduced ``2**p`` times (box filter), each a Pillow ``L`` image."""
        while len(self.levels) <= p:
            prev = self.levels[-1]
            if min(prev[1].size) < 4:
                return prev if len(self.levels) - 1 == p else self.levels[-1]
            self.levels.append(tuple(im.reduce(2) for im in prev))
        return self.levels[p]


# ---------------------------------------------------------------------------------------------------
# geometry


def centred_rect(width: int, height: int,
                 s: float) -> tuple[tuple[int, int, int, int], tuple[float, float, float, float]]:
    """Where a ``width x height`` picture drawn at scale ``s`` about the centre lands.

    Returns
    -------
    rect : (x0, y0, x1, y1) int
        Output pixels fully covered (clipped to the frame; inward-rounded).
    box : (u0, v0, u1, v1) float
        The exact source region of the picture those pixels show.
    """
    L = width / 2 - width * s / 2
    T = height / 2 - height * s / 2
    x0 = max(0, math.ceil(L - 1e-9))
    y0 = max(0, math.ceil(T - 1e-9))
    x1 = min(width, math.floor(width - L + 1e-9))
    y1 = min(height, math.floor(height - T + 1e-9))
    box = (max(0.0, (x0 - L) / s), max(0.0, (y0 - T) / s), min(float(width), (x1 - L) / s),
           min(float(height), (y1 - T) / s))
    return (x0, y0, x1, y1), box


def _ramp(n0: int, n1: int, lo: float, size: float, feather: float) -> np.ndarray:
    """Feather weights at pixel centres ``n0..n1-1`` of a span starting at ``lo`` of length ``size``."""
    if feather <= 0:
        return np.ones(n1 - n0, dtype=np.float32)
    u = (np.arange(n0, n1, dtype=np.float32) + 0.5 - lo) / size
    d = np.clip(np.minimum(u, 1.0 - u) / feather, 0.0, 1.0)
    return d * d * (3.0 - 2.0 * d)


def smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


def _sample(pic: Picture, plane: int, full_w: int, box, size, s: float, resample, *, pad: int = 0):
    """Resample plane ``plane`` of ``pic`` over ``box`` (full-resolution coords) to ``size``.

    ``pad`` > 0 lets the box reach ``pad`` full-resolution pixels beyond the picture, which is then
    extended by repeating its edge pixels.
    """
    from PIL import Image

    p = 0
    if s < 0.5:
        p = max(0, int(math.floor(math.log2(1.0 / s))) - 1)
    im = pic.level(p)[plane]
    k = im.size[0] / full_w
    b = [box[0] * k, box[1] * k, box[2] * k, box[3] * k]
    if pad:
        e = int(math.ceil(pad * k)) + 3
        im = Image.fromarray(np.pad(np.asarray(im), e, mode="edge"))
        b = [v + e for v in b]
    iw, ih = im.size
    b = [min(max(b[0], 0.0), iw), min(max(b[1], 0.0), ih), min(max(b[2], 0.0), iw), min(max(b[3], 0.0), ih)]
    return np.asarray(im.resize(size, resample, box=tuple(b)))


def _paste(dst: np.ndarray, src: np.ndarray, rect, ax: np.ndarray, ay: np.ndarray, k_opaque: float,
           appear: float) -> None:
    """Blend ``src`` into ``dst[rect]`` with alpha ``1 - (1 - ay*ax)(1 - k_opaque)`` times ``appear``.

    The interior (alpha exactly ``appear``) is copied or blended in one go; only the feather strips
    are blended per pixel.
    """
    x0, y0, x1, y1 = rect
    region = dst[y0:y1, x0:x1]
    if appear <= 0:
        return
    fx = np.nonzero(ax < 1.0)[0]
    fy = np.nonzero(ay < 1.0)[0]
    # interior bounds (ramps are symmetric and monotone towards the centre)
    lx = int(fx[fx < len(ax) / 2].max() + 1) if np.any(fx < len(ax) / 2) else 0
    rx = int(fx[fx >= len(ax) / 2].min()) if np.any(fx >= len(ax) / 2) else len(ax)
    ty = int(fy[fy < len(ay) / 2].max() + 1) if np.any(fy < len(ay) / 2) else 0
    by = int(fy[fy >= len(ay) / 2].min()) if np.any(fy >= len(ay) / 2) else len(ay)

    def blend(ys: slice, xs: slice):
        a = ay[ys, None] * ax[None, xs]
        if k_opaque > 0:
            a = 1.0 - (1.0 - a) * (1.0 - k_opaque)
        if appear < 1:
            a = a * appear
        d = region[ys, xs].astype(np.float32)
        d += (src[ys, xs].astype(np.float32) - d) * a
        region[ys, xs] = (d + 0.5).astype(np.uint8)

    if rx > lx and by > ty:
        if appear >= 1:
            region[ty:by, lx:rx] = src[ty:by, lx:rx]
        else:
            d = region[ty:by, lx:rx].astype(np.float32)
            d += (src[ty:by, lx:rx].astype(np.float32) - d) * appear
            region[ty:by, lx:rx] = (d + 0.5).astype(np.uint8)
    H, W = region.shape
    if ty > 0:
        blend(slice(0, ty), slice(0, W))
    if by < H:
        blend(slice(by, H), slice(0, W))
    if lx > 0:
        blend(slice(ty, by), slice(0, lx))
    if rx < W:
        blend(slice(ty, by), slice(rx, W))


def composite(layout: ZoomLayout, f: int, pictures: dict, width: int, height: int, *, nested=frozenset(),
              resample_outer: str = RESAMPLE_OUTER, resample_inner: str = RESAMPLE_INNER) -> np.ndarray:
    """Composite output frame ``f`` from the pictures of the levels on screen.

    Parameters
    ----------
    layout : ZoomLayout
    f : int
        Project frame.
    pictures : dict
        ``{level index: Picture}`` for the current level and each inner level to draw (consecutive from
        the current one; drawing stops at the first missing level).
    width, height : int
        Output size (even).
    nested : set of int
        Levels whose picture already contains the next level in its centre (outpaint stack). Around
        any other level's inner neighbour, the outer picture fades into the inner one's edge colours over
        the second half of the level, so the hand-over changes nothing on screen.

    Returns
    -------
    numpy.ndarray
        yuv420p planes ``(H * 3 // 2, W)`` uint8.
    """
    c = layout.current(f)
    outer_f = _pil_filter(resample_outer)
    inner_f = _pil_filter(resample_inner)
    s = layout.scale(c, f)
    pic = pictures[c]
    planes = []
    dims = ((width, height), (width // 2, height // 2), (width // 2, height // 2))
    for k, (w, h) in enumerate(dims):
        _, box = centred_rect(w, h, s)
        planes.append(_sample(pic, k, w, box, (w, h), s, outer_f).copy())
    # progress through the current level: the next level's edge turns opaque over its second half
    lv = layout.levels[c]
    span = math.log(lv.ratio) if lv.ratio > 1 else 1.0
    p = (layout.lam[f] - lv.base) / span
    k_next = smoothstep((p - FADE_FROM) / (1.0 - FADE_FROM))
    g = c + 1
    while g in pictures:
        sg = layout.scale(g, f)
        if sg * width < MIN_PIXELS:
            break
        appear = smoothstep((sg * width - MIN_PIXELS) / (2 * MIN_PIXELS))
        kop = k_next if g == c + 1 else 0.0
        extend = kop > 0 and c not in nested
        for k, (w, h) in enumerate(dims):
            if extend:  # cover the whole frame: the inner picture, edge-extended beyond itself
                L, T = w / 2 - w * sg / 2, h / 2 - h * sg / 2
                rect = (0, 0, w, h)
                box = ((0 - L) / sg, (0 - T) / sg, (w - L) / sg, (h - T) / sg)
                pad = int(math.ceil(max(-box[0], -box[1], 0))) + 1
            else:
                rect, box = centred_rect(w, h, sg)
                pad = 0
            x0, y0, x1, y1 = rect
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            src = _sample(pictures[g], k, w, box, (x1 - x0, y1 - y0), sg, inner_f, pad=pad)
            ax = _ramp(x0, x1, w / 2 - w * sg / 2, w * sg, layout.feather)
            ay = _ramp(y0, y1, h / 2 - h * sg / 2, h * sg, layout.feather)
            _paste(planes[k], src, rect, ax, ay, kop, appear)
        g += 1
    return join_planes(*planes)


# ---------------------------------------------------------------------------------------------------
# level sources


class LevelSource:
    """A level's clip as pictures at project frames (one decoder, frames only move forward).

    ``start`` is the project frame of the clip's first shown frame; before it the first frame is held
    (``hold_before``) or the level has no picture (a chained clip that does not exist yet); after its
    end the last frame is held.
    """

    def __init__(self, clip: ClipRef, start: int, fps: Fraction, width: int, height: int, *,
                 hold_before: bool = True):
        self.clip = clip
        self.start = start
        self.fps = Fraction(fps)
        self.width, self.height = width, height
        self.hold_before = hold_before
        self._footage: Optional[FootageFrames] = None  # a conformed clip, sampled from the user's file
        self._container: Optional[Any] = None  # an av container, for a rendered clip file
        self._iter: Optional[Iterator[Any]] = None  # its decoded av.VideoFrames
        self._index = -1
        self._frame: Optional[Any] = None
        self._picture: Optional[Picture] = None
        self._picture_index = -2
        self.still = clip.frames <= 1

    def available(self, f: int) -> bool:
        return self.hold_before or f >= self.start

    def _want(self, f: int) -> int:
        if f < self.start:
            return max(0, min(self.clip.lead, self.clip.frames - 1))
        i = self.clip.lead + int(Fraction(f - self.start) * self.clip.fps / self.fps)
        return max(0, min(i, self.clip.frames - 1))

    def picture(self, f: int) -> Picture:
        want = self._want(f)
        if self.clip.conform is not None:  # footage conformed on the fly from the user's file
            if self._footage is None:
                from ..sampling import FootageFrames

                self._footage = FootageFrames(self.clip.conform)
            if self._picture is None or self._picture_index != want:
                frame = self._footage.picture(want)
                self._picture = Picture.from_yuv(self._conform(frame), self.width, self.height)
                self._picture_index = want
            return self._picture
        frames = self._iter
        if self._container is None or frames is None:
            import av

            self._container = av.open(str(self.clip.path))
            stream = self._container.streams.video[0]
            stream.thread_type = "AUTO"
            frames = self._iter = self._container.decode(stream)
        while self._index < want:
            try:
                self._frame = next(frames)
            except StopIteration:
                break
            self._index += 1
        if self._frame is None:
            from ..errors import MediaError

            raise MediaError(f"zoom level clip {self.clip.path}: has no video frames")
        if self._picture is None or self._picture_index != self._index:
            self._picture = Picture.from_yuv(self._conform(self._frame), self.width, self.height)
            self._picture_index = self._index
        return self._picture

    def _conform(self, frame) -> np.ndarray:
        W, H = self.width, self.height
        if frame.width == W and frame.height == H and frame.format.name == "yuv420p":
            return frame.to_ndarray()
        if abs(frame.width / frame.height - W / H) < 0.01:
            return frame.reformat(width=W, height=H, format="yuv420p", interpolation="BICUBIC").to_ndarray()
        from ..media import fit_frame

        return fit_frame(frame.to_ndarray(format="rgb24"), W, H, "cover", out_format="yuv420p").to_ndarray()

    def close(self) -> None:
        if self._footage is not None:
            self._footage.close()
            self._footage = None
        if self._container is not None:
            self._container.close()
            self._container = None
            self._iter = None


def level_sources(edit, layout: ZoomLayout) -> list:
    """A :class:`LevelSource` factory per level, from ``edit.clips[shot][sub]``.

    A clip's placement comes from its request context (``zoom_start``, ``zoom_hold``: what the nesting
    route generated) and falls back to the planned clip span.
    """
    plan = edit.plan
    out = []
    for lv in layout.levels:
        clips = edit.clips[lv.shot]
        clip = clips[min(lv.sub, len(clips) - 1)]
        ctx = (clip.provenance or {}).get("context", {}) if isinstance(clip.provenance, dict) else {}
        start = int(ctx.get("zoom_start", lv.clip_start))
        hold = bool(ctx.get("zoom_hold", True))
        out.append((clip, start, hold))
    return [lambda c=c, s=s, h=h: LevelSource(c, s, plan.fps, plan.width, plan.height, hold_before=h)
            for c, s, h in out]


def nested_levels(edit, layout: ZoomLayout) -> frozenset:
    """Levels whose clip says it contains the next level (``zoom_nested`` in its request context)."""
    out = set()
    for lv in layout.levels:
        clips = edit.clips[lv.shot]
        clip = clips[min(lv.sub, len(clips) - 1)]
        ctx = (clip.provenance or {}).get("context", {}) if isinstance(clip.provenance, dict) else {}
        if ctx.get("zoom_nested"):
            out.add(lv.index)
    return frozenset(out)


def compose_zoom(edit):
    """Yield every output frame of an infinite-zoom edit as yuv420p planes ``(H * 3 // 2, W)``, in order.

    Streaming: holds one decoded picture (and its small pyramid) per level on screen.
    """
    plan = edit.plan
    layout = plan.layout
    if layout is None:
        from ..errors import PlanError

        raise PlanError("the infinite-zoom plan has no zoom layout; lay it out with songreel.plan.zoom.plan_zoom")
    W, H = plan.width, plan.height
    makers = level_sources(edit, layout)
    nested = nested_levels(edit, layout)
    open_: dict[int, LevelSource] = {}
    L = len(layout.levels)
    try:
        for f in range(plan.total_frames):
            c = layout.current(f)
            pictures = {}
            g = c
            while g < L:
                if g > c and layout.scale(g, f) * W < MIN_PIXELS:
                    break
                src = open_.get(g)
                if src is None:
                    src = open_[g] = makers[g]()
                if g > c and not src.available(f):
                    break
                pictures[g] = src.picture(f)
                g += 1
            for k in [k for k in open_ if k not in pictures]:
                open_.pop(k).close()
            yield composite(layout, f, pictures, W, H, nested=nested)
    finally:
        for s in open_.values():
            s.close()
