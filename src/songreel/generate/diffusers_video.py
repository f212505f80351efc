"""The ``diffusers`` backend: open video models (Wan, LTX-2, HunyuanVideo, SkyReels-V2 ...) on your GPU.

Storyboard::

    backend: {name: diffusers, model: wan2.2-ti2v-5b}                # a preset (songreel models list)
    backend: {name: diffusers, model: Wan-AI/Wan2.1-T2V-1.3B-Diffusers, steps: 30}   # any hub id
    backend: {name: diffusers, model: ./models/my-wan, offload: model}              # a local folder

One backend instance serves every shot with the same spec in a render: the pipeline is loaded once
(lazily, on the first clip) and reused (:mod:`~songreel.generate.diffusers_loading`); the route per
request — text, first frame, first+last, video prefix, reference images — is chosen and built by
:mod:`~songreel.generate.diffusers_routes`. This module checks the options at the door, runs the
call, and checks that the pipeline returned exactly the frames it was asked for: a surplus would
shift every chained segment, a shortfall would leave the shot short.

torch / diffusers / transformers are imported inside methods only.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import logging
import re
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator

from ..errors import GenerationError, InputError, MissingExtraError, MissingFileError
from ..schema.clip import GenerationRequest
from ..schema.storyboard import BackendSpec
from . import diffusers_routes as routes
from .base import TAIL_FRAMES, Capabilities, GenerationResult, ProjectInfo
from .diffusers_frames import fit_video, to_uint8, write_clip
from .diffusers_loading import Pipelines, resolve_runtime
from .diffusers_profiles import Profile
from .diffusers_source import HUB_ID, ModelSource, resolve, show
from .options import BackendOptions, parse_options

__all__ = ["DEFAULT_MODEL", "HUB_ID", "DiffusersBackend", "DiffusersOptions"]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "wan2.2-ti2v-5b"

_DTYPES = {"auto": "auto", "float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16", "half": "float16"}


def _fps(v):
    if v is None:
        return None
    try:
        if isinstance(v, bool):
            raise ValueError
        fps = Fraction(str(v)) if not isinstance(v, float) else Fraction(v).limit_denominator(1001)
        if fps <= 0:
            raise ValueError
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"got {show(v)}, expected a positive number or fraction such as 16 or 24000/1001") from None
    return fps


def _dtype(v):
    name = str(v).strip().lower().replace("torch.", "")
    if isinstance(v, bool) or name not in _DTYPES:
        raise ValueError(f"got {show(v)}, expected auto, float32 (fp32), bfloat16 (bf16) or float16 (fp16)")
    return _DTYPES[name]


def _offload(v):
    return "none" if v is False or v is None else (str(v).strip().lower() if isinstance(v, str) else v)


#: Reference images one call takes (the backend's own plus a shot's characters): VACE conditions on each
#: as a separate image, and a few keep one face or costume consistent without crowding the prompt.
MAX_REFERENCES = 4

class DiffusersOptions(BackendOptions):
    """Options of the ``diffusers`` backend (also the docs table and the studio's form)."""

    model: str = Field(DEFAULT_MODEL, min_length=1,
                       description="a preset name (songreel models list), a hub id owner/name, or a local folder")
    steps: int | None = Field(None, ge=1, strict=True, description="denoising steps (default: the preset's)")
    guidance: float | None = Field(None, ge=0, strict=True, allow_inf_nan=False,
                                      description="classifier-free guidance scale (default: the preset's)")
    width: int | None = Field(None, ge=16, strict=True, description="generation width in pixels")
    height: int | None = Field(None, ge=16, strict=True, description="generation height in pixels")
    fps: Annotated[Fraction | None, BeforeValidator(_fps)] = Field(
        None, description="generation rate, e.g. 16 or 24000/1001 (default: the model's native rate)")
    max_frames: int | None = Field(None, ge=1, strict=True, description="longest clip in frames")
    device: str = Field("auto", description="cpu, cuda, cuda:N or auto")
    dtype: Annotated[str, BeforeValidator(_dtype)] = Field("auto", description="auto, float32, bfloat16 or float16")
    offload: Annotated[Literal["none", "model", "group", "sequential"], BeforeValidator(_offload)] = Field(
        "none", description="where weights wait between uses (model: one component on the GPU at a time)")
    vae_tiling: bool = Field(False, strict=True, description="decode in tiles (less memory at large sizes)")
    compile: bool = Field(False, strict=True, description="torch.compile the transformer(s)")
    two_stage: bool | None = Field(None, strict=True,
                                      description="LTX-2: half size, latent upsample x2, refine (default: on "
                                                  "when the weights have a latent_upsampler)")
    reference_images: tuple[str, ...] = Field((), description="VACE: image files (relative to the storyboard) "
                                                              "every clip follows, e.g. the lead's face")

    @field_validator("device", mode="before")
    @classmethod
    def _device(cls, v):
        name = str(v).strip().lower()
        if isinstance(v, bool) or not (name in ("cpu", "cuda", "auto") or re.fullmatch(r"cuda:\d+", name)):
            raise ValueError(f"got {show(v)}, expected cpu, cuda, cuda:N or auto")
        return name

    @field_validator("reference_images", mode="before")
    @classmethod
    def _refs(cls, v):
        return (v,) if isinstance(v, str) else v


class DiffusersBackend:
    """Open video models through Hugging Face diffusers.

    Parameters
    ----------
    spec : BackendSpec
        ``name: diffusers`` and the options of :class:`DiffusersOptions`.
    project : ProjectInfo
    field : str
        Where the spec sits in the storyboard (``shots[2].backend``), for messages.

    Raises
    ------
    InputError
        An unknown or ill-typed option; reference images on a model that takes none.
    UnknownNameError
        ``model`` is neither a preset, a hub id nor an existing folder.
    MissingFileError
        A model folder or reference image that is not there.
    MissingExtraError
        torch / diffusers / transformers are not installed.
    """

    name = "diffusers"
    version = "2"

    Options = DiffusersOptions

    def __init__(self, spec: BackendSpec, *, project: ProjectInfo, field: str = "backend"):
        self.spec, self.project, self.field = spec, project, field
        self.options = parse_options(DiffusersOptions, spec.options, backend="diffusers", field=field)
        for mod in ("torch", "diffusers", "transformers"):
            if importlib.util.find_spec(mod) is None:
                raise MissingExtraError("diffusers", mod, f'{field}: backend "diffusers"')
        self.source: ModelSource = resolve(self.options.model, base_dir=project.base_dir, field=f"{field}.model")
        self.model = self.source.shown
        self.preset = self.source.preset
        self._references = self._check_references()
        self._pipelines: Pipelines | None = None
        self._runtime_cache: tuple[str, str] | None = None
        self._two_stage: bool | None = None
        self._lock = threading.RLock()

    @property
    def folder(self) -> Path | None:
        return self.source.folder

    @property
    def hub_id(self) -> str | None:
        return self.source.hub_id

    @property
    def profile(self) -> Profile:
        return self.source.profile

    def _check_references(self) -> list[tuple[Path, str]]:
        out = []
        for i, written in enumerate(self.options.reference_images):
            f = f"{self.field}.reference_images[{i}]"
            path = Path(written).expanduser()
            path = path if path.is_absolute() else self.project.base_dir / path
            if not path.is_file():
                raise MissingFileError(f"{f}: got {show(written)}: no such file ({path}); expected an image file "
                                       "relative to the storyboard")
            out.append((path, hashlib.sha256(path.read_bytes()).hexdigest()))
        if out and self.source._profile is not None and not self.source._profile.reference:
            raise InputError(f"{self.field}.reference_images: {show(self.model)} takes no reference images; presets "
                             f"that do: {routes.supporting('reference')}")
        return out

    # -- the contract -------------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        p, o = self.profile, self.options
        fps = o.fps or p.fps
        max_frames = max(min(p.max_frames, o.max_frames or p.max_frames), p.min_frames)
        sizes = p.sizes
        if not sizes and o.width is None and o.height is None:
            # the model's trained area in each orientation: a 1080p project gets 832x480, not 1920x1072
            m = p.size_multiple
            side = max(m, int(round((p.width * p.height) ** 0.5 / m)) * m)
            sizes = tuple(dict.fromkeys(((p.width, p.height), (p.height, p.width), (side, side))))
        return Capabilities(
            native_fps=Fraction(fps), frame_multiple=p.frame_multiple, frame_offset=p.frame_offset,
            size_multiple=p.size_multiple, max_frames=max_frames, min_frames=p.min_frames, sizes=sizes,
            first_frame=p.i2v is not None and not p.needs_last, last_frame=p.flf2v is not None,
            video_prefix=TAIL_FRAMES if p.prefix else 0,
            max_references=max(0, MAX_REFERENCES - len(self._references)) if p.reference else 0)

    def key_context(self) -> dict:
        """Options that change pixels (steps, guidance, dtype, VAE tiling, stages, references); not device
        or offload."""
        p = self.profile
        _, dtype = self._runtime()
        ctx = {"steps": int(self.options.steps or p.steps),
               "guidance": float(p.guidance if self.options.guidance is None else self.options.guidance),
               "dtype": dtype, "vae_tiling": bool(self.options.vae_tiling)}
        if p.two_stage:
            ctx["two_stage"] = self.two_stage
        if self._references:
            ctx["reference_images"] = [h for _, h in self._references]
        return ctx

    @property
    def two_stage(self) -> bool:
        """LTX-2's upsample-and-refine route: on by default when the weights carry a latent upsampler."""
        if self._two_stage is None:
            if not self.profile.two_stage or self.options.two_stage is False:
                self._two_stage = False
            elif self.preset is not None:
                self._two_stage = True
            else:
                has = self.source.has_subfolder("latent_upsampler")
                if self.options.two_stage and not has:
                    raise InputError(f"{self.field}.two_stage: got true but {show(self.model)} has no "
                                     "latent_upsampler/ folder; expected false for these weights")
                self._two_stage = has
        return self._two_stage

    def generate(self, request: GenerationRequest, out: Path) -> GenerationResult:
        with self._lock:
            return self._generate(request, Path(out))

    def close(self) -> None:
        with self._lock:
            if self._pipelines is not None:
                self._pipelines.clear()
            gc.collect()
            try:
                import torch

                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            except Exception:  # noqa: BLE001 - freeing must never fail a render
                pass

    # -- runtime ------------------------------------------------------------------------------------

    def _runtime(self) -> tuple[str, str]:
        if self._runtime_cache is None:
            self._runtime_cache = resolve_runtime(self.options.device, self.options.dtype, field=self.field)
        return self._runtime_cache

    @property
    def pipelines(self) -> Pipelines:
        if self._pipelines is None:
            device, dtype = self._runtime()
            o = self.options
            self._pipelines = Pipelines(self.source, device=device, dtype=dtype, offload=o.offload,
                                        vae_tiling=o.vae_tiling, compile=o.compile, field=self.field)
        return self._pipelines

    @property
    def _pipes(self) -> dict:
        """The loaded pipelines by class name (tests look at shared weights)."""
        return self.pipelines._pipes if self._pipelines is not None else {}

    def _pipeline(self, class_name: str):
        return self.pipelines.get(class_name)

    # -- one clip -----------------------------------------------------------------------------------

    def _generate(self, r: GenerationRequest, out: Path) -> GenerationResult:
        import torch

        started = time.monotonic()
        p, o = self.profile, self.options
        # the backend's own reference_images, then the shot's characters (request.references, in the key by content)
        paths = [path for path, _ in self._references] + [Path(x) for x in r.references]
        route = routes.choose(p, r, references=bool(paths), shown=self.model, field=self.field)
        steps = int(o.steps or p.steps)
        guidance = float(p.guidance if o.guidance is None else o.guidance)
        device, dtype = self._runtime()
        refs = [self._load_image(path) for path in paths] if route.class_name == p.reference else []
        call = routes.build(p, route, r, steps=steps, guidance=guidance, fps=float(o.fps or p.fps),
                            explicit_steps=o.steps is not None, references=refs, two_stage=self.two_stage)
        pipe = self._pipeline(route.class_name)
        if p.guidance_kw is None and getattr(pipe, "guider", None) is not None:
            pipe.guider = pipe.guider.new(guidance_scale=guidance)  # HunyuanVideo 1.5 keeps CFG in its guider
        generator = torch.Generator(device="cpu").manual_seed(int(r.seed) % (2**63))
        w, h = int(r.width), int(r.height)
        t0 = time.monotonic()
        try:
            if call.stage2:
                frames = self._two_stages(pipe, r, call, generator)
            else:
                frames = pipe(prompt=r.prompt, negative_prompt=r.negative or None, generator=generator,
                              output_type="np", **call.kwargs).frames
        except torch.cuda.OutOfMemoryError as e:  # type: ignore[attr-defined]
            raise GenerationError(f"{self.field}: {show(self.model)} ran out of GPU memory at {w}x{h}, {call.asked} "
                                  f"frames ({str(e).splitlines()[0][:120]}); try offload: model (or group / "
                                  "sequential), vae_tiling: true, or a smaller width/height/max_frames") from None
        except (RuntimeError, ValueError) as e:
            why = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
            raise GenerationError(f"{self.field}: {show(self.model)} ({route.class_name}) failed on a {w}x{h}, "
                                  f"{call.asked}-frame clip: {why}") from None
        model_seconds = time.monotonic() - t0
        video = to_uint8(frames)
        check_frame_count(video.shape[0], call, r.frames, model=self.model, pipeline=route.class_name,
                          field=self.field)
        video = fit_video(video[call.drop:], w, h)
        write_clip(video, out, r.fps)
        total = time.monotonic() - started
        load = self.pipelines.load_seconds
        self.pipelines.load_seconds = 0.0
        return GenerationResult(
            path=out, frames=int(video.shape[0]), fps=Fraction(r.fps), width=w, height=h,
            provenance={"pipeline": route.class_name, "mode": route.mode, "source": self.source.location,
                        "steps": steps, "guidance": guidance, "device": device, "dtype": dtype,
                        "offload": o.offload, "frames_generated": int(call.asked),
                        "frames_returned": int(call.expect), "frames_dropped": call.drop,
                        "stages": 2 if call.stage2 else 1, "seconds_pipeline": round(model_seconds, 3),
                        "seconds_load": round(load, 3),
                        "seconds_songreel": round(max(0.0, total - model_seconds - load), 3)},
            tail_frames=video[-TAIL_FRAMES:].copy())

    def _two_stages(self, pipe, r: GenerationRequest, call: routes.Call, generator):
        """LTX-2: stage 1 at half size to latents, upsample x2, refine on the distilled sigmas, decode."""
        from diffusers import FlowMatchEulerDiscreteScheduler

        video_latents, audio_latents = pipe(prompt=r.prompt, negative_prompt=r.negative or None,
                                            generator=generator, output_type="latent", return_dict=False,
                                            **call.kwargs)
        upsampled = self.pipelines.upsampler(pipe)(latents=video_latents, output_type="latent",
                                                   return_dict=False)[0]
        lora = self.preset.stage2_lora if self.preset is not None else None
        if lora is not None:
            self.pipelines.stage2_lora(pipe, lora)
            pipe.enable_lora()
        scheduler = pipe.scheduler
        # the refine pass uses its sigmas as given (no resolution-dependent shift)
        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(scheduler.config, use_dynamic_shifting=False,
                                                                     shift_terminal=None)
        stage2 = dict(call.stage2)
        try:
            video, _audio = pipe(prompt=r.prompt, negative_prompt=r.negative or None, latents=upsampled,
                                 audio_latents=audio_latents, num_frames=call.asked,
                                 frame_rate=call.kwargs["frame_rate"], num_inference_steps=len(stage2["sigmas"]),
                                 generator=generator, output_type="np", return_dict=False, **stage2)
        finally:
            pipe.scheduler = scheduler
            if lora is not None:
                pipe.disable_lora()
        return video

    @staticmethod
    def _load_image(path: Path):
        from PIL import Image

        with Image.open(path) as im:
            return im.convert("RGB")


def check_frame_count(got: int, call: routes.Call, wanted: int, *, model: str, pipeline: str, field: str) -> None:
    """Raise GenerationError unless a pipeline returned exactly the frames its call implies.

    ``call.expect`` frames must come back, and after dropping ``call.drop`` re-made prefix frames,
    exactly the ``wanted`` frames the plan asked for: a surplus would start every chained segment late,
    a shortfall would leave the shot short.
    """
    if got != call.expect or got - call.drop != wanted:
        raise GenerationError(f"{field}: {show(model)} ({pipeline}) returned {got} frames for num_frames="
                              f"{call.asked}; expected {call.expect} (then {wanted} after dropping {call.drop} "
                              "re-made prefix frames) — this diffusers version changed the frame rule; "
                              "please report it")
