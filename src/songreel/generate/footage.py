"""Footage: the user's own clip or still for a shot, conformed to the project and trimmed, looped,
held or stretched to the shot's length.

Nothing is transcoded: a footage clip is a reference — the source's content hash plus the conform
settings (:class:`~songreel.schema.clip.FootageConform`) — and the assembly decodes the source and
conforms it on the fly (:class:`songreel.sampling.FootageFrames`), one generation of loss fewer; nothing
is decoded here (a chained successor reads the frames it needs through
:func:`songreel.sampling.clip_frame_rgb`). A source whose frames cannot be placed exactly on the fly gets
a conformed copy in the store, and its provenance says why (:func:`copy_reason`).

Video is retimed on the source's real timestamps (VFR and 29.97 sources stay in sync); rotation
metadata is honoured; ``fit: stretch`` slows a short clip with frame blending; VP8/VP9 with alpha is
decoded with its alpha and composited over black; a still gets a slow push-in so it does not sit dead
on screen.
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import numpy as np
from pydantic import Field

from ..errors import InputError, MediaError
from ..media import ClipWriter
from ..sampling import FootageFrames
from ..schema.clip import FootageConform, GenerationRequest
from ..schema.storyboard import BackendSpec
from .base import TAIL_FRAMES, Capabilities, GenerationResult, ProjectInfo
from .options import BackendOptions, parse_options
from .sources import source_copy_reason, source_duration, source_probe

STILL_PUSH = 0.08  # scale gained over a still shot


class FootageOptions(BackendOptions):
    """Options of the ``footage`` backend."""

    push: float = Field(STILL_PUSH, ge=0, le=1, description="scale a still gains over its shot (slow push-in)")
    crf: int = Field(14, ge=0, le=51, description="x264 quality of a conformed copy, when one is needed")
    preset: str = Field("veryfast", description="x264 preset of a conformed copy")


class FootageBackend:
    """The user's clips and stills. Options: ``push`` (still push-in, default 0.08), ``crf``, ``preset``."""

    name = "footage"
    version = "3"  # 3: a reference to the source, conformed at assembly; 2: stretch blends frames, alpha
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
        """A reference to the source (its hash and how to conform it), or a conformed copy at ``out``
        only where the source cannot be conformed exactly on the fly (the reason goes in the provenance)."""
        if request.source is None:
            raise InputError("footage backend: the shot has no clip: give the shot 'clip: path/to/file'")
        started = time.monotonic()
        ctx = request.context
        field = "clip"
        src = Path(request.source)
        info = source_probe(src, field=field)
        if info.width < 1 or info.height < 1:
            raise MediaError(f"{field}: {src}: the picture is {info.width}x{info.height}; "
                             "expected at least 1x1 pixels")
        usable, start_in = 0.0, 0.0
        if not info.is_image:
            dur = source_duration(src, field=field)
            start_in = float(Fraction(str(ctx.get("in", "0"))))
            if start_in >= dur:
                raise InputError(f"in: {start_in:.2f} s is past the clip's end "
                                 f"({dur:.2f} s); expected a time within the clip")
            usable = dur - start_in
        conform = FootageConform(
            source=str(src.absolute()), sha256=str(ctx.get("source_sha256", "")), still=info.is_image,
            frames=request.frames, fps=Fraction(request.fps), offset=int(ctx.get("offset", 0)),
            total=int(ctx.get("shot_frames", request.frames)), fit=str(ctx.get("fit", "loop")),
            mode=str(ctx.get("conform", "cover")), start_in=start_in, usable=usable, push=float(self.push),
            width=request.width, height=request.height)
        provenance: dict[str, Any] = {"source": src.name}
        warning = upscale_warning(src.name, info.width, info.height, request.width, request.height, conform.mode)
        if warning:
            provenance["warnings"] = [warning]
        reason = None if info.is_image else source_copy_reason(src)
        if reason is None:  # the reference: nothing is decoded now (a chained successor asks for its
            # frames through songreel.sampling.clip_frame_rgb, made exactly as the assembly shows them)
            provenance["render_seconds"] = round(time.monotonic() - started, 3)
            return GenerationResult(src, request.frames, request.fps, request.width, request.height,
                                    provenance=provenance, conform=conform)
        provenance["conformed_copy"] = reason
        frames = FootageFrames(conform, field=field)
        tail = []
        try:
            with ClipWriter(out, request.width, request.height, request.fps, crf=self.crf,
                            preset=self.preset) as w:
                for i in range(request.frames):
                    rgb = frames.rgb(i)
                    w.write(rgb)
                    tail.append(rgb)
                    del tail[:-TAIL_FRAMES]
        finally:
            frames.close()
        provenance["render_seconds"] = round(time.monotonic() - started, 3)
        return GenerationResult(out, request.frames, request.fps, request.width, request.height,
                                provenance=provenance, tail_frames=np.stack(tail))


#: a source enlarged by more than this (linear) is noted in the render's warnings
UPSCALE_WARN = 2.5


def upscale_warning(name: str, width: int, height: int, out_w: int, out_h: int, mode: str) -> Optional[str]:
    """A note when footage is far below the output size (it will look soft), else None."""
    scale = (max if mode == "cover" else min)(out_w / max(width, 1), out_h / max(height, 1))
    if scale <= UPSCALE_WARN:
        return None
    return (f"footage {name} is {width}x{height}, enlarged {scale:.1f}x to {out_w}x{out_h}; it will look soft "
            f"(use a source of at least {int(out_w / UPSCALE_WARN)}x{int(out_h / UPSCALE_WARN)})")


def copy_reason(src: Path) -> Optional[str]:
    """Why ``src`` cannot be conformed on the fly exactly, or None.

    Frames are placed by their timestamps; a stream whose packets carry none (raw elementary
    streams, some AVI) would be placed by decode order, which a rewind for a loop cannot reproduce,
    so such a source gets a conformed copy, made once in order.
    """
    import av

    try:
        with av.open(str(src)) as c:
            vs = c.streams.video[0]
            for packet in c.demux(vs):
                if packet.size and packet.pts is None:
                    return "its video packets carry no timestamps"
    except (av.error.FFmpegError, OSError) as e:
        return f"it cannot be demuxed twice the same way ({type(e).__name__})"
    return None
