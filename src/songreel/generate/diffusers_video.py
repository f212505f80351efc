"""The ``diffusers`` backend: open video models (Wan, LTX-Video, CogVideoX, FramePack) on your GPU.

Storyboard::

    backend: {name: diffusers, model: wan2.2-ti2v-5b}                # a preset (songreel models list)
    backend: {name: diffusers, model: Wan-AI/Wan2.1-T2V-1.3B-Diffusers, steps: 30}   # any hub id
    backend: {name: diffusers, model: ./models/my-wan, offload: model}              # a local folder

One backend instance serves every shot with the same spec in a render: the pipeline is loaded once
(lazily, on the first clip) and reused; pipelines of other classes on the same weights (Wan 2.2
text→video and image→video) are built from the loaded components without reloading. ``close()`` frees
them.

Conditioning, per request (the runner chains segments):

- nothing: text-to-video;
- ``first_frame``: image-to-video (Wan I2V / TI2V, CogVideoX I2V, FramePack, LTX condition at frame 0);
- ``last_frame``: Wan FLF2V ``last_image=``, FramePack ``last_image=``, LTX condition at the last index;
- ``prefix``: LTX video condition with the last ``8m+1`` frames at index 0. The frames the model
  re-makes for the prefix are dropped except the last, so — as with image-to-video — a chained clip's
  frame 0 shows the previous clip's last frame.

torch / diffusers / transformers are imported inside methods only.
"""

from __future__ import annotations

import gc
import importlib.util
import inspect
import math
import os
import re
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import GenerationError, InputError, MissingExtraError, MissingFileError, UnknownNameError, did_you_mean
from ..schema.clip import GenerationRequest
from ..schema.storyboard import BackendSpec
from . import diffusers_presets as presets
from .base import Capabilities, GenerationResult, ProjectInfo

DEFAULT_MODEL = "wan2.2-ti2v-5b"
from .base import TAIL_FRAMES as TAIL  # frames handed back for chaining

OPTIONS = {
    "model": "a preset name (songreel models list), a hub id owner/name, or a local folder",
    "steps": "an integer >= 1",
    "guidance": "a number >= 0",
    "width": "an integer >= 16 (pixels)",
    "height": "an integer >= 16 (pixels)",
    "fps": "a positive number or fraction such as 16 or 24000/1001",
    "max_frames": "an integer >= 1",
    "device": "cpu, cuda, cuda:N or auto",
    "dtype": "auto, float32 (fp32), bfloat16 (bf16) or float16 (fp16)",
    "offload": "none, model, group or sequential",
    "vae_tiling": "true or false",
    "compile": "true or false",
}
_DTYPES = {"auto": "auto", "float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16", "half": "float16"}
_OFFLOAD = ("none", "model", "group", "sequential")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _show(v: Any) -> str:
    return f'"{v}"' if isinstance(v, str) else repr(v)


