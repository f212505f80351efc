"""``songreel keyframes``: the image-first workflow's stills and their contact sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .shell import RichProgress, default_storyboard, escape, out_console, run


def keyframes_cmd(storyboard: Optional[Path] = typer.Argument(None, help="The storyboard YAML (default: the only "
                                                                "one in this folder).", readable=False),
                  reroll: Optional[list[str]] = typer.Option(None, "--reroll", help="Shot number or name to "
                                                             "re-roll (its next keyframe take); repeatable.")):
    """Make (or reuse) the keyframe of every image-first shot and write them as a contact sheet."""
    import songreel

    def go():
        sb = default_storyboard(storyboard)
        with RichProgress() as p:
            return songreel.keyframes(sb, reroll=reroll or None, progress=p)

    r = run(go)
    for kf in r.keyframes:
        state = "made" if kf.made else "reused"
        out_console.print(f"  {kf.shot + 1} {escape(kf.name)}  take {kf.take + 1}  seed {kf.seed}  {state}  "
                          f"{len(kf.references)} reference(s)")
    out_console.print(f"contact sheet: {escape(str(r.contact_sheet))}")
    out_console.print("re-roll one with: songreel keyframes --reroll SHOT; render animates the keyframes shown")
