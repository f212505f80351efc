"""Conditioning routes: which pipeline class makes a clip, and the call that asks it for exactly the
frames the plan needs.

:func:`choose` picks the route from what a request carries (nothing → text; a first frame; a last frame;
a video prefix; reference images) and what the weights can do, refusing the impossible with one line.
:func:`build` turns a request into a :class:`Call`: the pipeline's keyword arguments, the frame count
asked, the count the pipeline must return (checked by the backend) and the leading frames to drop.
One builder per family, top to bottom — families differ in how they take frames, and duplication
reads better here than a clever base (the diffusers way).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..schema.clip import GenerationRequest
from . import diffusers_presets as presets
from .diffusers_frames import to_pil
from .diffusers_profiles import Profile
from .diffusers_source import show

SKYREELS_BASE_FRAMES = 97
"""SkyReels-V2 DF's window; longer clips slide it with ``overlap_history`` (authors: 17 or 37)."""
SKYREELS_OVERLAP = 17


@dataclass(frozen=True)
class Route:
    """``mode`` (t2v, i2v, flf2v, prefix, reference) and the pipeline class that runs it."""

    mode: str
    class_name: str


@dataclass
class Call:
    """One pipeline call.

    Attributes
    ----------
    kwargs : dict
        Keyword arguments (everything but the prompt, generator and output type).
    asked : int
        Frames passed to the pipeline.
    expect : int
        Frames the pipeline must return (FramePack returns more than it is asked for).
    drop : int
        Leading frames to drop from what it returns (re-made prefix frames).
    stage2 : dict
        LTX-2's refine pass (empty = one stage): ``width``/``height`` of the output; stage 1 runs at half.
    """

    kwargs: dict
    asked: int
    expect: int
    drop: int = 0
    stage2: dict = field(default_factory=dict)


def supporting(attr: str) -> str:
    """Presets whose profile has ``attr`` (for messages)."""
    return ", ".join(n for n, x in presets.PRESETS.items() if getattr(x.profile, attr)) or "none"


def choose(p: Profile, r: GenerationRequest, *, references: bool, shown: str, field: str) -> Route:
    """The route for a request's conditioning; raises InputError when the weights cannot take it."""
    f = f"{field}.model"
    if r.prefix is not None:
        if not p.prefix:
            raise InputError(f"{f}: {show(shown)} cannot continue from a video prefix; presets that can: "
                             f"{supporting('prefix')}")
        if r.last_frame is not None and not p.keyframes:
            raise InputError(f"{f}: {show(shown)} cannot take a last frame while continuing a video prefix; "
                             f"presets that can: {supporting('keyframes')}")
        return Route("prefix", p.prefix)
    if r.last_frame is not None:
        if not p.flf2v:
            raise InputError(f"{f}: {show(shown)} cannot take a last frame (shot last_frame:); presets "
                             f"that can: {supporting('flf2v')}")
        if p.last_requires_first and r.first_frame is None:
            raise InputError(f"{f}: {show(shown)} needs a first frame with a last frame (a character "
                             "image, first_frame:, or a previous segment); presets that take a last frame "
                             f"alone: {supporting('keyframes')}")
        return Route("flf2v", p.flf2v)
    if p.needs_last:
        raise InputError(f"{f}: {show(shown)} makes video between a first and a last frame and this clip "
                         "has no last frame; use it for one-segment shots with last_frame:, or another preset")
    if r.first_frame is not None:
        if not p.i2v:
            raise InputError(f"{f}: {show(shown)} cannot start from an image; presets that can: "
                             f"{supporting('i2v')}")
        return Route("i2v", p.i2v)
    if references:
        if not p.reference:
            raise InputError(f"{field}.reference_images: {show(shown)} takes no reference images; presets that "
                             f"do: {supporting('reference')}")
        return Route("reference", p.reference)
    if not p.t2v:
        raise InputError(f"{f}: {show(shown)} needs a first frame (image-to-video only) and this clip has "
                         "none: give the shot a character with image: or first_frame:, or use a preset that "
                         f"also makes video from text: {supporting('t2v')}")
    return Route("t2v", p.t2v)


def legal(n: int, p: Profile) -> int:
    """Smallest count >= n on the profile's frame rule (no cap: a prefix run may pass max_frames)."""
    m, o = p.frame_multiple, p.frame_offset
    return m * max(0, math.ceil((n - o) / m)) + o


