"""Assembly: plan + clips + song -> one video file, streamed frame by frame.

A producer thread decodes and composites (blending only transition frames, staying in yuv420p);
the calling thread encodes and muxes, so decode and x264 overlap on two cores. Nothing holds more
than a few frames; the output is written to a temp name and renamed when complete.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..schema.edit import Edit
from ..schema.storyboard import EncodeSpec


@dataclass(frozen=True)
class AssemblyResult:
    path: Path
    frames: int
    seconds: float
    audio_mode: str


def compose_frames(edit: Edit):
    """Yield every output frame of ``edit`` as yuv420p planes ``(H * 3 // 2, W)``, in order."""
    from .reader import ShotReader
    from .transitions import transition_for

    plan = edit.plan
    if plan.look == "infinite-zoom":  # one continuous push through nested layers (assemble/zoom.py)
        from .zoom import compose_zoom

        yield from compose_zoom(edit)
        return
    shots = plan.shots
    readers: dict[int, ShotReader] = {}
    effects = [transition_for(s.transition.kind) if s.transition else None for s in shots]
    H = plan.height

    def reader(i: int) -> ShotReader:
        if i not in readers:
            readers[i] = ShotReader(shots[i], edit.clips[i], plan.fps, plan.width, plan.height)
        return readers[i]

    i = 0
    try:
        for f in range(plan.total_frames):
            while i < len(shots) - 1 and f >= shots[i].end:
                i += 1
            # close readers whose shot (with its tail handle) is over
            for k in [k for k in readers if f >= shots[k].end + shots[k].tail]:
                readers.pop(k).close()
            out_t = shots[i - 1].transition if i > 0 else None
            own_t = shots[i].transition
            if out_t is not None and out_t.frames and out_t.start <= f < out_t.end:
                a_idx, t, fx = i - 1, out_t, effects[i - 1]
            elif own_t is not None and own_t.frames and own_t.start <= f < own_t.end:
                a_idx, t, fx = i, own_t, effects[i]
            else:
                yield reader(i).planes(f)
                continue
            before = f < t.cut
            u = (f - t.start + 1) / (t.frames + 1)
            need_a = before or fx.needs_handles
            need_b = (not before) or fx.needs_handles
            a = reader(a_idx).planes(f) if need_a else None
            b = reader(a_idx + 1).planes(f) if need_b else None
            yield fx.apply(a, b, u, before_cut=before, height=H)
    finally:
        for r in readers.values():
            r.close()


def _overlaid(frames, overlay, plan):
    """Apply an RGB overlay to yuv420p frames, converting only frames it changes."""
    import av

    from fractions import Fraction

    for f, planes in enumerate(frames):
        t = Fraction(f) / plan.fps
        rgb = av.VideoFrame.from_ndarray(planes, format="yuv420p").to_ndarray(format="rgb24")
        out = overlay.apply(rgb, t)
        if out is rgb:  # nothing drawn on this frame: keep the exact planes
            yield planes
            continue
        yield av.VideoFrame.from_ndarray(out, format="rgb24").reformat(format="yuv420p").to_ndarray()


def assemble(edit: Edit, out: Path, *, encode: Optional[EncodeSpec] = None,
             on_frame: Optional[Callable[[int, int], None]] = None, threads: int = 0,
             overlay=None) -> AssemblyResult:
    """Render ``edit`` to ``out`` (MP4), the song muxed unchanged.

    Parameters
    ----------
    edit : Edit
    out : Path
        Final path; the file appears there only once complete.
    encode : EncodeSpec, optional
        Defaults to the plan's.
    on_frame : callable, optional
        ``on_frame(done, total)`` progress callback, called from the encoding thread.
    threads : int
        x264 threads (0 = auto).
    overlay : object, optional
        Drawn on every frame after compositing: ``overlay.apply(rgb, seconds) -> rgb`` (e.g. burnt-in
        lyrics); frames it leaves unchanged skip the RGB round trip.

    Returns
    -------
    AssemblyResult
    """
    from .encode import Output

    plan = edit.plan
    encode = encode or plan.encode
    out = Path(out)
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}{out.suffix or '.mp4'}")
    started = time.monotonic()
    q: queue.Queue = queue.Queue(maxsize=6)
    stop = threading.Event()
    failure: list[BaseException] = []

    def produce():
        try:
            frames = compose_frames(edit)
            if overlay is not None:
                frames = _overlaid(frames, overlay, plan)
            for planes in frames:
                while not stop.is_set():
                    try:
                        q.put(planes, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as e:  # handed to the encoding thread, re-raised there
            failure.append(e)
        finally:
            q.put(None)

    output = Output(tmp, plan.width, plan.height, plan.fps, encode, edit.song, threads=threads)
    worker = threading.Thread(target=produce, name="songreel-compose", daemon=True)
    worker.start()
    ok = False
    try:
        done = 0
        while True:
            planes = q.get()
            if planes is None:
                break
            output.write_planes(planes)
            done += 1
            if on_frame:
                on_frame(done, plan.total_frames)
        if failure:
            raise failure[0]
        output.close()
        ok = True
    finally:
        stop.set()
        if not ok:
            output.abort()
            while worker.is_alive():
                try:
                    q.get_nowait()
                except queue.Empty:
                    pass
                worker.join(timeout=0.05)
            tmp.unlink(missing_ok=True)
    os.replace(tmp, out)
    return AssemblyResult(out, done, time.monotonic() - started, output.audio_mode)
