"""Assembly: plan + clips + song -> one video file, streamed frame by frame.

A producer thread decodes and composites; the calling thread encodes and muxes, so decode and x264
overlap on two cores. Nothing holds more than a few frames; the output is written to a temp name and
renamed when complete.

With a chunk cache (``chunk_dir``), the film is encoded in chunks aligned to its cuts
(:mod:`.chunks`): chunks already in the cache are joined by stream copy and only the others are
composed and encoded, so a re-render after editing one shot encodes that stretch only. Without one,
the film is one continuous encode.
"""

from __future__ import annotations

import logging
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

logger = logging.getLogger(__name__)

#: frames composed ahead of the encoder (x264 buffers its own lookahead behind this)
QUEUE_FRAMES = 4


@dataclass(frozen=True)
class AssemblyResult:
    """What :func:`assemble` wrote.

    Attributes
    ----------
    path : Path
    frames : int
        Video frames in the file.
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
        ``encoded_frames`` (frames through the encoder in this run), ``stream_copied_frames`` (frames
        joined from chunks already encoded), ``chunks`` ({``total``, ``reused``, ``encoded``}, with a
        chunk cache), ``chunk_keys`` (the chunks the film was joined from, in order, with a chunk
        cache), ``x264_threads`` (0 = auto), ``x264_thread_type`` (``FRAME``: x264 frame threads,
        not sliced), ``codec``, ``crf``, ``preset``, ``cpu_s`` (process CPU during the assembly),
        ``compose_cpu_s`` (the compose thread's own CPU), ``color_match``, ``warnings``.
    warnings : tuple of str
        Notes for the user (footage far below the output size, a footage source stored as a conformed
        copy and why).
    """

    path: Path
    frames: int
    seconds: float
    audio_mode: str
    seams: tuple = ()
    stats: dict = field(default_factory=dict, compare=False, hash=False)
    warnings: tuple = ()


def clip_warnings(edit: Edit) -> tuple:
    """One line per thing the user should know about the clips: footage far below the output size,
    footage that had to be stored as a conformed copy (and why)."""
    out = []
    for shot, clips in zip(edit.plan.shots, edit.clips):
        for c in clips:
            prov = c.provenance if isinstance(c.provenance, dict) else {}
            for w in prov.get("warnings", ()):
                out.append(f"shot {shot.index + 1}: {w}")
            if prov.get("conformed_copy"):
                out.append(f"shot {shot.index + 1}: footage {prov.get('source', c.path)} is stored as a conformed copy "
                           f"(not read on the fly): {prov['conformed_copy']}")
    return tuple(dict.fromkeys(out))


class _Producer:
    """Run a frame iterator on its own thread into a small queue; errors are re-raised in :meth:`get`."""

    def __init__(self, frames):
        self.q: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self.stop = threading.Event()
        self.failure: list[BaseException] = []
        self.cpu = 0.0
        self._frames = frames
        self.thread = threading.Thread(target=self._run, name="songreel-compose", daemon=True)
        self.thread.start()

    def _run(self):
        t0 = time.thread_time()
        try:
            for item in self._frames:
                while not self.stop.is_set():
                    try:
                        self.q.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if self.stop.is_set():
                    return
        except BaseException as e:  # handed to the encoding thread, re-raised there
            self.failure.append(e)
        finally:
            self.cpu = time.thread_time() - t0
            self.q.put(None)

    def get(self):
        item = self.q.get()
        if item is None:
            if self.failure:
                raise self.failure[0]
            raise RuntimeError("the compose thread ended early")
        return item

    def finish(self, ok: bool) -> None:
        self.stop.set()
        if not ok:
            while self.thread.is_alive():
                try:
                    self.q.get_nowait()
                except queue.Empty:
                    pass
                self.thread.join(timeout=0.05)
        self.thread.join()
        if ok and self.failure:
            raise self.failure[0]


def _frame_numbers(ranges):
    for lo, hi in ranges:
        yield from range(lo, hi)


def _frames(edit: Edit, compositor, ranges, overlay):
    if compositor is None:
        from .zoom import compose_zoom

        frames = compose_zoom(edit)
    else:
        frames = compositor.items(ranges)
    if overlay is not None:
        from .overlay import overlaid

        frames = overlaid(frames, overlay, edit.plan.fps, _frame_numbers(ranges))
    return frames


def _write(output, item) -> None:
    if isinstance(item, np.ndarray):
        output.write_planes(item)
    else:
        output.write_frame(item)


