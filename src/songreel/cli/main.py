"""The ``songreel`` command: a thin Typer + Rich shell over :mod:`songreel.reel`.

User errors print one red line and exit 2 (``--debug`` shows the traceback). Heavy modules (librosa,
av, torch) are imported inside the commands so ``songreel --help`` is instant.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="songreel: a song and a story in, a finished beat-synced music video out.")
console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
STATE = {"debug": False}


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors.")):
    STATE["debug"] = debug


def fail(e: BaseException) -> None:
    """Print one line for a user error and exit with its code (2; 130 for a stop by Ctrl-C)."""
    if STATE["debug"]:
        console.print_exception()
    text = " ".join(str(e).split("\n"))
    code = int(getattr(e, "exit_code", 2) or 2)
    label = "[bold yellow]stopped:[/] " if code == 130 else "[bold red]error:[/] "
    console.print(label + _escape(text), soft_wrap=True)
    raise typer.Exit(code)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


class RichProgress:
    """Rich progress bars with ETA for the stages of a render."""

    def __init__(self):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn

        self.bar = Progress(TextColumn("[bold]{task.description:<10}"), BarColumn(),
                            TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), TextColumn("eta"),
                            TimeRemainingColumn(), TextColumn("{task.fields[note]}"), console=console,
                            transient=False, disable=not console.is_terminal)  # logs get one line per error
        self.tasks = {}

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)

    def stage(self, name, total=None):
        if name not in self.tasks:
            self.tasks[name] = self.bar.add_task(name, total=total, note="")

    def advance(self, name, done, total=None, note=""):
        self.stage(name, total)
        self.bar.update(self.tasks[name], completed=done, total=total, note=note[:40])

    def message(self, text):
        self.bar.console.print(text)

    def eta(self, seconds, note=""):
        """The whole render's time left, on its own line above the stage bars."""
        if seconds is None:
            text = "measuring throughput..."
        elif seconds <= 0:
            text = "done"
        else:
            m, sec = divmod(int(round(seconds)), 60)
            text = f"about {m}:{sec:02d} left" + (f" ({note})" if note else "")
        if "render" not in self.tasks:
            self.tasks["render"] = self.bar.add_task("render", total=None, note=text)
        self.bar.update(self.tasks["render"], note=text)

    @property
    def stage_name(self):
        names = [n for n in self.tasks if n != "render"]
        return names[-1] if names else None


def _run(fn):
    import errno

    from ..errors import SongreelError

    try:
        return fn()
    except SongreelError as e:
        fail(e)
    except KeyboardInterrupt:
        console.print("[bold yellow]stopped:[/] finished clips are kept and will be reused")
        raise typer.Exit(130)
    except OSError as e:
        # the machine, not songreel: a full disk or a permission change while running
        if e.errno in (errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, errno.EDQUOT):
            where = f"{e.filename}: " if getattr(e, "filename", None) else ""
            console.print("[bold red]error:[/] " + _escape(f"{where}{e.strerror or e}; nothing finished was lost "
                                                           "(run with --debug for details)"), soft_wrap=True)
            if STATE["debug"]:
                console.print_exception()
            raise typer.Exit(2)
        raise


class _StopOnSignal:
    """Ctrl-C while clips are made: finish the current clip, keep everything, exit 130.
    A second Ctrl-C (or one during assembly, or SIGTERM) stops at once; temp files are removed."""

    def __init__(self, stop: threading.Event, progress=None):
        self.stop = stop
        self.progress = progress
        self.old = {}

    def __enter__(self):
        import signal

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.old[sig] = signal.signal(sig, self.handle)
        return self

    def __exit__(self, *exc):
        import signal

        for sig, h in self.old.items():
            signal.signal(sig, h)

    def handle(self, signum, frame):
        import signal

        stage = getattr(self.progress, "stage_name", None)
        if signum == signal.SIGINT and not self.stop.is_set() and stage != "assemble":
            self.stop.set()
            console.print("[yellow]stopping after the current clip[/] (Ctrl-C again to stop now)")
            return
        self.stop.set()
        raise KeyboardInterrupt