class DiffusersBackend:
    """Open video models through Hugging Face diffusers.

    Parameters
    ----------
    spec : BackendSpec
        ``name: diffusers`` and the options in :data:`OPTIONS`.
    project : ProjectInfo
    field : str
        Where the spec sits in the storyboard (``shots[2].backend``), for messages.

    Raises
    ------
    InputError
        An unknown or malformed option.
    UnknownNameError
        ``model`` is neither a preset, a hub id nor an existing folder.
    MissingExtraError
        torch / diffusers / transformers are not installed.
    """

    name = "diffusers"
    version = "1"

    def __init__(self, spec: BackendSpec, *, project: ProjectInfo, field: str = "backend"):
        self.spec = spec
        self.project = project
        self.field = field
        for mod in ("torch", "diffusers", "transformers"):
            if importlib.util.find_spec(mod) is None:
                raise MissingExtraError("diffusers", mod, f'{field}: backend "diffusers"')
        self.options = self._check_options(dict(spec.options))
        self.preset: Optional[presets.Preset] = None
        self.folder: Optional[Path] = None
        self.hub_id: Optional[str] = None
        self._profile: Optional[presets.Profile] = None
        self._base_class: Optional[str] = None
        self._resolve_model(str(self.options.get("model", DEFAULT_MODEL)))
        self._pipes: dict = {}
        self._active: Optional[tuple] = None
        self._runtime_cache: Optional[tuple] = None
        self._lock = threading.RLock()

    # -- options and model --------------------------------------------------------------------------

    def _check_options(self, opts: dict) -> dict:
        f = self.field
        for k in opts:
            if k not in OPTIONS:
                raise InputError(f"{f}.{k}: unknown option for backend diffusers{did_you_mean(k, OPTIONS)}; "
                                 f"accepted: {', '.join(OPTIONS)}")

        def bad(k, v):
            return InputError(f"{f}.{k}: got {_show(v)}, expected {OPTIONS[k]}")

        out = dict(opts)
        for k, lo in (("steps", 1), ("width", 16), ("height", 16), ("max_frames", 1)):
            if k in opts:
                v = opts[k]
                if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                    raise bad(k, v)
        if "guidance" in opts:
            v = opts["guidance"]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or not math.isfinite(v):
                raise bad("guidance", v)
            out["guidance"] = float(v)
        if "fps" in opts:
            v = opts["fps"]
            try:
                if isinstance(v, bool):
                    raise ValueError
                fps = Fraction(str(v)) if not isinstance(v, float) else Fraction(v).limit_denominator(1001)
                if fps <= 0:
                    raise ValueError
            except (ValueError, ZeroDivisionError):
                raise bad("fps", v) from None
            out["fps"] = fps
        if "device" in opts:
            v = str(opts["device"]).strip().lower()
            if not (v in ("cpu", "cuda", "auto") or re.fullmatch(r"cuda:\d+", v)):
                raise bad("device", opts["device"])
            out["device"] = v
        if "dtype" in opts:
            v = str(opts["dtype"]).strip().lower().replace("torch.", "")
            if v not in _DTYPES:
                raise bad("dtype", opts["dtype"])
            out["dtype"] = _DTYPES[v]
        if "offload" in opts:
            v = opts["offload"]
            v = "none" if v is False or v is None else str(v).strip().lower()
            if v not in _OFFLOAD:
                raise bad("offload", opts["offload"])
            out["offload"] = v
        for k in ("vae_tiling", "compile"):
            if k in opts and not isinstance(opts[k], bool):
                raise bad(k, opts[k])
        if "model" in opts and (not isinstance(opts["model"], str) or not opts["model"].strip()):
            raise bad("model", opts["model"])
        return out

    def _resolve_model(self, value: str) -> None:
        """Preset, local folder or hub id — decided without network or torch."""
        f = f"{self.field}.model"
        value = value.strip()
        self.model = value
        preset = presets.get(value)
        if preset is not None:
            self.preset = preset
            self.model = preset.name
            self.hub_id = preset.hub_id
            self._profile = preset.profile
            self._base_class = preset.profile.t2v or preset.profile.i2v
            return
        expanded = Path(os.path.expanduser(value))
        candidates = [expanded] if expanded.is_absolute() else [self.project.base_dir / expanded, Path.cwd() / expanded]
        for c in candidates:
            if c.is_dir():
                self._use_folder(c.resolve(), value)
                return
        looks_like_path = value.startswith((".", "/", "~")) or value.count("/") > 1 or "\\" in value
        if looks_like_path or not _HUB_ID.match(value):
            if looks_like_path or "/" in value:
                where = " or ".join(str(c) for c in candidates)
                raise MissingFileError(f"{f}: got {_show(value)}: no such folder ({where}); expected a preset "
                                       f"({', '.join(presets.PRESETS)}), a hub id owner/name, or a model folder")
            raise UnknownNameError(f"{f}: unknown model {_show(value)}{did_you_mean(value.lower(), presets.PRESETS)}; "
                                   f"accepted: {', '.join(presets.PRESETS)}, a hub id owner/name, or a local "
                                   "folder (songreel models list)")
        self.hub_id = value

    def _use_folder(self, folder: Path, shown: str) -> None:
        import json

        f = f"{self.field}.model"
        index = folder / "model_index.json"
        if not index.exists():
            raise InputError(f"{f}: {shown}: folder has no model_index.json; expected a diffusers pipeline folder "
                             "(save_pretrained / a hub snapshot)")
        try:
            doc = json.loads(index.read_text())
        except ValueError:
            raise InputError(f"{f}: {index}: model_index.json is not valid JSON") from None
        self.folder = folder
        self.model = shown
        self._set_profile_from_index(doc, str(index))
        if self._profile is not None and self._profile.family == "wan" and self._profile.i2v:
            # Wan 2.1 FLF2V weights carry a positional embedding for two images and need both
            try:
                tcfg = json.loads((folder / "transformer" / "config.json").read_text())
            except (OSError, ValueError):
                tcfg = {}
            if tcfg.get("pos_embed_seq_len") and not doc.get("expand_timesteps"):
                self._profile = presets.WAN_FLF2V

    def _set_profile_from_index(self, doc: dict, where: str) -> None:
        cls = str(doc.get("_class_name", ""))
        prof = presets.profile_for_class(cls, doc)
        if prof is None:
            raise InputError(f"{self.field}.model: {where}: pipeline class {_show(cls)} is not a video pipeline "
                             f"songreel drives; accepted: {', '.join(presets.CLASS_PROFILES)}")
        self._profile = prof
        self._base_class = cls if cls in (prof.t2v, prof.i2v, prof.flf2v, prof.prefix) else (prof.t2v or prof.i2v)

    @property
    def profile(self) -> presets.Profile:
        if self._profile is None:  # a hub id that is not a preset: read its model_index.json
            import json

            path = self._hub_file(self.hub_id, "model_index.json")
            self._set_profile_from_index(json.loads(Path(path).read_text()), f"{self.hub_id}/model_index.json")
        return self._profile

    # -- the contract -------------------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        p = self.profile
        fps = self.options.get("fps", p.fps)
        max_frames = min(p.max_frames, self.options.get("max_frames", p.max_frames))
        max_frames = max(max_frames, p.min_frames)
        sizes = p.sizes
        if not sizes and "width" not in self.options and "height" not in self.options:
            # the model's trained area in each orientation: a 1080p project gets 832x480, not 1920x1072
            m = p.size_multiple
            side = max(m, int(round(math.sqrt(p.width * p.height) / m)) * m)
            sizes = tuple(dict.fromkeys(((p.width, p.height), (p.height, p.width), (side, side))))
        return Capabilities(
            native_fps=Fraction(fps), frame_multiple=p.frame_multiple, frame_offset=p.frame_offset,
            size_multiple=p.size_multiple, max_frames=max_frames, min_frames=p.min_frames, sizes=sizes,
            first_frame=p.i2v is not None and not p.needs_last, last_frame=p.flf2v is not None,
            video_prefix=TAIL if p.prefix else 0)

    def key_context(self) -> dict:
        """Options that change pixels (steps, guidance, dtype, VAE tiling); not device or offload."""
        p = self.profile
        _, dtype = self._runtime()
        return {"steps": int(self.options.get("steps", p.steps)),
                "guidance": float(self.options.get("guidance", p.guidance)),
                "dtype": dtype, "vae_tiling": bool(self.options.get("vae_tiling", False))}

    def generate(self, request: GenerationRequest, out: Path) -> GenerationResult:
        with self._lock:
            return self._generate(request, Path(out))

    def close(self) -> None:
        with self._lock:
            self._pipes.clear()
            self._active = None
            gc.collect()
            try:
                import torch

                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            except Exception:  # noqa: BLE001 - freeing must never fail a render
                pass

    # -- runtime ------------------------------------------------------------------------------------

    def _runtime(self) -> tuple[str, str]:
        """(device, dtype name), resolving ``auto``; checks a CUDA device exists when asked for."""
        if self._runtime_cache is None:
            import torch

            dev = self.options.get("device", "auto")
            if dev == "auto":
                dev = "cuda" if torch.cuda.is_available() else "cpu"
            elif dev.startswith("cuda"):
                if not torch.cuda.is_available():
                    raise InputError(f"{self.field}.device: got {_show(dev)} but torch {torch.__version__} sees no "
                                     "CUDA GPU; expected cpu or auto on this machine, or a CUDA build of torch "
                                     "on a machine with an NVIDIA GPU")
                idx = int(dev.split(":")[1]) if ":" in dev else 0
                if idx >= torch.cuda.device_count():
                    raise InputError(f"{self.field}.device: got {_show(dev)} but only "
                                     f"{torch.cuda.device_count()} CUDA device(s) exist")
            dtype = self.options.get("dtype", "auto")
            if dtype == "auto":
                dtype = "bfloat16" if dev.startswith("cuda") else "float32"
            self._runtime_cache = (dev, dtype)
        return self._runtime_cache

    def _offline(self) -> bool:
        try:
            from huggingface_hub import constants

            return bool(constants.HF_HUB_OFFLINE)
        except Exception:  # noqa: BLE001
            return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")

    def _missing_model(self, repo: str, err: BaseException) -> MissingFileError:
        shown = self.preset.name if self.preset else repo
        pull = f"songreel models pull {shown}"
        why = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        return MissingFileError(
            f"{self.field}.model: {_show(self.model)}: hub repo {repo} is not in the local Hugging Face cache "
            f"and could not be downloaded ({why}); run `{pull}` where there is network (HF_HOME selects the "
            "cache), set HF_HUB_OFFLINE=1 to use only the cache, or give a local folder: model: /path/to/folder")

    def _hub_file(self, repo: str, filename: str) -> str:
        from huggingface_hub import hf_hub_download, try_to_load_from_cache

        cached = try_to_load_from_cache(repo, filename)
        if isinstance(cached, str):
            return cached
        if self._offline() or not hub_reachable():
            raise self._missing_model(repo, "offline" if self._offline() else "the hub cannot be reached")
        try:
            return hf_hub_download(repo, filename)
        except Exception as e:  # noqa: BLE001 - missing, gated, network: one clear line
            raise self._missing_model(repo, e) from None

    def _local_only(self) -> bool:
        """Check every repo the model needs is cached, or reachable — before importing diffusers (~5 s).

        Returns True when loading must not touch the network (offline, or the hub unreachable and all
        repos cached): huggingface_hub would otherwise retry a dead network for ~20 s.
        """
        if self.folder is not None:
            return False
        repos = self.preset.repos() if self.preset else (self.hub_id,)
        offline = self._offline()
        for repo in repos:
            if not is_cached(repo):
                if offline or not hub_reachable():
                    raise self._missing_model(repo, "offline (HF_HUB_OFFLINE)" if offline
                                              else "the hub cannot be reached")
                return False
        return offline or not hub_reachable()

    def _dtype_kw(self, dtype) -> dict:
        try:
            from diffusers.utils.deprecation_utils import _resolve_dtype  # noqa: F401  (diffusers >= 0.36)

            return {"dtype": dtype}
        except ImportError:
            return {"torch_dtype": dtype}

    def _load_base(self):
        local = self._local_only()  # fails fast, before the slow imports
        import diffusers
        import torch

        for mod, why in (("accelerate", "loading a pipeline folder"), ("transformers", "text encoders")):
            if importlib.util.find_spec(mod) is None:
                raise MissingExtraError("diffusers", mod, f'{self.field}: backend "diffusers" ({why})')
        if self.profile.family == "wan" and importlib.util.find_spec("ftfy") is None:
            raise MissingExtraError("diffusers", "ftfy", f'{self.field}: backend "diffusers" (Wan prompts)')
        device, dtype_name = self._runtime()
        dtype = getattr(torch, dtype_name)
        source = str(self.folder) if self.folder is not None else self.hub_id
        cls = getattr(diffusers, self._base_class)
        kwargs: dict = {}
        if self.profile.vae_fp32 and dtype != torch.float32:
            kwargs.update(self._dtype_kw({"default": dtype, "vae": torch.float32}))
        else:
            kwargs.update(self._dtype_kw(dtype))
        if local:
            kwargs["local_files_only"] = True
        for c in (self.preset.components if self.preset else ()):
            lib = importlib.import_module(c.library)
            ccls = getattr(lib, c.class_name)
            ckw = {"subfolder": c.subfolder} if c.subfolder else {}
            if local:
                ckw["local_files_only"] = True
            if c.class_name.endswith(("Processor", "Extractor")):
                loader = lambda: ccls.from_pretrained(c.repo, **ckw)  # noqa: E731
            else:
                loader = lambda: ccls.from_pretrained(c.repo, **ckw, **self._dtype_kw(dtype))  # noqa: E731
            try:
                kwargs[c.name] = loader()
            except OSError as e:
                raise self._missing_model(c.repo, e) from None
        try:
            pipe = cls.from_pretrained(source, **kwargs)
        except OSError as e:
            if self.folder is not None:
                raise GenerationError(f"{self.field}.model: {self.folder}: could not load the pipeline folder: "
                                      f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
            raise self._missing_model(source, e) from None
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        vae = getattr(pipe, "vae", None)
        if self.options.get("vae_tiling") and vae is not None:
            for m in ("enable_tiling", "enable_slicing"):
                if hasattr(vae, m):
                    getattr(vae, m)()
        offload = self.options.get("offload", "none")
        if not device.startswith("cuda") or offload == "none":
            pipe.to(device)  # offload modes only mean something with a GPU
        elif offload == "group":
            pipe.enable_group_offload(onload_device=torch.device(device), offload_device=torch.device("cpu"),
                                      offload_type="leaf_level", use_stream=True)
        if self.options.get("compile"):
            for name in ("transformer", "transformer_2"):
                m = getattr(pipe, name, None)
                if m is not None:
                    m.compile()
        return pipe

    def _pipeline(self, class_name: str):
        """The pipeline of ``class_name`` on this model's weights, loading once and deriving the rest."""
        device, dtype = self._runtime()
        key = (self.model, class_name, dtype, device)
        pipe = self._pipes.get(key)
        if pipe is None:
            base_key = (self.model, self._base_class, dtype, device)
            base = self._pipes.get(base_key)
            if base is None:
                base = self._pipes[base_key] = self._load_base()
            pipe = base if class_name == self._base_class else _derive(class_name, base)
            if hasattr(pipe, "set_progress_bar_config"):
                pipe.set_progress_bar_config(disable=True)
            self._pipes[key] = pipe
        offload = self.options.get("offload", "none")
        if self._active != key and device.startswith("cuda") and offload in ("model", "sequential"):
            # accelerate hooks live on the pipeline that enabled them: re-enable when switching class
            if offload == "model":
                pipe.enable_model_cpu_offload(device=device)
            else:
                pipe.enable_sequential_cpu_offload(device=device)
        self._active = key
        return pipe

    # -- one clip -----------------------------------------------------------------------------------

    def _plan(self, r: GenerationRequest) -> tuple[str, str]:
        """(mode, pipeline class) for a request's conditioning; raises InputError when unsupported."""
        p = self.profile
        f = f"{self.field}.model"
        supporting = lambda attr: ", ".join(n for n, x in presets.PRESETS.items() if getattr(x.profile, attr)) or "none"  # noqa: E731
        if r.prefix is not None:
            if not p.prefix:
                raise InputError(f"{f}: {_show(self.model)} cannot continue from a video prefix; presets that can: "
                                 f"{supporting('prefix')}")
            if r.last_frame is not None and not p.flf2v:
                raise InputError(f"{f}: {_show(self.model)} cannot take a last frame; presets that can: "
                                 f"{supporting('flf2v')}")
            return "prefix", p.prefix
        if r.last_frame is not None:
            if not p.flf2v:
                raise InputError(f"{f}: {_show(self.model)} cannot take a last frame (shot last_frame:); presets "
                                 f"that can: {supporting('flf2v')}")
            if p.last_requires_first and r.first_frame is None:
                raise InputError(f"{f}: {_show(self.model)} needs a first frame with a last frame (a character "
                                 "image, first_frame:, or a previous segment); ltx-video-0.9.8-distilled takes a "
                                 "last frame alone")
            return "flf2v", p.flf2v
        if p.needs_last:
            raise InputError(f"{f}: {_show(self.model)} makes video between a first and a last frame and this clip "
                             "has no last frame; use it for one-segment shots with last_frame:, or another preset")
        if r.first_frame is not None:
            if not p.i2v:
                raise InputError(f"{f}: {_show(self.model)} cannot start from an image; presets that can: "
                                 f"{supporting('i2v')}")
            return "i2v", p.i2v
        if not p.t2v:
            raise InputError(f"{f}: {_show(self.model)} needs a first frame (image-to-video only) and this clip has "
                             "none: give the shot a character with image: or first_frame:, or use a preset that "
                             f"also makes video from text: {supporting('t2v')}")
        return "t2v", p.t2v

    def _generate(self, r: GenerationRequest, out: Path) -> GenerationResult:
        import torch

        p = self.profile
        mode, class_name = self._plan(r)
        steps = int(self.options.get("steps", p.steps))
        guidance = float(self.options.get("guidance", p.guidance))
        device, dtype = self._runtime()
        w, h = int(r.width), int(r.height)
        frames = int(r.frames)
        drop = 0
        kwargs: dict = {}
        for k, v in p.call:
            if k == "timesteps" and "steps" in self.options:
                continue  # explicit steps replace the authors' timestep list
            kwargs[k] = list(v) if isinstance(v, tuple) else v
        family = p.family

        def pil(a):
            return _to_pil(a, w, h)

        first = pil(r.first_frame.load()) if r.first_frame is not None else None
        last = pil(r.last_frame.load()) if r.last_frame is not None else None
        if mode == "prefix":
            tail = np.asarray(r.prefix.load())
            if tail.ndim == 3:
                tail = tail[None]
            k = (len(tail) - 1) // 8 * 8 + 1  # LTX takes 8m+1 conditioning frames
            drop = k - 1
            frames = _legal(frames + drop, p)
        if family == "ltx":
            from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

            conds = []
            if mode == "prefix":
                conds.append(LTXVideoCondition(video=[pil(x) for x in tail[-k:]], frame_index=0))
            elif first is not None:
                conds.append(LTXVideoCondition(image=first, frame_index=0))
            if last is not None:
                conds.append(LTXVideoCondition(image=last, frame_index=frames - 1))
            if conds:
                kwargs["conditions"] = conds
            kwargs["frame_rate"] = int(round(float(self.options.get("fps", p.fps))))
        else:
            if first is not None:
                kwargs["image"] = first
            if last is not None:
                kwargs["last_image"] = last
        pipe = self._pipeline(class_name)
        generator = torch.Generator(device="cpu").manual_seed(int(r.seed) % (2**63))
        started = time.monotonic()
        try:
            result = pipe(prompt=r.prompt, negative_prompt=r.negative or None, height=h, width=w,
                          num_frames=frames, num_inference_steps=steps, guidance_scale=guidance,
                          generator=generator, output_type="np", **kwargs)
        except torch.cuda.OutOfMemoryError as e:  # type: ignore[attr-defined]
            raise GenerationError(f"{self.field}: {_show(self.model)} ran out of GPU memory at {w}x{h}, {frames} "
                                  f"frames ({str(e).splitlines()[0][:120]}); try offload: model (or group / "
                                  "sequential), vae_tiling: true, or a smaller width/height/max_frames") from None
        except (RuntimeError, ValueError) as e:
            raise GenerationError(f"{self.field}: {_show(self.model)} ({class_name}) failed on a {w}x{h}, "
                                  f"{frames}-frame clip: {str(e).splitlines()[0][:300] if str(e) else type(e).__name__}") from None
        seconds = time.monotonic() - started
        video = _to_uint8(result.frames)
        if drop:
            video = video[drop:]
        if video.shape[0] < r.frames:
            raise GenerationError(f"{self.field}: {_show(self.model)} returned {video.shape[0]} frames, "
                                  f"{r.frames} were asked for")
        if video.shape[1:3] != (h, w):
            video = np.stack([np.asarray(_to_pil(fr, w, h)) for fr in video])
        write_mp4(video, out, r.fps)
        return GenerationResult(
            path=out, frames=int(video.shape[0]), fps=Fraction(r.fps), width=w, height=h,
            provenance={"pipeline": class_name, "mode": mode, "source": str(self.folder or self.hub_id),
                        "steps": steps, "guidance": guidance, "device": device, "dtype": dtype,
                        "offload": self.options.get("offload", "none"), "frames_generated": int(frames),
                        "frames_dropped": drop, "seconds_pipeline": round(seconds, 3)},
            tail_frames=video[-TAIL:].copy())


# ---------------------------------------------------------------------------------------------------
# helpers


_REACHABLE: dict = {}


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face endpoint accepts a TCP connection within ``timeout`` s (cached per process).

    A closed network makes huggingface_hub retry for ~20 s; this answers in milliseconds (DNS failure)
    or ``timeout`` at most, run in a thread so a hanging resolver cannot block longer.
    """
    from urllib.parse import urlparse

    try:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    except Exception:  # noqa: BLE001
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if endpoint in _REACHABLE:
        return _REACHABLE[endpoint]
    u = urlparse(endpoint)
    host, port = u.hostname or "huggingface.co", u.port or (443 if u.scheme == "https" else 80)
    ok = [False]

    def probe():
        import socket

        try:
            socket.create_connection((host, port), timeout=timeout).close()
            ok[0] = True
        except OSError:
            pass

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout + 0.5)
    _REACHABLE[endpoint] = ok[0]
    return ok[0]


def is_cached(repo: str) -> bool:
    """Whether a snapshot of hub repo ``repo`` is in the local cache (no network)."""
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(repo, local_files_only=True)
        return True
    except Exception:  # noqa: BLE001 - LocalEntryNotFoundError and friends
        return False


def _legal(n: int, p: presets.Profile) -> int:
    """Smallest count >= n on the profile's frame rule (no cap: a prefix run may pass max_frames)."""
    m, o = p.frame_multiple, p.frame_offset
    return m * max(0, math.ceil((n - o) / m)) + o


def _derive(class_name: str, base):
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
        raise GenerationError(f"backend.model: {type(base).__name__} weights lack {', '.join(missing)} for "
                              f"{class_name}; this model cannot do that kind of conditioning")
    return cls(**comps, **config)


def _to_pil(a, w: int, h: int):
    """uint8 (H, W, 3) → PIL image of exactly ``w`` x ``h`` (cover-crop keeping the aspect, then resize)."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(np.asarray(a, dtype=np.uint8))[..., :3])
    if im.size == (w, h):
        return im
    sw, sh = im.size
    scale = max(w / sw, h / sh)
    cw, ch = min(sw, round(w / scale)), min(sh, round(h / scale))
    left, top = (sw - cw) // 2, (sh - ch) // 2
    return im.crop((left, top, left + cw, top + ch)).resize((w, h), Image.LANCZOS)


def _to_uint8(frames) -> np.ndarray:
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
        a = np.clip(np.round(a.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return np.ascontiguousarray(a[..., :3])


def write_mp4(video: np.ndarray, out: Path, fps: Fraction, *, crf: int = 12, preset: str = "veryfast") -> None:
    """Encode uint8 ``(F, H, W, 3)`` frames to H.264 yuv420p MP4 at ``fps`` (PyAV, flushed)."""
    import av

    f, h, w, _ = video.shape
    with av.open(str(out), mode="w", format="mp4") as c:
        stream = c.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = w - (w % 2), h - (h % 2)
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        for i in range(f):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(video[i, :stream.height, :stream.width]),
                                               format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)
