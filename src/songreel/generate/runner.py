"""Run a plan through its backends: one request per segment, chained, content-addressed, resumable.

Shots run concurrently up to each backend's ``max_concurrent`` (hosted APIs); the segments of a shot
run in order, each conditioned on the previous one's last frame(s) when the backend supports it.
A shot that fails is reported; the others go on, and everything finished stays in the store.

One job, walking the plan's shots through the store, past 450 lines because the walks that must agree
on every key live together: generation, the keys a gc keeps, the work left for the ETA and the spend
estimate each follow the same chain of requests.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional

from ..errors import GenerationError, InputError, SongreelError
from ..schema.clip import ClipRef, FrameRef, GenerationRequest
from ..schema.plan import Plan, PlannedShot
from ..schema.storyboard import BackendSpec
from . import registry
from .base import Capabilities, ProjectInfo, native_request_frames, round_size
from .journal import DONE, FAILED, GENERATING, STOPPED
from .store import ClipStore


@dataclass
class GenerationSummary:
    """What a generation pass did."""

    clips: list = field(default_factory=list)       # clips[i] = tuple of ClipRef per segment, None if failed
    generated: int = 0
    reused: int = 0
    failed: dict = field(default_factory=dict)      # shot index -> message
    seconds_generating: float = 0.0
    takes: dict = field(default_factory=dict)       # (shot index, take) -> tuple of ClipRef, every take made
    takes_generated: int = 0                        # clips of candidate takes other than the picked ones
    takes_reused: int = 0
    measured: dict = field(default_factory=dict)    # backend name -> [work seconds, clip seconds] generated
    stopped: bool = False


class Backends:
    """One backend instance per distinct spec for the whole render (models load once)."""

    def __init__(self, project: ProjectInfo):
        self.project = project
        self._made: dict = {}
        self._lock = threading.Lock()

    def get(self, spec: BackendSpec, *, field: str = "backend"):
        key = hash(spec)
        with self._lock:
            if key not in self._made:
                self._made[key] = registry.create(spec, self.project, field=field)
            return self._made[key]

    def close(self) -> None:
        for b in self._made.values():
            close = getattr(b, "close", None)
            if close:
                close()
        self._made.clear()


def shot_seed(shot: PlannedShot, take: int = 0) -> int:
    """Seed of take ``take`` (takes differ by seed only)."""
    return (shot.seed + 7919 * take) % (2**32)


def build_request(shot: PlannedShot, seg_index: int, plan: Plan, backend, caps: Capabilities, *,
                  take: int = 0, first_frame: Optional[FrameRef] = None, last_frame: Optional[FrameRef] = None,
                  prefix: Optional[FrameRef] = None, lead: int = 0) -> GenerationRequest:
    """The request for segment ``seg_index`` of ``shot``.

    ``lead`` frames at the clip's start repeat the previous segment (image chaining starts on the
    conditioning frame); they are generated, kept in the key, and skipped by the assembly.
    """
    seg = shot.segments[seg_index]
    frames, fps = native_request_frames(seg.frames, plan.fps, caps, lead=lead)
    opts = shot.backend.options
    width, height = round_size(int(opts.get("width", plan.width)), int(opts.get("height", plan.height)), caps)
    context = dict(getattr(backend, "key_context", dict)())
    context.update({
        "segment": seg_index, "offset": seg.start - shot.render_start, "shot_frames": shot.render_frames,
        "project_fps": str(plan.fps), "take": take, "lead": lead,
    })
    source = None
    if shot.spec.clip is not None:
        from .sources import source_sha256

        source = Path(shot.spec.clip)
        if not source.exists():
            raise InputError(f"shots[{shot.index}].clip: {source}: no such file")
        context.update({"source_sha256": source_sha256(source), "fit": shot.spec.fit,
                        "in": str(shot.spec.in_ or 0), "conform": shot.spec.conform,
                        "project_size": [plan.width, plan.height]})
    if getattr(caps, "chain_continuous", False) or backend.name == "animatic":
        context.update({"caption": shot.name, "position": shot.position, "section": shot.section})
    references = backend_references(shot, plan, caps, backend.name)
    return GenerationRequest(
        backend=backend.name, model=str(getattr(backend, "model", "")), version=str(backend.version),
        prompt=shot.prompt, negative=shot.negative, seed=shot_seed(shot, take), frames=frames, fps=fps,
        width=width, height=height, first_frame=first_frame, last_frame=last_frame, prefix=prefix,
        context=context, source=source, references=references)


def backend_references(shot: PlannedShot, plan: Plan, caps: Capabilities, backend_name: str = "") -> tuple:
    """The reference images of ``shot``'s cast that go to its backend.

    An image-first shot already carries its characters in its keyframe, so it sends them only when
    the backend takes them all; any other shot with more than the backend takes is an input error.
    """
    from ..schema.cast import shot_references

    refs = shot_references(getattr(shot, "cast", ()))
    limit = int(getattr(caps, "max_references", 0))
    if len(refs) <= limit:
        return refs
    if shot.index in plan.extra.get("image_first", ()):
        return ()
    raise InputError(f"shots[{shot.index}]: {len(refs)} reference images, but backend {backend_name!r} takes "
                     f"{limit or 'none'}; give the shot's characters fewer ref: images, or set keyframes: true "
                     "to place them with an image model first")


class Stopped(Exception):
    """Raised inside a shot when the stop event is set between two of its clips."""


def generate_shot(shot: PlannedShot, plan: Plan, backend, store: ClipStore, *, take: int = 0,
                  keyframes: Optional[dict] = None, on_clip: Optional[Callable] = None,
                  stop: Optional[threading.Event] = None) -> tuple[ClipRef, ...]:
    """Generate every segment of one shot, chaining each on the previous one.

    Raises :class:`Stopped` when ``stop`` is set before a segment starts (finished ones stay stored).
    """
    caps = backend.capabilities()
    out: list[ClipRef] = []
    keyframes = keyframes or {}
    for j, _seg in enumerate(shot.segments):
        if stop is not None and stop.is_set():
            raise Stopped()
        first = last = prefix = None
        lead = 0
        if j == 0:
            first = keyframes.get("first")
        elif not caps.chain_continuous:
            prev = out[-1]
            if caps.video_prefix and prev.tail is not None:
                prefix = prev.tail
            elif caps.first_frame:
                first = prev.last_frame
                lead = 1  # the clip opens on the previous clip's last frame: show it once, not twice
        if j == len(shot.segments) - 1:
            last = keyframes.get("last")
        if first is not None and not caps.first_frame:
            first = None
        if last is not None and not caps.last_frame:
            last = None
        req = build_request(shot, j, plan, backend, caps, take=take, first_frame=first, last_frame=last,
                            prefix=prefix, lead=lead)
        ref = store.make(req, functools.partial(backend.generate, req))
        out.append(ref)
        if on_clip:
            on_clip(shot, j, ref)
    return tuple(out)


def takes_of(shot: PlannedShot, takes: Optional[int] = None) -> int:
    """How many candidate takes a shot has: its ``takes:``, or ``takes`` (``--takes``) if larger."""
    return max(int(shot.takes or 1), int(takes or 1))


def generate_plan(plan: Plan, store: ClipStore, backends: Backends, *, picks: Optional[dict] = None,
                  on_clip: Optional[Callable] = None, stop: Optional[threading.Event] = None,
                  takes: Optional[int] = None, candidates: bool = True, journal_name: str = "",
                  only: Optional[set] = None, executor=None) -> GenerationSummary:
    """Make (or reuse) every clip of ``plan``.

    Parameters
    ----------
    picks : dict, optional
        ``{shot index: take}`` chosen takes (default take 0).
    on_clip : callable, optional
        ``on_clip(shot, segment_index, ClipRef)`` after each clip (progress). Candidate takes report
        too, after every picked clip is made; ``ref.provenance["context"]["take"]`` tells them apart.
    stop : threading.Event, optional
        Set it to stop cleanly between clips (Ctrl-C); finished clips stay in the store.
    takes : int, optional
        At least this many candidate takes per shot (``--takes``); a shot's ``takes:`` can ask more.
    candidates : bool
        Also make the takes that are not picked (after all picked clips), so they can be compared.
    journal_name : str
        Name of the storyboard in the shot-state journal.
    only : set, optional
        Shot indices to generate (``songreel takes``); default all.
    executor : optional
        Where the shots run (:mod:`songreel.generate.executors`); default this process. ``backends``
        should come from its ``executor.backends(...)``.

    Returns
    -------
    GenerationSummary
    """
    picks = picks or {}
    summary = GenerationSummary(clips=[None] * len(plan.shots))
    lock = threading.Lock()
    journal = store.journal

    def keyframes_for(shot: PlannedShot) -> dict:
        nxt = summary.clips[shot.index + 1] if shot.index + 1 < len(plan.shots) else None
        return shot_keyframes(shot, plan, store, nxt)

    def run(shot: PlannedShot, take: Optional[int] = None) -> None:
        picked = take is None
        this_take: int = picks.get(shot.index, 0) if take is None else take
        if stop is not None and stop.is_set():
            summary.stopped = True
            return
        journal.shot(journal_name, shot.index, this_take, GENERATING)
        try:
            backend = backends.get(shot.backend, field=f"shots[{shot.index}].backend")
            clips = generate_shot(shot, plan, backend, store, take=this_take, keyframes=keyframes_for(shot),
                                  on_clip=_counting(on_clip, summary, lock, picked), stop=stop)
            if picked:
                summary.clips[shot.index] = clips
            with lock:
                summary.takes[(shot.index, this_take)] = clips
            journal.shot(journal_name, shot.index, this_take, DONE, keys=[c.key for c in clips])
        except Stopped:
            summary.stopped = True
            journal.shot(journal_name, shot.index, this_take, STOPPED)
        except GenerationError as e:
            with lock:
                if picked:
                    summary.failed[shot.index] = str(e)
            journal.shot(journal_name, shot.index, this_take, FAILED, error=str(e))
        except SongreelError:
            raise

    requested = None if only is None else set(only)
    if only is not None:  # a shot ending on the next one's first frame needs that one too
        only = set(only)
        for i in sorted(only):
            while plan.shots[i].spec.last_frame == "next" and i + 1 < len(plan.shots) and i + 1 not in only:
                only.add(i + 1)
                i += 1
    shots = [s for s in plan.shots if only is None or s.index in only]
    if executor is None:
        _run_shots(shots, run, backends)
    else:
        executor.run_shots(shots, run, backends)
    # candidate takes: after every picked clip, so the video is complete as early as possible
    if candidates:
        extra = [(s, t) for s in shots for t in range(takes_of(s, takes))
                 if t != picks.get(s.index, 0) and (requested is None or s.index in requested)]
        if executor is not None:
            executor.run_takes(extra, run, backends)
            extra = []
        for s, t in extra:
            if stop is not None and stop.is_set():
                summary.stopped = True
                break
            run(s, t)
    try:
        store.record_throughput({k: tuple(v) for k, v in summary.measured.items()})
    except Exception:  # noqa: BLE001 - remembering speed must never fail a render
        pass
    return summary


def shot_keyframes(shot: PlannedShot, plan: Plan, store: ClipStore, next_clips=None) -> dict:
    """Conditioning images of a shot: ``first`` (its first_frame or character image) and ``last``
    (its last_frame image, or the next shot's first frame for ``last_frame: next``)."""
    kf = {}
    keyframe = plan.extra.get("keyframes", {}).get(shot.index)
    if shot.spec.first_frame is not None:
        kf["first"] = store.put_frame(_load_image(shot.spec.first_frame, f"shots[{shot.index}].first_frame"))
    elif keyframe is not None:  # the approved keyframe of an image-first shot
        kf["first"] = store.put_frame(_load_image(Path(keyframe), f"shots[{shot.index}].keyframes"))
    elif shot.characters:
        # a character's reference image opens the first shot that names them
        for name in shot.characters:
            image = plan.extra.get("character_images", {}).get(name)
            if image:
                kf["first"] = store.put_frame(_load_image(Path(image), f"characters.{name}.image"))
                break
    lf = shot.spec.last_frame
    if lf == "next" and shot.index + 1 < len(plan.shots):
        if next_clips:
            kf["last"] = store.put_frame(_first_frame_of(next_clips[0]))
    elif lf is not None and lf != "next":
        kf["last"] = store.put_frame(_load_image(Path(lf), f"shots[{shot.index}].last_frame"))
    return kf


def resolve_keys(plan: Plan, store: ClipStore, backends: Backends, *, picks: Optional[dict] = None,
                 takes: Optional[int] = None, all_takes: bool = True) -> dict:
    """The content addresses a render of ``plan`` would use, found without generating anything.

    A chained segment's key depends on the stored pixels of the one before it, so each shot is
    walked in order; from the first segment not in the store on, the rest of that shot is unknown
    (it has never been made, so nothing stored can belong to it).

    Returns
    -------
    dict
        ``{(shot index, take): [key or None per segment]}``; the picked take of every shot, and
        with ``all_takes`` every candidate take.
    """
    picks = picks or {}
    picked: dict = {}
    out: dict = {}

    def walk(shot: PlannedShot, take: int):
        backend = backends.get(shot.backend, field=f"shots[{shot.index}].backend")
        caps = backend.capabilities()
        nxt = picked.get(shot.index + 1)
        try:
            kf = shot_keyframes(shot, plan, store, nxt)
        except SongreelError:
            kf = {}
        keys: list = []
        refs: list = []
        for j, _seg in enumerate(shot.segments):
            first = kf.get("first") if j == 0 else None
            last = kf.get("last") if j == len(shot.segments) - 1 else None
            prefix = None
            lead = 0
            if j > 0 and not caps.chain_continuous:
                prev = refs[-1] if refs else None
                if prev is None:
                    keys.append(None)
                    refs.append(None)
                    continue
                if caps.video_prefix and prev.tail is not None:
                    prefix = prev.tail
                elif caps.first_frame:
                    first, lead = prev.last_frame, 1
            first = first if caps.first_frame else None
            last = last if caps.last_frame else None
            try:
                req = build_request(shot, j, plan, backend, caps, take=take, first_frame=first, last_frame=last,
                                    prefix=prefix, lead=lead)
            except SongreelError:
                keys.append(None)
                refs.append(None)
                continue
            key = req.key()
            ref = store.get(key, verify=False, source=req.source)
            keys.append(key)
            refs.append(ref)
        out[(shot.index, take)] = keys
        if take == picks.get(shot.index, 0):
            picked[shot.index] = tuple(refs) if refs and all(r is not None for r in refs) else None

    order = [s for s in plan.shots if s.spec.last_frame != "next"] + \
        sorted([s for s in plan.shots if s.spec.last_frame == "next"], key=lambda s: -s.index)
    for s in order:
        walk(s, picks.get(s.index, 0))
    if all_takes:
        for s in plan.shots:
            for t in range(takes_of(s, takes)):
                if (s.index, t) not in out:
                    walk(s, t)
    return out


def pending_work(plan: Plan, store: ClipStore, backends: Backends, *, picks: Optional[dict] = None,
                 takes: Optional[int] = None, candidates: bool = True) -> list:
    """``[(backend name, clip seconds)]`` for every clip a render would have to generate (for the ETA)."""
    keys = resolve_keys(plan, store, backends, picks=picks, takes=takes, all_takes=candidates)
    work = []
    for (i, _take), ks in keys.items():
        shot = plan.shots[i]
        for seg, k in zip(shot.segments, ks):
            if k is None or store.get(k, verify=False) is None:
                work.append((shot.backend.name, float(Fraction(seg.frames) / plan.fps)))
    return work


def _run_shots(shots, run, backends: Backends) -> None:
    """Run ``run(shot)`` for each shot, concurrently per backend up to its ``max_concurrent``."""
    # shots whose last frame is the next shot's first frame wait for that shot
    later = [s for s in shots if s.spec.last_frame == "next"]
    first_pass = [s for s in shots if s.spec.last_frame != "next"]
    by_backend: dict = {}
    for s in first_pass:
        by_backend.setdefault(hash(s.backend), []).append(s)
    for group in by_backend.values():
        backend = backends.get(group[0].backend, field=f"shots[{group[0].index}].backend")
        workers = max(1, int(getattr(backend, "max_concurrent", 1)))
        if workers == 1:
            for s in group:
                run(s)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"gen-{backend.name}") as pool:
                for f in [pool.submit(run, s) for s in group]:
                    f.result()
    for s in sorted(later, key=lambda s: -s.index):
        run(s)


