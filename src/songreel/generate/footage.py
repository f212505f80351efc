"""Footage: the user's own clip or still for a shot, conformed to the project and trimmed, looped,
held or stretched to the shot's length.

Video is retimed on the source's real timestamps (VFR and 29.97 sources stay in sync); rotation
metadata is honoured; ``fit: stretch`` slows a short clip with frame blending; VP8/VP9 with alpha is
decoded with its alpha and composited over black; a still gets a slow push-in so it does not sit dead
on screen.
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from pydantic import Field

from ..errors import InputError, MediaError
from ..media import ClipWriter, FrameSampler, fit_frame, media_duration, probe_video
from ..schema.clip import GenerationRequest
from ..schema.storyboard import BackendSpec
from .base import TAIL_FRAMES, Capabilities, GenerationResult, ProjectInfo
from .options import BackendOptions, parse_options

STILL_PUSH = 0.08  # scale gained over a still shot


class FootageOptions(BackendOptions):
    """Options of the ``footage`` backend."""

    push: float = Field(STILL_PUSH, ge=0, le=1, description="scale a still gains over its shot (slow push-in)")
    crf: int = Field(14, ge=0, le=51, description="x264 quality of a conformed copy, when one is needed")
    preset: str = Field("veryfast", description="x264 preset of a conformed copy")


class FootageBackend:
    """The user's clips and stills. Options: ``push`` (still push-in, default 0.08), ``crf``, ``preset``."""

    name = "footage"
    version = "2"  # 2: stretch blends frames, alpha composited over black, tiny clips accepted
    model = "source"

    Options = FootageOptions

    def __init__(self, spec: BackendSpec, *, project: ProjectInfo, field: str = "backend"):
        opts = parse_options(FootageOptions, spec.options, backend="footage", field=field)
        self.crf, self.preset, self.push = opts.crf, opts.preset, opts.push

    def capabilities(self) -> Capabilities:
        return Capabilities(native_fps=None, size_multiple=2, chain_continuous=True)

    def key_context(self) -> dict:
        return {"crf": self.crf, "preset": self.preset, "push": self.push}

    def generate(self, request: GenerationRequest, out: Path) -> GenerationResult:
        if request.source is None:
            raise InputError("footage backend: the shot has no clip: give the shot 'clip: path/to/file'")
        started = time.monotonic()
        ctx = request.context
        field = "clip"
        src = Path(request.source)
        info = probe_video(src, field=field)
        if info.width < 1 or info.height < 1:
            raise MediaError(f"{field}: {src}: the picture is {info.width}x{info.height}; "
                             "expected at least 1x1 pixels")
        offset = int(ctx.get("offset", 0))
        total = int(ctx.get("shot_frames", request.frames))
        fps = float(request.fps)
        mode = ctx.get("conform", "cover")
        tail = []
        with ClipWriter(out, request.width, request.height, request.fps, crf=self.crf, preset=self.preset) as w:
            if info.is_image:
                sampler = FrameSampler(src, field=field)
                still = sampler.at(0.0)
                sampler.close()
                for i in range(request.frames):
                    u = (offset + i) / max(total - 1, 1)
                    rgb = fit_frame(still, request.width, request.height, mode, zoom=1.0 + self.push * u)
                    w.write(rgb)
                    tail.append(rgb)
                    del tail[:-TAIL_FRAMES]
            else:
                dur = media_duration(src, field=field)
                start_in = float(Fraction(str(ctx.get("in", "0"))))
                if start_in >= dur:
                    raise InputError(f"in: {start_in:.2f} s is past the clip's end "
                                     f"({dur:.2f} s); expected a time within the clip")
                usable = dur - start_in
                fit = ctx.get("fit", "loop")
                sampler = FrameSampler(src, field=field)
                last_t = -1.0
                try:
                    for i in range(request.frames):
                        k = offset + i
                        t = k / fps
                        if fit == "stretch":
                            t = t * usable / max(total / fps, 1e-9)
                        elif fit == "loop":
                            t = t % usable
                        else:  # hold the last frame
                            t = min(t, usable - 1e-3)
                        t += start_in
                        if t < last_t:
                            sampler.restart()
                        last_t = t
                        # a slowed-down clip blends neighbouring frames instead of stuttering
                        pic = sampler.blend_at(t) if fit == "stretch" else sampler.at(t)
                        rgb = fit_frame(pic, request.width, request.height, mode)
                        w.write(rgb)
                        tail.append(rgb)
                        del tail[:-TAIL_FRAMES]
                finally:
                    sampler.close()
        return GenerationResult(out, request.frames, request.fps, request.width, request.height,
                                provenance={"source": src.name, "render_seconds": round(time.monotonic() - started, 3)},
                                tail_frames=np.stack(tail))
