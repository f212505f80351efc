"""Open video models measured at their published size, with random weights (no download).

For each preset this builds the denoising transformer(s) and the VAE from the published
``config.json`` values (written below, with where each came from), in bfloat16, and runs a few
denoising steps at the preset's native size and frame count under each offload mode (``none``,
``model``, ``group``, ``sequential``) and with ``torch.compile``. It records seconds per step, peak
GPU memory, build/load time, and songreel's own work per clip (frames to uint8, conform, H.264
write, tail for chaining) against the model time (target: at most 3 %).

    python benchmarks/generate_gpu.py --dry-run            # what it would build, parameter counts (CPU, meta device)
    python benchmarks/generate_gpu.py --smoke              # every forward path at toy width on CPU (checks the code)
    python benchmarks/generate_gpu.py --overhead           # songreel's per-clip work at each native size (CPU)
    python benchmarks/generate_gpu.py --presets wan2.1-t2v-1.3b --steps 3 --modes none,group,compile  # on a GPU

The step figures need a CUDA GPU with room for the weights (``none``) or host RAM for them (offload).
Results print as a Markdown table and are written as JSON beside ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from songreel.errors import UnknownNameError
from songreel.generate import diffusers_presets as presets
from songreel.generate.diffusers_profiles import Profile

# ---------------------------------------------------------------------------------------------------
# published configs (diffusers class name, config) — sources named per entry

_WAN_13B = dict(added_kv_proj_dim=None, attention_head_dim=128, cross_attn_norm=True, eps=1e-06, ffn_dim=8960,
                freq_dim=256, in_channels=16, num_attention_heads=12, num_layers=30, out_channels=16,
                patch_size=[1, 2, 2], qk_norm="rms_norm_across_heads", text_dim=4096)
_WAN_14B = dict(_WAN_13B, ffn_dim=13824, num_attention_heads=40, num_layers=40)
_WAN_SRC = "diffusers scripts/convert_wan_to_diffusers.py get_transformer_config (the hub config.json values)"
_WAN_VAE: tuple[str, dict[str, Any], str] = ("AutoencoderKLWan", {},
                                             "AutoencoderKLWan defaults = Wan2.1 VAE config.json")
_WAN22_VAE = ("AutoencoderKLWan", dict(base_dim=160, z_dim=48, is_residual=True, in_channels=12, out_channels=12,
                                       decoder_base_dim=256, scale_factor_temporal=4, scale_factor_spatial=16,
                                       patch_size=2), "convert_wan_to_diffusers.py vae22_diffusers_config")


@dataclass(frozen=True)
class Spec:
    """What to build for one preset: transformer(s), VAE, and the latent geometry of its native clip."""

    family: str
    transformer: tuple            # (class, config, source)
    vae: tuple                    # (class, config, source)
    experts: int = 1              # Wan 2.2 A14B: two transformers of this config
    spatial: int = 8              # VAE spatial factor (times the transformer patch for tokens)
    temporal: int = 4
    latent_channels: int = 16
    text_len: int = 512
    text_dim: int = 4096
    extra: dict = field(default_factory=dict)


SPECS: dict[str, Spec] = {
    "wan2.1-t2v-1.3b": Spec("wan", ("WanTransformer3DModel", _WAN_13B, _WAN_SRC), _WAN_VAE),
    "wan2.2-t2v-a14b": Spec("wan", ("WanTransformer3DModel", _WAN_14B, _WAN_SRC + " (Wan2.2-T2V-A14B: two experts)"),
                            _WAN_VAE, experts=2),
    "wan2.2-ti2v-5b": Spec("wan", ("WanTransformer3DModel", dict(_WAN_13B, ffn_dim=14336, in_channels=48,
                                                                 out_channels=48, num_attention_heads=24),
                                   _WAN_SRC + " (Wan2.2-TI2V-5B)"), _WAN22_VAE, spatial=16, latent_channels=48),
    "wan2.1-vace-1.3b": Spec("wan-vace", ("WanVACETransformer3DModel", dict(
        _WAN_13B, vace_layers=list(range(0, 30, 2)), vace_in_channels=96), _WAN_SRC + " (Wan-VACE-1.3B)"), _WAN_VAE),
    "wan2.1-vace-14b": Spec("wan-vace", ("WanVACETransformer3DModel", dict(
        _WAN_14B, vace_layers=list(range(0, 40, 5)), vace_in_channels=96), _WAN_SRC + " (Wan-VACE-14B)"), _WAN_VAE),
    "skyreels-v2-df-1.3b-540p": Spec("skyreels", ("SkyReelsV2Transformer3DModel", _WAN_13B,
                                                  "SkyReels-V2 DF 1.3B is the Wan 2.1 1.3B architecture "
                                                  "(scripts/convert_skyreelsv2_to_diffusers.py)"), _WAN_VAE),
    "skyreels-v2-df-14b-720p": Spec("skyreels", ("SkyReelsV2Transformer3DModel", _WAN_14B,
                                                 "SkyReels-V2 DF 14B is the Wan 2.1 14B architecture"), _WAN_VAE),
    "cogvideox-5b": Spec("cogvideox", ("CogVideoXTransformer3DModel", dict(
        num_layers=42, num_attention_heads=48, use_rotary_positional_embeddings=True, in_channels=16,
        sample_height=60, sample_width=90), "scripts/convert_cogvideox_to_diffusers.py (5B: 42 layers, 48 heads, "
                                            "RoPE)"), ("AutoencoderKLCogVideoX", {}, "AutoencoderKLCogVideoX defaults"),
        text_len=226),
    "sana-video-2b-480p": Spec("sana-video", ("SanaVideoTransformer3DModel", dict(
        in_channels=16, out_channels=16, num_attention_heads=20, attention_head_dim=112, num_layers=20,
        num_cross_attention_heads=20, cross_attention_head_dim=112, cross_attention_dim=2240, caption_channels=2304,
        mlp_ratio=3.0, sample_size=30, patch_size=(1, 2, 2), qk_norm="rms_norm_across_heads"),
        "scripts/convert_sana_video_to_diffusers.py (2B 480p, Wan VAE)"), _WAN_VAE, text_len=300, text_dim=2304),
    "ltx-video-0.9.8-distilled": Spec("ltx", ("LTXVideoTransformer3DModel", dict(
        in_channels=128, out_channels=128, num_attention_heads=32, attention_head_dim=128, cross_attention_dim=4096,
        num_layers=48, caption_channels=4096), "scripts/convert_ltx_to_diffusers.py (13B)"),
        ("AutoencoderKLLTXVideo", {}, "AutoencoderKLLTXVideo defaults"), spatial=32, temporal=8,
        latent_channels=128, text_len=128),
    "ltx-2": Spec("ltx2", ("LTX2VideoTransformer3DModel", dict(
        in_channels=128, out_channels=128, num_attention_heads=32, attention_head_dim=128, cross_attention_dim=4096,
        audio_in_channels=128, audio_out_channels=128, audio_num_attention_heads=32, audio_attention_head_dim=64,
        audio_cross_attention_dim=2048, num_layers=48, qk_norm="rms_norm_across_heads", caption_channels=3840,
        rope_type="split"), "scripts/convert_ltx2_to_diffusers.py (version 2.0, Lightricks/LTX-2)"),
        ("AutoencoderKLLTX2Video", {}, "AutoencoderKLLTX2Video defaults"), spatial=32, temporal=8,
        latent_channels=128, text_len=1024, text_dim=4096),
}
"""Presets not listed share a backbone with one that is (I2V / FLF2V 14B: the Wan 14B blocks plus an
image projection; ltx-2-distilled: ltx-2), or have step inputs not written yet (HunyuanVideo 1.5,
Kandinsky 5, FramePack: dry-run only, via their class defaults)."""

DRY_ONLY = {
    "hunyuanvideo-1.5-480p": ("HunyuanVideo15Transformer3DModel", dict(target_size=640, task_type="i2v"),
                              "class defaults + scripts/convert_hunyuan_video1_5_to_diffusers.py 480p_t2v"),
    "kandinsky-5-t2v-lite": ("Kandinsky5Transformer3DModel", {}, "class defaults (Lite 2B)"),
    "hunyuanvideo-framepack": ("HunyuanVideoFramepackTransformer3DModel", {}, "class defaults (FramePackI2V_HY)"),
}


def _profile(name: str) -> Profile:
    """The profile of preset ``name`` (every name in SPECS and DRY_ONLY is a preset)."""
    preset = presets.get(name)
    if preset is None:
        raise UnknownNameError(f"benchmark spec {name!r} names no songreel preset; "
                               f"accepted: {', '.join(presets.PRESETS)}")
    return preset.profile


def _cls(name):
    import diffusers

    return getattr(diffusers, name)


def _config(cls, config: dict) -> tuple[dict, list]:
    """The config less keys this diffusers' class does not take (reported, never silently)."""
    import inspect

    params = inspect.signature(cls.__init__).parameters
    kept = {k: v for k, v in config.items() if k in params}
    return kept, sorted(set(config) - set(kept))


