"""Animatic: a procedural, deterministic preview of every shot. CPU only, no weights.

Each shot gets a colour palette and a motion derived from its prompt text and seed, soft shapes that
drift with a gentle camera push, and a caption with the shot, its bar.beat and its prompt. It is the
default backend, the demo, and the test double for the whole song -> video path, so it is fast
(well above realtime at 720p) and exactly repeatable.

Frames are drawn straight into yuv420p, the encoder's own format: blending towards a colour is linear,
so it is the same blend in YUV as in RGB, done on one full-size plane and two quarter-size ones, and
no per-frame colour conversion is needed. Shots are independent, so several render at once (numpy
and x264 release the GIL).

One job, the procedural picture, in one file: the backend, the scene and its discs, the caption and
reference overlays pasted on it, and the nested scene the zoom look draws its levels with all share
the same drawing and colour code, so they stay together past the usual length.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import os
import time
from pathlib import Path

import numpy as np
from pydantic import Field

from ..media import ClipWriter
from ..schema.clip import GenerationRequest
from ..schema.storyboard import BackendSpec
from .base import TAIL_FRAMES, Capabilities, GenerationResult, ProjectInfo
from .options import BackendOptions, parse_options


class AnimaticOptions(BackendOptions):
    """Options of the ``animatic`` backend."""

    caption: bool = Field(True, description="draw the shot's prompt, bar and section on the frame")
    crf: int = Field(16, ge=0, le=51, description="x264 quality of the stored preview clip")
    preset: str = Field("ultrafast", description="x264 preset of the stored preview clip")


class AnimaticBackend:
    """Procedural previews. Options: ``caption`` (bool, default true), ``crf``, ``preset``."""

    name = "animatic"
    version = "2"
    model = "procedural"

    Options = AnimaticOptions

    #: shots rendered at once: a CPU backend, one shot per core
    max_concurrent = max(1, min(4, os.cpu_count() or 1))

    def __init__(self, spec: BackendSpec, *, project: ProjectInfo, field: str = "backend"):
        opts = parse_options(AnimaticOptions, spec.options, backend="animatic", field=field)
        self.caption, self.crf, self.preset = opts.caption, opts.crf, opts.preset
        self.project = project

    def capabilities(self) -> Capabilities:
        return Capabilities(native_fps=None, size_multiple=2, chain_continuous=True, first_frame=True,
                            max_references=MAX_REFERENCES)

    def key_context(self) -> dict:
        return {"caption": self.caption, "crf": self.crf, "preset": self.preset}

    def generate(self, request: GenerationRequest, out: Path) -> GenerationResult:
        started = time.monotonic()
        scene = Scene.from_request(request)
        if request.first_frame is not None:   # an image-first shot: its keyframe is the scene's backdrop
            scene.backdrop(request.first_frame.load())
        total = int(request.context.get("shot_frames", request.frames))
        caption: Caption | Overlays | None = (
            render_caption(request, request.width, request.height) if self.caption else None)
        if request.references:   # who is in the shot: their reference pictures, small, top right
            caption = Overlays([c for c in (caption, reference_insets(request.references, request.width,
                                                                       request.height)) if c is not None])
        tail = write_scene(scene, request, out, caption=caption, crf=self.crf, preset=self.preset,
                           progress_of=lambda k: k / max(total - 1, 1))
        return GenerationResult(out, request.frames, request.fps, request.width, request.height,
                                provenance={"render_seconds": round(time.monotonic() - started, 3)},
                                tail_frames=tail)


def write_scene(scene, request: GenerationRequest, out: Path, *, caption=None, crf: int = 16,
                preset: str = "ultrafast", progress_of=None) -> np.ndarray:
    """Encode ``request.frames`` frames of ``scene`` to ``out``, on the shot's clock (frame ``k`` is
    ``context["offset"] + i``), the caption pasted on each; returns the last frames (RGB) for chaining."""
    offset = int(request.context.get("offset", 0))
    tail = []
    with ClipWriter(out, request.width, request.height, request.fps, crf=crf, preset=preset) as w:
        for i in range(request.frames):
            k = offset + i
            planes = scene.planes(k / float(request.fps), progress_of(k) if progress_of else 0.0)
            if caption is not None:
                caption.apply_planes(planes)
            w.write_planes(planes)
            if i >= request.frames - TAIL_FRAMES:
                tail.append(planes_rgb(planes))
    return np.stack(tail)


def rgb_planes(rgb: np.ndarray) -> np.ndarray:
    """An RGB uint8 picture (even size) as packed yuv420p planes, by swscale as every clip is encoded."""
    import av

    return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv420p").to_ndarray()


def planes_rgb(planes: np.ndarray) -> np.ndarray:
    """Packed yuv420p planes back to RGB uint8 (swscale)."""
    import av

    return av.VideoFrame.from_ndarray(planes, format="yuv420p").to_ndarray(format="rgb24")


def yuv_of(rgb) -> np.ndarray:
    """BT.601 limited-range ``(Y, U, V)`` float32 of RGB values (``(..., 3)``, 0..255): swscale's default
    for a frame with no colour tags, which is what the clips are."""
    rgb = np.asarray(rgb, dtype=np.float32)
    m = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]],
                 dtype=np.float32) / 255.0
    return (rgb @ m.T + np.array([16.0, 128.0, 128.0], dtype=np.float32)).astype(np.float32)


def _views(planes: np.ndarray, height: int):
    """Views ``Y (H, W)``, ``U``, ``V`` (``H/2, W/2``) of a packed yuv420p array."""
    w = planes.shape[1]
    chroma = planes[height:].reshape(2, height // 2, w // 2)
    return planes[:height], chroma[0], chroma[1]


def _blend(plane: np.ndarray, y0: int, x0: int, alpha: np.ndarray, value: float) -> None:
    """``plane[box] += (value - plane[box]) * alpha``, rounded, in place."""
    h, w = alpha.shape
    region = plane[y0:y0 + h, x0:x0 + w].astype(np.float32)
    region += (value - region) * alpha
    region += 0.5
    plane[y0:y0 + h, x0:x0 + w] = region


def _disc_alpha(ys: np.ndarray, xs: np.ndarray, strength: float) -> np.ndarray:
    """A soft disc's coverage at normalised offsets ``ys`` x ``xs`` from its centre:
    ``strength * max(0, 1 - d**2) ** 1.5``."""
    a = ys[:, None] ** 2 + xs[None, :] ** 2
    np.subtract(1.0, a, out=a)
    np.clip(a, 0.0, 1.0, out=a)
    a *= np.sqrt(a)
    a *= strength
    return a


def _rng_for(request: GenerationRequest) -> np.random.Generator:
    digest = hashlib.sha256(f"{request.seed}|{request.prompt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


class Scene:
    """A shot's look: gradient sky, drifting soft discs, a horizon band, slow camera push."""

    def __init__(self, width, height, palette, discs, horizon, push, drift):
        self.w, self.h = width, height
        self.palette = palette          # (4, 3) float32 in 0..255
        self.discs = discs              # rows: x, y, r, vx, vy, colour index, strength
        self.horizon = horizon
        self.push = push
        self.drift = drift
        # the sky and ground are static per shot: build them once, copy per frame
        yy = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
        sky = palette[0][None, :] * (1 - yy) + palette[1][None, :] * yy            # (H, 3)
        hy = int(np.clip(horizon * height, 0, height))
        ground = np.linspace(1.0, 0.6, height - hy, dtype=np.float32)[:, None]
        sky[hy:] = sky[hy:] * 0.35 + palette[3][None, :] * 0.65 * ground
        self._bg = np.ascontiguousarray(np.broadcast_to(np.clip(sky, 0, 255).astype(np.uint8)[:, None, :],
                                                        (height, width, 3)))
        self._bg_planes: np.ndarray | None = None
        self._yuv = yuv_of(palette)

    @classmethod
    def from_request(cls, request: GenerationRequest) -> "Scene":
        rng = _rng_for(request)
        hue = rng.random()
        spread = 0.08 + 0.25 * rng.random()
        colours = []
        for k, (ds, v) in enumerate(((0.0, 0.35), (spread, 0.75), (-spread, 0.95), (0.5, 0.9))):
            r, g, b = colorsys.hsv_to_rgb((hue + ds) % 1.0, 0.45 + 0.4 * rng.random(), v)
            colours.append((r * 255, g * 255, b * 255))
        palette = np.array(colours, dtype=np.float32)
        n = 5 + int(rng.integers(0, 5))
        discs = np.column_stack([
            rng.random(n), rng.random(n) * 0.8, 0.05 + 0.18 * rng.random(n),
            (rng.random(n) - 0.5) * 0.06, (rng.random(n) - 0.5) * 0.03,
            rng.integers(2, 4, n), 0.35 + 0.5 * rng.random(n),
        ]).astype(np.float32)
        horizon = 0.55 + 0.25 * rng.random()
        push = 0.03 + 0.05 * rng.random()       # scale gained per 10 s
        drift = (rng.random() - 0.5) * 0.04
        return cls(request.width, request.height, palette, discs, horizon, push, drift)

    def backdrop(self, image: np.ndarray) -> None:
        """Use ``image`` (uint8 RGB, any size: scaled to cover and centre-cropped) as the static
        background; the discs drift over it more faintly, so the picture stays readable."""
        self._bg = cover(image, self.w, self.h)
        self._bg_planes = None
        self.discs = self.discs.copy()
        self.discs[:, 6] *= 0.35

    def _placed(self, t: float):
        """Each visible disc at ``t``: ``(px, py, pr, colour index, strength)`` in pixels."""
        w, h = self.w, self.h
        zoom = 1.0 + self.push * t / 10.0
        cx, cy = 0.5 + self.drift * t / 10.0, 0.5
        for x, y, r, vx, vy, ci, s in self.discs:
            px = (cx + ((x + vx * t) % 1.2 - 0.1 - cx) * zoom) * w
            py = (cy + (y + vy * t - cy) * zoom) * h
            pr = r * zoom * h * (1.0 + 0.08 * math.sin(2 * math.pi * (t * 0.25 + x)))
            if px + pr >= 0 and px - pr < w and py + pr >= 0 and py - pr < h and pr > 0:
                yield float(px), float(py), float(pr), int(ci), float(s)

    def planes(self, t: float, u: float) -> np.ndarray:
        """Packed yuv420p ``(H * 3 // 2, W)`` uint8 frame at ``t`` seconds into the shot (``u`` =
        progress 0..1): the soft discs blended on each plane, chroma sampled at its own sites."""
        if self._bg_planes is None:
            self._bg_planes = rgb_planes(self._bg)
        out = self._bg_planes.copy()
        w, h = self.w, self.h
        yp, up, vp = _views(out, h)
        for px, py, pr, ci, s in self._placed(t):
            x0, x1 = int(max(px - pr, 0)), int(min(px + pr + 1, w))
            y0, y1 = int(max(py - pr, 0)), int(min(py + pr + 1, h))
            if x0 >= x1 or y0 >= y1:
                continue
            inv = 1.0 / pr
            a = _disc_alpha((np.arange(y0, y1, dtype=np.float32) - py) * inv,
                            (np.arange(x0, x1, dtype=np.float32) - px) * inv, s)
            yy, uu, vv = self._yuv[ci]
            _blend(yp, y0, x0, a, yy)
            # a chroma sample covers luma pixels 2j, 2j + 1: its centre is at 2j + 0.5
            cx0, cx1, cy0, cy1 = x0 // 2, (x1 + 1) // 2, y0 // 2, (y1 + 1) // 2
            ac = _disc_alpha((np.arange(cy0, cy1, dtype=np.float32) * 2 + 0.5 - py) * inv,
                             (np.arange(cx0, cx1, dtype=np.float32) * 2 + 0.5 - px) * inv, s)
            _blend(up, cy0, cx0, ac, uu)
            _blend(vp, cy0, cx0, ac, vv)
        return out

    def frame(self, t: float, u: float) -> np.ndarray:
        """RGB uint8 frame at ``t`` seconds into the shot (``u`` = progress 0..1)."""
        img = self._bg.copy()
        for px, py, pr, ci, s in self._placed(t):
            x0, x1 = int(max(px - pr, 0)), int(min(px + pr + 1, self.w))
            y0, y1 = int(max(py - pr, 0)), int(min(py + pr + 1, self.h))
            if x0 >= x1 or y0 >= y1:
                continue
            a = _disc_alpha((np.arange(y0, y1, dtype=np.float32) - py) / pr,
                            (np.arange(x0, x1, dtype=np.float32) - px) / pr, s)[..., None]
            region = img[y0:y1, x0:x1].astype(np.float32)
            region += (self.palette[ci] - region) * a
            img[y0:y1, x0:x1] = region.astype(np.uint8)
        return img


