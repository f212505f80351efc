"""Make the clips of an infinite-zoom plan so each level ends up inside the one before it.

Routes (``zoom.nesting``; ``auto`` picks by backend capability, in this order):

``outpaint``
    An inpaint model is configured (``zoom.inpaint``): keyframes are built innermost-out (the innermost
    level from its prompt; each outer one by shrinking the inner keyframe into its centre by the level
    ratio, masking the border, inpainting with the outer level's prompt, pasting the known centre back —
    :mod:`songreel.generate.outpaint`). The nesting is exact. Each level is then animated from its
    keyframe by the shot's backend when it takes a first frame (image-to-video), else shown as a still.
``animatic``
    Procedural nested scenes on CPU (every prompted shot uses the animatic backend, or forced): each
    level is a still-camera scene with a framed window where the next level appears; the compositor
    pastes the next level there. No GPU, no weights: ``songreel demo --look infinite-zoom``.
``chain``
    Zooming in with a backend that takes a first frame (any image-to-video model, hosted ones included):
    level ``j+1``'s first frame is the centre ``1/ratio`` of level ``j``'s frame at the hand-over frame,
    upscaled. Level ``j``'s clip runs one frame past its own span so that frame exists; level ``j+1``'s
    clip starts exactly at the hand-over, where the outer level, magnified by ``ratio``, showed that very
    crop — so the hand-over is seamless. Chained levels are not pasted early (they do not exist before
    the hand-over); the zoom shows the outer level magnified until then.
``paste``
    Anything else (text-to-video only, your own footage): independent clips, nested only by the
    compositor's feathered paste.

Footage shots (``clip:``) are always pasted; a still image becomes a still level (no push-in: the zoom
is the motion).
"""

from __future__ import annotations

import functools
import threading
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import GenerationError, InputError, SongreelError
from ..schema.clip import ClipRef, FrameRef, GenerationRequest
from ..schema.plan import Plan, Segment
from ..schema.zoom import ZoomLayout
from .base import GenerationResult
from .runner import Backends, GenerationSummary, build_request, shot_seed
from .store import ClipStore

ROUTES = ("animatic", "outpaint", "chain", "paste")
SUB_SEED = 104729  # sub-levels of one shot differ by seed


def inpaint_options(plan: Plan, inpaint=None) -> Optional[dict]:
    """The outpaint model settings: the ``inpaint`` argument, else ``zoom.inpaint`` in the storyboard
    (when the schema carries it), else ``plan.extra["zoom_inpaint"]``; a string is a model."""
    value = inpaint
    if value is None:
        value = getattr(plan.zoom, "inpaint", None)
    if value is None:
        value = plan.extra.get("zoom_inpaint")
    if value is None:
        return None
    if isinstance(value, (str, Path)):
        return {"model": str(value)}
    return dict(value)


OUTPAINT_NEEDS_MODEL = ("zoom.nesting: outpaint needs an inpainting model: zoom: {inpaint: {model: <folder or "
                        "hub id of a diffusers inpainting pipeline>}}; accepted: auto, animatic, chain, paste")


def choose_route(plan: Plan, backends: Backends, inpaint: Optional[dict] = None) -> str:
    """The nesting route for ``plan`` (see the module docstring).

    Raises
    ------
    InputError
        A forced route the plan cannot take (outpaint with no model, chain zooming out or on a backend
        that takes no first frame).
    """
    z = plan.zoom
    prompted = [s for s in plan.shots if s.spec.clip is None]
    if z.nesting == "outpaint" and not inpaint:
        raise InputError(OUTPAINT_NEEDS_MODEL)
    if z.nesting == "chain":
        if z.direction != "in":
            raise InputError("zoom.nesting: chain builds each level from the centre of the previous one, so it "
                             "zooms in only; got direction: out. Use nesting: outpaint or animatic to zoom out")
        for s in prompted:
            if not backends.get(s.backend, field=f"shots[{s.index}].backend").capabilities().first_frame:
                raise InputError(f"zoom.nesting: chain needs a backend that takes a first frame; shot {s.index + 1} "
                                 f"uses {s.backend.name}, which does not. Use an image-to-video model or "
                                 "nesting: animatic / outpaint")
    if z.nesting != "auto":
        return z.nesting
    if not prompted:
        return "paste"
    if inpaint:
        return "outpaint"
    if {s.backend.name for s in prompted} == {"animatic"}:
        return "animatic"
    if z.direction == "in" and all(backends.get(s.backend, field=f"shots[{s.index}].backend").capabilities().first_frame
                                   for s in prompted):
        return "chain"
    return "paste"