def build(class_name: str, config: dict, *, device: str, dtype=None, smoke: bool = False):
    """Instantiate ``class_name`` from ``config``: on ``meta`` (counts only) or with random weights."""
    import torch

    cls = _cls(class_name)
    cfg, dropped = _config(cls, config)
    if smoke:
        cfg = _shrink(cfg)
    if device == "meta":
        with torch.device("meta"):
            return cls(**cfg), dropped
    with torch.device("meta"):
        model = cls(**cfg)
    model = model.to_empty(device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.02, generator=gen)
            else:  # norm scales 1, biases 0: random activations stay finite through 40+ blocks
                p.fill_(1.0 if "norm" in pname and pname.endswith("weight") else 0.0)
        for b in model.buffers():
            if b.is_floating_point() and not torch.isfinite(b).all():
                b.zero_()
    if dtype is not None:
        model = model.to(dtype)
    return model.eval(), dropped


def _shrink(cfg: dict) -> dict:
    """Toy width and depth, same architecture: the forward path runs on CPU in seconds."""
    out = dict(cfg)
    for k in ("num_layers",):
        if k in out:
            out[k] = 2
    if "vace_layers" in out:
        out["vace_layers"] = [0, 1]
    for k, v in (("num_attention_heads", 2), ("audio_num_attention_heads", 2), ("num_cross_attention_heads", 2)):
        if k in out:
            out[k] = v
    for k in ("attention_head_dim", "cross_attention_head_dim", "audio_attention_head_dim"):
        if k in out:
            out[k] = 16
    if "ffn_dim" in out:
        out["ffn_dim"] = 64
    if "cross_attention_dim" in out:
        out["cross_attention_dim"] = 32 if "caption_channels" not in out else out["cross_attention_dim"]
    if "audio_cross_attention_dim" in out:
        out["audio_cross_attention_dim"] = 32
    if out.get("cross_attention_dim") and "num_cross_attention_heads" in out:
        out["cross_attention_dim"] = out["num_cross_attention_heads"] * out["cross_attention_head_dim"]
    if "num_attention_heads" in out and "attention_head_dim" in out and "cross_attention_dim" in out \
            and "num_cross_attention_heads" not in out:
        out["cross_attention_dim"] = out["num_attention_heads"] * out["attention_head_dim"]
    if "audio_num_attention_heads" in out:
        out["audio_cross_attention_dim"] = out["audio_num_attention_heads"] * out["audio_attention_head_dim"]
    return out


