"""Assembly: plan + clips + song -> one video file, streamed frame by frame.

A producer thread decodes and composites; the calling thread encodes and muxes, so decode and x264
overlap on two cores. Nothing holds more than a few frames; the output is written to a temp name and
renamed when complete.

The fast path: a frame that needs no change (a plain stretch of a shot whose clip is already yuv420p
at the project size, no camera move, no colour match) is the decoded ``av.VideoFrame`` itself, handed
to the encoder without a copy to numpy and back. Only transition frames are blended, only shots with a
camera move, pulse or colour match are resampled/remapped, and everything stays in yuv420p.

Per frame, in order: clip frame (retimed: nearest / blend / flow, conformed if its size differs) ->
colour-match table -> camera move and pulse -> transition (if the frame is inside one) -> overlay.
Every seam (cut or transition) is scored for luma/colour jump (:mod:`.color`) and returned in
:attr:`AssemblyResult.seams` for the report.
"""

from __future__ import annotations

import os
import queue
import resource
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..schema.edit import Edit
from ..schema.storyboard import EncodeSpec


#: frames composed ahead of the encoder (x264 buffers its own lookahead behind this)
QUEUE_FRAMES = 4


@dataclass(frozen=True)
class AssemblyResult:
    """What :func:`assemble` wrote.

    Attributes
    ----------
    path : Path
    frames : int
        Video frames encoded.
    seconds : float
        Wall time of the assembly.
    audio_mode : str
        ``copy`` or ``aac``.
    seams : tuple of dict
        One per cut or transition, in order: ``index`` (0-based seam), ``shots`` ([outgoing, incoming],
        1-based shot numbers), ``kind``, ``frame`` (the cut frame), ``luma_jump``, ``colour_jump``,
        ``contrast_jump``, ``score`` (8-bit code values) and ``flagged`` (score above
        :data:`songreel.assemble.color.SEAM_FLAG`), ``worst`` (True on the highest score).
    stats : dict
        ``passthrough_frames`` (decoded frames handed to the encoder untouched), ``composed_frames``
        (built as arrays: transitions, moves, colour, conform, blending), ``transition_frames``,
        ``moved_frames``, ``color_frames``, ``decoded_frames``, ``blended_frames``, ``conformed_frames``,
        ``stream_copied_frames`` (always 0: see docs/assembly.md), ``x264_threads`` (0 = auto),
        ``x264_thread_type`` (``FRAME``: x264 frame threads, not sliced), ``codec``, ``crf``,
        ``preset``, ``cpu_s`` (process CPU during the assembly), ``compose_cpu_s`` (the compose thread's
        own CPU), ``color_match``.
    """

    path: Path
    frames: int
    seconds: float
    audio_mode: str
    seams: tuple = ()
    stats: dict = field(default_factory=dict, compare=False, hash=False)


def _color_strength(edit: Edit, color_match: Optional[float]) -> float:
    if color_match is not None:
        return float(color_match)
    sb = edit.extra.get("storyboard") if edit.extra else None
    if sb is not None and getattr(sb, "color_match", None) is not None:
        return float(sb.color_match)
    return float(edit.plan.extra.get("color_match", 0.0) or 0.0)


def _interpolation(shot) -> str:
    """A shot's frame-rate conversion: ``interpolate`` on the shot (if the storyboard has the field),
    else the backend option ``interpolate``, else ``auto``."""
    from .retime import check_mode

    mode = getattr(shot.spec, "interpolate", None)
    where = f"shots[{shot.index}].interpolate"
    if mode is None:
        mode = shot.backend.options.get("interpolate")
        where = f"shots[{shot.index}].backend.interpolate"
    return check_mode(str(mode or "auto"), field=where)


