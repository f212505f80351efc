"""``songreel draft``: a storyboard from a concept, on the song's own bars and sections.

Registered by the main CLI as a command. Offline by default; ``--llm URL --model NAME`` asks an
OpenAI-compatible chat completions server (the key comes from the variable named by
``--llm-key-env``). The endpoint is printed before it is called; only text is sent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer


def draft(song: Path = typer.Argument(..., help="The song's audio file.", readable=False),
          concept: str = typer.Option(..., "--concept", help="The story in a sentence."),
          output: Path = typer.Option(..., "-o", "--output", help="The storyboard .yaml to write."),
          lyrics: Optional[Path] = typer.Option(None, "--lyrics", help="Lyrics: .lrc/.srt (timed) or .txt."),
          look: str = typer.Option("cuts", "--look", help="cuts or infinite-zoom."),
          shots: Optional[int] = typer.Option(None, "--shots", help="Exactly this many shots."),
          cut_every: Optional[str] = typer.Option(None, "--cut-every", help='Phrase length: "2bars", "4 beats".'),
          style: Optional[str] = typer.Option(None, "--style", help="Visual style shared by every shot."),
          title: Optional[str] = typer.Option(None, "--title", help="The video's title."),
          llm: Optional[str] = typer.Option(None, "--llm", help="Base URL of an OpenAI-compatible chat server "
                                            "(e.g. http://localhost:11434/v1); without it the draft is made offline."),
          model: Optional[str] = typer.Option(None, "--model", help="The language model's name (with --llm)."),
          llm_key_env: Optional[str] = typer.Option(None, "--llm-key-env", help="Environment variable holding the "
                                                    "key (default OPENAI_API_KEY; local servers need none)."),
          size: str = typer.Option("1280x720", "--size", help="Frame size WIDTHxHEIGHT."),
          fps: str = typer.Option("24", "--fps", help="Frame rate (24, 30000/1001 ...)."),
          force: bool = typer.Option(False, "--force", help="Replace an existing storyboard.")):
    """Draft a storyboard for SONG from a concept: one shot per phrase, cut on the song's bars.

    Only text leaves the machine (the concept, the lyrics and the song's structure), never audio.
    """
    from .shell import console, escape, out_console, run

    def go():
        from ..draft import draft as make_draft
        from ..errors import InputError

        width, height = _size(size)
        key_env = llm_key_env or "OPENAI_API_KEY"
        if llm_key_env is not None and llm is None:
            raise InputError(f"--llm-key-env: got {llm_key_env!r} without --llm; it names the key for --llm")
        api_key = None
        if llm is not None:
            api_key = os.environ.get(key_env) or None
            if llm_key_env is not None and api_key is None:
                raise InputError(f"--llm-key-env: ${llm_key_env} is not set; set it to the server's key, or leave "
                                 "--llm-key-env out for a local server that needs none")

        def progress(fraction, message):
            if not message.startswith("analysis: ") and message not in ("done", "writing the storyboard"):
                console.print(escape(message), soft_wrap=True, style=None if message.startswith("asking") else "dim")

        return make_draft(song, concept=concept, lyrics=lyrics, look=look, shots=shots, cut_every=cut_every,
                          style=style, llm=llm, model=model, api_key=api_key, key_env=key_env, out=output,
                          force=force, width=width, height=height, fps=fps, title=title, progress=progress)

    res = run(go)
    s = res.structure
    out_console.print(f"[green]wrote[/] {res.path}: {len(res.plan.shots)} shots over {s.bars} bars in "
                      f"{len(s.sections)} sections" + (f" ({res.calls} request{'s' if res.calls != 1 else ''} "
                                                       f"to {escape(res.endpoint)})" if res.endpoint else
                                                       " (offline)"))
    for note in res.notes:
        out_console.print(f"  [yellow]note:[/] {escape(note)}")
    out_console.print(f"  render it: songreel render {escape(str(res.path))} -o video.mp4")


def _size(text: str) -> tuple[int, int]:
    from ..errors import InputError

    parts = str(text).lower().replace("×", "x").split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise InputError(f"--size: got {text!r}, expected WIDTHxHEIGHT such as 1280x720") from None
    if w % 2 or h % 2 or not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise InputError(f"--size: got {text!r}, expected even WIDTHxHEIGHT from 16 to 8192 pixels such as "
                         "1280x720 (H.264 yuv420p needs even sizes)")
    return w, h
