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

from .errors import InputError, OutputError, SongreelError

STORE_DIR = ".songreel"


class Progress:
    """Progress events of a render; the CLI draws them as bars with ETA. Override what you need."""

    def stage(self, name: str, total: Optional[float] = None) -> None: ...

    def advance(self, name: str, done: float, total: Optional[float] = None, note: str = "") -> None: ...

    def message(self, text: str) -> None: ...


@dataclass
class RenderResult:
    """What :func:`render` made."""

    video: Path
    report_path: Path
    report: dict
    edit: object = None
    warnings: list = field(default_factory=list)


def load(storyboard) :
    """Load a storyboard (path or already-loaded object)."""
    from .ingest.storyboard import load_storyboard
    from .schema.storyboard import Storyboard

    return storyboard if isinstance(storyboard, Storyboard) else load_storyboard(storyboard)


def store_dir(sb) -> Path:
    """``.songreel/`` beside the storyboard."""
    return sb.base_dir / STORE_DIR


def analyze_storyboard_song(sb, *, progress: Optional[Progress] = None):
    """Analyse the storyboard's song (cached by content hash) and apply the storyboard's overrides.

    Returns
    -------
    Analysis
    """
    from .analysis import analyze_file
    from .plan.planner import apply_overrides

    opts = dict(tracker=sb.analysis.tracker, tempo_hint=sb.analysis.tempo_hint, bpm=sb.bpm, meter=sb.meter,
                first_downbeat=float(sb.first_downbeat) if sb.first_downbeat is not None else None)
    if progress:
        progress.stage("analysis", 1.0)
        opts["progress"] = lambda frac, msg: progress.advance("analysis", frac, 1.0, msg)
    analysis = analyze_file(sb.song, cache_dir=store_dir(sb) / "analysis", **opts)
    if progress:
        progress.advance("analysis", 1.0, 1.0, "done")
    return apply_overrides(analysis, sb)


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
        fields.setdefault(hash(sb.backend_for(shot)), f"shots[{i}].backend" if shot.backend else "backend")

    def limit(spec):
        caps = backends.get(spec, field=fields.get(hash(spec), "backend")).capabilities()
        return max_project_frames(caps, sb.video.fps)

    lyrics = None
    if sb.lyrics is not None:
        from .ingest.lyrics import load_lyrics

        lyrics = load_lyrics(sb.lyrics)
    return _make_plan(sb, analysis, segment_limit=limit, lyrics=lyrics)


def check_inputs(sb) -> None:
    """Open every footage file once so a bad clip fails before any generation."""
    from .media import probe_video

    for i, shot in enumerate(sb.shots):
        if shot.clip is not None:
            probe_video(shot.clip, field=f"{sb.where(f'shots[{i}].clip')}")


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
    if out.exists() and not force:
        raise OutputError(f"{out}: already exists; use --force to replace it (the old file stays until the new "
                          "one is complete)")
    return out


def build_edit(storyboard, *, progress: Optional[Progress] = None, stop: Optional[threading.Event] = None,
               timing: Optional[dict] = None, confirm: Optional[Callable] = None):
    """Analyse, plan and generate (or reuse) every clip: everything but the final encode.

    ``confirm(estimate) -> bool`` is asked before anything is generated when the clips to make would
    cost money (hosted backends); returning False stops with nothing spent.

    Returns
    -------
    Edit
        With ``extra["generated"]`` / ``extra["reused"]`` counts.

    Raises
    ------
    GenerationError
        Some shots failed; the others are kept in the store and reused next time.
    """
    from .generate.runner import Backends, generate_plan
    from .generate.store import ClipStore
    from .schema.edit import Edit

    timing = timing if timing is not None else {}
    t0 = time.monotonic()
    sb = load(storyboard)
    check_inputs(sb)
    analysis = analyze_storyboard_song(sb, progress=progress)
    timing["analysis_s"] = time.monotonic() - t0
    backends = Backends(project_info(sb))
    t1 = time.monotonic()
    try:
        plan = make_plan(sb, analysis, backends)
        store = ClipStore(store_dir(sb))
        # --- infinite-zoom hook (owned by plan/zoom.py and generate/zoom_nesting.py) ---
        if plan.look == "infinite-zoom":
            from .plan.zoom import plan_zoom

            plan = plan_zoom(plan, sb, analysis)
        # --- end infinite-zoom hook ---
        if confirm is not None:
            from .generate.runner import estimate_spend

            estimate = estimate_spend(plan, store, backends)
            if (estimate.dollars is None or estimate.dollars > 0) and estimate.new_segments and not confirm(estimate):
                raise SongreelError("stopped before generating: nothing was submitted or spent")
        total_segments = sum(len(s.segments) for s in plan.shots)
        if progress:
            progress.stage("generate", total_segments)
        done = [0]

        def on_clip(shot, j, ref):
            done[0] += 1
            if progress:
                progress.advance("generate", done[0], total_segments,
                                 f"{shot.name} {'reused' if ref.reused else 'generated'}")

        if plan.look == "infinite-zoom":  # nesting routes: outpaint stack, clip chaining, animatic
            from .generate.zoom_nesting import generate_zoom

            summary = generate_zoom(plan, store, backends, on_clip=on_clip, stop=stop)
        else:
            summary = generate_plan(plan, store, backends, on_clip=on_clip, stop=stop)
    finally:
        backends.close()
    timing["generation_s"] = time.monotonic() - t1
    if stop is not None and stop.is_set():
        raise SongreelError(f"stopped after {done[0]} of {total_segments} clips; finished clips are kept in "
                            f"{store.root} and will be reused")
    if summary.failed:
        from .errors import GenerationError

        lines = "; ".join(f"shot {k + 1}: {v}" for k, v in sorted(summary.failed.items()))
        raise GenerationError(f"{len(summary.failed)} of {len(plan.shots)} shots failed ({lines}); the "
                              f"{len(plan.shots) - len(summary.failed)} that succeeded are kept and will be reused")
    return Edit(plan=plan, song=Path(sb.song), clips=tuple(summary.clips), analysis=analysis,
                extra={"generated": summary.generated, "reused": summary.reused, "storyboard": sb})


def render(storyboard, out, *, force: bool = False, progress: Optional[Progress] = None,
           stop: Optional[threading.Event] = None, otio: Optional[Path] = None,
           burn_lyrics: bool = False, confirm: Optional[Callable] = None) -> RenderResult:
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
    burn_lyrics : bool
        Draw the storyboard's lyrics into the picture.
    confirm : callable, optional
        Asked with a :class:`~songreel.generate.runner.SpendEstimate` before paid generation.

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
    out = check_output(Path(out), sb, force=force)
    if otio is not None:
        check_output_file(Path(otio), sb, force=force, suffixes=(".otio", ".xml", ".edl"))
    timing: dict = {}
    edit = build_edit(sb, progress=progress, stop=stop, timing=timing, confirm=confirm)
    plan = edit.plan
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
    if progress:
        progress.stage("assemble", plan.total_frames)
    result = assemble(edit, out, overlay=overlay,
                      on_frame=(lambda d, n: progress.advance("assemble", d, n)) if progress else None)
    timing["assembly_s"] = time.monotonic() - t2
    probe = probe_output(out)
    extra = {"output": {"path": str(out), "audio": result.audio_mode,
                        "size": [plan.width, plan.height], "fps": str(plan.fps)}}
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
    rp = write_report(doc, report_path(out))
    return RenderResult(video=out, report_path=rp, report=doc, edit=edit, warnings=list(plan.warnings))


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