class Compositor:
    """The frames of a cuts-look edit, in order (see the module docstring).

    :meth:`items` yields ``av.VideoFrame`` (pass-through) or packed yuv420p arrays; :attr:`seams` and
    :attr:`stats` are filled as it runs.
    """

    def __init__(self, edit: Edit, *, color_match: Optional[float] = None, decoder_threads: int = 0):
        from .camera import shot_motion
        from .transitions import transition_for

        self.edit = edit
        plan = self.plan = edit.plan
        self.shots = plan.shots
        self.H, self.W = plan.height, plan.width
        self.effects = [transition_for(s.transition.kind) if s.transition else None for s in self.shots]
        self.motions = [shot_motion(s, plan, edit.analysis) for s in self.shots]
        self.modes = [_interpolation(s) for s in self.shots]
        self.strength = _color_strength(edit, color_match)
        self.decoder_threads = decoder_threads
        self.luts: list = [None] * len(self.shots)
        self.seams: list[dict] = []
        self.stats = {"passthrough_frames": 0, "composed_frames": 0, "transition_frames": 0, "moved_frames": 0,
                      "color_frames": 0, "decoded_frames": 0, "blended_frames": 0, "conformed_frames": 0,
                      "stream_copied_frames": 0, "color_match": self.strength}

    def _reader(self, shot, clips):
        from .reader import ShotReader

        return ShotReader(shot, clips, self.plan.fps, self.W, self.H, interpolate=self.modes[shot.index],
                          decoder_threads=self.decoder_threads)

    def _prepare_color(self) -> None:
        from .color import match_luts, sample_shot_stats

        if self.strength <= 0 or len(self.shots) < 2:
            return
        stats = [sample_shot_stats(s, self.edit.clips[s.index], self.plan, reader_factory=self._reader)
                 for s in self.shots]
        self.luts = match_luts(stats, self.strength)

    def _seam_probes(self) -> dict:
        """frame -> [(seam index, side)] for the clean frames either side of each seam."""
        probes: dict = {}
        last = self.plan.total_frames - 1
        for k, s in enumerate(self.shots[:-1]):
            t = s.transition
            if t is None or not t.frames:
                cut = t.cut if t is not None else s.end
                before, after = cut - 1, cut
            else:
                before, after = t.start - 1, t.end
            before, after = min(max(before, 0), last), min(max(after, 0), last)
            probes.setdefault(before, []).append((k, 0))
            probes.setdefault(after, []).append((k, 1))
        return probes

    def items(self):
        """Yield every output frame, in order: ``av.VideoFrame`` or yuv420p planes ``(H * 3 // 2, W)``."""
        from .color import PlaneStats, seam_score

        self._prepare_color()
        shots, H = self.shots, self.H
        readers: dict = {}
        st = self.stats
        probes = self._seam_probes()
        seam_sides: dict = {}

        def reader(i: int):
            if i not in readers:
                readers[i] = self._reader(shots[i], self.edit.clips[i])
            return readers[i]

        def picture(i: int, f: int, array: bool):
            pic = reader(i).frame(f)
            lut, motion = self.luts[i], self.motions[i]
            if lut is None and motion is None and not array:
                return pic
            arr = pic if isinstance(pic, np.ndarray) else pic.to_ndarray()
            if lut is not None:
                arr = lut.apply(arr, H)
                st["color_frames"] += 1
            if motion is not None:
                arr = motion.apply(arr, f)
                st["moved_frames"] += 1
            return arr

        i = 0
        try:
            for f in range(self.plan.total_frames):
                while i < len(shots) - 1 and f >= shots[i].end:
                    i += 1
                # close readers whose shot (with its tail handle) is over
                for k in [k for k in readers if f >= shots[k].end + shots[k].tail]:
                    r = readers.pop(k)
                    self._collect(r)
                    r.close()
                out_t = shots[i - 1].transition if i > 0 else None
                own_t = shots[i].transition
                if out_t is not None and out_t.frames and out_t.start <= f < out_t.end:
                    a_idx, t, fx = i - 1, out_t, self.effects[i - 1]
                elif own_t is not None and own_t.frames and own_t.start <= f < own_t.end:
                    a_idx, t, fx = i, own_t, self.effects[i]
                else:
                    a_idx = t = fx = None
                if t is None:
                    item = picture(i, f, False)
                else:
                    before = f < t.cut
                    u = (f - t.start + 1) / (t.frames + 1)
                    a = picture(a_idx, f, True) if (before or fx.needs_handles) else None
                    b = picture(a_idx + 1, f, True) if ((not before) or fx.needs_handles) else None
                    item = fx.apply(a, b, u, before_cut=before, height=H)
                    st["transition_frames"] += 1
                if isinstance(item, np.ndarray):
                    st["composed_frames"] += 1
                else:
                    st["passthrough_frames"] += 1
                if f in probes:
                    arr = item if isinstance(item, np.ndarray) else item.to_ndarray()
                    stats = PlaneStats.of(arr, H)
                    for k, side in probes[f]:
                        seam_sides.setdefault(k, [None, None])[side] = stats
                yield item
        finally:
            for r in readers.values():
                self._collect(r)
                r.close()
        self._finish_seams(seam_sides, seam_score)

    def _collect(self, r) -> None:
        self.stats["decoded_frames"] += r.stats["decoded"]
        self.stats["blended_frames"] += r.stats["blended"]
        self.stats["conformed_frames"] += r.stats["conformed"]
        r.stats = {"decoded": 0, "blended": 0, "conformed": 0}

    def _finish_seams(self, sides: dict, seam_score) -> None:
        seams = []
        for k, s in enumerate(self.shots[:-1]):
            pair = sides.get(k)
            if not pair or pair[0] is None or pair[1] is None:
                continue
            t = s.transition
            doc = {"index": k, "shots": [k + 1, k + 2], "kind": t.kind if t else "cut",
                   "frame": t.cut if t else s.end}
            doc.update(seam_score(pair[0], pair[1]))
            seams.append(doc)
        if seams:
            worst = max(seams, key=lambda d: d["score"])
            for d in seams:
                d["worst"] = d is worst
        self.seams = seams


