"""The ``songreel`` command: a thin Typer + Rich shell over the public API (:mod:`songreel.api`).

User errors print one red line in the command line's own words and exit 2 (``--debug`` shows the
traceback). Heavy modules (librosa, av, torch) are imported inside the commands so ``songreel --help``
is instant.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .shell import (
    STATE,
    RichProgress,
    StopOnSignal,
    console,
    default_storyboard,
    escape,
    out_console,
    run,
    setup_logging,
    spend_confirmer,
    spend_text,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="songreel: a song and a story in, a finished beat-synced music video out.")


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
          verbose: int = typer.Option(0, "--verbose", "-v", count=True,
                                      help="Log what songreel does (-v: info, -vv: debug)."),
          log_file: Optional[Path] = typer.Option(None, "--log-file", help="Also write a debug log to this file.")):
    STATE["debug"] = debug
    setup_logging(verbose, log_file)


def _print_report(res) -> None:
    s = res.report.sync
    sh = res.report.shots
    out_console.print(f"[green]wrote[/] {escape(str(res.output))}")
    out_console.print(f"  sync: max cut error {s.max_cut_error_ms:.1f} ms (half a frame is {s.half_frame_ms:.1f} ms), "
                      f"video - audio {s.video_minus_audio_ms:+.1f} ms, {s.video_frames} frames")
    out_console.print(f"  shots: generated {sh.generated}, reused {sh.reused}")
    for w in res.warnings:
        out_console.print(f"  [yellow]note:[/] {escape(w)}")
    out_console.print(f"  report: {escape(str(res.report_path))}")


@app.command()
def render(storyboard: Path = typer.Argument(..., help="The storyboard YAML.", readable=False),
           output: Path = typer.Option(..., "-o", "--output", help="The .mp4 to write."),
           force: bool = typer.Option(False, "--force", help="Replace an existing output."),
           otio: Optional[Path] = typer.Option(None, "--otio", help="Also write a timeline (.otio, .xml or .edl)."),
           burn_lyrics: bool = typer.Option(False, "--burn-lyrics", help="Draw the lyrics into the picture."),
           yes: bool = typer.Option(False, "--yes", "-y", help="Don't ask before paid generation."),
           confirm_above: float = typer.Option(1.0, "--confirm-above",
                                               help="Ask before spending more than this many US dollars."),
           takes: Optional[int] = typer.Option(None, "--takes", min=1, max=16,
                                               help="Make this many candidate takes of every shot."),
           locked: bool = typer.Option(False, "--locked", help="Reproduce the lock file exactly, or refuse if "
                                       "the storyboard, song or plan changed since it was written."),
           codec: Optional[str] = typer.Option(None, "--codec", help="h264 or h265 (overrides encode:)."),
           crf: Optional[int] = typer.Option(None, "--crf", help="Quality 0-51, lower is better (default 18)."),
           preset: Optional[str] = typer.Option(None, "--preset", help="x264/x265 preset, ultrafast..veryslow."),
           retake_worst: int = typer.Option(0, "--retake-worst", help="Retake the N worst flagged "
                                            "shots and keep the better take by score."),
           budget: Optional[float] = typer.Option(None, "--budget", help="US dollars retakes may spend on paid "
                                                  "backends."),
           executor: Optional[str] = typer.Option(None, "--executor", help="Where clips are made: local (default) "
                                                  "or ray (a Ray cluster; see docs/scale.md)."),
           ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster to join "
                                                     "(default RAY_ADDRESS, else a local Ray instance)."),
           preview: bool = typer.Option(False, "--preview", help="The director's preview: every generated shot "
                                        "drawn by the animatic at 480 lines, your footage kept, a fast encode; "
                                        "nothing paid, the lock file left alone.")):
    """Render STORYBOARD to a finished video with its song.

    Ctrl-C stops after the current clip (exit 130); everything finished is kept and reused next time.
    """
    import songreel

    stop = threading.Event()

    def go():
        with RichProgress() as p, StopOnSignal(stop, p):
            try:
                return songreel.render(storyboard, output, force=force, progress=p, stop=stop, timeline=otio,
                                       burn_lyrics=burn_lyrics, confirm=spend_confirmer(yes, confirm_above, p),
                                       takes=takes, locked=locked,
                                       encode={"codec": codec, "crf": crf, "preset": preset},
                                       retake_worst=retake_worst, budget=budget,
                                       executor=executor, ray_address=ray_address, preview=preview)
            except KeyboardInterrupt:
                stop.set()
                raise

    res = run(go)
    _print_report(res)
    from .review import print_render_card

    print_render_card(res.report.data)
    extra = res.edit.extra if res.edit is not None else {}
    if extra.get("takes_generated") or extra.get("takes_reused"):
        out_console.print(f"  takes: {extra['takes_generated']} candidate clips generated, "
                          f"{extra['takes_reused']} reused (see them with: songreel takes SHOT {storyboard})")


@app.command("takes")
def takes_cmd(shot: str = typer.Argument(..., help="Shot number (1-based) or name."),
              storyboard: Optional[Path] = typer.Argument(None, help="The storyboard YAML (default: the only "
                                                          "one in this folder).", readable=False),
              takes: Optional[int] = typer.Option(None, "--takes", min=1, max=16,
                                                  help="How many takes (default: the shot's takes:, else 3).")):
    """Make (or reuse) the candidate takes of SHOT and draw them side by side in a PNG."""
    import songreel

    stop = threading.Event()

    def go():
        sb = default_storyboard(storyboard)
        with RichProgress() as p, StopOnSignal(stop, p):
            return songreel.make_takes(sb, shot, takes=takes, progress=p, stop=stop)

    r = run(go)
    out_console.print(f"[bold]{escape(r.shot.name)}[/]: {len(r.takes)} takes "
                      f"(generated {r.generated}, reused {r.reused}); take {r.picked + 1} is used")
    for t, seed, clips in r.takes:
        out_console.print(f"  take {t + 1}  seed {seed}  {clips[0].path}" + ("  [yellow](picked)[/]"
                                                                            if t == r.picked else ""))
    out_console.print(f"contact strip: {r.strip}")
    out_console.print(f"choose one with: songreel pick {r.shot.index + 1} N")


@app.command("pick")
def pick_cmd(shot: str = typer.Argument(..., help="Shot number (1-based) or name."),
             take: int = typer.Argument(..., help="Take number (1-based, as shown by songreel takes)."),
             storyboard: Optional[Path] = typer.Argument(None, help="The storyboard YAML (default: the only "
                                                         "one in this folder).", readable=False)):
    """Use take TAKE of SHOT in renders (recorded in the storyboard's lock file)."""
    import songreel

    def go():
        sb = default_storyboard(storyboard)
        return songreel.pick(sb, shot, take)

    planned, path = run(go)
    out_console.print(f"picked take {take} of shot {planned.index + 1} ({escape(planned.name)}); recorded in {path}")


@app.command()
def demo(output: Path = typer.Option(Path("demo"), "-o", "--output", help="Folder for the demo."),
         look: str = typer.Option("cuts", "--look", help="cuts or infinite-zoom."),
         width: int = typer.Option(1280, help="Frame width."), height: int = typer.Option(720, help="Frame height.")):
    """Synthesise a song, write a storyboard of a couple's life, and render it (animatic, no GPU).

    Run it again after editing demo/storyboard.yaml: your edits are kept and rendered.
    """
    import songreel

    from ..demo import prepare_demo

    def go():
        if look not in ("cuts", "infinite-zoom"):
            from ..errors import InputError

            raise InputError(f"--look: got {look!r}, expected cuts or infinite-zoom")
        written = prepare_demo(output, width=width, height=height, look=look)
        for note in written.notes:
            out_console.print(f"[yellow]note:[/] {escape(note)}")
        out_console.print(f"demo song and storyboard in {escape(str(output))}/")
        with RichProgress() as p:
            # out.mp4 is the demo's own output: replacing it is what running the demo again means
            return songreel.render(written.storyboard, output / "out.mp4", force=True, progress=p)

    res = run(go)
    _print_report(res)
    out_console.print(f"[bold]watch it:[/] {escape(str(res.output))}")


@app.command()
def analyze(song: Path = typer.Argument(..., help="An audio file.", readable=False),
            as_json: bool = typer.Option(False, "--json", help="Print JSON for tools."),
            plot: Optional[Path] = typer.Option(None, "--plot", help="Draw waveform, beats, bars, sections to a PNG."),
            beats: str = typer.Option("librosa", "--beats", help="Beat tracker: librosa or beat_this."),
            tempo_hint: Optional[float] = typer.Option(None, "--tempo-hint", help="Approximate BPM (octave)."),
            bpm: Optional[float] = typer.Option(None, "--bpm", help="Known tempo."),
            meter: Optional[int] = typer.Option(None, "--meter", help="Beats per bar."),
            first_downbeat: Optional[float] = typer.Option(None, "--first-downbeat",
                                                           help="Seconds: the beat nearest this starts a bar."),
            envelopes: bool = typer.Option(False, "--envelopes", help="Include energy envelopes in --json.")):
    """Tempo, beats, downbeats and sections of SONG."""
    import songreel

    def go():
        a = songreel.analyze(song, tracker=beats, tempo_hint=tempo_hint, bpm=bpm, meter=meter,
                             first_downbeat=first_downbeat)
        if plot is not None:
            from ..api import plot_analysis

            plot_analysis(song, a, plot)
        return a

    a = run(go)
    if as_json:
        d = a.to_dict(envelopes=envelopes)
        out_console.print_json(json.dumps(d)) if sys.stdout.isatty() else print(json.dumps(d))
        return
    from ..plan.planner import section_occurrences
    from ..timebase import format_time

    out_console.print(f"[bold]{escape(str(song))}[/]  {format_time(a.duration)}  tempo {a.tempo:.2f} BPM  "
                      f"meter {a.meter}  {len(a.beats)} beats  {len(a.downbeats)} bars  ({a.tracker})")
    from ..analysis.reading import notes

    for line in notes(a):
        out_console.print(f"[yellow]unsure:[/] {escape(line)}")
    t = Table("#", "section", "start", "end", "bars")
    for n, (label, k, s) in enumerate(section_occurrences(a.sections), start=1):
        bars = sum(1 for d in a.downbeats if s.start - 1e-6 <= d < s.end - 1e-6)
        t.add_row(str(n), f"{label} {k}", format_time(s.start), format_time(s.end), str(bars))
    out_console.print(t)
    out_console.print("downbeats: " + " ".join(f"{d:.2f}" for d in a.downbeats[:16]) +
                      (" ..." if len(a.downbeats) > 16 else ""))
    if plot is not None:
        out_console.print(f"plot: {escape(str(plot))}")


@app.command()
def plan(storyboard: Path = typer.Argument(..., help="The storyboard YAML.", readable=False),
         as_json: bool = typer.Option(False, "--json", help="Print JSON for tools."),
         cost: bool = typer.Option(False, "--cost", help="Estimate what generation would cost (hosted APIs).")):
    """The shot list on the beat grid, before any generation (every check that needs no generation runs)."""
    import songreel

    def go():
        p = songreel.plan(storyboard)
        est = songreel.estimate_cost(storyboard) if cost else None
        return p, est

    p, est = run(go)
    if as_json:
        d = p.to_dict()
        if est is not None:
            d["cost"] = {"dollars": est.dollars, "new_clips": est.new_segments, "reused_clips": est.reused_segments,
                         "unpriced": est.unpriced}
        print(json.dumps(d))
        return
    from ..plan.wording import bars_beats
    from ..timebase import format_time

    fps = float(p.fps)
    out_console.print(f"[bold]{escape(p.title or str(storyboard))}[/]  {format_time(p.duration)}  {p.tempo:.1f} BPM  "
                      f"{p.meter}/4  {p.width}x{p.height} @ {fps:g} fps  {p.total_frames} frames")
    t = Table("#", "shot", "start", "bar.beat", "section", "length", "frames", "into next", "backend", "prompt")
    for s in p.shots:
        tr = s.transition.kind + (f" {s.transition.frames}f" if s.transition.frames else "") if s.transition else "end"
        written = s.spec.prompt or (str(s.spec.clip) if s.spec.clip is not None else s.prompt)
        prompt = written if len(written) <= 60 else written[:59] + "…"
        t.add_row(str(s.index + 1), escape(s.spec.name or ""), format_time(s.start / fps), s.position, s.section,
                  f"{bars_beats(s.end_beat - s.start_beat, p.meter)} / {s.frames / fps:.2f}s", str(s.frames), tr,
                  s.backend.name + (f" ×{len(s.segments)}" if len(s.segments) > 1 else ""), escape(prompt))
    out_console.print(t)
    for w in p.warnings:
        out_console.print(f"[yellow]note:[/] {escape(w)}")
    if est is not None:
        out_console.print(f"cost: {escape(spend_text(est))}")


@app.command()
def export(storyboard: Path = typer.Argument(..., help="The storyboard YAML.", readable=False),
           to: Optional[Path] = typer.Option(None, "--to", help="Timeline to write: .otio, .xml (FCP7) or .edl."),
           media: str = typer.Option("copy", "--media", help="copy, link (hard links) or absolute paths."),
           contact_sheet: Optional[Path] = typer.Option(None, "--contact-sheet", help="A PNG of every shot."),
           srt: Optional[Path] = typer.Option(None, "--srt", help="Lyrics as SRT subtitles."),
           vtt: Optional[Path] = typer.Option(None, "--vtt", help="Lyrics as WebVTT subtitles."),
           force: bool = typer.Option(False, "--force", help="Replace existing files.")):
    """Export the edit for finishing: a timeline for Resolve/Premiere, a contact sheet, subtitles.

    Clips are generated (or reused from the store) as for a render; nothing is encoded.
    """
    import songreel

    targets = [("--to", to, (".otio", ".xml", ".edl")), ("--contact-sheet", contact_sheet, (".png",)),
               ("--srt", srt, (".srt",)), ("--vtt", vtt, (".vtt",))]

    def go():
        from ..errors import InputError

        if not any(path for _flag, path, _s in targets):
            raise InputError("export: nothing to write; give --to out.otio|.xml|.edl, --contact-sheet, --srt or --vtt")
        for flag, path, suffixes in targets:  # each flag takes its own kind of file
            if path is not None and path.suffix.lower() not in suffixes:
                raise InputError(f"{flag}: {path}: expected a file ending in {', '.join(suffixes)} "
                                 f"(got '{path.suffix or 'none'}')")
        with RichProgress() as p:
            return songreel.export(storyboard, [path for _flag, path, _s in targets if path is not None],
                                   media=media, force=force, progress=p)

    for path in run(go):
        out_console.print(f"[green]wrote[/] {escape(str(path))}")


@app.command()
def backends():
    """What is installed, and what each extra would add."""
    from ..generate import registry

    t = Table("backend", "status", "what it is")
    for name in registry.names():
        entry = registry.BACKENDS.get(name)
        if entry is None:
            t.add_row(escape(name), "[green]plug-in[/]", "")
            continue
        missing = registry.missing_modules(name)
        status = "[green]ready[/]" if not missing else \
            "[yellow]" + escape(f"pip install 'songreel[{entry.extra}]'") + "[/]"
        t.add_row(name, status, entry.summary)
    out_console.print(t)


def _mount_optional():
    """Commands that live in modules of their own: sub-apps and single commands. Each module imports
    only what its command needs, when it runs."""
    import importlib

    for name in ("models", "store", "prices"):
        app.add_typer(importlib.import_module(f"songreel.cli.{name}").app, name=name)
    for name in ("review", "studio", "draft", "doctor"):
        app.command(name)(getattr(importlib.import_module(f"songreel.cli.{name}"), name))
    app.command("keyframes")(importlib.import_module("songreel.cli.keyframes").keyframes_cmd)


_mount_optional()


def main() -> None:
    """Console-script entry point. Usage errors (unknown option, bad value) are one line, exit 2."""
    import importlib

    try:  # typer >= 0.20 vendors click
        cx = importlib.import_module("typer._click.exceptions")
    except ImportError:  # pragma: no cover - older typer on real click
        cx = importlib.import_module("click.exceptions")

    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        console.print("[bold yellow]stopped[/]")
        sys.exit(130)
    except cx.ClickException as e:
        if type(e).__name__ == "NoArgsIsHelpError":
            app()  # plain `songreel`: the help, as Typer draws it
            return
        hint = ""
        ctx = getattr(e, "ctx", None)
        if ctx is not None and isinstance(e, cx.UsageError):
            hint = f" (see: {ctx.command_path} --help)"
        console.print("[bold red]error:[/] " + escape(" ".join(e.format_message().split()) + hint), soft_wrap=True)
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
