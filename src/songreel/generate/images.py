"""Still images for the image-first workflow: character sheets (text to image) and keyframes (the
scene with the characters placed in it from their reference pictures).

Two image models, chosen by the storyboard's ``images:`` block:

``animatic`` (default)
    Procedural and weight-free, like the animatic video backend: a sheet is a labelled card with a
    silhouette in the character's colours; a keyframe is the animatic scene with each reference
    pasted in as a figure. Deterministic by seed; the preview and the test double.
a diffusers folder or hub id
    Loaded with ``DiffusionPipeline.from_pretrained``. Reference pictures are passed the way each
    pipeline takes them: a list (``Flux2KleinPipeline``, ``QwenImageEditPlusPipeline``) or one picture
    with the references side by side (``FluxKontextPipeline``, ``QwenImageEditPipeline``).

Images are stored content-addressed under ``<store>/images/<key>.png`` with a ``.json`` beside each
that records what determined it (model, prompt, seed, size, reference hashes).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import InputError, MissingFileError, MissingExtraError

log = logging.getLogger(__name__)

VERSION = "1"
"""Bump when the same request would give different pixels."""

LIST_PIPELINES = ("Flux2KleinPipeline", "Flux2Pipeline", "QwenImageEditPlusPipeline")
"""Pipelines whose ``image`` argument takes a list of reference pictures."""
SINGLE_PIPELINES = ("FluxKontextPipeline", "QwenImageEditPipeline")
"""Pipelines that take one ``image``: references are laid side by side into one picture."""
MIN_REFERENCE_SIDE = 64
"""FLUX.2 refuses reference pictures smaller than 64 px on a side: smaller ones are scaled up."""
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


@dataclass(frozen=True)
class ImageRequest:
    """One still to make. ``references`` are image files; their content hashes enter the key."""

    kind: str                      # "sheet" or "keyframe"
    prompt: str
    seed: int
    width: int
    height: int
    references: tuple[Path, ...] = ()
    negative: str = ""

    def reference_hashes(self) -> list:
        return [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in self.references]


def image_key(request: ImageRequest, model) -> tuple[str, dict]:
    """Content address of ``request`` made by ``model``, and the JSON document it hashes."""
    doc = {"kind": request.kind, "model": model.ident(), "version": VERSION, "prompt": request.prompt,
           "negative": request.negative, "seed": request.seed, "size": [request.width, request.height],
           "references": request.reference_hashes(), **model.key_context()}
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:32], doc


class ImageStore:
    """Stills under ``<store>/images/``, one PNG and one JSON per key, written by rename."""

    def __init__(self, store_dir: Path):
        self.root = Path(store_dir) / "images"

    def path(self, key: str) -> Path:
        return self.root / f"{key}.png"

    def get(self, key: str) -> Optional[Path]:
        p = self.path(key)
        return p if p.exists() else None

    def put(self, key: str, pixels: np.ndarray, doc: dict) -> Path:
        import io

        from PIL import Image

        from ..fileio import atomic_write_bytes

        self.root.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(pixels[..., :3]).astype(np.uint8)).save(buf, format="PNG")
        atomic_write_bytes(self.root / f"{key}.json", json.dumps(doc, indent=1, sort_keys=True).encode())
        atomic_write_bytes(self.path(key), buf.getvalue())
        return self.path(key)

    def doc(self, key: str) -> dict:
        p = self.root / f"{key}.json"
        return json.loads(p.read_text()) if p.exists() else {}


def make_image(model, request: ImageRequest, store: ImageStore) -> tuple[Path, str, bool]:
    """The stored still for ``request``, made by ``model`` when the store lacks it.

    Returns
    -------
    path : Path
    key : str
    made : bool
        False when it was already stored.
    """
    key, doc = image_key(request, model)
    found = store.get(key)
    if found is not None:
        return found, key, False
    pixels = model.make(request)
    return store.put(key, pixels, doc), key, True


def open_image_model(spec, *, which: str, base_dir: Path, field: str = "images"):
    """The image model for ``which`` (``"sheet"``: ``spec.model``; ``"keyframe"``: ``spec.edit_model``,
    else ``spec.model``) from an :class:`~songreel.schema.storyboard.ImagesSpec`."""
    name = spec.edit_model if which == "keyframe" and spec.edit_model else spec.model
    sub = "edit_model" if which == "keyframe" and spec.edit_model else "model"
    if name == "animatic":
        return ProceduralImages()
    return DiffusersImages(name, spec, base_dir=base_dir, field=f"{field}.{sub}")


# ---------------------------------------------------------------------------------------------------
# procedural


class ProceduralImages:
    """Weight-free stills (see the module docstring)."""

    name = "animatic"

    def ident(self) -> str:
        return "animatic"

    def key_context(self) -> dict:
        return {}

    def make(self, request: ImageRequest) -> np.ndarray:
        if request.kind == "sheet":
            return _procedural_sheet(request)
        return _procedural_keyframe(request)


def _rng(request: ImageRequest) -> np.random.Generator:
    digest = hashlib.sha256(f"{request.seed}|{request.prompt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _procedural_sheet(request: ImageRequest) -> np.ndarray:
    """A character card: three silhouettes (front, three-quarter, side) in colours drawn from the seed,
    the description written under them."""
    import colorsys

    from PIL import Image, ImageDraw

    from .animatic import font

    w, h = request.width, request.height
    rng = _rng(request)
    hue = rng.random()
    skin = tuple(int(255 * v) for v in colorsys.hsv_to_rgb(0.07, 0.25 + 0.3 * rng.random(), 0.85))
    cloth = tuple(int(255 * v) for v in colorsys.hsv_to_rgb(hue, 0.6, 0.75))
    hair = tuple(int(255 * v) for v in colorsys.hsv_to_rgb((hue + 0.5) % 1, 0.5, 0.35 + 0.4 * rng.random()))
    img = Image.new("RGB", (w, h), (236, 232, 224))
    d = ImageDraw.Draw(img)
    text_h = max(12, h // 6)
    fig_h = h - text_h
    for k, squash in enumerate((1.0, 0.8, 0.55)):
        cx = int(w * (k + 0.5) / 3)
        head = fig_h * 0.12
        hw = head * squash
        top = fig_h * 0.12
        d.ellipse((cx - hw, top, cx + hw, top + 2 * head), fill=skin)
        d.pieslice((cx - hw * 1.1, top - head * 0.15, cx + hw * 1.1, top + head * 1.6), 180, 360, fill=hair)
        d.rounded_rectangle((cx - hw * 1.6, top + 2.1 * head, cx + hw * 1.6, fig_h * 0.95),
                            radius=max(1, int(hw * 0.6)), fill=cloth)
    f = font(max(8, text_h // 3))
    d.text((max(2, w // 40), fig_h + text_h // 6), request.prompt[:80], font=f, fill=(30, 30, 30))
    return np.asarray(img)


def _procedural_keyframe(request: ImageRequest) -> np.ndarray:
    """The animatic scene of the shot with each reference picture standing in it, left to right."""
    from PIL import Image

    from ..schema.clip import GenerationRequest
    from .animatic import Scene

    req = GenerationRequest(backend="animatic", model="procedural", version="1", prompt=request.prompt,
                            negative="", seed=request.seed, frames=1, fps=Fraction(24), width=request.width,
                            height=request.height)
    frame = Scene.from_request(req).frame(0.0, 0.0).copy()
    refs = list(request.references)
    for k, p in enumerate(refs):
        with Image.open(p) as src:
            rgb = src.convert("RGB")
        th = int(request.height * 0.55)
        tw = max(4, min(int(request.width / max(len(refs), 1) * 0.8), round(rgb.width * th / rgb.height)))
        tile = np.asarray(rgb.resize((tw, th), Image.Resampling.LANCZOS))
        cx = int(request.width * (k + 1) / (len(refs) + 1))
        x0 = max(0, min(request.width - tw, cx - tw // 2))
        y0 = request.height - th - max(2, request.height // 12)
        frame[y0:y0 + th, x0:x0 + tw] = tile
    return frame


# ---------------------------------------------------------------------------------------------------
# diffusers


class DiffusersImages:
    """A diffusers image pipeline from a local folder or a hub id (loaded on first use, once)."""

    name = "diffusers"

    def __init__(self, model: str, spec, *, base_dir: Path, field: str):
        self.model = model
        self.spec = spec
        self.field = field
        self.folder: Optional[Path] = None
        cand = Path(model).expanduser()
        cand = cand if cand.is_absolute() else Path(base_dir) / cand
        if cand.is_dir():
            self.folder = cand
        elif model.startswith((".", "/", "~")) or not _HUB_ID.match(model):
            raise MissingFileError(f"{field}: got {model!r}: no such folder ({cand}); expected animatic, a "
                                   "diffusers model folder, or a hub id such as black-forest-labs/FLUX.2-klein-4B")
        self._pipe = None
        self._lock = threading.Lock()
        self.calls: list = []   # what each pipeline call received (class, reference sizes), for provenance

    def ident(self) -> str:
        if self.folder is None:
            return self.model
        try:
            cls = json.loads((self.folder / "model_index.json").read_text()).get("_class_name", "")
        except (OSError, ValueError):
            cls = ""
        digest = hashlib.sha256()
        for p in sorted(self.folder.rglob("*")):
            if p.is_file():
                st = p.stat()
                digest.update(f"{p.relative_to(self.folder)}:{st.st_size}".encode())
                if p.suffix in (".json", ".txt"):
                    digest.update(p.read_bytes())
        return f"{cls}:{digest.hexdigest()[:16]}"

    def key_context(self) -> dict:
        return {"steps": self.spec.steps, "guidance": self.spec.guidance, "max_side": self.spec.max_side,
                "dtype": self.spec.dtype}

    def pipe(self):
        with self._lock:
            if self._pipe is None:
                try:
                    import torch
                    from diffusers import DiffusionPipeline
                except ImportError:
                    raise MissingExtraError("image models need the diffusers extra: pip install "
                                            "'songreel[diffusers]'") from None
                dev = self.spec.device or ("cuda" if torch.cuda.is_available() else "cpu")
                dt = self.spec.dtype
                if dt == "auto":
                    dt = "bfloat16" if dev.startswith("cuda") else "float32"
                src = str(self.folder) if self.folder else self.model
                try:
                    pipe = DiffusionPipeline.from_pretrained(src, dtype=getattr(torch, dt))
                except OSError as e:
                    first = str(e).splitlines()[0][:120] if str(e) else "OSError"
                    raise MissingFileError(f"{self.field}: {self.model!r} could not be loaded ({first}); download "
                                           "it first (hf download ...) or give a local folder") from None
                if hasattr(pipe, "set_progress_bar_config"):
                    pipe.set_progress_bar_config(disable=True)
                self._pipe = pipe.to(dev)
            return self._pipe

    def make(self, request: ImageRequest) -> np.ndarray:
        import torch
        from PIL import Image

        pipe = self.pipe()
        cls = type(pipe).__name__
        params = inspect.signature(pipe.__call__).parameters
        width, height = _fit(request.width, request.height, self.spec.max_side, 16)
        kwargs: dict = {"prompt": request.prompt, "width": width, "height": height,
                        "num_inference_steps": self.spec.steps,
                        "generator": torch.Generator("cpu").manual_seed(int(request.seed)), "output_type": "np"}
        if "guidance_scale" in params:
            kwargs["guidance_scale"] = self.spec.guidance
        if request.negative and "negative_prompt" in params:
            kwargs["negative_prompt"] = request.negative
        refs = [_reference_image(p) for p in request.references]
        if refs:
            if "image" not in params:
                raise InputError(f"{self.field}: {cls} takes no reference images; expected an edit / reference "
                                 f"pipeline ({', '.join(LIST_PIPELINES + SINGLE_PIPELINES)})")
            kwargs["image"] = refs if cls in LIST_PIPELINES else _side_by_side(refs)
        self.calls.append({"pipeline": cls, "references": [im.size for im in refs], "size": [width, height]})
        with torch.inference_mode():
            out = pipe(**kwargs).images
        px = np.asarray(out[0])
        px = (np.clip(px, 0.0, 1.0) * 255).round().astype(np.uint8) if px.dtype != np.uint8 else px
        if px.shape[:2] != (request.height, request.width):   # back to the size asked for
            px = np.asarray(Image.fromarray(px).resize((request.width, request.height), Image.Resampling.LANCZOS))
        return px

    def close(self) -> None:
        self._pipe = None


def _fit(width: int, height: int, max_side: int, multiple: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    w = max(multiple, int(round(width * scale / multiple)) * multiple)
    h = max(multiple, int(round(height * scale / multiple)) * multiple)
    return w, h


def _reference_image(path: Path):
    from PIL import Image

    with Image.open(path) as src:
        im = src.convert("RGB")
    short = min(im.size)
    if short < MIN_REFERENCE_SIDE:
        s = MIN_REFERENCE_SIDE / short
        im = im.resize((max(MIN_REFERENCE_SIDE, round(im.width * s)), max(MIN_REFERENCE_SIDE, round(im.height * s))),
                       Image.Resampling.LANCZOS)
    return im


def _side_by_side(images: Sequence):
    from PIL import Image

    h = max(im.height for im in images)
    scaled = [im.resize((max(1, round(im.width * h / im.height)), h), Image.Resampling.LANCZOS) for im in images]
    out = Image.new("RGB", (sum(im.width for im in scaled), h), (255, 255, 255))
    x = 0
    for im in scaled:
        out.paste(im, (x, 0))
        x += im.width
    return out
