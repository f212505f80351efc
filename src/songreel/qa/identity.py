"""Identity: does a shot still look like its character's reference image?

An image-embedding model (CLIP or SigLIP vision tower, through transformers) embeds the reference and
a few frames of the shot; the measure is the best cosine similarity. The model is
``openai/clip-vit-base-patch32`` unless ``SONGREEL_QA_MODEL`` names another hub id or a local folder
(weights are fetched by Hugging Face on first use and cached on the user's machine). It needs the
``diffusers`` extra (which brings torch and transformers); without it, or when the model cannot be
loaded, identity is not measured and the report says why — scoring never fails for it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "openai/clip-vit-base-patch32"
ENV = "SONGREEL_QA_MODEL"
#: CLIP's normalisation, used when a model folder has no image-processor config
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class Embedder:
    """A loaded image-embedding model. ``embed(images) -> (n, d)`` unit vectors."""

    def __init__(self, model, processor, size: int, name: str):
        self.model, self.processor, self.size, self.name = model, processor, size, name

    def embed(self, images) -> np.ndarray:
        """Unit-length embeddings of ``(H, W, 3)`` uint8 images."""
        import torch

        if self.processor is not None:
            pixels = self.processor(images=list(images), return_tensors="pt")["pixel_values"]
        else:
            from PIL import Image

            side = (self.size, self.size)
            arr = [np.asarray(Image.fromarray(im).resize(side, Image.Resampling.BICUBIC), dtype=np.float32) / 255.0
                   for im in images]
            x = (np.stack(arr) - np.asarray(CLIP_MEAN, np.float32)) / np.asarray(CLIP_STD, np.float32)
            pixels = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        with torch.no_grad():
            out = self.model(pixel_values=pixels.to(self.model.dtype))
        emb = getattr(out, "image_embeds", None)
        if emb is None:
            emb = out.pooler_output
        v = emb.float().cpu().numpy()
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


_CACHE: dict = {}


def load_embedder(name: str | None = None) -> tuple[Embedder | None, str | None]:
    """The identity model, or ``(None, note)`` saying why it is not available.

    Parameters
    ----------
    name : str, optional
        A hub id or a local folder; default ``$SONGREEL_QA_MODEL``, else :data:`DEFAULT_MODEL`.
    """
    name = name or os.environ.get(ENV) or DEFAULT_MODEL
    if name in _CACHE:
        return _CACHE[name]
    _CACHE[name] = result = _load(name)
    return result


def _load(name: str):
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError:
        return None, "identity not measured: the image model needs pip install 'songreel[diffusers]'"
    folder = Path(name).expanduser()
    local = folder.is_dir()
    if not local and (name.startswith((".", "/", "~")) or name.count("/") > 1):
        return None, f"identity not measured: {ENV}={name}: no such model folder"
    source = str(folder.resolve()) if local else name
    try:
        config = transformers.AutoConfig.from_pretrained(source)
        kind = config.model_type
        model: Any
        if kind in ("clip", "clip_vision_model"):
            model = transformers.CLIPVisionModelWithProjection.from_pretrained(source)
        elif kind in ("siglip", "siglip_vision_model"):
            model = transformers.SiglipVisionModel.from_pretrained(source)
        else:
            return None, f"identity not measured: {name} is a {kind!r} model; expected a CLIP or SigLIP vision model"
        try:
            processor = transformers.AutoImageProcessor.from_pretrained(source)
        except (OSError, ValueError):
            processor = None
    except (OSError, ValueError, KeyError) as e:
        where = "the folder" if local else "the Hugging Face hub (no network, or no such model?)"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return None, f"identity not measured: cannot load {name} from {where}: {first[:160]}"
    model.eval()
    vision = getattr(config, "vision_config", config)
    size = int(getattr(vision, "image_size", 224))
    log.info("identity model %s loaded (%s)", name, kind)
    return Embedder(model, processor, size, name), None


def identity_similarity(embedder: Embedder, reference: np.ndarray, frames) -> float:
    """Best cosine similarity of ``frames`` to ``reference`` (all ``(H, W, 3)`` uint8)."""
    e = embedder.embed([reference, *frames])
    return float(np.max(e[1:] @ e[0]))