def compose_frames(edit: Edit, *, color_match: Optional[float] = None):
    """Yield every output frame of ``edit`` as yuv420p planes ``(H * 3 // 2, W)``, in order."""
    plan = edit.plan
    if plan.look == "infinite-zoom":  # one continuous push through nested layers (assemble/zoom.py)
        from .zoom import compose_zoom

        yield from compose_zoom(edit)
        return
    for item in Compositor(edit, color_match=color_match).items():
        yield item if isinstance(item, np.ndarray) else item.to_ndarray()


def _overlaid(frames, overlay, plan):
    """Apply an RGB overlay to yuv420p frames, converting only frames it changes."""
    import av

    from fractions import Fraction

    for f, item in enumerate(frames):
        t = Fraction(f) / plan.fps
        if isinstance(item, np.ndarray):
            rgb = av.VideoFrame.from_ndarray(item, format="yuv420p").to_ndarray(format="rgb24")
        else:
            rgb = item.to_ndarray(format="rgb24")
        out = overlay.apply(rgb, t)
        if out is rgb:  # nothing drawn on this frame: keep the exact picture
            yield item
            continue
        yield av.VideoFrame.from_ndarray(out, format="rgb24").reformat(format="yuv420p").to_ndarray()


def _publish(tmp: Path, out: Path, *, replace: bool) -> None:
    """Make the finished file appear under its final name, durably: fsync, then rename (or link, which
    refuses to clobber a file someone put there meanwhile), then fsync the folder."""
    from ..errors import OutputError
    from ..fileio import fsync_dir

    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    try:
        if replace:
            os.replace(tmp, out)
        else:
            try:
                os.link(tmp, out)
            except FileExistsError:
                raise OutputError(f"{out}: a file appeared there while rendering; it was left alone (use "
                                  "--force to replace it)") from None
            except OSError:  # filesystems without hard links: rename is still atomic
                if out.exists():
                    raise OutputError(f"{out}: a file appeared there while rendering; it was left alone") from None
                os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(out.parent)


