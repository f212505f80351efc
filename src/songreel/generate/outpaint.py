"""The outpaint stack for the infinite zoom: keyframes built innermost-out with a diffusers inpaint model.

Each step shrinks the current keyframe into the centre of a new canvas by ``1/ratio`` (the zoom
ratio between the two levels, exact to the sub-pixel: the same geometry the compositor uses), masks the
border, inpaints it with the next (outer) level's prompt, and pastes the known centre back — a small
VAE (and even a large one) does not keep unmasked pixels exactly, and the nesting must be exact for the
zoom to show no seam. The canvas is padded to the model's multiple of 8 around the project's aspect and
cropped back, so the nesting holds in project geometry.

Any diffusers inpainting pipeline with the ``image`` / ``mask_image`` call works: Stable Diffusion
inpaint, SDXL inpaint, ``FluxFillPipeline``; the class is read from ``model_index.json``. Model:
a local folder or a hub id (already in the local cache when offline).

torch / diffusers are imported inside methods only.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import os
import re
import threading
from pathlib import Path
from typing import Optional

import numpy as np
from pydantic import BeforeValidator, Field
from typing_extensions import Annotated

from ..errors import GenerationError, InputError, MissingExtraError, MissingFileError
from .diffusers_source import HUB_ID as _HUB_ID  # one rule for "owner/name" hub ids
from .options import BackendOptions, parse_options

VERSION = "1"
_DTYPES = {"auto": "auto", "float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16", "half": "float16"}


def _dtype(v):
    name = str(v).strip().lower().replace("torch.", "")
    if isinstance(v, bool) or name not in _DTYPES:
        raise ValueError(f"got {v!r}, expected auto, float32, bfloat16 or float16")
    return _DTYPES[name]


def _device(v):
    name = str(v).strip().lower()
    if isinstance(v, bool) or not (name in ("cpu", "cuda", "auto") or re.fullmatch(r"cuda:\d+", name)):
        raise ValueError(f"got {v!r}, expected cpu, cuda, cuda:N or auto")
    return name


class OutpaintOptions(BackendOptions):
    """Options of the outpaint stack (``zoom.inpaint`` in a storyboard)."""

    model: str = Field(..., min_length=1,
                       description="a local diffusers inpainting pipeline folder or a hub id owner/name")
    steps: int = Field(30, ge=1, strict=True, description="denoising steps")
    guidance: float = Field(7.5, ge=0, strict=True, allow_inf_nan=False, description="guidance scale")
    max_side: int = Field(1024, ge=64, strict=True, description="the keyframe's longer side in pixels")
    device: Annotated[str, BeforeValidator(_device)] = Field("auto", description="cpu, cuda, cuda:N or auto")
    dtype: Annotated[str, BeforeValidator(_dtype)] = Field("auto", description="auto, float32, bfloat16 or float16")
    overlap: float = Field(0.04, ge=0, le=0.25, strict=True,
                           description="fraction of the inner picture the model may repaint at its edge")


OPTIONS = {name: f.description for name, f in OutpaintOptions.model_fields.items()}


def centred_box(width: int, height: int, s: float):
    """Integer output rect and exact source box of a ``width x height`` picture drawn at scale ``s``
    about the centre (see :func:`songreel.assemble.zoom.centred_rect`)."""
    L = width / 2 - width * s / 2
    T = height / 2 - height * s / 2
    x0, y0 = max(0, math.ceil(L - 1e-9)), max(0, math.ceil(T - 1e-9))
    x1, y1 = min(width, math.floor(width - L + 1e-9)), min(height, math.floor(height - T + 1e-9))
    box = (max(0.0, (x0 - L) / s), max(0.0, (y0 - T) / s), min(float(width), (x1 - L) / s),
           min(float(height), (y1 - T) / s))
    return (x0, y0, x1, y1), box


def shrink_into_centre(inner: np.ndarray, ratio: float) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``inner`` (H, W, 3) uint8 drawn at ``1/ratio`` in the centre of a black canvas of the same size.

    Returns the canvas and the rect ``(x0, y0, x1, y1)`` of fully known pixels.
    """
    from PIL import Image

    h, w = inner.shape[:2]
    rect, box = centred_box(w, h, 1.0 / ratio)
    x0, y0, x1, y1 = rect
    canvas = np.zeros_like(inner)
    small = Image.fromarray(np.ascontiguousarray(inner)).resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR,
                                                                 box=box)
    canvas[y0:y1, x0:x1] = np.asarray(small)
    return canvas, rect