def generate_zoom(plan: Plan, store: ClipStore, backends: Backends, *, on_clip: Optional[Callable] = None,
                  stop: Optional[threading.Event] = None, inpaint=None,
                  route: Optional[str] = None) -> GenerationSummary:
    """Make (or reuse) every level clip of an infinite-zoom plan.

    Parameters
    ----------
    plan : Plan
        Laid out by :func:`songreel.plan.zoom.plan_zoom`.
    store : ClipStore
    backends : Backends
    on_clip : callable, optional
        ``on_clip(shot, level_index, ClipRef)`` after each level clip.
    stop : threading.Event, optional
        Stops between levels.
    inpaint : str or dict, optional
        The outpaint model (see :func:`inpaint_options`).
    route : str, optional
        Force a route (tests); default :func:`choose_route`.

    Returns
    -------
    GenerationSummary
        ``clips[i]`` = one ClipRef per level of shot ``i`` (its segments), in time order.
    """
    from ..plan.zoom import layout_of

    layout = layout_of(plan)
    opts = inpaint_options(plan, inpaint)
    route = route or choose_route(plan, backends, opts)
    if route not in ROUTES:
        raise InputError(f"zoom.nesting: got {route!r}, accepted: auto, {', '.join(ROUTES)}")
    summary = GenerationSummary(clips=[None] * len(plan.shots))
    made: dict = {}
    lock = threading.Lock()

    def done(lv, ref: ClipRef):
        made[(lv.shot, lv.sub)] = ref
        with lock:
            if ref.reused:
                summary.reused += 1
            else:
                summary.generated += 1
                summary.seconds_generating += float(ref.provenance.get("seconds", 0.0))
        if on_clip:
            on_clip(plan.shots[lv.shot], lv.sub, ref)

    def fail(lv, e: Exception):
        summary.failed.setdefault(lv.shot, str(e))

    time_order = sorted(layout.levels, key=lambda lv: lv.own_start)
    stopped = lambda: stop is not None and stop.is_set()  # noqa: E731
    if route == "outpaint":
        if not opts:   # a forced route skips choose_route's check
            raise InputError(OUTPAINT_NEEDS_MODEL)
        _outpaint(plan, layout, store, backends, opts, done, fail, stopped)
    else:
        prev = None
        for lv in time_order:
            if stopped():
                break
            shot = plan.shots[lv.shot]
            try:
                if shot.spec.clip is not None:
                    ref = _footage_level(plan, lv, store, backends)
                elif route == "animatic":
                    ref = _animatic_level(plan, layout, lv, store)
                elif route == "chain":
                    if prev is not None and (prev.shot, prev.sub) not in made:
                        raise GenerationError(f"the level before it (shot {prev.shot + 1}) failed, and chained "
                                              "levels start from it")
                    ref = _chain_level(plan, lv, prev, made.get((prev.shot, prev.sub)) if prev else None, store,
                                       backends)
                else:
                    ref = _paste_level(plan, lv, store, backends)
                done(lv, ref)
            except GenerationError as e:
                fail(lv, e)
            prev = lv
    for shot in plan.shots:
        refs = [made.get((shot.index, j)) for j in range(len(shot.segments))]
        if all(r is not None for r in refs) and shot.index not in summary.failed:
            summary.clips[shot.index] = tuple(refs)
        elif shot.index not in summary.failed and not stopped():
            summary.failed[shot.index] = "a level was not generated"
    return summary


# ---------------------------------------------------------------------------------------------------
# requests


def _level_request(plan: Plan, lv, backend, caps, *, start: int, end: int, hold: bool, route: str,
                   first_frame=None, nested: bool = False) -> GenerationRequest:
    """The request for one level's clip covering project frames ``[start, end)``."""
    shot = plan.shots[lv.shot]
    segs = list(shot.segments)
    segs[lv.sub] = Segment(lv.sub, start, max(1, end - start))
    req = build_request(shot.with_(segments=tuple(segs)), lv.sub, plan, backend, caps, first_frame=first_frame)
    ctx = dict(req.context)
    ctx.update({"zoom_start": start, "zoom_hold": hold, "zoom_route": route})
    if nested:
        ctx["zoom_nested"] = True
    return req.with_(seed=(req.seed + SUB_SEED * lv.sub) % (2**32), context=ctx)


