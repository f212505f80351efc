"""What every ``songreel`` command shares: the consoles, one-line errors in the CLI's own words,
progress bars with ETA, Ctrl-C handling, the spend confirmation and logging.

The library's messages speak of arguments (``force=True``, ``shot``, ``encode.crf``); :func:`cli_words`
turns them into this command line's flags (``--force``, ``SHOT``, ``--crf``) in one table.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import TaskID

console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
STATE = {"debug": False}

# library wording -> command-line wording; prefixes first (an argument that starts a message)
_PREFIXES = {"shot": "SHOT", "take": "TAKE", "storyboard": "STORYBOARD", "song": "SONG", "output": "--output",
             "timeline": "--otio", "locked=True": "--locked", "burn_lyrics=True": "--burn-lyrics",
             "encode.crf": "--crf", "encode.codec": "--codec", "encode.preset": "--preset",
             "encode.audio": "--audio", "takes": "--takes", "media": "--media", "path": "--to",
             "retake_worst": "--retake-worst", "budget": "--budget", "sheet": "--sheet", "locked": "--locked",
             "executor": "--executor"}
_INLINE = [(re.compile(r"\bpass force=True\b"), "use --force"), (re.compile(r"\blocked=True\b"), "--locked"),
           (re.compile(r"\bpreview=True\b"), "--preview"),
           (re.compile(r"\bretake_worst=N\b"), "--retake-worst N"), (re.compile(r"\bretake_worst\b"), "--retake-worst"),
           (re.compile(r"make_takes\(storyboard, (\d+), takes=(\d+)\)"), r"songreel takes \1 --takes \2")]


def cli_words(text: str) -> str:
    """An API error message in the CLI's words (flags instead of argument names)."""
    head, sep, rest = text.partition(": ")
    if sep and head in _PREFIXES:
        text = f"{_PREFIXES[head]}: {rest}"
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    return text


def escape(text: str) -> str:
    """Text safe to print through Rich (``[diffusers]`` stays visible)."""
    from rich.markup import escape as _escape

    return _escape(text)


def fail(e: BaseException) -> None:
    """Print one line for a user error and exit with its code (2; 130 for a stop by Ctrl-C)."""
    if STATE["debug"]:
        console.print_exception()
    text = cli_words(" ".join(str(e).split("\n")))
    code = int(getattr(e, "exit_code", 2) or 2)
    label = "[bold yellow]stopped:[/] " if code == 130 else "[bold red]error:[/] "
    console.print(label + escape(text), soft_wrap=True)
    raise typer.Exit(code)


def run(fn):
    """Call ``fn()``; a songreel error, Ctrl-C or a full disk becomes one line and an exit code."""
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
            console.print("[bold red]error:[/] " + escape(f"{where}{e.strerror or e}; nothing finished was lost "
                                                          "(run with --debug for details)"), soft_wrap=True)
            if STATE["debug"]:
                console.print_exception()
            raise typer.Exit(2)
        raise


def setup_logging(verbose: int, log_file: Optional[Path]) -> None:
    """``-v`` shows songreel's INFO lines (hosted submits, polls, retries, downloads), ``-vv`` DEBUG;
    ``--log-file`` keeps DEBUG lines in a file. Keys never reach a log line (providers redact them)."""
    logger = logging.getLogger("songreel")
    if verbose:
        from rich.logging import RichHandler

        handler = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
        handler.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
        logger.addHandler(handler)
    if log_file is not None:
        try:
            fh = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as e:
            console.print("[bold red]error:[/] " + escape(f"--log-file: {log_file}: cannot be written "
                                                          f"({e.strerror or e})"), soft_wrap=True)
            raise typer.Exit(2)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        fh.setLevel(logging.DEBUG)
        logger.addHandler(fh)
    if verbose or log_file is not None:
        logger.setLevel(logging.DEBUG if (verbose > 1 or log_file is not None) else logging.INFO)


def whole_render(task, now: float) -> Optional[tuple]:
    """``(fraction, seconds left)`` of the whole-render row at ``now`` (monotonic), counting down from
    the last estimate; None while no estimate is known. The fraction is time spent over time spent
    plus time left, held below 1 until the render says it is done."""
    deadline = task.fields.get("deadline")
    if deadline is None:
        return None
    started = task.fields["started"]
    if task.fields.get("done"):
        return 1.0, 0.0
    left = max(0.0, deadline - now)
    span = max(deadline, now) - started
    return (min(0.99, (now - started) / span) if span > 0 else 0.0), left