def framepack_returns(asked: int, *, window: int = 9, temporal: int = 4) -> int:
    """Frames ``HunyuanVideoFramepackPipeline`` returns for ``asked`` (``latent_window_size=window``).

    It generates whole sections of ``window`` latents covering ``(window-1)*temporal+1`` asked frames
    each, plus the first-image latent: ``36*ceil(asked/33)+1`` at the defaults.
    """
    section = (window - 1) * temporal + 1
    return window * temporal * max(1, -(-asked // section)) + 1


def build(p: Profile, route: Route, r: GenerationRequest, *, steps: int, guidance: float, fps: float,
          explicit_steps: bool, references: list | None = None, two_stage: bool = False) -> Call:
    """The pipeline call for one request on route ``route`` (see :class:`Call`)."""
    w, h = int(r.width), int(r.height)
    frames = int(r.frames)
    kw: dict = {}
    for k, v in p.call:
        if k in ("timesteps", "sigmas") and explicit_steps:
            continue  # explicit steps replace the authors' schedule
        kw[k] = list(v) if isinstance(v, tuple) else v
    kw["num_inference_steps"] = steps
    if p.guidance_kw:
        kw[p.guidance_kw] = guidance
    first = to_pil(r.first_frame.load(), w, h) if r.first_frame is not None else None
    last = to_pil(r.last_frame.load(), w, h) if r.last_frame is not None else None
    tail = _tail(r)
    builder = _BUILDERS.get(p.family, _image_and_last)
    call = builder(p, route, r, kw, frames=frames, w=w, h=h, first=first, last=last, tail=tail, fps=fps,
                   references=references or [], two_stage=two_stage)
    if not p.sized_by_image or route.mode == "t2v":
        call.kwargs.setdefault("height", h)
        call.kwargs.setdefault("width", w)
    call.kwargs[p.frames_kw] = call.asked
    return call


def _tail(r: GenerationRequest):
    if r.prefix is None:
        return None
    tail = np.asarray(r.prefix.load())
    return tail[None] if tail.ndim == 3 else tail


# ---------------------------------------------------------------------------------------------------
# one builder per family


def _image_and_last(p, route, r, kw, *, frames, first, last, **_):
    """Wan, CogVideoX, HunyuanVideo 1.5: ``image=`` / ``last_image=``."""
    if first is not None:
        kw["image"] = first
    if last is not None:
        kw["last_image"] = last
    return Call(kw, asked=frames, expect=frames)


def _framepack(p, route, r, kw, *, frames, first, last, **_):
    """FramePack: ask 33k frames to get the 36k+1 the plan wants (its frame rule)."""
    kw["image"] = first
    if last is not None:
        kw["last_image"] = last
    sections = max(1, (frames - 1) // 36)
    asked = 33 * sections
    return Call(kw, asked=asked, expect=framepack_returns(asked))


def _ltx(p, route, r, kw, *, frames, w, h, first, last, tail, fps, **_):
    """LTX-Video 0.9: ``LTXVideoCondition`` images and clips at frame indices."""
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

    conds, drop = [], 0
    if tail is not None:
        k = (len(tail) - 1) // 8 * 8 + 1  # LTX takes 8m+1 conditioning frames
        drop = k - 1
        frames = legal(frames + drop, p)
        conds.append(LTXVideoCondition(video=[to_pil(x, w, h) for x in tail[-k:]], frame_index=0))
    elif first is not None:
        conds.append(LTXVideoCondition(image=first, frame_index=0))
    if last is not None:
        conds.append(LTXVideoCondition(image=last, frame_index=frames - 1))
    if conds:
        kw["conditions"] = conds
    kw["frame_rate"] = int(round(fps))
    return Call(kw, asked=frames, expect=frames, drop=drop)


def _ltx2(p, route, r, kw, *, frames, w, h, first, last, tail, fps, two_stage, **_):
    """LTX-2: ``LTX2VideoCondition`` frames at any index; two stages at half size then x2."""
    from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

    cw, ch = (w // 2, h // 2) if two_stage else (w, h)
    conds, drop = [], 0
    if tail is not None:
        k = (len(tail) - 1) // 8 * 8 + 1
        drop = k - 1
        frames = legal(frames + drop, p)
        conds.append(LTX2VideoCondition(frames=[to_pil(x, cw, ch) for x in tail[-k:]], index=0))
    elif first is not None:
        conds.append(LTX2VideoCondition(frames=first.resize((cw, ch)) if two_stage else first, index=0))
    if last is not None:
        # ``index`` counts latent frames: -1 is the last one (LTX-2's first+last-frame example)
        conds.append(LTX2VideoCondition(frames=last.resize((cw, ch)) if two_stage else last, index=-1))
    if conds:
        kw["conditions"] = conds
    kw["frame_rate"] = float(fps)
    stage2: dict = {}
    if two_stage:
        kw["height"], kw["width"] = ch, cw
        stage2 = {"width": w, "height": h, **{k: (list(v) if isinstance(v, tuple) else v) for k, v in p.stage2_call}}
    return Call(kw, asked=frames, expect=frames, drop=drop, stage2=stage2)


def _vace(p, route, r, kw, *, frames, w, h, first, last, tail, references, **_):
    """Wan VACE: known frames in a control video with a mask (black = keep, white = generate).

    A prefix puts the previous clip's last frames at the start and drops all but the last of them, so
    frame 0 of the clip is the previous clip's last frame (as with image-to-video).
    """
    from PIL import Image

    drop = 0
    known: dict = {}
    if tail is not None:
        drop = len(tail) - 1
        frames = legal(frames + drop, p)
        known.update({i: to_pil(x, w, h) for i, x in enumerate(tail)})
    elif first is not None:
        known[0] = first
    if last is not None:
        known[frames - 1] = last
    if known:
        grey = Image.new("RGB", (w, h), (127, 127, 127))
        keep, make = Image.new("L", (w, h), 0), Image.new("L", (w, h), 255)
        kw["video"] = [known.get(i, grey) for i in range(frames)]
        kw["mask"] = [keep if i in known else make for i in range(frames)]
    if references:
        kw["reference_images"] = [to_pil_fit(im, w, h) for im in references]
    return Call(kw, asked=frames, expect=frames, drop=drop)


def _skyreels(p, route, r, kw, *, frames, w, h, first, last, tail, fps, **_):
    """SkyReels-V2 diffusion forcing: windows of 97 frames sliding with 17 frames of history.

    Continuation hands the previous clip's last ``k`` frames in as ``video`` (``overlap_history=k``):
    the pipeline returns those ``k`` frames, then ``num_frames`` decoded frames that start by re-making
    them. All but the last re-made one are dropped, so frame 0 shows the previous clip's last frame.
    """
    kw["fps"] = int(round(fps))
    if tail is not None:
        k = (len(tail) - 1) // 4 * 4 + 1  # whole latent frames
        kw["video"] = [to_pil(x, w, h) for x in tail[-k:]]
        kw["overlap_history"] = k
        kw["base_num_frames"] = SKYREELS_BASE_FRAMES
        asked = legal(frames + k - 1, p)
        return Call(kw, asked=asked, expect=k + asked, drop=2 * k - 1)
    if first is not None:
        kw["image"] = first
    if last is not None:
        kw["last_image"] = last
    kw["base_num_frames"] = min(frames, SKYREELS_BASE_FRAMES)
    if frames > SKYREELS_BASE_FRAMES:
        kw["overlap_history"] = SKYREELS_OVERLAP
    return Call(kw, asked=frames, expect=frames)


def _plain(p, route, r, kw, *, frames, **_):
    """Text-to-video only (Sana-Video, Kandinsky 5, HunyuanVideo): frames and size."""
    return Call(kw, asked=frames, expect=frames)


def to_pil_fit(im, w: int, h: int):
    """A reference image (PIL or array) cover-cropped to ``w`` x ``h``."""
    return to_pil(np.asarray(im.convert("RGB")) if hasattr(im, "convert") else im, w, h)


_BUILDERS: dict[str, Callable[..., Call]] = {
    "wan": _image_and_last, "cogvideox": _image_and_last, "hunyuan15": _image_and_last,
    "hunyuan-framepack": _framepack, "ltx": _ltx, "ltx2": _ltx2, "wan-vace": _vace,
    "skyreels-v2-df": _skyreels, "sana-video": _plain, "kandinsky5": _plain, "hunyuan": _plain,
}