def work_size(width: int, height: int, max_side: int, multiple: int = 8) -> tuple[tuple[int, int], tuple[int, int]]:
    """``(region, canvas)``: the keyframe size (project aspect, longer side <= ``max_side``, even) and the
    model canvas around it (each side rounded up to ``multiple``)."""
    k = min(1.0, max_side / max(width, height))
    rw = max(2, int(round(width * k / 2)) * 2)
    rh = max(2, int(round(height * k / 2)) * 2)
    cw = int(math.ceil(rw / multiple) * multiple)
    ch = int(math.ceil(rh / multiple) * multiple)
    return (rw, rh), (cw, ch)


class Outpainter:
    """A diffusers inpainting pipeline driven for the zoom stack (loaded once, on first use).

    Parameters
    ----------
    options : dict
        ``model`` (required) and the optional keys of :data:`OPTIONS`.
    base_dir : Path
        Relative model folders resolve against it (the storyboard's folder).
    field : str
        Where the options sit in the storyboard, for messages.

    Raises
    ------
    InputError, MissingFileError, MissingExtraError
    """

    def __init__(self, options: dict, *, base_dir: Path = Path("."), field: str = "zoom.inpaint"):
        self.field = field
        for mod in ("torch", "diffusers", "transformers"):
            if importlib.util.find_spec(mod) is None:
                raise MissingExtraError("diffusers", mod, f"{field}: the outpaint stack")
        opts = parse_options(OutpaintOptions, options, backend="outpaint", field=field)
        self.options = opts
        self.steps, self.guidance = opts.steps, float(opts.guidance)
        self.max_side, self.overlap = opts.max_side, float(opts.overlap)
        self.model = opts.model.strip()
        self.folder: Optional[Path] = None
        p = Path(os.path.expanduser(self.model))
        cands = [p] if p.is_absolute() else [Path(base_dir) / p, Path.cwd() / p]
        for c in cands:
            if c.is_dir():
                if not (c / "model_index.json").exists():
                    raise InputError(f"{field}.model: {c}: folder has no model_index.json; expected a diffusers "
                                     "inpainting pipeline folder (save_pretrained / a hub snapshot)")
                self.folder = c.resolve()
                break
        else:
            if self.model.startswith((".", "/", "~")) or not _HUB_ID.match(self.model):
                raise MissingFileError(f"{field}.model: got {self.model!r}: no such folder "
                                       f"({' or '.join(str(c) for c in cands)}); expected {OPTIONS['model']}")
        self._pipe = None
        self._lock = threading.Lock()

    def key_context(self) -> dict:
        """What changes the pixels (part of each keyframe's content address)."""
        ident = self.model
        if self.folder is not None:
            try:
                ident = json.loads((self.folder / "model_index.json").read_text()).get("_class_name", "") + ":" + \
                    _folder_digest(self.folder)
            except (OSError, ValueError):
                pass
        return {"inpaint_model": ident, "steps": self.steps, "guidance": self.guidance, "max_side": self.max_side,
                "overlap": self.overlap, "outpaint_version": VERSION}

    # -- pipeline ------------------------------------------------------------------------------------

    def _runtime(self):
        import torch

        dev = self.options.device
        if dev == "auto":
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        dt = self.options.dtype
        if dt == "auto":
            dt = "float16" if dev.startswith("cuda") else "float32"
        return dev, getattr(torch, dt)

    def pipe(self):
        with self._lock:
            if self._pipe is None:
                from diffusers import DiffusionPipeline

                dev, dtype = self._runtime()
                src = str(self.folder) if self.folder else self.model
                try:
                    pipe = DiffusionPipeline.from_pretrained(src, torch_dtype=dtype)
                except OSError as e:
                    why = str(e).splitlines()[0][:120] if str(e) else "OSError"
                    raise MissingFileError(
                        f"{self.field}.model: {self.model!r} could not be loaded ({why}); "
                        "download it first (huggingface-cli download ...) or give a local folder") from None
                params = inspect.signature(pipe.__call__).parameters
                if "mask_image" not in params:
                    raise InputError(f"{self.field}.model: {type(pipe).__name__} is not an inpainting pipeline "
                                     "(no mask_image); expected e.g. StableDiffusionInpaintPipeline, "
                                     "StableDiffusionXLInpaintPipeline or FluxFillPipeline")
                if hasattr(pipe, "set_progress_bar_config"):
                    pipe.set_progress_bar_config(disable=True)
                self._pipe = pipe.to(dev)
            return self._pipe

    def _run(self, image: np.ndarray, mask: np.ndarray, prompt: str, negative: str, seed: int) -> np.ndarray:
        import torch
        from PIL import Image

        pipe = self.pipe()
        h, w = image.shape[:2]
        params = inspect.signature(pipe.__call__).parameters
        kw = dict(prompt=prompt, image=Image.fromarray(image), mask_image=Image.fromarray(mask),
                  height=h, width=w, num_inference_steps=self.steps, guidance_scale=self.guidance,
                  generator=torch.Generator(device="cpu").manual_seed(int(seed) % (2**63)), output_type="np")
        if negative and "negative_prompt" in params:
            kw["negative_prompt"] = negative
        if "strength" in params:
            kw["strength"] = 1.0
        kw = {k: v for k, v in kw.items() if k in params}
        try:
            out = pipe(**kw).images
        except (RuntimeError, ValueError) as e:
            raise GenerationError(f"{self.field}: {type(pipe).__name__} failed on a {w}x{h} keyframe: "
                                  f"{str(e).splitlines()[0][:300] if str(e) else type(e).__name__}") from None
        a = np.asarray(out[0] if isinstance(out, (list, tuple)) or getattr(out, "ndim", 3) == 4 else out)
        if a.dtype != np.uint8:
            a = np.clip(np.round(a.astype(np.float32) * 255), 0, 255).astype(np.uint8)
        if a.shape[:2] != (h, w):
            a = np.asarray(Image.fromarray(a).resize((w, h), Image.Resampling.LANCZOS))
        return a[..., :3]

    # -- the two operations ---------------------------------------------------------------------------

    def first(self, width: int, height: int, prompt: str, negative: str, seed: int) -> np.ndarray:
        """The innermost keyframe: the whole canvas inpainted (text to image), project aspect."""
        (rw, rh), (cw, ch) = work_size(width, height, self.max_side)
        canvas = np.full((ch, cw, 3), 127, dtype=np.uint8)
        mask = np.full((ch, cw), 255, dtype=np.uint8)
        out = self._run(canvas, mask, prompt, negative, seed)
        y, x = (ch - rh) // 2, (cw - rw) // 2
        return np.ascontiguousarray(out[y:y + rh, x:x + rw])

    def outpaint(self, inner: np.ndarray, ratio: float, prompt: str, negative: str, seed: int) -> np.ndarray:
        """The next outer keyframe: ``inner`` shrunk by ``1/ratio`` into the centre, the border inpainted
        with ``prompt``, the known centre pasted back (exact inside, blended over ``overlap`` at its edge).

        Returns an array the size of ``inner`` whose centre is ``inner`` downscaled.
        """
        rh, rw = inner.shape[:2]
        known, rect = shrink_into_centre(inner, ratio)
        (_, _), (cw, ch) = work_size(rw, rh, max(rw, rh))
        oy, ox = (ch - rh) // 2, (cw - rw) // 2
        canvas = np.full((ch, cw, 3), 127, dtype=np.uint8)
        canvas[oy:oy + rh, ox:ox + rw] = known
        x0, y0, x1, y1 = rect
        # fill the unknown border with the edge colours of the known centre (a better start than grey)
        region = canvas[oy:oy + rh, ox:ox + rw]
        region[:y0] = region[y0:y0 + 1]
        region[y1:] = region[y1 - 1:y1]
        region[:, :x0] = region[:, x0:x0 + 1]
        region[:, x1:] = region[:, x1 - 1:x1]
        canvas[:oy] = canvas[oy:oy + 1]
        canvas[oy + rh:] = canvas[oy + rh - 1:oy + rh]
        canvas[:, :ox] = canvas[:, ox:ox + 1]
        canvas[:, ox + rw:] = canvas[:, ox + rw - 1:ox + rw]
        m = max(1, int(round(self.overlap * (x1 - x0))))
        mask = np.full((ch, cw), 255, dtype=np.uint8)
        mask[oy + y0 + m:oy + y1 - m, ox + x0 + m:ox + x1 - m] = 0
        out = self._run(canvas, mask, prompt, negative, seed)[oy:oy + rh, ox:ox + rw].astype(np.float32)
        # paste the known centre back: exact inside, a linear ramp over the overlap margin
        wx = np.clip((np.arange(x1 - x0, dtype=np.float32) + 0.5) / m, 0, 1)
        wx = np.minimum(wx, wx[::-1])
        wy = np.clip((np.arange(y1 - y0, dtype=np.float32) + 0.5) / m, 0, 1)
        wy = np.minimum(wy, wy[::-1])
        a = (wy[:, None] * wx[None, :])[..., None]
        centre = out[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = centre + (known[y0:y1, x0:x1].astype(np.float32) - centre) * a
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    def close(self) -> None:
        self._pipe = None


def _folder_digest(folder: Path) -> str:
    """Cheap identity of a model folder: its JSON configs' contents and the names and sizes of the rest
    (so a copied or moved folder keeps its keyframes)."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            rel = p.relative_to(folder).as_posix()
            if p.suffix == ".json":
                h.update(rel.encode() + p.read_bytes())
            else:
                h.update(f"{rel}:{p.stat().st_size}".encode())
    return h.hexdigest()[:16]