def assemble(edit: Edit, out: Path, *, encode: Optional[EncodeSpec] = None,
             on_frame: Optional[Callable[[int, int], None]] = None, threads: int = 0,
             overlay=None, color_match: Optional[float] = None, decoder_threads: int = 0, replace: bool = True) -> AssemblyResult:
    """Render ``edit`` to ``out`` (MP4), the song muxed unchanged.

    Parameters
    ----------
    edit : Edit
    out : Path
        Final path; the file appears there only once complete.
    encode : EncodeSpec, optional
        Defaults to the plan's (the storyboard's ``encode:``); CLI flags override it by passing
        ``plan.encode.with_(crf=..., preset=..., codec=...)``.
    on_frame : callable, optional
        ``on_frame(done, total)`` progress callback, called from the encoding thread.
    threads : int
        x264/x265 threads (0 = auto).
    overlay : object, optional
        Drawn on every frame after compositing: ``overlay.apply(rgb, seconds) -> rgb`` (e.g. burnt-in
        lyrics); frames it leaves unchanged skip the RGB round trip.
    color_match : float, optional
        Strength 0..1 of the shot-to-neighbours colour match; defaults to the storyboard's
        ``color_match`` (``edit.extra["storyboard"]``), else 0.
    decoder_threads : int
        Threads per clip decoder (0 = auto: a quarter of the cores, at least 1; see
        :func:`songreel.assemble.reader.decoder_thread_count`).
    replace : bool
        Replace an existing ``out`` (``--force``); otherwise a file that appeared at ``out`` while
        rendering is left alone and the render fails with :class:`~songreel.errors.OutputError`.

    Returns
    -------
    AssemblyResult
        With ``seams`` (for the report) and ``stats``.

    Raises
    ------
    SongreelError
        A clip that cannot be decoded, an unknown transition or camera move, a missing extra.
    """
    from .encode import Output
    from .reader import decoder_thread_count

    plan = edit.plan
    encode = encode or plan.encode
    out = Path(out)
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}{out.suffix or '.mp4'}")
    started = time.monotonic()
    cpu0 = _cpu()
    q: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
    stop = threading.Event()
    failure: list[BaseException] = []
    compose_cpu = [0.0]
    compositor = None if plan.look == "infinite-zoom" else Compositor(edit, color_match=color_match,
                                                                      decoder_threads=decoder_threads)

    def produce():
        t0 = time.thread_time()
        try:
            frames = compose_frames(edit) if compositor is None else compositor.items()
            if overlay is not None:
                frames = _overlaid(frames, overlay, plan)
            for item in frames:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as e:  # handed to the encoding thread, re-raised there
            failure.append(e)
        finally:
            compose_cpu[0] = time.thread_time() - t0
            q.put(None)

    output = Output(tmp, plan.width, plan.height, plan.fps, encode, edit.song, threads=threads)
    worker = threading.Thread(target=produce, name="songreel-compose", daemon=True)
    worker.start()
    ok = False
    try:
        done = 0
        while True:
            item = q.get()
            if item is None:
                break
            if isinstance(item, np.ndarray):
                output.write_planes(item)
            else:
                output.write_frame(item)
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
    worker.join()
    _publish(tmp, out, replace=replace)
    stats = dict(compositor.stats) if compositor is not None else {"look": plan.look}
    stats.update({"codec": encode.codec, "crf": encode.crf, "preset": encode.preset,
                  "x264_threads": output.video.codec_context.thread_count,
                  "x264_thread_type": output.video.codec_context.thread_type.name, "decoder_threads": decoder_thread_count(decoder_threads),
                  "cpu_s": round(_cpu() - cpu0, 3), "compose_cpu_s": round(compose_cpu[0], 3)})
    seams = tuple(compositor.seams) if compositor is not None else ()
    return AssemblyResult(out, done, time.monotonic() - started, output.audio_mode, seams=seams, stats=stats)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