def count(model) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e9


# ---------------------------------------------------------------------------------------------------
# one denoising step's inputs at the native size


def step_inputs(name: str, spec: Spec, model, *, device, dtype, width: int, height: int, frames: int):
    """Keyword arguments for one transformer forward at ``width`` x ``height``, ``frames`` frames."""
    import torch

    g = torch.Generator(device="cpu").manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=g).to(device=device, dtype=dtype)

    cfg = model.config
    lf = (frames - 1) // spec.temporal + 1
    lh, lw = height // spec.spatial, width // spec.spatial
    c = cfg.get("in_channels", spec.latent_channels)
    text_dim = cfg.get("text_dim") or cfg.get("caption_channels") or spec.text_dim
    t = torch.tensor([500.0], device=device)
    if spec.family in ("wan", "wan-vace", "skyreels"):
        kw = dict(hidden_states=rand(1, c, lf, lh, lw), timestep=t,
                  encoder_hidden_states=rand(1, spec.text_len, text_dim))
        if spec.family == "wan-vace":
            kw["control_hidden_states"] = rand(1, cfg["vace_in_channels"], lf, lh, lw)
        return kw
    if spec.family == "cogvideox":
        return dict(hidden_states=rand(1, lf, c, lh, lw), timestep=t.long(),
                    encoder_hidden_states=rand(1, spec.text_len, cfg["text_embed_dim"]))
    if spec.family == "sana-video":
        return dict(hidden_states=rand(1, c, lf, lh, lw), timestep=t,
                    encoder_hidden_states=rand(1, spec.text_len, cfg["caption_channels"]),
                    encoder_attention_mask=torch.ones(1, spec.text_len, device=device))
    if spec.family in ("ltx", "ltx2"):
        n = lf * lh * lw
        kw = dict(hidden_states=rand(1, n, c), encoder_hidden_states=rand(1, spec.text_len, cfg["caption_channels"]),
                  timestep=t.expand(1, n) if spec.family == "ltx2" else t,
                  encoder_attention_mask=torch.ones(1, spec.text_len, device=device),
                  num_frames=lf, height=lh, width=lw)
        if spec.family == "ltx2":
            na = max(1, round(frames / 24 * 25))  # 16 kHz / hop 160 / 4 = 25 audio latents per second
            kw.update(audio_hidden_states=rand(1, na, cfg["audio_in_channels"]),
                      audio_encoder_hidden_states=rand(1, spec.text_len, cfg["caption_channels"]),
                      audio_timestep=t.expand(1, na),
                      audio_encoder_attention_mask=torch.ones(1, spec.text_len, device=device),
                      fps=24.0, audio_num_frames=na)
        return kw
    raise ValueError(f"no step inputs for {name}")


