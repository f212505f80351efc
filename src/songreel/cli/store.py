"""``songreel store``: look after the content-addressed clip store (``.songreel/`` beside a storyboard).

``songreel store info [PATH]`` shows its size, clips, hits and remembered throughput;
``songreel store gc [PATH] [--dry-run]`` removes what no storyboard in that folder refers to (clips,
the encoded film chunks that no storyboard's latest render was made from, the report-card measures
of the clips removed, and the song analyses no storyboard reads).
PATH is a storyboard or its folder (default: the current folder). Mounted by the main CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .shell import out_console, run

app = typer.Typer(name="store", help="The clip store: size, hits, and cleaning out what nothing uses.",
                  no_args_is_help=True, add_completion=False)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


@app.command()
def info(path: Optional[Path] = typer.Argument(None, help="A storyboard or its folder (default: here)."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON for tools.")):
    """Size, clips, hits and measured throughput of the store."""
    import songreel

    d = run(lambda: songreel.store_info(path if path is not None else Path.cwd()))
    if as_json:
        import json

        print(json.dumps(d))
        return
    out_console.print(f"[bold]{d['root']}[/]")
    out_console.print(f"  clips: {d['clips']} ({_size(d['clip_bytes'])}), reused {d['hits']} times, "
                      f"generated {d['generations']} times")
    out_console.print(f"  frames: {d['frames']} ({_size(d['frame_bytes'])}), analyses: {d['analyses']} "
                      f"({_size(d['analysis_bytes'])})")
    total = d["clip_bytes"] + d["frame_bytes"] + d["analysis_bytes"]
    out_console.print(f"  total: {_size(total)}" + (f", {d['temps']} temp files" if d["temps"] else ""))
    for name, rate in sorted(d["throughput"].items()):
        what = "s per frame-megapixel" if name == "assemble" else "s of work per s of clip"
        out_console.print(f"  throughput {name}: {rate:.3g} {what}")
    for name, s in sorted(d["spend"].items()):
        out_console.print(f"  spend {name}: {s['jobs']} jobs, {s['seconds']:g} s, "
                          f"estimated ${s['estimated_dollars']:.2f}"
                          + (f", reported ${s['reported_dollars']:.2f}" if s["reported_dollars"] is not None else ""))


@app.command()
def gc(path: Optional[Path] = typer.Argument(None, help="A storyboard or its folder (default: here)."),
       dry_run: bool = typer.Option(False, "--dry-run", "-n", help="List what would be removed; remove nothing.")):
    """Remove clips and frames that no storyboard in the folder (nor its lock file) refers to, film
    chunks that no storyboard's latest render used, the report-card measures of removed clips and song
    analyses no storyboard reads."""
    import songreel

    r = run(lambda: songreel.clean_store(path if path is not None else Path.cwd(), dry_run=dry_run))
    verb = "would remove" if dry_run else "removed"
    chunks = r.get("chunks") or {"chunks": [], "temps": [], "kept": 0}
    measures = r.get("measures") or {"removed": 0, "kept": 0}
    analyses = r.get("analyses") or {"removed": 0, "kept": 0}
    temps = len(r["temps"]) + len(r["orphans"]) + len(chunks["temps"])
    # one line per fact, never wrapped mid-sentence by the console (scripts grep these)
    out_console.print(f"{verb} {len(r['clips'])} clips, {len(r['frames'])} frames, {len(chunks['chunks'])} film "
                      f"chunks, {measures['removed']} report-card measures, {analyses['removed']} song analyses, "
                      f"{temps} temp/orphan files ({_size(r['bytes'])})", soft_wrap=True)
    out_console.print(f"kept {r['kept']} clips and {chunks['kept']} film chunks used by "
                      f"{', '.join(r['storyboards']) or 'no storyboard'}", soft_wrap=True)
