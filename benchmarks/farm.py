"""Render farm scaling: a 60-shot storyboard with chains through the Ray executor on 1/2/4/8 simulated GPUs.

A test backend (``sleep``) takes a fixed time per clip (it sleeps, then writes a tiny real MP4), so the
figures measure the scheduler, not a model: makespan of the whole generation against the critical path
(the longest chain of clips that must run one after another: a shot's segments, plus a shot ending on
the next shot's first frame) and against the ideal speed-up ``min(N, total work / critical path)``;
and the scheduler's own cost per clip (driver round trip minus the worker's time). The baseline is
what a user runs today: the local executor, one clip at a time on one GPU.

Each run uses a fresh clip store (nothing reused). Simulated GPUs are logical Ray resources
(``ray.init(num_gpus=8)``); each actor is its own worker process. The song analysis is a fixed
120 BPM grid built in code (the analysis is not what is measured).

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/farm.py            # 0.5 s per clip
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/farm.py --sleep 1 --gpus 1 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

SHOT_LENGTHS = ("1 bar", "2 beats", "2 bars", "1 beat", "1 bar", "3 beats")


class SleepBackend:
    """Takes ``sleep`` seconds per clip; chains on first and last frames like an image-to-video model."""

    name = "sleep"
    version = "1"
    model = "sleep"
    num_gpus = 1   # one simulated GPU per worker
    seconds = 0.5

    def __init__(self, spec, *, project, field="backend"):
        self.seconds = float(spec.options.get("seconds", SleepBackend.seconds))
        self.project = project

    def capabilities(self):
        from songreel.generate.base import Capabilities

        return Capabilities(native_fps=Fraction(24), max_frames=24, first_frame=True, last_frame=True)

    def key_context(self) -> dict:
        return {"seconds": self.seconds}

    def generate(self, request, out):
        import av

        from songreel.generate.base import GenerationResult

        time.sleep(self.seconds)
        level = int(request.key()[:2], 16)
        frame = np.full((request.height, request.width, 3), level, dtype=np.uint8)
        with av.open(str(out), "w", format="mp4") as c:
            s = c.add_stream("libx264", rate=24)
            s.width, s.height, s.pix_fmt = request.width, request.height, "yuv420p"
            s.options = {"preset": "ultrafast"}
            for _ in range(request.frames):
                for p in s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
        return GenerationResult(path=Path(out), frames=request.frames, fps=Fraction(24), width=request.width,
                                height=request.height, provenance={"mode": "sleep"},
                                tail_frames=np.stack([frame] * min(9, request.frames)))


def storyboard_text(shots: int, seconds: float) -> str:
    lines = ["songreel: 1", "song: song.wav", "video: {width: 64, height: 36, fps: 24}",
             f"backend: {{name: sleep, seconds: {seconds}}}", "shots:"]
    for i in range(shots):
        lines.append(f"  - prompt: shot {i + 1}")
        lines.append(f"    length: {SHOT_LENGTHS[i % len(SHOT_LENGTHS)]}")
        if i % 10 == 3:   # every tenth shot ends on the next one's first frame
            lines.append("    last_frame: next")
    return "\n".join(lines) + "\n"


def grid_analysis(seconds: float):
    from songreel.schema.analysis import Analysis, Section

    beats = tuple(i * 0.5 for i in range(int(seconds / 0.5) + 1))
    return Analysis(duration=seconds, tempo=120.0, meter=4, beats=beats, downbeats=beats[::4],
                    sections=(Section(0.0, seconds, "verse"),), tracker="fixed grid")


def critical_path(plan) -> int:
    """Clips on the longest chain that must run in order."""
    memo: dict = {}

    def chain(i: int) -> int:
        if i not in memo:
            s = plan.shots[i]
            before = chain(i - 1) if i > 0 and plan.shots[i - 1].spec.last_frame == "next" else 0
            memo[i] = len(s.segments) + before
        return memo[i]

    return max(chain(i) for i in range(len(plan.shots)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sleep", type=float, default=0.5, help="seconds per clip")
    ap.add_argument("--shots", type=int, default=60)
    ap.add_argument("--gpus", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--no-local", action="store_true", help="skip the local executor baseline")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    import ray

    from songreel.generate import registry
    from songreel.generate.executors.local import LocalExecutor
    from songreel.generate.executors.ray import RayExecutor
    from songreel.generate.runner import Backends, generate_plan
    from songreel.generate.store import ClipStore
    from songreel.reel.project import load, make_plan, project_info
    from songreel.synth import write_wav

    real = registry.backend_class
    registry.backend_class = lambda name, field="backend": SleepBackend if name == "sleep" else real(name, field=field)

    work = Path(tempfile.mkdtemp(prefix="songreel-farm-"))
    write_wav(work / "song.wav", np.zeros(22050, dtype=np.float32), 22050)
    sb_path = work / "farm.yaml"
    sb_path.write_text(storyboard_text(args.shots, args.sleep))
    sb = load(sb_path)
    beats = {"1 bar": 4, "2 beats": 2, "2 bars": 8, "1 beat": 1, "3 beats": 3}
    n_beats = sum(beats[SHOT_LENGTHS[i % len(SHOT_LENGTHS)]] for i in range(args.shots))
    backends = Backends(project_info(sb))
    plan = make_plan(sb, grid_analysis(n_beats * 0.5), backends)
    clips = sum(len(s.segments) for s in plan.shots)
    cp = critical_path(plan)
    print(f"{args.shots} shots, {clips} clips, critical path {cp} clips; {args.sleep} s per clip "
          f"(serial work {clips * args.sleep:.1f} s)")
    rows = []

    def run(label, executor, n):
        store = ClipStore(work / f"store-{label}")
        gen = executor.backends(backends, plan)
        t_start = time.monotonic()
        for p in getattr(executor, "_pools", {}).values():
            p.start()   # actors load their "model" before the clock starts (reported apart)
        startup = time.monotonic() - t_start
        t0 = time.monotonic()
        summary = generate_plan(plan, store, gen, executor=None if isinstance(executor, LocalExecutor) else executor,
                                candidates=False)
        makespan = time.monotonic() - t0
        assert not summary.failed and summary.generated == clips, (summary.failed, summary.generated)
        refs = [r for shot in summary.clips for r in shot]
        # per clip: what the driver spent beyond the worker's own time (dispatch + transfer + store writes),
        # and the Ray round trip alone (sent -> reply, minus the worker's time)
        over = [float(r.provenance["seconds"]) - float(r.provenance.get("worker", {}).get("seconds", args.sleep))
                for r in refs]
        trip = [float(r.provenance["worker"]["overhead_s"]) for r in refs if "worker" in r.provenance]
        ideal = min(n, clips / cp)
        serial = clips * args.sleep
        row = {"run": label, "gpus": n, "makespan_s": round(makespan, 2), "startup_s": round(startup, 2),
               "critical_path_s": round(cp * args.sleep, 2), "ideal_s": round(serial / ideal, 2),
               "speedup": round(serial / makespan, 2), "ideal_speedup": round(ideal, 2),
               "of_ideal": round((serial / makespan) / ideal, 3),
               "overhead_ms_per_clip": round(1000 * statistics.mean(over), 1),
               "overhead_ms_p95": round(1000 * float(np.percentile(over, 95)), 1),
               "round_trip_ms_per_clip": round(1000 * statistics.mean(trip), 1) if trip else None}
        base = next((r["makespan_s"] for r in rows if r["gpus"] == 1 and r["run"] != "local"),
                    makespan if (n == 1 and label != "local") else None)
        row["speedup_vs_1_gpu"] = round(base / makespan, 2) if base else None
        rows.append(row)
        print(json.dumps(row))

    if not args.no_local:
        run("local", LocalExecutor(), 1)
    for attempt in range(2):   # a raylet slow to register on a busy machine times out at 30 s: once more
        try:
            ray.init(num_cpus=2, num_gpus=max(args.gpus), include_dashboard=False, log_to_driver=False)
            break
        except Exception as e:  # noqa: BLE001
            ray.shutdown()
            if attempt or "timed out during startup" not in str(e):
                raise
    try:
        for n in args.gpus:
            ex = RayExecutor(max_workers=n)
            try:
                run(f"ray-{n}", ex, n)
            finally:
                ex.close()
    finally:
        ray.shutdown()
        backends.close()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
