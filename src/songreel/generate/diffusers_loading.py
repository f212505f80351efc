"""Loading diffusers pipelines onto a device: dtype, offload, compile, and one set of weights per model.

:class:`Pipelines` loads a model's pipeline once (lazily, on the first clip), builds pipelines of
other classes over the same components (Wan 2.2 text→video and image→video) without reloading, keeps
accelerate's offload hooks on whichever pipeline runs, and loads the extra parts a route needs (LTX-2's
latent upsampler and its stage-2 LoRA). torch / diffusers / transformers are imported inside functions.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
from typing import Any

from ..errors import GenerationError, InputError, MissingExtraError
from .diffusers_source import ModelSource, show

log = logging.getLogger(__name__)


def resolve_runtime(device: str, dtype: str, *, field: str) -> tuple[str, str]:
    """(device, dtype name) with ``auto`` resolved; checks a CUDA device exists when one is asked for."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"{field}.device: got {show(device)} but torch {torch.__version__} sees no "
                             "CUDA GPU; expected cpu or auto on this machine, or a CUDA build of torch "
                             "on a machine with an NVIDIA GPU")
        idx = int(device.split(":")[1]) if ":" in device else 0
        if idx >= torch.cuda.device_count():
            raise InputError(f"{field}.device: got {show(device)} but only "
                             f"{torch.cuda.device_count()} CUDA device(s) exist")
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    return device, dtype


def transformers_dtype_kw(dtype) -> dict:
    """The dtype keyword a transformers ``from_pretrained`` takes: ``dtype`` from 4.56, ``torch_dtype`` before."""
    import transformers
    from packaging.version import Version

    return {"dtype": dtype} if Version(transformers.__version__).release >= (4, 56) else {"torch_dtype": dtype}


def component_dtypes(profile, dtype):
    """diffusers ``dtype=``: one dtype, or a per-component mapping keeping Wan's VAE / CLIP in float32."""
    import torch

    if dtype == torch.float32:
        return dtype
    keep = [name for name, flag in (("vae", profile.vae_fp32), ("image_encoder", profile.image_encoder_fp32)) if flag]
    return {"default": dtype, **{k: torch.float32 for k in keep}} if keep else dtype


