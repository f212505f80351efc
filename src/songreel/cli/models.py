"""``songreel models``: the diffusers preset table and the local weight cache.

``songreel models list`` shows every preset with its hub repos and whether they are in the local
Hugging Face cache; ``songreel models pull NAME`` downloads a preset (or any hub id) with progress.
Mounted by the main CLI as ``app.add_typer(models.app, name="models")``. No torch or diffusers imports.
"""

from __future__ import annotations

import typer

from ..errors import SongreelError, UnknownNameError, did_you_mean
from ..generate import diffusers_presets as presets

app = typer.Typer(name="models", help="Open video models for the diffusers backend: list presets, pull weights.",
                  no_args_is_help=True, add_completion=False)


def _cached_repos() -> dict:
    """``{repo_id: size_on_disk}`` for model repos in the local cache ({} when none or unreadable)."""
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir()
    except Exception:  # noqa: BLE001 - no cache dir yet, or hub not installed
        return {}
    return {r.repo_id: r.size_on_disk for r in info.repos if r.repo_type == "model"}


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def _fail(e: SongreelError) -> None:
    typer.echo(f"error: {e}", err=True)
    raise typer.Exit(e.exit_code)


@app.command("list")
def list_models() -> None:
    """Every preset: hub repos, native fps, frame rule, conditioning, GPU memory per offload mode, cache status."""
    cached = _cached_repos()
    for p in presets.PRESETS.values():
        pr = p.profile
        can = pr.routes()
        have = [r for r in p.repos() if r in cached]
        status = ("cached " + _gb(sum(cached[r] for r in have))) if len(have) == len(p.repos()) else \
            ("partly cached" if have else "not downloaded")
        typer.echo(f"{p.name}  [{status}]")
        typer.echo(f"    repos:  {', '.join(p.repos())}")
        typer.echo(f"    makes:  {pr.width}x{pr.height}, {pr.frames} frames at {pr.fps} fps "
                   f"({pr.frame_multiple}k+{pr.frame_offset}, max {pr.max_frames}); conditioning: {', '.join(can)}")
        typer.echo(f"    VRAM:   {p.vram}")
        need = ", ".join(f"{m} {presets.gpu_weights_gb(p, m):.1f} GB" for m in presets.OFFLOAD_MODES)
        billions = sum(b for _, b in p.weights)
        typer.echo(f"    GPU weights by offload (estimate from {billions:.1f} B parameters): {need}; "
                   f"host RAM when offloaded {presets.cpu_weights_gb(p):.0f} GB")
        typer.echo(f"    speed:  {p.speed}")
    typer.echo("\nuse:  backend: {name: diffusers, model: NAME}   (or a hub id owner/name, or a local folder)")


@app.command("pull")
def pull(name: str = typer.Argument(..., help="a preset name (songreel models list) or a hub id owner/name")) -> None:
    """Download a preset's weights (every repo it needs) into the local Hugging Face cache."""
    try:
        repos = _repos_for(name)
        from huggingface_hub import constants, snapshot_download

        from ..errors import GenerationError
        from ..generate.diffusers_source import hub_reachable

        if constants.HF_HUB_OFFLINE:
            raise GenerationError(f"models pull {name}: HF_HUB_OFFLINE is set, so nothing can be downloaded; "
                                  "unset it, or copy the model folder here and use model: /path/to/folder")
        if not hub_reachable():
            raise GenerationError(f"models pull {name}: cannot reach {constants.ENDPOINT} (no network?); pull on a "
                                  "machine with network and copy the cache (HF_HOME), or use a local folder")
        for repo in repos:
            typer.echo(f"pulling {repo} ...")
            try:
                path = snapshot_download(repo)
            except Exception as e:  # noqa: BLE001 - network, auth, missing: one line
                why = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
                raise GenerationError(f"models pull {name}: could not download hub repo {repo} ({why}); "
                                      "check the network (HF_ENDPOINT, proxies), log in for gated repos "
                                      "(hf auth login), or unset HF_HUB_OFFLINE") from None
            typer.echo(f"  -> {path}")
    except SongreelError as e:
        _fail(e)
    typer.echo("done")


def _repos_for(name: str) -> tuple:
    p = presets.get(name)
    if p is not None:
        return p.repos()
    import re

    if re.match(r"^[A-Za-z0-9][\w.\-]*/[A-Za-z0-9][\w.\-]*$", name.strip()):
        return (name.strip(),)
    raise UnknownNameError(f"models pull: unknown model \"{name}\"{did_you_mean(name.lower(), presets.PRESETS)}; "
                           f"accepted: {', '.join(presets.PRESETS)} or a hub id owner/name")


def main() -> None:  # pragma: no cover - `python -m songreel.cli.models`
    app(prog_name="songreel models")


if __name__ == "__main__":  # pragma: no cover
    main()
