"""The one-call path: storyboard -> analysis -> plan -> clips -> video -> report.

``cli/`` and ``web/`` are thin shells over these functions::

    from songreel import reel
    result = reel.render("my-video.yaml", "out.mp4")
    print(result.report["sync"])
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .errors import InputError, Interrupted, MissingFileError, OutputError, SongreelError  # noqa: F401 (Interrupted is re-exported)

STORE_DIR = ".songreel"


class Progress:
    """Progress events of a render; the CLI draws them as bars with ETA. Override what you need."""

    def stage(self, name: str, total: Optional[float] = None) -> None: ...

    def advance(self, name: str, done: float, total: Optional[float] = None, note: str = "") -> None: ...

    def message(self, text: str) -> None: ...

    def eta(self, seconds: Optional[float], note: str = "") -> None:
        """Estimated seconds left for the whole render (generation + assembly), from measured
        per-backend throughput; None while nothing is known yet."""


@dataclass
class RenderResult:
    """What :func:`render` made."""

    video: Path
    report_path: Path
    report: dict
    edit: object = None
    warnings: list = field(default_factory=list)


def load(storyboard):
    """Load a storyboard (path or already-loaded object)."""
    from .ingest.storyboard import load_storyboard
    from .schema.storyboard import Storyboard

    return storyboard if isinstance(storyboard, Storyboard) else load_storyboard(storyboard)


def store_dir(sb) -> Path:
    """``.songreel/`` beside the storyboard."""
    return sb.base_dir / STORE_DIR


def analysis_options(sb) -> dict:
    """The storyboard fields that change the song analysis (part of the lock's check)."""
    return dict(tracker=sb.analysis.tracker, tempo_hint=sb.analysis.tempo_hint, bpm=sb.bpm, meter=sb.meter,
                first_downbeat=float(sb.first_downbeat) if sb.first_downbeat is not None else None)


def analyze_storyboard_song(sb, *, progress: Optional[Progress] = None, lock=None, raw: Optional[list] = None):
    """Analyse the storyboard's song (cached by content hash) and apply the storyboard's overrides.

    With ``lock`` (a :class:`~songreel.schema.lock.Lock`) whose song hash and analysis options
    match, the locked analysis is used instead, so a newer analyser cannot move the cuts.
    ``raw``, when given, receives the analysis before overrides (what a lock stores).

    Returns
    -------
    Analysis
    """
    from .analysis import analyze_file
    from .plan.planner import apply_overrides

    opts = analysis_options(sb)
    analysis = _locked_analysis(sb, lock, opts)
    if analysis is None:
        if progress:
            progress.stage("analysis", 1.0)
            opts["progress"] = lambda frac, msg: progress.advance("analysis", frac, 1.0, msg)
        _check_song(sb)
        try:
            analysis = analyze_file(sb.song, cache_dir=store_dir(sb) / "analysis", **opts)
        except (InputError, MissingFileError) as e:
            text = str(e)
            if not text.startswith("song: "):
                raise
            raise type(e)(f"{sb.where('song')}: {text[len('song: '):]}") from None
        if progress:
            progress.advance("analysis", 1.0, 1.0, "done")
    if raw is not None:
        raw.append(analysis)
    return apply_overrides(analysis, sb)


def _check_song(sb) -> None:
    song = Path(sb.song)
    if not song.exists():
        raise MissingFileError(f"{sb.where('song')}: {song}: no such file; expected the song's audio file "
                               "(wav, flac, mp3, ogg, m4a/aac or opus)")
    if song.is_dir():
        raise InputError(f"{sb.where('song')}: {song}: is a folder; expected the song's audio file")
    if not os.access(song, os.R_OK):
        raise InputError(f"{sb.where('song')}: {song}: cannot be read (permission denied); expected a readable "
                         "audio file")
    if song.stat().st_size == 0:
        raise InputError(f"{sb.where('song')}: {song}: is empty (0 bytes); expected an audio file "
                         "(wav, flac, mp3, ogg, m4a/aac or opus)")


def _locked_analysis(sb, lock, opts: dict):
    if lock is None or not lock.analysis:
        return None
    from .ingest.audio import file_sha256
    from .schema.analysis import Analysis

    song = Path(sb.song)
    _check_song(sb)
    if lock.analysis_options != {k: v for k, v in opts.items() if k != "progress"}:
        return None
    if file_sha256(song) != lock.song_sha256:
        return None
    try:
        a = Analysis.from_dict(lock.analysis)
    except (KeyError, TypeError, ValueError):
        return None
    return a.with_(extra={**a.extra, "cache": "lock"})


def read_lock(sb):
    """The storyboard's lock file (``<name>.lock.json``), or None.

    Raises
    ------
    InputError
        The lock exists but cannot be read (it is never overwritten silently: it holds your picks).
    """
    from .schema.lock import lock_path, read_lock as _read

    if sb.path is None:
        return None
    path = lock_path(sb.path)
    try:
        return _read(path)
    except ValueError as e:
        raise InputError(f"{path}: not a readable songreel lock file ({e}); fix it, or move it away to "
                         "start a new one (it holds your picked takes)") from None


def project_info(sb):
    from .generate.base import ProjectInfo

    return ProjectInfo(sb.video.width, sb.video.height, sb.video.fps, sb.base_dir, store_dir(sb))


def make_plan(sb, analysis, backends=None):
    """Plan the storyboard on the analysed song, splitting shots at each backend's longest clip."""
    from .generate.base import max_project_frames
    from .generate.runner import Backends
    from .plan.planner import make_plan as _make_plan

    backends = backends or Backends(project_info(sb))
    fields = {}
    for i, shot in enumerate(sb.shots):
        fields.setdefault(hash(sb.backend_for(shot)), sb.where(f"shots[{i}].backend") if shot.backend else
                          sb.where("backend") if "backend" in sb._lines else "backend")

    def limit(spec):
        caps = backends.get(spec, field=fields.get(hash(spec), "backend")).capabilities()
        return max_project_frames(caps, sb.video.fps)

    lyrics = None
    if sb.lyrics is not None:
        from .ingest.lyrics import load_lyrics

        lyrics = load_lyrics(sb.lyrics)
    return _make_plan(sb, analysis, segment_limit=limit, lyrics=lyrics)


def check_inputs(sb) -> None:
    """Open every footage file and conditioning image once, so a bad one fails before any generation."""
    from .media import probe_video

    for i, shot in enumerate(sb.shots):
        if shot.clip is not None:
            probe_video(shot.clip, field=f"{sb.where(f'shots[{i}].clip')}")
        for name in ("first_frame", "last_frame"):
            image = getattr(shot, name)
            if image is not None and image != "next":
                _check_image(Path(image), sb.where(f"shots[{i}].{name}"))
    for name, c in sb.characters.items():
        if c.image is not None:
            _check_image(Path(c.image), sb.where(f"characters.{name}.image"))
    from .plan.look import check_storyboard  # camera moves and retiming modes, before any generation

    check_storyboard(sb)


def _check_image(path: Path, where: str) -> None:
    from PIL import Image, UnidentifiedImageError

    if not path.exists():
        raise MissingFileError(f"{where}: {path}: no such image file; expected a PNG, JPEG or WebP")
    try:
        with Image.open(path) as im:
            im.verify()
    except PermissionError:
        raise InputError(f"{where}: {path}: cannot be read (permission denied)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InputError(f"{where}: {path}: not a readable image; expected a PNG, JPEG or WebP") from None


def check_output(out: Path, sb, *, force: bool) -> Path:
    """Refuse outputs that would destroy input or can't be written.

    Raises
    ------
    OutputError
    """
    out = Path(out)
    if out.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        raise OutputError(f"{out}: output must be an .mp4 file (got '{out.suffix or 'no extension'}')")
    inputs = [sb.path, sb.song, sb.lyrics] + [s.clip for s in sb.shots] + \
        [s.first_frame for s in sb.shots] + [c.image for c in sb.characters.values()]
    resolved = out.resolve()
    for p in inputs:
        if p is not None and p != "next" and Path(p).resolve() == resolved:
            raise OutputError(f"{out}: is one of the inputs ({p}); choose another output name")
    parent = resolved.parent
    if not parent.is_dir():
        raise OutputError(f"{out}: the folder {parent} does not exist; create it or choose another output")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{out}: the folder {parent} is not writable")
    if out.is_dir():
        raise OutputError(f"{out}: is a folder; expected a path for the .mp4 file to write")
    if out.exists() and not force:
        raise OutputError(f"{out}: already exists; use --force to replace it (the old file stays until the new "
                          "one is complete)")
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputError(f"{out}: exists and is read-only; choose another output name")
    return out


def remove_stale_output_temps(out: Path) -> list:
    """Remove temp files a killed render left beside ``out`` (``.out.tmp-<pid>.mp4``,
    ``.out.report.tmp-<pid>-<thread>.json``) whose process is gone. Nothing else is touched."""
    from .fileio import remove_stale_temps

    out = Path(out)
    return remove_stale_temps(out.resolve().parent, prefix=f".{out.stem}.")


def build_edit(storyboard, *, progress: Optional[Progress] = None, stop: Optional[threading.Event] = None,
               timing: Optional[dict] = None, confirm: Optional[Callable] = None, takes: Optional[int] = None,
               locked: bool = False, write_lock: bool = True, candidates: bool = True,
               eta_out: Optional[list] = None):
    """Analyse, plan and generate (or reuse) every clip: everything but the final encode.

    ``confirm(estimate) -> bool`` is asked before anything is generated when the clips to make would
    cost money (hosted backends); returning False stops with nothing spent.

    Parameters
    ----------
    takes : int, optional
        At least this many candidate takes per shot (``--takes``); the picked take (``songreel
        pick``, default the first) is the one used.
    locked : bool
        Refuse to go on when the storyboard, song or plan changed since the lock file was written.
    write_lock : bool
        Record the analysis, plan, picks and clip keys in ``<name>.lock.json`` when done.
    candidates : bool
        Also make the takes that are not picked.

    Returns
    -------
    Edit
        With ``extra["generated"]`` / ``extra["reused"]`` counts.

    Raises
    ------
    GenerationError
        Some shots failed; the others are kept in the store and reused next time.
    Interrupted
        ``stop`` was set (Ctrl-C); finished clips are kept.
    """
    from .generate.runner import Backends, generate_plan
    from .generate.store import ClipStore
    from .schema.edit import Edit

    timing = timing if timing is not None else {}
    t0 = time.monotonic()
    sb = load(storyboard)
    check_inputs(sb)
    lock = read_lock(sb)
    if locked:
        _check_locked(sb, lock)
    raw: list = []
    analysis = analyze_storyboard_song(sb, progress=progress, lock=lock, raw=raw)
    timing["analysis_s"] = time.monotonic() - t0
    backends = Backends(project_info(sb))
    t1 = time.monotonic()
    notes: list = []
    try:
        plan = make_plan(sb, analysis, backends)
        store = ClipStore(store_dir(sb))
        if locked:
            _check_locked_plan(sb, lock, plan)
        picks = picks_from_lock(plan, lock, notes)
        # --- infinite-zoom hook (owned by plan/zoom.py and generate/zoom_nesting.py) ---
        if plan.look == "infinite-zoom":
            from .generate.base import max_project_frames
            from .plan.zoom import plan_zoom

            # pre-rolled levels must still fit in one backend call
            plan = plan_zoom(plan, sb, analysis, segment_limit=lambda spec: max_project_frames(
                backends.get(spec).capabilities(), sb.video.fps))
        # --- end infinite-zoom hook ---
        if confirm is not None:
            from .generate.runner import estimate_spend

            estimate = estimate_spend(plan, store, backends)
            if (estimate.dollars is None or estimate.dollars > 0) and estimate.new_segments and not confirm(estimate):
                raise SongreelError("stopped before generating: nothing was submitted or spent")
        eta = _Eta(plan, store, backends, progress, picks=picks, takes=takes, candidates=candidates)
        if eta_out is not None:  # the render's ETA goes on through assembly; the Edit stays plain data
            eta_out.append(eta)
        from .generate.runner import takes_of

        total_segments = sum(len(s.segments) * (takes_of(s, takes) if candidates and plan.look != "infinite-zoom"
                                                else 1) for s in plan.shots)
        if progress:
            progress.stage("generate", total_segments)
        done = [0]

        def on_clip(shot, j, ref):
            done[0] += 1
            if progress:
                progress.advance("generate", min(done[0], total_segments), total_segments,
                                 f"{shot.name} {'reused' if ref.reused else 'generated'}")
            eta.clip(shot, ref)

        if plan.look == "infinite-zoom":  # nesting routes: outpaint stack, clip chaining, animatic
            from .generate.zoom_nesting import generate_zoom

            summary = generate_zoom(plan, store, backends, on_clip=on_clip, stop=stop)
        else:
            summary = generate_plan(plan, store, backends, on_clip=on_clip, stop=stop, picks=picks, takes=takes,
                                    candidates=candidates, journal_name=str(sb.path or ""))
    finally:
        backends.close()
    timing["generation_s"] = time.monotonic() - t1
    if (stop is not None and stop.is_set()) or getattr(summary, "stopped", False):
        made = sum(1 for c in summary.clips if c)
        raise Interrupted(f"after {made} of {len(plan.shots)} shots; finished clips are kept in "
                          f"{store.root} and will be reused")
    if summary.failed:
        from .errors import GenerationError

        lines = "; ".join(f"shot {k + 1}: {v}" for k, v in sorted(summary.failed.items()))
        raise GenerationError(f"{len(summary.failed)} of {len(plan.shots)} shots failed ({lines}); the "
                              f"{len(plan.shots) - len(summary.failed)} that succeeded are kept and will be reused")
    if write_lock and not locked and sb.path is not None:
        _write_lock(sb, raw[0], plan, lock, picks, summary, takes)
    return Edit(plan=plan, song=Path(sb.song), clips=tuple(summary.clips), analysis=analysis,
                extra={"generated": summary.generated, "reused": summary.reused,
                       "takes_generated": getattr(summary, "takes_generated", 0),
                       "takes_reused": getattr(summary, "takes_reused", 0), "notes": notes,
                       "picks": picks})


class _Eta:
    """Whole-render time left, from per-backend seconds of work per second of clip (remembered in
    the store's ``throughput.json`` and refined by this run's own clips) plus the assembly rate."""

    def __init__(self, plan, store, backends, progress, *, picks, takes, candidates):
        self.progress = progress
        self.store = store
        self.rates = store.throughput() if progress is not None else {}
        self.todo: dict = {}
        self.live: dict = {}
        mpx = plan.width * plan.height / 1e6
        self.assembly_units = plan.total_frames * mpx
        if progress is None:
            return
        if plan.look != "infinite-zoom":
            from .generate.runner import pending_work

            try:
                for name, secs in pending_work(plan, store, backends, picks=picks, takes=takes,
                                               candidates=candidates):
                    self.todo[name] = self.todo.get(name, 0.0) + secs
            except SongreelError:
                self.todo = {}
        self.report()

    def rate(self, name: str) -> Optional[float]:
        live = self.live.get(name)
        live_rate = live[0] / live[1] if live and live[1] > 0 else None
        known = self.rates.get(name)
        if live_rate is not None and known is not None:
            return 0.5 * live_rate + 0.5 * known
        return live_rate if live_rate is not None else known

    def left(self, assembled: float = 0.0) -> Optional[float]:
        total = 0.0
        for name, secs in self.todo.items():
            if secs <= 0:
                continue
            r = self.rate(name)
            if r is None:
                return None
            total += secs * r
        a = self.rates.get("assemble")
        if a is None:
            return total if not self.todo else None
        return total + max(0.0, 1.0 - assembled) * self.assembly_units * a

    def clip(self, shot, ref) -> None:
        if self.progress is None or ref.reused:
            return
        from fractions import Fraction

        name = shot.backend.name
        secs = float(Fraction(ref.frames) / ref.fps)
        live = self.live.setdefault(name, [0.0, 0.0])
        live[0] += float(ref.provenance.get("seconds", 0.0))
        live[1] += secs
        self.todo[name] = max(0.0, self.todo.get(name, 0.0) - secs)
        self.report()

    def report(self, assembled: float = 0.0, rate: Optional[float] = None) -> None:
        if self.progress is None:
            return
        if rate is not None:
            self.rates["assemble"] = rate
        left = self.left(assembled)
        self.progress.eta(left, "measured" if left is not None else "measuring")

    def assembled(self, seconds: float) -> None:
        """Remember the assembly rate (seconds per frame-megapixel)."""
        if self.assembly_units > 0 and seconds > 0:
            try:
                self.store.record_throughput({"assemble": (seconds, self.assembly_units)})
            except Exception:  # noqa: BLE001
                pass


def picks_from_lock(plan, lock, notes: Optional[list] = None) -> dict:
    """``{shot index: take}`` for the shots whose pick in the lock still applies.

    A pick belongs to the shot with the same ``name:`` (or, for unnamed shots, the same prompt and
    seed); a pick whose shot changed is dropped with a note.
    """
    picks: dict = {}
    if lock is None:
        return picks
    for shot in plan.shots:
        entry = lock.entry_for(shot)
        if entry is not None and entry.picked:
            picks[shot.index] = entry.take
    if notes is not None:
        used = {id(lock.entry_for(s)) for s in plan.shots}
        for e in lock.shots:
            if e.picked and id(e) not in used:
                notes.append(f"the pick of take {e.take + 1} for {e.name} no longer applies (its prompt, seed or "
                             "name changed); the first take is used")
    return picks


def _lock_inputs(sb) -> tuple:
    from .ingest.audio import file_sha256

    song = Path(sb.song)
    return file_sha256(Path(sb.path)) if sb.path else "", file_sha256(song) if song.is_file() else ""


def _check_locked(sb, lock) -> None:
    from .schema.lock import lock_path

    if sb.path is None:
        raise InputError("--locked: the storyboard was not loaded from a file, so it has no lock file")
    path = lock_path(sb.path)
    if lock is None:
        raise InputError(f"--locked: {path}: no lock file; render once without --locked to write it")
    sb_sha, song_sha = _lock_inputs(sb)
    if sb_sha != lock.storyboard_sha256:
        raise InputError(f"--locked: {sb.path} changed since {path.name} was written; render without --locked "
                         "to use the changes (and update the lock)")
    if song_sha != lock.song_sha256:
        raise InputError(f"--locked: the song {sb.song} changed since {path.name} was written; render without "
                         "--locked to re-analyse it (and update the lock)")


def _check_locked_plan(sb, lock, plan) -> None:
    from .schema.lock import lock_path

    if plan.to_dict() != lock.plan:
        raise InputError(f"--locked: the plan differs from {lock_path(sb.path).name} (a newer songreel places "
                         "the shots differently); render without --locked to accept it")


def _write_lock(sb, raw_analysis, plan, old, picks: dict, summary, takes) -> None:
    import dataclasses

    from . import __version__ as version
    from .generate.runner import takes_of
    from .schema.lock import Lock, ShotLock, lock_path, write_lock

    sb_sha, song_sha = _lock_inputs(sb)
    opts = analysis_options(sb)
    shots = []
    for shot in plan.shots:
        prev = old.entry_for(shot) if old is not None else None
        made = [t for (i, t) in getattr(summary, "takes", {}) if i == shot.index]
        n = max([takes_of(shot, takes)] + [t + 1 for t in made] + ([prev.takes] if prev else []))
        clips = summary.clips[shot.index] or ()
        shots.append(ShotLock(index=shot.index, name=shot.name, named=bool(shot.spec.name), prompt=shot.prompt,
                              seed=shot.seed, take=picks.get(shot.index, 0), takes=n,
                              picked=shot.index in picks, clips=tuple(c.key for c in clips)))
    song = os.path.relpath(sb.song, Path(sb.path).parent) if Path(sb.song).is_absolute() else str(sb.song)
    lock = Lock(storyboard=Path(sb.path).name, storyboard_sha256=sb_sha, song=song, song_sha256=song_sha,
                analysis_options=opts, analysis=dataclasses.replace(raw_analysis, extra={}).to_dict(envelopes=True),
                plan=plan.to_dict(), shots=tuple(shots), version=str(version))
    try:
        write_lock(lock, lock_path(sb.path))
    except OSError as e:
        raise OutputError(f"{lock_path(sb.path)}: cannot write the lock file ({e.strerror or e})") from None


def render(storyboard, out, *, force: bool = False, progress: Optional[Progress] = None,
           stop: Optional[threading.Event] = None, otio: Optional[Path] = None,
           burn_lyrics: bool = False, confirm: Optional[Callable] = None, takes: Optional[int] = None,
           locked: bool = False, encode: Optional[dict] = None) -> RenderResult:
    """Render a storyboard to a finished MP4 with its song, and write the sync report beside it.

    Parameters
    ----------
    storyboard : str, Path or Storyboard
    out : str or Path
        The ``.mp4`` to write (temp name, then renamed).
    force : bool
        Replace an existing output.
    progress : Progress, optional
    stop : threading.Event, optional
        Set to stop between clips; finished clips stay in the store.
    otio : Path, optional
        Also write an OpenTimelineIO timeline (media hard-linked beside it where possible).
    encode : dict, optional
        ``{codec, crf, preset, audio}`` overriding the storyboard's ``encode:`` (None values are ignored).
    burn_lyrics : bool
        Draw the storyboard's lyrics into the picture.
    confirm : callable, optional
        Asked with a :class:`~songreel.generate.runner.SpendEstimate` before paid generation.
    takes : int, optional
        Make at least this many candidate takes of every shot (``songreel takes`` shows them).
    locked : bool
        Reproduce the lock file exactly or refuse (see :func:`build_edit`).

    Returns
    -------
    RenderResult

    Raises
    ------
    SongreelError
        Any user-facing problem, with a one-line message.
    """
    from .assemble import assemble
    from .assemble.encode import probe_output
    from .export.report import build_report, report_path, write_report

    t0 = time.monotonic()
    sb = load(storyboard)
    if encode:  # CLI flags override the storyboard's encode: block (validated like the storyboard)
        from .schema.storyboard import EncodeSpec

        try:
            merged = EncodeSpec.model_validate({**sb.encode.model_dump(), **{k: v for k, v in encode.items()
                                                                              if v is not None}})
        except ValueError as e:
            first = e.errors()[0]
            raise InputError(f"--{first['loc'][-1]}: got {first.get('input')!r}; expected "
                             f"{first['msg'].removeprefix('Input should be ').rstrip('.')}") from None
        sb = sb.with_(encode=merged)
    out = check_output(Path(out), sb, force=force)
    if otio is not None:
        check_output_file(Path(otio), sb, force=force, suffixes=(".otio", ".xml", ".edl"))
    timing: dict = {}
    remove_stale_output_temps(out)
    eta_box: list = []
    edit = build_edit(sb, progress=progress, stop=stop, timing=timing, confirm=confirm, takes=takes, locked=locked,
                      eta_out=eta_box)
    plan = edit.plan
    check_output(out, sb, force=force)  # again: the file may have appeared while clips were made
    lyrics = None
    overlay = None
    if sb.lyrics is not None:
        from .ingest.lyrics import load_lyrics

        lyrics = load_lyrics(sb.lyrics)
        if burn_lyrics:
            from .export.subtitles import LyricBurnIn

            overlay = LyricBurnIn.from_lyrics(lyrics, fps=plan.fps, total_frames=plan.total_frames)
    elif burn_lyrics:
        raise InputError("--burn-lyrics: the storyboard has no 'lyrics:' file (LRC or SRT) to burn in")
    t2 = time.monotonic()
    eta = eta_box[0] if eta_box else None

    def report_frame(d, n):
        progress.advance("assemble", d, n)
        if eta is not None and d % 24 == 0:
            spent = time.monotonic() - t2
            eta.report(d / n, rate=spent / (eta.assembly_units * d / n) if d and eta.assembly_units else None)

    if progress:
        progress.stage("assemble", plan.total_frames)
    try:
        result = assemble(edit, out, overlay=overlay, on_frame=report_frame if progress else None, replace=force,
                          chunk_dir=store_dir(sb) / "chunks")
    except KeyboardInterrupt:
        raise Interrupted(f"while assembling; {out} was not written (finished clips are kept and will "
                          "be reused)") from None
    timing["assembly_s"] = time.monotonic() - t2
    if eta is not None:
        eta.assembled(timing["assembly_s"])
        if progress:
            progress.eta(0.0, "done")
    probe = probe_output(out)
    extra = {"output": {"path": str(out), "audio": result.audio_mode,
                        "size": [plan.width, plan.height], "fps": str(plan.fps)},
             "seams": list(result.seams), "assembly": dict(result.stats)}
    edit = edit.with_(video=out)
    if lyrics is not None:
        from .export.subtitles import write_srt

        srt = write_srt(lyrics, out.with_suffix(".srt"), fps=plan.fps, total_frames=plan.total_frames)
        extra["output"]["srt"] = str(srt)
    if otio is not None:
        from .export.timeline import write_timeline

        exported = write_timeline(edit, Path(otio), media="link")
        extra["output"]["otio"] = str(exported.path)
    timing["total_s"] = time.monotonic() - t0
    doc = build_report(plan, edit.analysis, probe, generated=edit.extra["generated"],
                       reused=edit.extra["reused"], timing=timing, extra=extra)
    if edit.extra.get("takes_generated"):
        doc.setdefault("takes", {})["generated"] = edit.extra["takes_generated"]
    if edit.extra.get("picks"):
        doc.setdefault("takes", {})["picked"] = {str(k + 1): v + 1 for k, v in edit.extra["picks"].items()}
    rp = write_report(doc, report_path(out))
    return RenderResult(video=out, report_path=rp, report=doc, edit=edit,
                        warnings=list(plan.warnings) + list(edit.extra.get("notes", ())) + list(result.warnings))


def check_output_file(out: Path, sb, *, force: bool, suffixes: tuple) -> Path:
    """Like :func:`check_output` for side outputs (timelines, sheets, subtitles)."""
    out = Path(out)
    if out.suffix.lower() not in suffixes:
        raise OutputError(f"{out}: expected a file ending in {', '.join(suffixes)} (got '{out.suffix or 'none'}')")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise OutputError(f"{out}: the folder {parent} does not exist; create it or choose another output")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{out}: the folder {parent} is not writable")
    if out.exists() and not force:
        raise OutputError(f"{out}: already exists; use --force to replace it")
    return out


# ---------------------------------------------------------------------------------------------------
# takes: candidates of one shot, a contact strip to compare them, and the pick recorded in the lock


@dataclass
class TakesResult:
    """What :func:`make_takes` made."""

    shot: object                      # PlannedShot
    takes: list                       # [(take, seed, clips)] in take order
    picked: int                       # the take a render uses (0-based)
    strip: Optional[Path] = None      # contact strip PNG
    generated: int = 0
    reused: int = 0


def find_shot(plan, ref: str, sb=None):
    """The planned shot a user means by ``ref``: a 1-based number or a shot name.

    Raises
    ------
    UnknownNameError
        Naming what is accepted.
    """
    from .errors import UnknownNameError, did_you_mean

    text = str(ref).strip()
    n = len(plan.shots)
    if text.isdigit():
        k = int(text)
        if 1 <= k <= n:
            return plan.shots[k - 1]
        raise UnknownNameError(f"SHOT: got {text}, expected a shot number 1..{n} or a shot name")
    for s in plan.shots:
        if s.name == text or (s.spec.name and s.spec.name.lower() == text.lower()):
            return s
    names = [s.spec.name for s in plan.shots if s.spec.name]
    accepted = f"a shot number 1..{n}" + (f" or a name ({', '.join(names[:8])})" if names else
                                         " (no shot has a name: set name: on a shot to use one)")
    raise UnknownNameError(f'SHOT: no shot "{text}"{did_you_mean(text, names)}; expected {accepted}')


def make_takes(storyboard, shot_ref: str, *, takes: Optional[int] = None, progress: Optional[Progress] = None,
               stop: Optional[threading.Event] = None, strip: bool = True) -> TakesResult:
    """Generate (or reuse) every candidate take of one shot and draw a contact strip of them.

    ``takes`` defaults to the shot's ``takes:`` (3 when it has none). The strip is written to
    ``.songreel/takes/<storyboard>-shot<N>.png`` (one thumbnail per take: its middle frame,
    labelled with the take number and seed).
    """
    from .generate.runner import Backends, generate_plan, shot_seed, takes_of
    from .generate.store import ClipStore

    sb = load(storyboard)
    check_inputs(sb)
    lock = read_lock(sb)
    analysis = analyze_storyboard_song(sb, progress=progress, lock=lock)
    backends = Backends(project_info(sb))
    try:
        plan = make_plan(sb, analysis, backends)
        if plan.look == "infinite-zoom":
            raise InputError("takes: the infinite-zoom look is one continuous shot; takes apply to the cuts look")
        shot = find_shot(plan, shot_ref, sb)
        n = takes if takes is not None else (shot.takes if shot.takes > 1 else 3)
        n = max(1, min(int(n), 16))
        plan = plan.with_shot(shot.index, takes=n)
        shot = plan.shots[shot.index]
        store = ClipStore(store_dir(sb))
        picks = picks_from_lock(plan, lock)
        if progress:
            progress.stage("generate", n * len(shot.segments))
        count = [0]

        def on_clip(s, j, ref):
            if s.index == shot.index:
                count[0] += 1
                if progress:
                    progress.advance("generate", count[0], n * len(shot.segments), f"{s.name}")
        summary = generate_plan(plan, store, backends, picks=picks, on_clip=on_clip, stop=stop, takes=n,
                                journal_name=str(sb.path or ""), only={shot.index})
    finally:
        backends.close()
    if (stop is not None and stop.is_set()) or summary.stopped:
        raise Interrupted(f"the takes made so far are kept in {store.root}")
    if summary.failed or any((shot.index, t) not in summary.takes for t in range(takes_of(shot))):
        from .errors import GenerationError

        raise GenerationError(f"shot {shot.index + 1}: some takes failed ({summary.failed.get(shot.index, '')}); "
                              "the others are kept")
    made = [(t, shot_seed(shot, t), summary.takes[(shot.index, t)]) for t in range(n)]
    result = TakesResult(shot=shot, takes=made, picked=picks.get(shot.index, 0),
                         generated=summary.generated + summary.takes_generated,
                         reused=summary.reused + summary.takes_reused)
    _record_takes(sb, plan, lock, analysis, shot, n)
    if strip:
        stem = Path(sb.path).stem if sb.path else "storyboard"
        result.strip = contact_strip(plan, shot, made, store.root / "takes" / f"{stem}-shot{shot.index + 1:02d}.png",
                                     picked=result.picked)
    return result


def _record_takes(sb, plan, lock, analysis, shot, n: int) -> None:
    """Remember in the lock how many takes a shot has (so ``pick`` accepts them)."""
    from .schema.lock import ShotLock, lock_path, write_lock

    if sb.path is None:
        return
    if lock is None:
        lock = _new_lock(sb, plan)
    entries = list(lock.shots)
    entry = lock.entry_for(shot)
    if entry is not None:
        import dataclasses

        entries[entries.index(entry)] = dataclasses.replace(entry, takes=max(entry.takes, n))
    else:
        entries.append(ShotLock(index=shot.index, name=shot.name, named=bool(shot.spec.name), prompt=shot.prompt,
                                seed=shot.seed, takes=n))
    write_lock(lock.with_(shots=tuple(entries)), lock_path(sb.path))


def _new_lock(sb, plan):
    """A lock holding no analysis yet (written by ``takes``/``pick`` before any full render)."""
    from . import __version__ as version
    from .schema.lock import Lock

    sb_sha, song_sha = _lock_inputs(sb)
    return Lock(storyboard=Path(sb.path).name, storyboard_sha256=sb_sha, song=Path(sb.song).name,
                song_sha256=song_sha, analysis_options=analysis_options(sb), analysis={}, plan=plan.to_dict(),
                shots=(), version=str(version))


def pick(storyboard, shot_ref: str, take_number: int) -> tuple:
    """Choose take ``take_number`` (1-based) of a shot; recorded in the lock file.

    Returns
    -------
    (PlannedShot, Path)
        The shot and the lock file written.
    """
    from .generate.runner import Backends, takes_of
    from .schema.lock import ShotLock, lock_path, write_lock

    sb = load(storyboard)
    if sb.path is None:
        raise InputError("pick: the storyboard must be a file (the pick is kept beside it)")
    lock = read_lock(sb)
    analysis = analyze_storyboard_song(sb, lock=lock)
    backends = Backends(project_info(sb))
    try:
        plan = make_plan(sb, analysis, backends)
    finally:
        backends.close()
    shot = find_shot(plan, shot_ref, sb)
    entry = lock.entry_for(shot) if lock is not None else None
    available = max(takes_of(shot), entry.takes if entry else 1)
    if not 1 <= int(take_number) <= available:
        hint = "" if available > 1 else f"; make more with: songreel takes {shot.index + 1} --takes 3"
        raise InputError(f"TAKE: got {take_number}, expected a take number 1..{available} of shot "
                         f"{shot.index + 1} ({shot.name}){hint}")
    if lock is None:
        lock = _new_lock(sb, plan)
    entries = list(lock.shots)
    new = ShotLock(index=shot.index, name=shot.name, named=bool(shot.spec.name), prompt=shot.prompt, seed=shot.seed,
                   take=int(take_number) - 1, takes=available, picked=True,
                   clips=entry.clips if entry is not None and entry.take == int(take_number) - 1 else ())
    if entry is not None:
        entries[entries.index(entry)] = new
    else:
        entries.append(new)
    path = write_lock(lock.with_(shots=tuple(entries)), lock_path(sb.path))
    return shot, path


def contact_strip(plan, shot, takes: list, out: Path, *, picked: int = 0, width: int = 320) -> Path:
    """One PNG with a thumbnail per take (the shot's middle frame), labelled "take N · seed S".

    Written atomically; returns ``out``.
    """
    from io import BytesIO

    import numpy as np
    from PIL import Image, ImageDraw

    from .fileio import atomic_write_bytes

    mid = shot.render_start + shot.head + shot.frames // 2
    seg = next((g for g in shot.segments if g.start <= mid < g.end), shot.segments[-1])
    tw = width
    th = max(2, int(round(tw * plan.height / plan.width)))
    label_h = 22
    pad = 6
    img = Image.new("RGB", (pad + len(takes) * (tw + pad), th + label_h + 2 * pad), (24, 24, 24))
    draw = ImageDraw.Draw(img)
    for k, (t, seed, clips) in enumerate(takes):
        clip = clips[seg.index] if seg.index < len(clips) else clips[-1]
        index = clip.lead + int(round(float((mid - seg.start) / plan.fps * clip.fps)))
        rgb = _decode_frame(clip.path, min(max(index, 0), clip.frames - 1))
        thumb = Image.fromarray(np.asarray(rgb)).resize((tw, th), Image.BILINEAR)
        x = pad + k * (tw + pad)
        img.paste(thumb, (x, pad))
        colour = (255, 214, 10) if t == picked else (230, 230, 230)
        if t == picked:
            draw.rectangle([x - 2, pad - 2, x + tw + 1, pad + th + 1], outline=colour, width=2)
        draw.text((x + 2, pad + th + 5), f"take {t + 1} · seed {seed}" + ("  (picked)" if t == picked else ""),
                  fill=colour)
    buf = BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(Path(out), buf.getvalue())
    return Path(out)


def _decode_frame(path: Path, index: int):
    import av

    last = None
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            last = frame
            if i >= index:
                break
    if last is None:
        from .errors import GenerationError

        raise GenerationError(f"{path}: clip has no frames")
    return last.to_ndarray(format="rgb24")


# ---------------------------------------------------------------------------------------------------
# store maintenance


def store_storyboards(folder: Path) -> list:
    """Storyboard files in ``folder`` (``*.yaml``/``*.yml`` whose first key is ``songreel:``)."""
    import re

    found = []
    for p in sorted(list(Path(folder).glob("*.yaml")) + list(Path(folder).glob("*.yml"))):
        try:
            head = p.read_bytes()[:4096].decode("utf-8", "replace")
        except OSError:
            continue
        if re.search(r"^songreel\s*:", head, re.M):
            found.append(p)
    return found


def referenced_keys(storyboard) -> set:
    """Every clip key a storyboard refers to: each shot's picked and candidate takes (as far as they
    are in the store) and the clips its lock file records."""
    from .generate.runner import Backends, resolve_keys
    from .generate.store import ClipStore

    sb = load(storyboard)
    lock = read_lock(sb)
    keep: set = set()
    if lock is not None:
        for e in lock.shots:
            keep.update(e.clips)
    analysis = analyze_storyboard_song(sb, lock=lock)
    backends = Backends(project_info(sb))
    try:
        plan = make_plan(sb, analysis, backends)
        if plan.look == "infinite-zoom":  # its nesting layers are keyed by generate/zoom_nesting.py
            raise InputError("uses the infinite-zoom look, whose clips gc cannot yet tell apart")
        store = ClipStore(store_dir(sb), clean=False)
        keys = resolve_keys(plan, store, backends, picks=picks_from_lock(plan, lock))
    finally:
        backends.close()
    for ks in keys.values():
        keep.update(k for k in ks if k)
    return keep


def gc_store(folder: Path, *, dry_run: bool = False) -> dict:
    """Remove from ``folder/.songreel`` what no storyboard in ``folder`` (nor its lock file) refers to.

    Refuses (nothing is removed) when a storyboard there cannot be loaded and planned, since what it
    refers to cannot be known.

    Raises
    ------
    InputError
        No store, or a storyboard that fails (its message included).
    """
    from .generate.store import ClipStore

    folder = Path(folder)
    root = folder / STORE_DIR
    if not (root / "clips").is_dir():
        raise InputError(f"{folder}: no songreel store here (expected {root}/); nothing to clean")
    keep: set = set()
    boards = store_storyboards(folder)
    for p in boards:
        try:
            keep |= referenced_keys(p)
        except SongreelError as e:
            raise InputError(f"store gc: {p.name} cannot be planned, so its clips cannot be told apart; nothing "
                             f"was removed (fix it or move it away first): {e}") from None
    result = ClipStore(root).gc(keep, dry_run=dry_run)
    result["storyboards"] = [p.name for p in boards]
    result["kept"] = len(keep)
    return result