def _animatic_level(plan: Plan, layout: ZoomLayout, lv, store: ClipStore) -> ClipRef:
    from .animatic import ZOOM_VERSION, render_zoom_level

    shot = plan.shots[lv.shot]
    inner = lv.index + 1 < len(layout.levels)
    label = shot.name + (f" ({lv.sub + 1}/{lv.subs})" if lv.subs > 1 else "") + \
        (f" · bar {shot.position}" if shot.position and lv.sub == 0 else "")
    ratio = round(lv.ratio, 9) if inner else 0.0
    req = GenerationRequest(
        backend="animatic", model="procedural-zoom", version=ZOOM_VERSION, prompt=shot.prompt,
        negative=shot.negative, seed=(shot_seed(shot) + SUB_SEED * lv.sub) % (2**32),
        frames=lv.clip_end - lv.clip_start, fps=plan.fps, width=plan.width, height=plan.height,
        context={"zoom_start": lv.clip_start, "zoom_hold": True, "zoom_route": "animatic", "ratio": ratio,
                 "label": label, "offset": 0})
    return store.make(req, lambda tmp: render_zoom_level(req, tmp, ratio=ratio, label=label))


def _paste_level(plan: Plan, lv, store: ClipStore, backends: Backends) -> ClipRef:
    shot = plan.shots[lv.shot]
    backend = backends.get(shot.backend, field=f"shots[{shot.index}].backend")
    caps = backend.capabilities()
    req = _level_request(plan, lv, backend, caps, start=lv.clip_start, end=lv.clip_end, hold=True, route="paste")
    return store.make(req, lambda tmp: backend.generate(req, tmp))


def _footage_level(plan: Plan, lv, store: ClipStore, backends: Backends) -> ClipRef:
    """Your clip for a level; a still image becomes a one-frame still (the zoom is its motion)."""
    from .sources import source_probe, source_sha256

    shot = plan.shots[lv.shot]
    info = source_probe(shot.spec.clip, field=f"shots[{shot.index}].clip")
    if not info.is_image:
        return _paste_level(plan, lv, store, backends)
    from ..media import fit_frame
    from ..sampling import FrameSampler

    req = GenerationRequest(
        backend="zoom-still", model="source", version="1", prompt=shot.prompt, negative="", seed=0, frames=1,
        fps=plan.fps, width=plan.width, height=plan.height,
        context={"source_sha256": source_sha256(Path(shot.spec.clip)), "conform": shot.spec.conform,
                 "zoom_start": lv.clip_start, "zoom_hold": True, "zoom_route": "still"},
        source=Path(shot.spec.clip))

    def produce(tmp):
        sampler = FrameSampler(shot.spec.clip, field=f"shots[{shot.index}].clip")
        try:
            rgb = fit_frame(sampler.at(0.0), plan.width, plan.height, shot.spec.conform)
        finally:
            sampler.close()
        return _write_still(rgb, tmp, plan.fps)

    return store.make(req, produce)


def _write_still(rgb: np.ndarray, out: Path, fps) -> GenerationResult:
    from ..media import ClipWriter

    h, w = rgb.shape[:2]
    with ClipWriter(out, w, h, fps, crf=10, preset="veryfast") as cw:
        cw.write(rgb)
    return GenerationResult(out, 1, Fraction(fps), w, h, provenance={"still": True}, tail_frames=rgb[None])


def frame_at(ref: ClipRef, index: int) -> np.ndarray:
    """RGB frame ``index`` of a clip (the lossless tail when it is one of the last frames)."""
    tail_n = ref.tail.frames if ref.tail is not None else 0
    if ref.tail is not None and index >= ref.frames - tail_n and ref.tail.path.exists():
        tail = np.asarray(ref.tail.load())
        if tail.ndim == 3:
            tail = tail[None]
        return tail[index - (ref.frames - len(tail))]
    if ref.conform is not None:  # footage conformed on the fly from the user's file
        from ..sampling import clip_frame_rgb

        return clip_frame_rgb(ref, index)
    import av

    with av.open(str(ref.path)) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i == index:
                return fr.to_ndarray(format="rgb24")
    raise GenerationError(f"{ref.path}: clip has no frame {index}")


def centre_crop(rgb: np.ndarray, ratio: float, width: int, height: int) -> np.ndarray:
    """The centre ``1/ratio`` of ``rgb`` (exact, fractional box) resampled to ``width x height``."""
    from PIL import Image

    h, w = rgb.shape[:2]
    cw, ch = w / ratio, h / ratio
    box = (w / 2 - cw / 2, h / 2 - ch / 2, w / 2 + cw / 2, h / 2 + ch / 2)
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize((width, height), Image.Resampling.BICUBIC,
                                                                          box=box))