class Pipelines:
    """The pipelines of one model on one device.

    Parameters
    ----------
    source : ModelSource
    device, dtype : str
        Resolved (:func:`resolve_runtime`).
    offload : str
        ``none``, ``model``, ``group`` or ``sequential`` (only on CUDA).
    vae_tiling, compile : bool
    field : str
        Where the backend stands in the storyboard, for messages.
    """

    def __init__(self, source: ModelSource, *, device: str, dtype: str, offload: str = "none",
                 vae_tiling: bool = False, compile: bool = False, field: str = "backend"):
        self.source, self.device, self.dtype_name = source, device, dtype
        self.offload, self.vae_tiling, self.compile, self.field = offload, vae_tiling, compile, field
        self._pipes: dict = {}
        self._active: str | None = None
        self._upsampler: Any = None  # an LTX2LatentUpsamplePipeline once built (diffusers is not type-checked)
        self.load_seconds = 0.0

    def get(self, class_name: str):
        """The pipeline of ``class_name`` on this model's weights, loading once and deriving the rest."""
        import time

        pipe = self._pipes.get(class_name)
        if pipe is None:
            base_name = self.source.base_class
            base = self._pipes.get(base_name)
            if base is None:
                t = time.monotonic()
                base = self._pipes[base_name] = self._load_base()
                self.load_seconds += time.monotonic() - t
            pipe = base if class_name == base_name else derive(class_name, base, field=self.field)
            if hasattr(pipe, "set_progress_bar_config"):
                pipe.set_progress_bar_config(disable=True)
            self._pipes[class_name] = pipe
        if self._active != class_name and self.device.startswith("cuda") and self.offload in ("model", "sequential"):
            # accelerate hooks live on the pipeline that enabled them: re-enable when switching class
            if self.offload == "model":
                pipe.enable_model_cpu_offload(device=self.device)
            else:
                pipe.enable_sequential_cpu_offload(device=self.device)
        self._active = class_name
        return pipe

    def loaded(self) -> list:
        return list(self._pipes.values())

    def clear(self) -> None:
        self._pipes.clear()
        self._upsampler = None
        self._active = None

    # -- loading ----------------------------------------------------------------------------------

    def _load_base(self):
        src = self.source
        local = src.local_only()  # fails fast, before the slow imports
        import diffusers
        import torch

        for mod, why in (("accelerate", "loading a pipeline folder"), ("transformers", "text encoders")):
            if importlib.util.find_spec(mod) is None:
                raise MissingExtraError("diffusers", mod, f'{self.field}: backend "diffusers" ({why})')
        prof = src.profile
        if prof.family.startswith(("wan", "skyreels")) and importlib.util.find_spec("ftfy") is None:
            raise MissingExtraError("diffusers", "ftfy", f'{self.field}: backend "diffusers" (Wan prompts)')
        dtype = getattr(torch, self.dtype_name)
        cls = getattr(diffusers, src.base_class, None)
        if cls is None:
            raise GenerationError(f"{self.field}.model: {show(src.shown)} needs diffusers.{src.base_class}, which "
                                  f"diffusers {diffusers.__version__} lacks; pip install -U 'songreel[diffusers]'")
        kwargs: dict = {"dtype": component_dtypes(prof, dtype)}
        if local:
            kwargs["local_files_only"] = True
        for c in (src.preset.components if src.preset else ()):
            kwargs[c.name] = self._component(c, dtype, local)
        try:
            pipe = cls.from_pretrained(src.location, **kwargs)
        except OSError as e:
            if src.folder is not None:
                raise GenerationError(f"{self.field}.model: {src.folder}: could not load the pipeline folder: "
                                      f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
            raise src.missing(src.location, e) from None
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        self._place(pipe)
        return pipe

    def _component(self, c, dtype, local: bool):
        lib = importlib.import_module(c.library)
        ccls = getattr(lib, c.class_name)
        kw: dict = {"subfolder": c.subfolder} if c.subfolder else {}
        if local:
            kw["local_files_only"] = True
        if not c.class_name.endswith(("Processor", "Extractor")):
            kw.update(transformers_dtype_kw(dtype) if c.library == "transformers" else {"dtype": dtype})
        try:
            return ccls.from_pretrained(c.repo, **kw)
        except OSError as e:
            raise self.source.missing(c.repo, e) from None

    def _place(self, pipe) -> None:
        """VAE tiling, device placement / group offload, and compile — in that order."""
        import torch

        vae = getattr(pipe, "vae", None)
        if self.vae_tiling and vae is not None:
            for m in ("enable_tiling", "enable_slicing"):
                if hasattr(vae, m):
                    getattr(vae, m)()
        if not self.device.startswith("cuda") or self.offload == "none":
            pipe.to(self.device)  # offload modes only mean something with a GPU
        elif self.offload == "group":
            pipe.enable_group_offload(onload_device=torch.device(self.device), offload_device=torch.device("cpu"),
                                      offload_type="leaf_level", use_stream=True)
        if self.compile:
            for name in ("transformer", "transformer_2"):
                module = getattr(pipe, name, None)
                if module is not None:
                    module.compile()

    # -- LTX-2's second stage -----------------------------------------------------------------------

    def upsampler(self, base):
        """``LTX2LatentUpsamplePipeline`` over ``base``'s VAE and the weights' ``latent_upsampler/``."""
        if self._upsampler is None:
            import torch
            from diffusers import LTX2LatentUpsamplePipeline
            from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

            kw: dict = {"subfolder": "latent_upsampler", "dtype": getattr(torch, self.dtype_name)}
            try:
                model = LTX2LatentUpsamplerModel.from_pretrained(self.source.location, **kw)
            except OSError as e:
                raise self.source.missing(self.source.location, e) from None
            model.to(self.device)  # small (~0.1 B parameters): kept on the device under every offload mode
            up = LTX2LatentUpsamplePipeline(vae=base.vae, latent_upsampler=model)
            up.set_progress_bar_config(disable=True)
            self._upsampler = up
        return self._upsampler

    def stage2_lora(self, pipe, lora: tuple | None) -> None:
        """Load and activate the distilled LoRA the refine pass needs on dev weights (once)."""
        if lora is None or getattr(pipe, "_songreel_stage2", False):
            return
        repo, weight = lora
        try:
            pipe.load_lora_weights(repo, adapter_name="stage_2_distilled", weight_name=weight)
        except OSError as e:
            raise self.source.missing(repo, e) from None
        pipe._songreel_stage2 = True


def derive(class_name: str, base, *, field: str = "backend"):
    """A pipeline of ``class_name`` over ``base``'s components (no reload, no dtype change).

    ``DiffusionPipeline.from_pipe`` would do this but casts every shared module to one dtype (float32 by
    default), which would undo a float32 VAE beside a bfloat16 transformer.
    """
    import diffusers

    cls = getattr(diffusers, class_name)
    params = inspect.signature(cls.__init__).parameters
    comps = {k: v for k, v in base.components.items() if k in params}
    config = {k: v for k, v in dict(base.config).items()
              if k in params and k not in comps and not k.startswith("_")}
    missing = [k for k, prm in params.items()
               if k != "self" and prm.default is inspect.Parameter.empty and k not in comps and k not in config
               and prm.kind not in (prm.VAR_KEYWORD, prm.VAR_POSITIONAL)]
    if missing:
        raise GenerationError(f"{field}.model: {type(base).__name__} weights lack {', '.join(missing)} for "
                              f"{class_name}; this model cannot do that kind of conditioning")
    return cls(**comps, **config)
