"""``songreel doctor``: what this machine can run — GPU, CUDA, library versions, and per preset the
offload mode whose weights fit.

Registered by the main CLI as ``app.command("doctor")(doctor)``. torch is imported when the command
runs, never at import.
"""

from __future__ import annotations

import importlib.metadata as md
import platform
import sys

import typer

from ..generate import diffusers_presets as presets

_LIBS = ("torch", "diffusers", "transformers", "accelerate", "huggingface_hub", "ftfy", "av")


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def gpus() -> tuple[str, list[dict]]:
    """(torch/CUDA summary line, one dict per CUDA device with name and memory in GB)."""
    try:
        import torch
    except ImportError:
        return "torch not installed: pip install 'songreel[diffusers]'", []
    cuda = torch.version.cuda
    line = f"torch {torch.__version__}, built for CUDA {cuda}" if cuda else f"torch {torch.__version__} (CPU build)"
    out = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            free, total = torch.cuda.mem_get_info(i)
            out.append({"index": i, "name": props.name, "total_gb": total / 1e9, "free_gb": free / 1e9,
                        "capability": f"{props.major}.{props.minor}",
                        "bf16": bool(torch.cuda.is_bf16_supported())})
    return line, out


def advice(preset, gpu_gb: float | None) -> str:
    """The lightest offload mode whose weights fit ``gpu_gb`` (with 20 % kept for activations)."""
    if gpu_gb is None:
        return "no CUDA GPU: runs on CPU only (hours per clip); use a GPU machine"
    budget = gpu_gb * 0.8
    for mode in presets.OFFLOAD_MODES:
        if presets.gpu_weights_gb(preset, mode) <= budget:
            return "fits without offload" if mode == "none" else f"use offload: {mode}"
    return "does not fit even with offload: sequential"


def doctor() -> None:
    """Report the GPU, CUDA, torch / diffusers / transformers versions and what each preset needs."""
    typer.echo(f"python {platform.python_version()} on {platform.system()} {platform.machine()}")
    typer.echo("libraries: " + ", ".join(f"{d} {_version(d) or 'MISSING'}" for d in _LIBS))
    line, devices = gpus()
    typer.echo(line)
    if not devices:
        typer.echo("GPU: none visible to torch")
    for d in devices:
        typer.echo(f"GPU {d['index']}: {d['name']}, {d['total_gb']:.1f} GB ({d['free_gb']:.1f} GB free), "
                   f"compute {d['capability']}, bf16 {'yes' if d['bf16'] else 'no'}")
    gpu_gb = devices[0]["free_gb"] if devices else None
    try:
        from huggingface_hub import scan_cache_dir

        cached = {r.repo_id for r in scan_cache_dir().repos}
    except Exception:  # noqa: BLE001 - no cache yet
        cached = set()
    typer.echo("\npreset: GPU weights (GB, estimate) none / model / group / sequential; RAM offloaded; verdict")
    for p in presets.PRESETS.values():
        need = " / ".join(f"{presets.gpu_weights_gb(p, m):.1f}" for m in presets.OFFLOAD_MODES)
        have = "cached" if all(r in cached for r in p.repos()) else "not downloaded"
        typer.echo(f"  {p.name}: {need}; RAM {presets.cpu_weights_gb(p):.0f}; {advice(p, gpu_gb)} [{have}]")
    typer.echo("\nactivations come on top of the weights: long clips at large sizes want vae_tiling: true")


if __name__ == "__main__":  # pragma: no cover
    typer.run(doctor)
    sys.exit(0)