def _spend_text(est) -> str:
    if est.dollars == 0:
        return f"{est.new_segments} new clips ({est.reused_segments} reused), made locally at no cost"
    cost = "an unknown amount (no price for " + ", ".join(est.unpriced) + "; set price_per_second)" \
        if est.dollars is None else f"about ${est.dollars:.2f}"
    return f"{est.new_segments} new clips ({est.reused_segments} reused) will cost {cost}"


def _spend_confirmer(yes: bool, above: float, progress=None):
    """Ask before spending more than ``above`` dollars; refuse without a terminal unless --yes."""
    def confirm(est) -> bool:
        text = _spend_text(est)
        if yes or (est.dollars is not None and est.dollars <= above):
            console.print(f"[dim]{_escape(text)}[/]")
            return True
        if not sys.stdin.isatty():
            from ..errors import InputError

            raise InputError(f"{text}; pass --yes to spend it without asking (or --confirm-above)")
        if progress is not None:
            progress.bar.stop()
        ok = typer.confirm(f"{text}. Go ahead?", default=False)
        if progress is not None:
            progress.bar.start()
        return ok
    return confirm


def _print_report(res) -> None:
    r = res.report
    s = r["sync"]
    sh = r["shots"]
    out_console.print(f"[green]wrote[/] {res.video}")
    out_console.print(f"  sync: max cut error {s['max_cut_error_ms']:.1f} ms (half a frame is {s['half_frame_ms']:.1f} ms), "
                      f"video - audio {s['length_delta_ms']:+.1f} ms, {s['video_frames']} frames")
    out_console.print(f"  shots: generated {sh['generated']}, reused {sh['reused']}")
    for w in res.warnings:
        out_console.print(f"  [yellow]note:[/] {_escape(w)}")
    out_console.print(f"  report: {res.report_path}")


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
           preset: Optional[str] = typer.Option(None, "--preset", help="x264/x265 preset, ultrafast..veryslow.")):
    """Render STORYBOARD to a finished video with its song.

    Ctrl-C stops after the current clip (exit 130); everything finished is kept and reused next time.
    """
    from .. import reel

    stop = threading.Event()

    def go():
        with RichProgress() as p, _StopOnSignal(stop, p):
            try:
                return reel.render(storyboard, output, force=force, progress=p, stop=stop, otio=otio,
                                   burn_lyrics=burn_lyrics, confirm=_spend_confirmer(yes, confirm_above, p),
                                   takes=takes, locked=locked,
                                   encode={"codec": codec, "crf": crf, "preset": preset})
            except KeyboardInterrupt:
                stop.set()
                raise

    res = _run(go)
    _print_report(res)
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
    from .. import reel

    stop = threading.Event()

    def go():
        sb = _default_storyboard(storyboard)
        with RichProgress() as p, _StopOnSignal(stop, p):
            return reel.make_takes(sb, shot, takes=takes, progress=p, stop=stop)

    r = _run(go)
    out_console.print(f"[bold]{_escape(r.shot.name)}[/]: {len(r.takes)} takes "
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
    from .. import reel

    def go():
        sb = _default_storyboard(storyboard)
        return reel.pick(sb, shot, take)

    planned, path = _run(go)
    out_console.print(f"picked take {take} of shot {planned.index + 1} ({_escape(planned.name)}); recorded in {path}")


def _default_storyboard(path: Optional[Path]) -> Path:
    """The storyboard given, else the only one in the current folder."""
    from ..errors import InputError

    if path is not None:
        return path
    from ..reel import store_storyboards

    found = store_storyboards(Path.cwd())
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError("STORYBOARD: no storyboard (.yaml starting with 'songreel: 1') in this folder; give its path")
    raise InputError(f"STORYBOARD: {len(found)} storyboards here ({', '.join(p.name for p in found[:5])}); "
                     "give the one you mean")


@app.command()
def demo(output: Path = typer.Option(Path("demo"), "-o", "--output", help="Folder for the demo."),
         look: str = typer.Option("cuts", "--look", help="cuts or infinite-zoom."),
         width: int = typer.Option(1280, help="Frame width."), height: int = typer.Option(720, help="Frame height."),
         force: bool = typer.Option(True, "--force/--no-force", help="Replace a previous demo video.")):
    """Synthesise a song, write a storyboard of a couple's life, and render it (animatic, no GPU)."""
    from .. import reel
    from ..demo import write_demo

    def go():
        if look not in ("cuts", "infinite-zoom"):
            from ..errors import InputError

            raise InputError(f"--look: got {look!r}, expected cuts or infinite-zoom")
        sb = write_demo(output, width=width, height=height, look=look)
        out_console.print(f"demo song and storyboard in {output}/")
        with RichProgress() as p:
            return reel.render(sb, output / "out.mp4", force=force, progress=p)

    res = _run(go)
    _print_report(res)
    out_console.print(f"[bold]watch it:[/] {res.video}")


@app.command()
def analyze(song: Path = typer.Argument(..., help="An audio file.", readable=False),
            as_json: bool = typer.Option(False, "--json", help="Print JSON for tools."),
            plot: Optional[Path] = typer.Option(None, "--plot", help="Draw waveform, beats, bars, sections to a PNG."),
            beats: str = typer.Option("librosa", "--beats", help="Beat tracker: librosa or beat_this."),
            tempo_hint: Optional[float] = typer.Option(None, "--tempo-hint", help="Approximate BPM (octave)."),
            bpm: Optional[float] = typer.Option(None, "--bpm", help="Known tempo."),
            meter: Optional[int] = typer.Option(None, "--meter", help="Beats per bar."),
            envelopes: bool = typer.Option(False, "--envelopes", help="Include energy envelopes in --json.")):
    """Tempo, beats, downbeats and sections of SONG."""

    def go():
        from ..analysis import analyze as _analyze
        from ..ingest.audio import load_song

        s = load_song(song)
        a = _analyze(s, tracker=beats, tempo_hint=tempo_hint, bpm=bpm, meter=meter)
        if plot is not None:
            from ..analysis import plot_analysis

            plot_analysis(a, s, plot)
        return a

    a = _run(go)
    if as_json:
        d = a.to_dict(envelopes=envelopes)
        out_console.print_json(json.dumps(d)) if sys.stdout.isatty() else print(json.dumps(d))
        return
    from ..plan.planner import section_occurrences
    from ..timebase import format_time

    out_console.print(f"[bold]{song}[/]  {format_time(a.duration)}  tempo {a.tempo:.2f} BPM  "
                      f"meter {a.meter}  {len(a.beats)} beats  {len(a.downbeats)} bars  ({a.tracker})")
    t = Table("section", "start", "end", "bars")
    for label, k, s in section_occurrences(a.sections):
        bars = sum(1 for d in a.downbeats if s.start - 1e-6 <= d < s.end - 1e-6)
        t.add_row(f"{label} {k}", format_time(s.start), format_time(s.end), str(bars))
    out_console.print(t)
    out_console.print("downbeats: " + " ".join(f"{d:.2f}" for d in a.downbeats[:16]) +
                      (" ..." if len(a.downbeats) > 16 else ""))
    if plot is not None:
        out_console.print(f"plot: {plot}")


@app.command()
def plan(storyboard: Path = typer.Argument(..., help="The storyboard YAML.", readable=False),
         as_json: bool = typer.Option(False, "--json", help="Print JSON for tools."),
         cost: bool = typer.Option(False, "--cost", help="Estimate what generation would cost (hosted APIs).")):
    """The shot list on the beat grid, before any generation."""
    from .. import reel

    def go():
        sb = reel.load(storyboard)
        a = reel.analyze_storyboard_song(sb)
        from ..generate.runner import Backends

        backends = Backends(reel.project_info(sb))
        p = reel.make_plan(sb, a, backends)
        est = None
        if cost:
            from ..generate.runner import estimate_spend
            from ..generate.store import ClipStore

            est = estimate_spend(p, ClipStore(reel.store_dir(sb)), backends)
        return sb, p, est

    sb, p, est = _run(go)
    if as_json:
        d = p.to_dict()
        if est is not None:
            d["cost"] = {"dollars": est.dollars, "new_clips": est.new_segments, "reused_clips": est.reused_segments,
                         "unpriced": est.unpriced}
        print(json.dumps(d))
        return
    from ..timebase import format_time

    fps = float(p.fps)
    out_console.print(f"[bold]{p.title or storyboard}[/]  {format_time(p.duration)}  {p.tempo:.1f} BPM  "
                      f"{p.meter}/4  {p.width}x{p.height} @ {fps:g} fps  {p.total_frames} frames")
    t = Table("#", "start", "bar.beat", "section", "length", "frames", "into next", "backend", "prompt")
    for s in p.shots:
        beats = s.end_beat - s.start_beat
        bars, rest = divmod(beats, p.meter)
        length = (f"{bars} bars" if bars else "") + (f" {rest} beats" if rest else "")
        tr = s.transition.kind + (f" {s.transition.frames}f" if s.transition.frames else "") if s.transition else "end"
        prompt = s.prompt if len(s.prompt) <= 48 else s.prompt[:47] + "…"
        t.add_row(str(s.index + 1), format_time(s.start / fps), s.position, s.section,
                  f"{length.strip() or '-'} / {s.frames / fps:.2f}s", str(s.frames), tr,
                  s.backend.name + (f" ×{len(s.segments)}" if len(s.segments) > 1 else ""), _escape(prompt))
    out_console.print(t)
    for w in p.warnings:
        out_console.print(f"[yellow]note:[/] {_escape(w)}")
    if est is not None:
        out_console.print(f"cost: {_escape(_spend_text(est))}")


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
    from .. import reel

    def go():
        from ..errors import InputError

        if not any((to, contact_sheet, srt, vtt)):
            raise InputError("export: nothing to write; give --to out.otio|.xml|.edl, --contact-sheet, --srt or --vtt")
        if media not in ("copy", "link", "absolute"):
            raise InputError(f"--media: got {media!r}, expected copy, link or absolute")
        sb = reel.load(storyboard)
        outs = [(to, (".otio", ".xml", ".edl")), (contact_sheet, (".png",)), (srt, (".srt",)), (vtt, (".vtt",))]
        for path, suffixes in outs:
            if path is not None:
                reel.check_output_file(path, sb, force=force, suffixes=suffixes)
        if (srt or vtt) and sb.lyrics is None:
            raise InputError("--srt/--vtt: the storyboard has no 'lyrics:' file (LRC or SRT)")
        with RichProgress() as p:
            edit = reel.build_edit(sb, progress=p)
        written = []
        if to is not None:
            from ..export.timeline import write_timeline

            written.append(write_timeline(edit, to, media=media).path)
        if contact_sheet is not None:
            from ..export.contact_sheet import contact_sheet as sheet

            written.append(sheet(edit, contact_sheet).path)
        if srt or vtt:
            from ..export.subtitles import write_srt, write_vtt
            from ..ingest.lyrics import load_lyrics

            lines = load_lyrics(sb.lyrics)
            if srt:
                written.append(write_srt(lines, srt, fps=edit.plan.fps, total_frames=edit.plan.total_frames))
            if vtt:
                written.append(write_vtt(lines, vtt, fps=edit.plan.fps, total_frames=edit.plan.total_frames))
        return written

    for path in _run(go):
        out_console.print(f"[green]wrote[/] {path}")


@app.command()
def backends():
    """What is installed, and what each extra would add."""
    from ..generate import registry

    t = Table("backend", "status", "what it is")
    for name in registry.names():
        entry = registry.BACKENDS.get(name)
        if entry is None:
            t.add_row(name, "[green]plug-in[/]", "")
            continue
        missing = registry.missing_modules(name)
        status = "[green]ready[/]" if not missing else f"[yellow]pip install 'songreel[{entry.extra}]'[/]"
        t.add_row(name, status, entry.summary)
    out_console.print(t)


def _mount_optional():
    """Sub-apps owned by other modules (models, store, export...), mounted when present."""
    import importlib

    for mod, name in (("songreel.cli.models", "models"), ("songreel.cli.store", "store")):
        try:
            sub = importlib.import_module(mod)
        except ImportError:
            continue
        app.add_typer(sub.app, name=name)
    app.command("doctor")(importlib.import_module("songreel.cli.doctor").doctor)


_mount_optional()


def main() -> None:
    """Console-script entry point. Usage errors (unknown option, bad value) are one line, exit 2."""
    try:
        from typer._click import exceptions as cx  # typer >= 0.20 vendors click
    except ImportError:  # pragma: no cover - older typer on real click
        from click import exceptions as cx

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
        console.print("[bold red]error:[/] " + _escape(" ".join(e.format_message().split()) + hint), soft_wrap=True)
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