def _columns():
    """Rich's columns, taught the whole-render row: its bar, percentage and time left come from the
    render's own estimate (:func:`whole_render`), and it shows only its note while none is known."""
    import time

    from rich.progress import BarColumn, ProgressBar, ProgressColumn, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn
    from rich.text import Text

    class Bar(BarColumn):
        def render(self, task):
            if not task.fields.get("whole"):
                return super().render(task)
            now = whole_render(task, time.monotonic())
            if now is None:
                return Text("")
            return ProgressBar(total=1.0, completed=now[0], width=None if self.bar_width is None else
                               max(1, self.bar_width), animation_time=task.get_time(), style=self.style,
                               complete_style=self.complete_style, finished_style=self.finished_style,
                               pulse_style=self.pulse_style)

    class Percent(ProgressColumn):
        def render(self, task):
            if task.fields.get("whole"):
                now = whole_render(task, time.monotonic())
                return Text("" if now is None else f"{now[0] * 100:>3.0f}%")
            return Text("" if task.total is None else f"{task.percentage:>3.0f}%")

    class Left(TimeRemainingColumn):
        def render(self, task):
            if not task.fields.get("whole"):
                return super().render(task)
            now = whole_render(task, time.monotonic())
            if now is None:
                return Text("-:--:--", style="progress.remaining")
            m, sec = divmod(int(round(now[1])), 60)
            h, m = divmod(m, 60)
            return Text(f"{h}:{m:02d}:{sec:02d}", style="progress.remaining")

    return (TextColumn("[bold]{task.description:<10}"), Bar(), Percent(), TimeElapsedColumn(), TextColumn("eta"),
            Left(), TextColumn("{task.fields[note]}"))


class RichProgress:
    """Rich progress bars with ETA for the stages of a long step (a :class:`songreel.Progress`), and a
    ``render`` row for the whole job: its share done and time left from :meth:`eta`."""

    def __init__(self) -> None:
        import time

        from rich.progress import Progress

        self.started = time.monotonic()
        self.bar = Progress(*_columns(), console=console, transient=False,
                            disable=not console.is_terminal)  # logs get one line per error
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)

    def stage(self, name: str, total: Optional[float] = None) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.bar.add_task(name, total=total, note="")

    def advance(self, name: str, done: float, total: Optional[float] = None, note: str = "") -> None:
        self.stage(name, total)
        self.bar.update(self.tasks[name], completed=done, total=total, note=escape(note[:40]))

    def message(self, text: str) -> None:
        self.bar.console.print(escape(text))

    def eta(self, seconds: Optional[float], note: str = "") -> None:
        """The whole render's time left, on its own line above the stage bars.

        Parameters
        ----------
        seconds : float or None
            Estimated seconds left (None: not known yet; 0 or less: done).
        note : str
            What the estimate rests on (``measured``), shown beside it.
        """
        import time

        now = time.monotonic()
        fields: dict[str, Any]
        if seconds is None:
            fields = {"deadline": None, "done": False, "note": "measuring throughput..."}
        elif seconds <= 0:
            fields = {"deadline": now, "done": True, "note": "done"}
        else:
            fields = {"deadline": now + seconds, "done": False, "note": escape(note)}
        if "render" not in self.tasks:
            self.tasks["render"] = self.bar.add_task("render", total=1.0, whole=True, started=self.started,
                                                     **fields)
        task = self.tasks["render"]
        self.bar.update(task, **fields)
        shown = whole_render(self.row("render"), now)  # Rich's own state (finished) follows the estimate
        self.bar.update(task, completed=shown[0] if shown is not None else 0.0)

    def row(self, name: str):
        """The Rich task of a row (``render``, or a stage), for tools and tests."""
        return next(t for t in self.bar.tasks if t.id == self.tasks[name])

    @property
    def stage_name(self) -> Optional[str]:
        names = [n for n in self.tasks if n != "render"]
        return names[-1] if names else None


class StopOnSignal:
    """Ctrl-C while clips are made: finish the current clip, keep everything, exit 130.
    A second Ctrl-C (or one during assembly, or SIGTERM) stops at once; temp files are removed."""

    def __init__(self, stop: threading.Event, progress=None):
        self.stop = stop
        self.progress = progress
        self.old: dict = {}

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


def spend_text(est) -> str:
    """One line about what generation would cost."""
    if est.dollars == 0:
        return f"{est.new_segments} new clips ({est.reused_segments} reused), made locally at no cost"
    cost = "an unknown amount (no price for " + ", ".join(est.unpriced) + "; set price_per_second)" \
        if est.dollars is None else f"about ${est.dollars:.2f}"
    from ..generate.hosted.prices import largest_shots

    largest = largest_shots(getattr(est, "by_shot", {}))
    return f"{est.new_segments} new clips ({est.reused_segments} reused) will cost {cost}" + \
        (f"; {largest}" if largest else "")


def spend_confirmer(yes: bool, above: float, progress=None):
    """Ask before spending more than ``above`` dollars; refuse without a terminal unless --yes."""
    def confirm(est) -> bool:
        text = spend_text(est)
        if yes or (est.dollars is not None and est.dollars <= above):
            console.print(f"[dim]{escape(text)}[/]")
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


def default_storyboard(path: Optional[Path]) -> Path:
    """The storyboard given, else the only one in the current folder."""
    from ..errors import InputError
    from ..reel import store_storyboards

    if path is not None:
        return path
    found = store_storyboards(Path.cwd())
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError("STORYBOARD: no storyboard (.yaml starting with 'songreel: 1') in this folder; give its path")
    raise InputError(f"STORYBOARD: {len(found)} storyboards here ({', '.join(p.name for p in found[:5])}); "
                     "give the one you mean")

