"""Generation: analyse, plan and make (or reuse) every clip of a storyboard — everything a render
needs but the final encode, also what ``export`` uses."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable, Optional

from ..errors import Interrupted, SongreelError
from ..progress import Progress
from .checks import check_inputs
from .eta import RenderEta
from .lockfile import check_locked, check_locked_plan, picks_from_lock, read_lock, write_render_lock
from .project import analyze_storyboard_song, full_plan, load, project_info, store_dir


def build_edit(storyboard, *, progress: Optional[Progress] = None, stop: Optional[threading.Event] = None,
               confirm: Optional[Callable] = None, takes: Optional[int] = None, locked: bool = False,
               write_lock: bool = True, candidates: bool = True):
    """Analyse, plan and generate (or reuse) every clip: everything but the final encode.

    See :func:`generate_edit` for the parameters; this returns only the :class:`~songreel.schema.edit.Edit`.
    """
    edit, _eta = generate_edit(storyboard, progress=progress, stop=stop, confirm=confirm, takes=takes,
                               locked=locked, write_lock=write_lock, candidates=candidates)
    return edit


def generate_edit(storyboard, *, progress: Optional[Progress] = None, stop: Optional[threading.Event] = None,
                  timing: Optional[dict] = None, confirm: Optional[Callable] = None, takes: Optional[int] = None,
                  locked: bool = False, write_lock: bool = True, candidates: bool = True,
                  executor=None, ray_address: Optional[str] = None):
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
    executor : str or executor object, optional
        Where clips are generated (``"local"``, ``"ray"``); default the storyboard's ``executor:``.
    ray_address : str, optional
        The Ray cluster (default the storyboard's ``executor.address``, else ``RAY_ADDRESS``).

    Returns
    -------
    edit : Edit
        With plain counts in ``extra`` (``generated``, ``reused``, ``takes_generated``, ``takes_reused``),
        ``notes``, ``picks`` and ``storyboard`` (its file name, which the chunk records of the render name).
    eta : RenderEta
        The time-left estimate, for the assembly that follows to refine.

    Raises
    ------
    GenerationError
        Some shots failed; the others are kept in the store and reused next time.
    Interrupted
        ``stop`` was set (Ctrl-C); finished clips are kept.
    """
    from ..generate.runner import Backends, generate_plan
    from ..generate.store import ClipStore
    from ..schema.edit import Edit

    timing = timing if timing is not None else {}
    t0 = time.monotonic()
    sb = load(storyboard)
    check_inputs(sb)
    from ..generate.sources import prefetch_sources  # footage hashed and probed while the song is analysed

    prefetch_sources(shot.clip for shot in sb.shots if shot.clip is not None)
    lock = read_lock(sb)
    if locked:
        check_locked(sb, lock)
    raw: list = []
    analysis = analyze_storyboard_song(sb, progress=progress, lock=lock, raw=raw)
    timing["analysis_s"] = time.monotonic() - t0
    backends = Backends(project_info(sb))
    t1 = time.monotonic()
    notes: list = []
    ex = None
    try:
        plan = full_plan(sb, analysis, backends)
        store = ClipStore(store_dir(sb))
        from ..generate.keyframes import attach_keyframes  # image-first shots open on their keyframe

        plan = attach_keyframes(sb, plan, store_dir(sb))
        if locked:
            check_locked_plan(sb, lock, plan)
        picks = picks_from_lock(plan, lock, notes)
        if confirm is not None:
            from ..generate.runner import estimate_spend

            estimate = estimate_spend(plan, store, backends)
            if (estimate.dollars is None or estimate.dollars > 0) and estimate.new_segments and not confirm(estimate):
                raise SongreelError("stopped before generating: nothing was submitted or spent")
        eta = RenderEta(plan, store, backends, progress, picks=picks, takes=takes, candidates=candidates)
        from ..generate.runner import takes_of

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

        ex = _executor(sb, executor, ray_address)
        gen = ex.backends(backends, plan)
        eta.parallel = max(1, int(getattr(ex, "parallelism", 1)))
        if plan.look == "infinite-zoom":  # nesting routes: outpaint stack, clip chaining, animatic
            from ..generate.zoom_nesting import generate_zoom

            summary = generate_zoom(plan, store, gen, on_clip=on_clip, stop=stop)
        else:
            summary = generate_plan(plan, store, gen, on_clip=on_clip, stop=stop, picks=picks, takes=takes,
                                    candidates=candidates, journal_name=sb.path.name if sb.path else "",
                                    executor=ex)
        executor_report = ex.describe(plan, summary)
    finally:
        if ex is not None and ex is not executor:
            ex.close()
        backends.close()
    timing["generation_s"] = time.monotonic() - t1
    if (stop is not None and stop.is_set()) or getattr(summary, "stopped", False):
        made = sum(1 for c in summary.clips if c)
        raise Interrupted(f"after {made} of {len(plan.shots)} shots; finished clips are kept in "
                          f"{store.root} and will be reused")
    if summary.failed:
        from ..errors import GenerationError

        lines = "; ".join(f"shot {k + 1}: {v}" for k, v in sorted(summary.failed.items()))
        raise GenerationError(f"{len(summary.failed)} of {len(plan.shots)} shots failed ({lines}); the "
                              f"{len(plan.shots) - len(summary.failed)} that succeeded are kept and will be reused")
    if write_lock and not locked and sb.path is not None and Path(sb.path).is_file():
        write_render_lock(sb, raw[0], plan, lock, picks, summary, takes)
    return Edit(plan=plan, song=Path(sb.song), clips=tuple(summary.clips), analysis=analysis,
                extra={"generated": summary.generated, "reused": summary.reused,
                       "takes_generated": getattr(summary, "takes_generated", 0),
                       "takes_reused": getattr(summary, "takes_reused", 0), "notes": notes,
                       "picks": picks, "executor": executor_report,
                       "storyboard": Path(sb.path).name if sb.path else None}), eta


def _executor(sb, executor, ray_address):
    """The executor to generate with: an object passed in, else by name (argument, then storyboard)."""
    from ..generate import executors

    if executor is not None and not isinstance(executor, str):
        return executor
    name = executor or sb.executor.name
    address = ray_address or (sb.executor.address if sb.executor.name == name else None)
    return executors.create(name, address=address)




def estimate_cost(storyboard):
    """What generating a storyboard's missing clips would cost, before anything is submitted.

    Returns
    -------
    SpendEstimate
        ``dollars`` (None when a backend has no price), ``new_segments``, ``reused_segments``.
    """
    from ..generate.runner import Backends, estimate_spend
    from ..generate.store import ClipStore

    sb = load(storyboard)
    check_inputs(sb)
    lock = read_lock(sb)
    analysis = analyze_storyboard_song(sb, lock=lock)
    backends = Backends(project_info(sb))
    try:
        plan = full_plan(sb, analysis, backends)
        from ..generate.keyframes import attach_keyframes

        plan = attach_keyframes(sb, plan, store_dir(sb), make=False)
        return plan, estimate_spend(plan, ClipStore(store_dir(sb), clean=False), backends)
    finally:
        backends.close()