def assemble(edit: Edit, out: Path, *, encode: Optional[EncodeSpec] = None,
             on_frame: Optional[Callable[[int, int], None]] = None, threads: int = 0,
             overlay=None, color_match: Optional[float] = None, decoder_threads: int = 0, replace: bool = True,
             chunk_dir: Optional[Path] = None, tap: Optional[Callable[[int], object]] = None) -> AssemblyResult:
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
        ``on_frame(done, total)`` progress callback, called from the encoding thread as frames are
        encoded or joined.
    threads : int
        x264/x265 threads (0 = auto).
    overlay : object, optional
        Drawn on every frame after compositing: ``overlay.apply(rgb, seconds) -> rgb`` (e.g. burnt-in
        lyrics); frames it leaves unchanged skip the RGB round trip.
    color_match : float, optional
        Strength 0..1 of the shot-to-neighbours colour match; defaults to ``edit.plan.color_match``.
    decoder_threads : int
        Threads per clip decoder (0 = auto: a quarter of the cores, at least 1; see
        :func:`songreel.assemble.reader.decoder_thread_count`).
    replace : bool
        Replace an existing ``out`` (``--force``); otherwise a file that appeared at ``out`` while
        rendering is left alone and the render fails with :class:`~songreel.errors.OutputError`.
    chunk_dir : Path, optional
        Keep the film's encoded chunks there (content-addressed) and reuse those already there.
    tap : callable, optional
        ``tap(shot_index)`` -> an object shown every clip frame decoded for that shot, or None (the
        report card measured from this decode: :class:`songreel.qa.tap.CardTaps`).

    Returns
    -------
    AssemblyResult
        With ``seams`` (for the report) and ``stats``.

    Raises
    ------
    SongreelError
        A clip that cannot be decoded, an unknown transition or camera move, a missing extra.
    """
    from ..memory import return_large_blocks
    from .compositor import Compositor
    from .publish import publish
    from .reader import decoder_thread_count

    return_large_blocks()  # chunk encoders come and go: their buffers must not fragment the heap

    plan = edit.plan
    encode = encode or plan.encode
    out = Path(out)
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}{out.suffix or '.mp4'}")
    started = time.monotonic()
    cpu0 = _cpu()
    if plan.look == "infinite-zoom" and plan.layout is None:
        from ..errors import PlanError

        raise PlanError("the infinite-zoom plan has no zoom layout; lay it out with songreel.plan.zoom.plan_zoom")
    compositor = None if plan.look == "infinite-zoom" else Compositor(edit, color_match=color_match,
                                                                      decoder_threads=decoder_threads, tap=tap)
    if chunk_dir is None:
        done, audio_mode, ctx, extra, produced = _assemble_whole(edit, tmp, encode, compositor, overlay, threads,
                                                                on_frame)
    else:
        done, audio_mode, ctx, extra, produced = _assemble_chunks(edit, tmp, encode, compositor, overlay, threads,
                                                                 on_frame, Path(chunk_dir))
    publish(tmp, out, replace=replace)
    if chunk_dir is not None:  # which chunks made this file, for store gc
        from .chunks import ChunkCache

        try:
            ChunkCache(Path(chunk_dir)).record(out, extra["chunk_keys"], storyboard=edit.extra.get("storyboard"))
        except OSError as e:  # the film is written; a missing record only lets gc take its chunks
            logger.warning("%s: could not record the chunks of %s (%s)", chunk_dir, out, e)
    stats: dict[str, object] = dict(compositor.stats) if compositor is not None else {"look": plan.look}
    stats.update(extra)
    stats.update({"codec": encode.codec, "crf": encode.crf, "preset": encode.preset,
                  "x264_threads": ctx[0], "x264_thread_type": ctx[1],
                  "decoder_threads": decoder_thread_count(decoder_threads),
                  "cpu_s": round(_cpu() - cpu0, 3), "compose_cpu_s": round(produced, 3)})
    seams = tuple(compositor.seams()) if compositor is not None else ()
    warnings = clip_warnings(edit)
    if warnings:
        stats["warnings"] = list(warnings)
    return AssemblyResult(out, done, time.monotonic() - started, audio_mode, seams=seams, stats=stats,
                          warnings=warnings)


def _assemble_whole(edit, tmp, encode, compositor, overlay, threads, on_frame):
    """One continuous encode of every frame, the song muxed as it goes."""
    from .encode import Output

    plan = edit.plan
    ranges = [(0, plan.total_frames)]
    producer = _Producer(_frames(edit, compositor, ranges, overlay))
    output = Output(tmp, plan.width, plan.height, plan.fps, encode, edit.song, threads=threads)
    ok = False
    try:
        for done in range(1, plan.total_frames + 1):
            _write(output, producer.get())
            if on_frame:
                on_frame(done, plan.total_frames)
        output.close()
        ok = True
    finally:
        try:
            producer.finish(ok)
        finally:
            if not ok:
                output.abort()
                tmp.unlink(missing_ok=True)
    cc = output.video.codec_context
    return (plan.total_frames, output.audio_mode, (cc.thread_count, cc.thread_type.name),
            {"encoded_frames": plan.total_frames, "stream_copied_frames": 0}, producer.cpu)


class _Finisher:
    """Finish chunks in order on a thread of its own: flush a chunk's encoder, keep it in the cache,
    join it to the film. The next chunk's encoder starts meanwhile, so x264's lookahead refills while
    the last frames of the one before are encoded (a chunk boundary costs no idle core)."""

    def __init__(self):
        self.q: queue.Queue = queue.Queue()
        self.idle = threading.Event()
        self.idle.set()
        self.failure: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="songreel-join", daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            job = self.q.get()
            if job is None:
                return
            try:
                if not self.failure:
                    job()
            except BaseException as e:  # re-raised in the encoding thread
                self.failure.append(e)
            finally:
                self.idle.set()

    def submit(self, job) -> None:
        """Hand over a job once the one before is done: at most two chunk encoders are alive (the one
        being fed and the one finishing), so memory stays that of two encoders."""
        self.idle.wait()
        if self.failure:
            raise self.failure[0]
        self.idle.clear()
        self.q.put(job)

    def close(self, ok: bool) -> None:
        """Wait for the chunks handed over (after a failure too: a finished chunk is kept whole)."""
        self.q.put(None)
        self.thread.join()
        if ok and self.failure:
            raise self.failure[0]


def _assemble_chunks(edit, tmp, encode, compositor, overlay, threads, on_frame, root: Path):
    """Encode the chunks the cache lacks, join every chunk in order by stream copy, mux the song."""
    from .chunks import ChunkCache, chunk_bounds, chunk_keys
    from .color import PlaneStats
    from .encode import Joiner, Output

    plan = edit.plan
    total = plan.total_frames
    cache = ChunkCache(root)
    luts = compositor.prepare_color() if compositor is not None else None
    overlay_key = None
    if overlay is not None:
        import hashlib

        overlay_key = hashlib.sha256(repr(getattr(overlay, "cache_key", None) or overlay).encode()).hexdigest()
    chunks = chunk_keys(edit, chunk_bounds(plan), encode=encode, threads=threads, luts=luts, overlay_key=overlay_key)
    claim = cache.claim(chunks)  # store gc leaves these alone while this render runs
    found = {c.key: cache.get(c) for c in chunks}
    todo = [(c.start, c.end) for c in chunks if found[c.key] is None]
    for c in chunks:  # seam statistics of the frames that will not be composed
        doc = found[c.key]
        if doc is not None and compositor is not None:
            for f, (mean, std) in doc.get("probes", {}).items():
                compositor.probe_stats[c.start + int(f)] = PlaneStats(tuple(mean), tuple(std))
    producer = _Producer(_frames(edit, compositor, todo, overlay)) if todo else None
    joiner = Joiner(tmp, plan.fps, encode, edit.song)
    finisher = _Finisher()
    ok = False
    done = encoded = copied = 0
    ctx = [threads, "FRAME"]
    parts: list = []
    output = None

    def finish(c, output, part, probes):
        output.close()
        cc = output.video.codec_context
        ctx[:] = [cc.thread_count, cc.thread_type.name]
        cache.put(c, part, {"probes": probes})
        joiner.add(cache.media(c.key), c.start, c.frames)

    try:
        for c in chunks:
            if found[c.key] is not None:
                finisher.submit(lambda c=c: joiner.add(cache.media(c.key), c.start, c.frames))
                done += c.frames
                copied += c.frames
                if on_frame:
                    on_frame(done, total)
                continue
            part = cache.temp(c.key)
            parts.append(part)
            if producer is None:  # every chunk not found is in todo, which then has a producer
                raise RuntimeError(f"chunk {c.key}: not in the cache, yet no frames are being composed for it")
            output = Output(part, plan.width, plan.height, plan.fps, encode, None, threads=threads)
            for _ in range(c.frames):
                _write(output, producer.get())
                done += 1
                if on_frame:
                    on_frame(done, total)
            probes = {}
            if compositor is not None:
                probes = {str(f - c.start): [list(s.mean), list(s.std)] for f, s in compositor.probe_stats.items()
                          if c.start <= f < c.end}
            finisher.submit(lambda c=c, o=output, p=part, pr=probes: finish(c, o, p, pr))
            output = None
            encoded += c.frames
        finisher.close(True)
        joiner.close()
        ok = True
    finally:
        try:
            if not ok:
                finisher.close(False)
                if output is not None:
                    output.abort()
            if producer is not None:
                producer.finish(ok)
        finally:
            for part in parts:
                part.unlink(missing_ok=True)
            claim.unlink(missing_ok=True)
            if not ok:
                joiner.abort()
                tmp.unlink(missing_ok=True)
    reused = sum(1 for c in chunks if found[c.key] is not None)
    extra = {"encoded_frames": encoded, "stream_copied_frames": copied,
             "chunks": {"total": len(chunks), "reused": reused, "encoded": len(chunks) - reused},
             "chunk_keys": [c.key for c in chunks]}
    return total, joiner.audio_mode, tuple(ctx), extra, producer.cpu if producer is not None else 0.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