def _counting(on_clip, summary: GenerationSummary, lock, picked: bool = True):
    def cb(shot, j, ref: ClipRef):
        with lock:
            if ref.reused:
                if picked:
                    summary.reused += 1
                else:
                    summary.takes_reused += 1
            else:
                if picked:
                    summary.generated += 1
                else:
                    summary.takes_generated += 1
                work = float(ref.provenance.get("seconds", 0.0))
                summary.seconds_generating += work
                m = summary.measured.setdefault(shot.backend.name, [0.0, 0.0])
                m[0] += work
                m[1] += float(Fraction(ref.frames) / ref.fps)
        if on_clip:
            on_clip(shot, j, ref)
    return cb


def _load_image(path: Path, field: str):
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if not Path(path).exists():
        raise InputError(f"{field}: {path}: no such image file")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError):
        raise InputError(f"{field}: {path}: not a readable image; expected PNG, JPEG or WebP") from None


def _first_frame_of(ref: ClipRef):
    from ..errors import MediaError
    from ..sampling import clip_frame_rgb

    try:
        return clip_frame_rgb(ref, 0)
    except MediaError:
        raise GenerationError(f"{ref.path}: clip has no frames") from None


@dataclass
class SpendEstimate:
    """What a render would cost before anything is submitted."""

    dollars: Optional[float]          # None when some backend has no price (unknown)
    new_segments: int                 # clips that would be generated
    reused_segments: int              # clips already in the store
    unpriced: list = field(default_factory=list)   # backend names with no price
    by_shot: dict = field(default_factory=dict)    # shot name -> dollars (priced shots only)