# ---------------------------------------------------------------------------------------------------
# modes


def place(model, mode: str, device: str):
    """Put ``model`` on the GPU per offload ``mode`` (as songreel's loader does for a pipeline)."""
    import torch

    if mode in ("none", "compile"):
        model.to(device)
        if mode == "compile":
            model.compile()
    elif mode == "model":
        from accelerate import cpu_offload_with_hook

        cpu_offload_with_hook(model, execution_device=torch.device(device))
    elif mode == "group":
        model.enable_group_offload(onload_device=torch.device(device), offload_device=torch.device("cpu"),
                                   offload_type="leaf_level", use_stream=True)
    elif mode == "sequential":
        from accelerate import cpu_offload

        cpu_offload(model, execution_device=torch.device(device))
    return model


def run_preset(name: str, *, modes, steps: int, device: str) -> list[dict]:
    import torch

    spec, prof = SPECS[name], _profile(name)
    width, height, frames = prof.width, prof.height, prof.frames
    if prof.two_stage:
        width, height = width // 2, height // 2  # LTX-2's first stage; the refine pass runs 3 steps at 2x
    rows = []
    for mode in modes:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.monotonic()
        models = [build(spec.transformer[0], spec.transformer[1], device="cpu", dtype=torch.bfloat16)[0]
                  for _ in range(spec.experts)]
        model = place(models[0], mode, device)  # A14B runs one expert per step: time one
        load = time.monotonic() - t0
        kw = step_inputs(name, spec, model, device=device, dtype=torch.bfloat16, width=width, height=height,
                         frames=frames)
        times = []
        with torch.no_grad():
            for i in range(steps + 1):  # the first step warms up (and compiles)
                torch.cuda.synchronize()
                s = time.monotonic()
                model(**kw, return_dict=False)
                torch.cuda.synchronize()
                times.append(time.monotonic() - s)
        per_step = sum(times[1:]) / max(1, len(times) - 1)
        rows.append({"preset": name, "mode": mode, "size": f"{width}x{height}x{frames}",
                     "s_per_step": round(per_step, 3), "first_step_s": round(times[0], 2),
                     "peak_gpu_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2), "load_s": round(load, 1),
                     "model_s_per_clip": round(per_step * prof.steps * (2 if prof.guidance > 1 else 1), 1)})
        del model, models, kw
    return rows


def overhead(name: str, *, repeats: int = 1) -> dict:
    """songreel's own work per clip at the preset's native size (CPU): output to uint8, conform, H.264
    write, chaining tail — everything the backend does around the pipeline call."""
    import tempfile

    import numpy as np

    from songreel.generate.diffusers_frames import fit_video, to_uint8, write_clip

    prof = _profile(name)
    w, h, n = prof.width, prof.height, prof.frames
    # a moving picture with texture (a pipeline's np output: float32 in [0, 1]); pure noise would
    # measure x264 on incompressible frames, which no model makes
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(0)
    grain = rng.random((h, w), dtype=np.float32) * 0.05
    out = np.empty((1, n, h, w, 3), np.float32)
    for i in range(n):
        base = 0.5 + 0.4 * np.sin((x + 3 * i) / 37.0) * np.cos((y - 2 * i) / 29.0)
        out[0, i] = np.clip(np.stack([base, base[::-1], 1 - base], axis=-1) + grain[..., None], 0, 1)
    best, best_cpu = math.inf, math.inf
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            s, c = time.monotonic(), time.process_time()
            video = fit_video(to_uint8(out), w, h)
            write_clip(video, Path(tmp) / "clip.mp4", Fraction(prof.fps))
            video[-9:].copy()
            best, best_cpu = min(best, time.monotonic() - s), min(best_cpu, time.process_time() - c)
    # CPU seconds (all threads) do not depend on what else shares the machine; wall seconds do
    return {"preset": name, "size": f"{w}x{h}x{n}", "songreel_wall_s": round(best, 2),
            "songreel_cpu_s": round(best_cpu, 2)}


