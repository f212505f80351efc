"""Run a plan through its backends: one request per segment, chained, content-addressed, resumable.

Shots run concurrently up to each backend's ``max_concurrent`` (hosted APIs); the segments of a shot
run in order, each conditioned on the previous one's last frame(s) when the backend supports it.
A shot that fails is reported; the others go on, and everything finished stays in the store.
"""

from __future__ import annotations

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
from .store import ClipStore


@dataclass
class GenerationSummary:
    """What a generation pass did."""

    clips: list = field(default_factory=list)       # clips[i] = tuple of ClipRef per segment, None if failed
    generated: int = 0
    reused: int = 0
    failed: dict = field(default_factory=dict)      # shot index -> message
    seconds_generating: float = 0.0


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
        from ..ingest.audio import file_sha256

        source = Path(shot.spec.clip)
        if not source.exists():
            raise InputError(f"shots[{shot.index}].clip: {source}: no such file")
        context.update({"source_sha256": file_sha256(source), "fit": shot.spec.fit,
                        "in": str(shot.spec.in_ or 0), "conform": shot.spec.conform,
                        "project_size": [plan.width, plan.height]})
    if getattr(caps, "chain_continuous", False) or backend.name == "animatic":
        context.update({"caption": shot.name, "position": shot.position, "section": shot.section})
    return GenerationRequest(
        backend=backend.name, model=str(getattr(backend, "model", "")), version=str(backend.version),
        prompt=shot.prompt, negative=shot.negative, seed=shot_seed(shot, take), frames=frames, fps=fps,
        width=width, height=height, first_frame=first_frame, last_frame=last_frame, prefix=prefix,
        context=context, source=source)


def generate_shot(shot: PlannedShot, plan: Plan, backend, store: ClipStore, *, take: int = 0,
                  keyframes: Optional[dict] = None, on_clip: Optional[Callable] = None) -> tuple[ClipRef, ...]:
    """Generate every segment of one shot, chaining each on the previous one."""
    caps = backend.capabilities()
    out: list[ClipRef] = []
    keyframes = keyframes or {}
    for j, _seg in enumerate(shot.segments):
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
        ref = store.make(req, lambda tmp, r=req: backend.generate(r, tmp))
        out.append(ref)
        if on_clip:
            on_clip(shot, j, ref)
    return tuple(out)


def generate_plan(plan: Plan, store: ClipStore, backends: Backends, *, picks: Optional[dict] = None,
                  on_clip: Optional[Callable] = None, stop: Optional[threading.Event] = None) -> GenerationSummary:
    """Make (or reuse) every clip of ``plan``.

    Parameters
    ----------
    picks : dict, optional
        ``{shot index: take}`` chosen takes (default take 0).
    on_clip : callable, optional
        ``on_clip(shot, segment_index, ClipRef)`` after each clip (progress).
    stop : threading.Event, optional
        Set it to stop cleanly between clips (Ctrl-C); finished clips stay in the store.

    Returns
    -------
    GenerationSummary
    """
    picks = picks or {}
    summary = GenerationSummary(clips=[None] * len(plan.shots))
    lock = threading.Lock()

    def keyframes_for(shot: PlannedShot) -> dict:
        kf = {}
        if shot.spec.first_frame is not None:
            kf["first"] = store.put_frame(_load_image(shot.spec.first_frame, f"shots[{shot.index}].first_frame"))
        elif shot.characters:
            # a character's reference image opens the first shot that names them
            for name in shot.characters:
                image = plan.extra.get("character_images", {}).get(name)
                if image:
                    kf["first"] = store.put_frame(_load_image(Path(image), f"characters.{name}.image"))
                    break
        lf = shot.spec.last_frame
        if lf == "next" and shot.index + 1 < len(plan.shots):
            nxt = summary.clips[shot.index + 1]
            if nxt:
                kf["last"] = store.put_frame(_first_frame_of(nxt[0]))
        elif lf is not None and lf != "next":
            kf["last"] = store.put_frame(_load_image(Path(lf), f"shots[{shot.index}].last_frame"))
        return kf

    def run(shot: PlannedShot):
        if stop is not None and stop.is_set():
            return
        try:
            backend = backends.get(shot.backend, field=f"shots[{shot.index}].backend")
            clips = generate_shot(shot, plan, backend, store, take=picks.get(shot.index, 0),
                                  keyframes=keyframes_for(shot), on_clip=_counting(on_clip, summary, lock))
            summary.clips[shot.index] = clips
        except GenerationError as e:
            with lock:
                summary.failed[shot.index] = str(e)
        except SongreelError:
            raise

    # shots whose last frame is the next shot's first frame wait for that shot
    later = [s for s in plan.shots if s.spec.last_frame == "next"]
    first_pass = [s for s in plan.shots if s.spec.last_frame != "next"]
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
    return summary


def _counting(on_clip, summary: GenerationSummary, lock):
    def cb(shot, j, ref: ClipRef):
        with lock:
            if ref.reused:
                summary.reused += 1
            else:
                summary.generated += 1
                summary.seconds_generating += float(ref.provenance.get("seconds", 0.0))
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
    import av

    with av.open(str(ref.path)) as c:
        for frame in c.decode(video=0):
            return frame.to_ndarray(format="rgb24")
    raise GenerationError(f"{ref.path}: clip has no frames")


@dataclass
class SpendEstimate:
    """What a render would cost before anything is submitted."""

    dollars: Optional[float]          # None when some backend has no price (unknown)
    new_segments: int                 # clips that would be generated
    reused_segments: int              # clips already in the store
    unpriced: list = field(default_factory=list)   # backend names with no price


def estimate_spend(plan: Plan, store: ClipStore, backends: Backends) -> SpendEstimate:
    """Price the clips a render would generate; clips already in the store cost nothing.

    A chained segment's key depends on its predecessor's pixels, so a shot is walked in order: stored
    segments are free, and from the first missing one on, every segment of that shot is charged.
    Local backends (animatic, footage, diffusers) are free.
    """
    total = 0.0
    new = reused = 0
    unpriced: list = []
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
                    ref = store.get(req.key(), verify=False)
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
    return SpendEstimate(None if unpriced else round(total, 2), new, reused, unpriced)