def estimate_spend(plan: Plan, store: ClipStore, backends: Backends) -> SpendEstimate:
    """Price the clips a render would generate; clips already in the store cost nothing.

    A chained segment's key depends on its predecessor's pixels, so a shot is walked in order: stored
    segments are free, and from the first missing one on, every segment of that shot is charged.
    Local backends (animatic, footage, diffusers) are free.
    """
    total = 0.0
    new = reused = 0
    unpriced: list = []
    by_shot: dict = {}
    for shot in plan.shots:
        backend = backends.get(shot.backend, field=f"shots[{shot.index}].backend")
        caps = backend.capabilities()
        prev = None
        missing = False
        for j, seg in enumerate(shot.segments):
            ref = None
            if not missing:
                first = prefix = None
                lead = 0
                if j > 0 and not caps.chain_continuous and prev is not None:
                    if caps.video_prefix and prev.tail is not None:
                        prefix = prev.tail
                    elif caps.first_frame:
                        first, lead = prev.last_frame, 1
                try:
                    req = build_request(shot, j, plan, backend, caps, first_frame=first, prefix=prefix, lead=lead)
                    ref = store.get(req.key(), verify=False, source=req.source)
                except SongreelError:
                    ref = None
            if ref is not None:
                reused += 1
                prev = ref
                continue
            missing = True
            new += 1
            if getattr(backend, "billed_seconds", None) is None:
                continue  # local backends cost nothing
            from .hosted.prices import estimate_cost

            dollars = estimate_cost([float(Fraction(seg.frames) / plan.fps)], backend)
            if dollars is None:
                if backend.name not in unpriced:
                    unpriced.append(backend.name)
            else:
                total += dollars
                by_shot[shot.name] = round(by_shot.get(shot.name, 0.0) + dollars, 4)
    return SpendEstimate(None if unpriced else round(total, 2), new, reused, unpriced, by_shot)