def _chain_level(plan: Plan, lv, prev, prev_ref: Optional[ClipRef], store: ClipStore, backends: Backends) -> ClipRef:
    """Level ``lv`` starting at its own start from the centre of the previous level's frame there."""
    shot = plan.shots[lv.shot]
    backend = backends.get(shot.backend, field=f"shots[{shot.index}].backend")
    caps = backend.capabilities()
    first = None
    if prev_ref is not None:
        ctx = prev_ref.provenance.get("context", {})
        p_start = int(ctx.get("zoom_start", prev.clip_start))
        idx = prev_ref.lead + int(Fraction(lv.own_start - p_start) * prev_ref.fps / plan.fps)
        idx = max(0, min(idx, prev_ref.frames - 1))
        rgb = frame_at(prev_ref, idx)
        # the previous level's ratio: it is magnified by exactly that much at the hand-over frame
        probe = build_request(shot, lv.sub, plan, backend, caps)
        first = store.put_frame(centre_crop(rgb, prev.ratio, probe.width, probe.height))
    elif lv.sub == 0 and shot.spec.first_frame is not None:
        from .runner import _load_image

        first = store.put_frame(_load_image(shot.spec.first_frame, f"shots[{shot.index}].first_frame"))
    end = max(lv.own_end + 1 if lv.own_end < plan.total_frames else lv.own_end, lv.own_start + 1)
    req = _level_request(plan, lv, backend, caps, start=lv.own_start, end=end, hold=first is None and lv.index == 0,
                         route="chain", first_frame=first)
    return store.make(req, lambda tmp: backend.generate(req, tmp))


# ---------------------------------------------------------------------------------------------------
# outpaint stack


def _outpaint(plan: Plan, layout, store: ClipStore, backends: Backends, opts: dict, done, fail, stopped) -> None:
    from .outpaint import VERSION, Outpainter, work_size

    outp = Outpainter(opts, base_dir=backends.project.base_dir)
    (rw, rh), _ = work_size(plan.width, plan.height, outp.max_side)
    keys: dict[int, FrameRef] = {}      # level index -> FrameRef of its keyframe
    stills: dict[int, ClipRef] = {}
    L = len(layout.levels)
    try:
        for g in range(L - 1, -1, -1):                       # innermost first
            if stopped():
                return
            lv = layout.levels[g]
            shot = plan.shots[lv.shot]
            try:
                if shot.spec.clip is not None:
                    ref = _footage_level(plan, lv, store, backends)
                    done(lv, ref)
                    from PIL import Image

                    rgb = np.asarray(Image.fromarray(frame_at(ref, 0)).resize((rw, rh), Image.Resampling.LANCZOS))
                    keys[g] = store.put_frame(rgb)
                    continue
                inner = keys.get(g + 1)
                if g + 1 < L and inner is None:
                    raise GenerationError("the level inside it failed, and the outpaint stack grows outwards from it")
                seed = (shot_seed(shot) + SUB_SEED * lv.sub) % (2**32)
                ctx = {**outp.key_context(), "role": "keyframe", "zoom_nested": True, "zoom_hold": True}
                if inner is not None:
                    ctx["ratio"] = repr(round(layout.levels[g].ratio, 9))
                req = GenerationRequest(backend="outpaint", model=outp.model, version=VERSION, prompt=shot.prompt,
                                        negative=shot.negative, seed=seed, frames=1, fps=plan.fps, width=rw,
                                        height=rh, first_frame=inner, context=ctx)

                def produce(tmp, req=req, inner=inner, ratio=layout.levels[g].ratio):
                    if inner is None:
                        img = outp.first(plan.width, plan.height, req.prompt, req.negative, req.seed)
                    else:
                        img = outp.outpaint(inner.load(), ratio, req.prompt, req.negative, req.seed)
                    if img.shape[:2] != (rh, rw):
                        from PIL import Image

                        img = np.asarray(Image.fromarray(img).resize((rw, rh), Image.Resampling.LANCZOS))
                    return _write_still(img, tmp, plan.fps)

                ref = store.make(req, produce)
                if ref.last_frame is None:   # the store keeps the last frame of every clip it writes
                    raise GenerationError(f"the outpaint keyframe {ref.key} has no stored frame")
                keys[g] = ref.last_frame
                stills[g] = ref
            except GenerationError as e:
                fail(lv, e)
        # animate each level from its keyframe where the shot's backend takes a first frame
        for g in range(L):
            if stopped():
                return
            lv = layout.levels[g]
            shot = plan.shots[lv.shot]
            if g not in stills:
                continue
            try:
                backend = backends.get(shot.backend, field=f"shots[{shot.index}].backend")
                caps = backend.capabilities()
                if caps.first_frame and backend.name != "animatic":
                    req = _level_request(plan, lv, backend, caps, start=lv.clip_start, end=lv.clip_end, hold=True,
                                         route="outpaint", first_frame=keys[g], nested=True)
                    ref = store.make(req, functools.partial(backend.generate, req))
                else:
                    ref = stills[g]
                done(lv, ref)
            except GenerationError as e:
                fail(lv, e)
    except SongreelError:
        raise
    finally:
        outp.close()