class Caption:
    """A pre-rendered RGBA caption pasted onto frames (one small alpha blend per frame), on RGB frames
    or straight onto yuv420p planes (luma at full size, chroma from the premultiplied 2x2 average)."""

    def __init__(self, rgba: np.ndarray, x: int, y: int):
        # chroma needs the box on even coordinates: grow it by a transparent row/column where odd
        if x % 2 or y % 2:
            rgba = np.pad(rgba, ((y % 2, 0), (x % 2, 0), (0, 0)))
            x, y = x - x % 2, y - y % 2
        self.rgb = rgba[..., :3].astype(np.float32)
        self.alpha = (rgba[..., 3:4].astype(np.float32) / 255.0)
        self.x, self.y = x, y
        self._yuv: tuple | None = None

    def apply(self, frame: np.ndarray) -> np.ndarray:
        h, w = self.alpha.shape[:2]
        region = frame[self.y:self.y + h, self.x:self.x + w].astype(np.float32)
        region += (self.rgb[:region.shape[0], :region.shape[1]] - region) * self.alpha[:region.shape[0],
                                                                                      :region.shape[1]]
        frame[self.y:self.y + h, self.x:self.x + w] = region.astype(np.uint8)
        return frame

    def _planes(self):
        if self._yuv is None:
            yuv = yuv_of(self.rgb)
            a = self.alpha[..., 0]
            h, w = a.shape
            ph, pw = h + h % 2, w + w % 2
            pa = np.zeros((ph, pw), np.float32)
            pa[:h, :w] = a
            pm = np.zeros((ph, pw, 2), np.float32)
            pm[:h, :w] = yuv[..., 1:] * a[..., None]
            ac = pa.reshape(ph // 2, 2, pw // 2, 2).mean(axis=(1, 3))
            cm = pm.reshape(ph // 2, 2, pw // 2, 2, 2).mean(axis=(1, 3))
            chroma = cm / np.maximum(ac, 1e-6)[..., None]
            self._yuv = (yuv[..., 0], a, chroma[..., 0], chroma[..., 1], ac)
        return self._yuv

    def apply_planes(self, planes: np.ndarray) -> np.ndarray:
        """Paste onto a packed yuv420p frame (in place) and return it."""
        ycap, a, ucap, vcap, ac = self._planes()
        height = planes.shape[0] * 2 // 3
        yp, up, vp = _views(planes, height)
        for plane, value, alpha, x, y in ((yp, ycap, a, self.x, self.y), (up, ucap, ac, self.x // 2, self.y // 2),
                                          (vp, vcap, ac, self.x // 2, self.y // 2)):
            h = min(alpha.shape[0], plane.shape[0] - y)
            w = min(alpha.shape[1], plane.shape[1] - x)
            if h <= 0 or w <= 0:
                continue
            region = plane[y:y + h, x:x + w].astype(np.float32)
            region += (value[:h, :w] - region) * alpha[:h, :w]
            region += 0.5
            plane[y:y + h, x:x + w] = region
        return planes


MAX_REFERENCES = 4
"""Reference pictures the animatic draws in one shot."""


class Overlays:
    """Several pre-rendered overlays applied in order."""

    def __init__(self, items):
        self.items = list(items)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        for item in self.items:
            item.apply(frame)
        return frame

    def apply_planes(self, planes: np.ndarray) -> np.ndarray:
        for item in self.items:
            item.apply_planes(planes)
        return planes


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to cover ``width`` x ``height`` and centre-cropped (Lanczos, deterministic)."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(image[..., :3]))
    scale = max(width / im.width, height / im.height)
    w, h = max(width, round(im.width * scale)), max(height, round(im.height * scale))
    im = im.resize((w, h), Image.Resampling.LANCZOS)
    x, y = (w - width) // 2, (h - height) // 2
    return np.ascontiguousarray(np.asarray(im.crop((x, y, x + width, y + height)).convert("RGB")))


def reference_insets(paths, width: int, height: int):
    """A :class:`Caption`-like overlay: each reference picture as a thumbnail one fifth of the frame
    high, with a thin light frame, side by side from the top-right corner. None when none fit."""
    from PIL import Image

    th = max(8, height // 5)
    pad = max(2, height // 60)
    tiles = []
    for p in list(paths)[:MAX_REFERENCES]:
        with Image.open(p) as src:
            im = src.convert("RGB")
            tw = max(4, round(im.width * th / im.height))
            tiles.append(np.asarray(im.resize((min(tw, th * 2), th), Image.Resampling.LANCZOS)))
    if not tiles:
        return None
    border = max(1, th // 40)
    total_w = sum(t.shape[1] + 2 * border for t in tiles) + pad * (len(tiles) - 1)
    strip = np.zeros((th + 2 * border, total_w, 4), np.uint8)
    x = 0
    for t in tiles:
        strip[:, x:x + t.shape[1] + 2 * border] = (240, 240, 240, 255)
        strip[border:border + th, x + border:x + border + t.shape[1], :3] = t
        x += t.shape[1] + 2 * border + pad
    strip = strip[:, : max(1, min(total_w, width - 2 * pad))][: max(1, height - 2 * pad)]
    return Caption(strip, max(0, width - strip.shape[1] - pad), pad)


def font(size: int):
    """DejaVu Sans from matplotlib's bundled fonts (covers Latin, Greek, Cyrillic, Hebrew, Arabic letters),
    else Pillow's default."""
    from PIL import ImageFont

    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        return ImageFont.truetype(str(path), size)
    except Exception:
        return ImageFont.load_default()


def render_caption(request: GenerationRequest, width: int, height: int) -> Caption:
    """Caption strip: ``SHOT · bar.beat · section`` over the wrapped prompt."""
    from PIL import Image, ImageDraw

    ctx = request.context
    size = max(10, height // 30)
    f_big, f_small = font(int(size * 1.2)), font(size)
    bar = f"bar {ctx.get('position')}" if ctx.get("position") else None
    head = " · ".join(str(x) for x in (ctx.get("caption"), bar, ctx.get("section")) if x)
    text = request.prompt.replace("\n", " ")
    max_chars = max(20, int(width / (size * 0.55)))
    import textwrap

    lines = textwrap.wrap(text, max_chars, break_long_words=True) or [""]
    if len(lines) > 2:
        lines = lines[:2]
        lines[-1] = lines[-1][: max_chars - 1].rstrip() + "…"
    pad = size // 2
    box_h = int(size * 1.5) + len(lines) * int(size * 1.3) + 2 * pad
    while lines and box_h + 2 * pad > height:  # a tiny frame keeps the head line and what fits under it
        lines.pop()
        box_h -= int(size * 1.3)
    box_h = min(box_h, height)
    box_w = width - 2 * pad
    img = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 120))
    d = ImageDraw.Draw(img)
    d.text((pad, pad), head, font=f_big, fill=(255, 255, 255, 255))
    for k, line in enumerate(lines):
        d.text((pad, pad + int(size * 1.5) + k * int(size * 1.3)), line, font=f_small, fill=(235, 235, 235, 255))
    return Caption(np.asarray(img), pad, max(0, height - box_h - pad))


# ---------------------------------------------------------------------------------------------------
# infinite zoom: one level of a nested procedural stack (used by generate/zoom_nesting.py)

ZOOM_VERSION = "1"


class NestedScene(Scene):
    """A zoom level's scene: :class:`Scene` with a still camera (the compositor zooms), so the centre
    ``1 / ratio`` stays put, framed by a thin light border — the window the next level appears in."""

    def __init__(self, *args, ratio: float = 2.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.push = 0.0
        self.drift = 0.0
        self.ratio = float(ratio)
        if self.ratio > 1.0:
            self._window()

    def _window(self):
        w, h = self.w, self.h
        bw, bh = w / self.ratio, h / self.ratio
        x0, y0 = int(round(w / 2 - bw / 2)), int(round(h / 2 - bh / 2))
        x1, y1 = int(round(w / 2 + bw / 2)), int(round(h / 2 + bh / 2))
        t = max(1, int(round(min(w, h) / 180)))
        edge = np.clip(self.palette[2] * 0.5 + 127, 0, 255).astype(np.uint8)
        if x1 - x0 > 2 * t and y1 - y0 > 2 * t:
            for ys, xs in ((slice(y0 - t, y0), slice(x0 - t, x1 + t)), (slice(y1, y1 + t), slice(x0 - t, x1 + t)),
                           (slice(y0, y1), slice(x0 - t, x0)), (slice(y0, y1), slice(x1, x1 + t))):
                self._bg[max(ys.start, 0):ys.stop, max(xs.start, 0):xs.stop] = edge

    @classmethod
    def from_request(cls, request: GenerationRequest, *, ratio: float = 2.0) -> "NestedScene":
        base = Scene.from_request(request)
        return cls(base.w, base.h, base.palette, base.discs, base.horizon, 0.0, 0.0, ratio=ratio)


def render_zoom_level(request: GenerationRequest, out: Path, *, ratio: float, label: str = "", crf: int = 16,
                      preset: str = "ultrafast") -> GenerationResult:
    """Render one nested procedural level to ``out``: ``request.frames`` frames, the scene's time
    counted from ``request.context["offset"]`` frames (so a shot's levels move on one clock)."""
    from PIL import Image, ImageDraw

    started = time.monotonic()
    scene = NestedScene.from_request(request, ratio=ratio)
    caption = None
    if label:
        size = max(9, request.height // 22)
        f = font(size)
        x, y = max(2, request.width // 40), max(2, request.height // 30)
        box = (min(request.width - x, size * (len(label) + 2)), min(request.height - y, int(size * 1.6)))
        img = Image.new("RGBA", box, (0, 0, 0, 0))
        ImageDraw.Draw(img).text((size // 3, size // 4), label, font=f, fill=(255, 255, 255, 230))
        caption = Caption(np.asarray(img), x, y)
    tail = write_scene(scene, request, out, caption=caption, crf=crf, preset=preset)
    return GenerationResult(out, request.frames, request.fps, request.width, request.height,
                            provenance={"render_seconds": round(time.monotonic() - started, 3), "zoom_ratio": ratio},
                            tail_frames=tail)