def dry_run() -> list[dict]:
    import torch  # noqa: F401 - meta tensors

    rows = []
    for name, spec in SPECS.items():
        t, dropped = build(spec.transformer[0], spec.transformer[1], device="meta")
        v, vdropped = build(spec.vae[0], spec.vae[1], device="meta")
        prof = _profile(name)
        rows.append({"preset": name, "transformer": spec.transformer[0],
                     "transformer_B": round(count(t) * spec.experts, 2), "vae": spec.vae[0],
                     "vae_B": round(count(v), 3), "native": f"{prof.width}x{prof.height}x{prof.frames}",
                     "steps": prof.steps, "bf16_weights_GB": round(2 * (count(t) * spec.experts + count(v)), 1),
                     "config_source": spec.transformer[2], "dropped_keys": dropped + vdropped})
    for name, (cls, cfg, src) in DRY_ONLY.items():
        t, dropped = build(cls, cfg, device="meta")
        prof = _profile(name)
        rows.append({"preset": name, "transformer": cls, "transformer_B": round(count(t), 2), "vae": "-",
                     "vae_B": 0, "native": f"{prof.width}x{prof.height}x{prof.frames}", "steps": prof.steps,
                     "bf16_weights_GB": round(2 * count(t), 1), "config_source": src + " (step: not benchmarked)",
                     "dropped_keys": dropped})
    return rows


def smoke() -> list[dict]:
    """Every family's forward at toy width and a small clip on CPU: checks ``step_inputs`` and ``build``."""
    import torch

    torch.set_num_threads(1)
    rows = []
    seen = set()
    for name, spec in SPECS.items():
        if spec.family in seen:
            continue
        seen.add(spec.family)
        model, _ = build(spec.transformer[0], spec.transformer[1], device="cpu", smoke=True)
        w, h = spec.spatial * 4, spec.spatial * 4
        kw = step_inputs(name, spec, model, device="cpu", dtype=torch.float32, width=w, height=h,
                         frames=spec.temporal + 1)
        s = time.monotonic()
        with torch.no_grad():
            out = model(**kw, return_dict=False)[0]
        rows.append({"family": spec.family, "preset": name, "out_shape": list(out.shape),
                     "seconds": round(time.monotonic() - s, 2)})
    return rows


def table(rows: list[dict]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--dry-run", action="store_true",
                    help="list what would be built, with parameter counts (CPU, meta)")
    ap.add_argument("--smoke", action="store_true", help="run each family's forward at toy width on CPU")
    ap.add_argument("--overhead", action="store_true", help="songreel's per-clip work at each native size (CPU)")
    ap.add_argument("--presets", default="", help="comma-separated presets (default: every one with a spec)")
    ap.add_argument("--modes", default="none,model,group,sequential,compile",
                    help="offload modes (none, model, group, sequential) and compile")
    ap.add_argument("--steps", type=int, default=3, help="timed denoising steps after one warm-up step")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", default="benchmarks/results/generate_gpu.json")
    a = ap.parse_args(argv)
    names = [n.strip() for n in a.presets.split(",") if n.strip()] or [*SPECS, *DRY_ONLY]
    unknown = [n for n in names if n not in SPECS and n not in DRY_ONLY]
    if unknown:
        ap.error(f"--presets: unknown {', '.join(unknown)}; accepted: {', '.join([*SPECS, *DRY_ONLY])}")
    if a.dry_run:
        rows = [r for r in dry_run() if r["preset"] in names]
    elif a.smoke:
        rows = smoke()
    elif a.overhead:
        rows = [overhead(n) for n in names if n in presets.PRESETS]
    else:
        import torch

        if not torch.cuda.is_available():
            print("no CUDA GPU visible to torch: the step table needs one (try --dry-run, --smoke or --overhead)",
                  file=sys.stderr)
            return 2
        rows = []
        for n in names:
            if n in SPECS:
                rows += run_preset(n, modes=a.modes.split(","), steps=a.steps, device=a.device)
    print(table(rows))
    if not (a.dry_run or a.smoke):
        out = Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"argv": sys.argv[1:], "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
