"""Time and peak memory of ``songreel analyze`` on 60 / 240 / 600 s songs, vs plain librosa.

Run from the repository root::

    .venv/bin/python benchmarks/analyze_memory.py [--seconds 60 240 600] [--repeats 1]

Each measurement is a fresh process (wall time from spawn to exit; peak RSS from ``wait4``):

- ``songreel analyze SONG`` — the CLI as a user runs it (decode, analysis, printed table);
- ``librosa`` — what a user would write instead: ``y, sr = librosa.load(SONG)`` then
  ``librosa.beat.beat_track(y=y, sr=sr)`` (tempo and beats only: no bars, sections or envelopes).

Plus the warm figure: ``songreel.analysis.analyze_file`` in a process that has already analysed
another song (imports loaded), timed on the song alone.

The songs are :func:`songreel.synth.render_song` at 120 BPM, 44.1 kHz stereo 16-bit WAV, written
once to ``--cache`` (default: the system temp folder). Targets: 240 s analysed in <= 3 s warm and
<= 6 s fresh; peak RSS <= 350 MiB for 600 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

LIBROSA = "import sys, librosa; y, sr = librosa.load(sys.argv[1]); librosa.beat.beat_track(y=y, sr=sr)"
WARM = r"""
import sys, time
from songreel.analysis import analyze_file
analyze_file(sys.argv[2])
t, c = time.perf_counter(), time.process_time()
analyze_file(sys.argv[1])
print(time.perf_counter() - t, time.process_time() - c)
"""


_RENDER = r"""
import sys
from songreel.synth import render_song, write_wav
seconds, path = int(sys.argv[1]), sys.argv[2]
bars = max(4, int(round(seconds / 2.0)))
form, left, k = [("intro", 4)], bars - 8, 0
labels = ("verse", "chorus", "verse", "chorus", "bridge", "chorus")
while left > 0:
    form.append((labels[k % len(labels)], min(16, left)))
    left -= min(16, left)
    k += 1
form.append(("outro", 4))
s = render_song(bpm=120.0, meter=4, sections=form, sample_rate=44100, seed=1, tail=0.0)
write_wav(path, s.samples, s.sample_rate)
"""


def song_file(seconds: int, folder: Path, *, env: dict) -> Path:
    """A synthetic song of about ``seconds`` (120 BPM, 4/4: 2 s a bar), written once, by a child process.

    Rendering here would make this process large, and a child forked from a large process starts
    with that peak RSS already counted (Linux carries ``maxrss`` across fork and exec).
    """
    path = folder / f"songreel-bench-{seconds}s.wav"
    if not path.is_file():
        subprocess.run([sys.executable, "-c", _RENDER, str(seconds), str(path)], check=True, env=env)
    return path


def measure(cmd: list[str], *, env: dict) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS (MiB), CPU seconds (user + system) and stdout of one fresh process.

    This process imports nothing heavy (~10 MiB), so the child's peak, which starts from the
    parent's resident size at fork, is its own to within that.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise RuntimeError(f"{cmd} failed ({status}): {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime, out.decode()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, nargs="+", default=[60, 240, 600])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--no-librosa", action="store_true")
    args = ap.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    py = sys.executable
    exe = Path(py).parent / "songreel"  # the installed console script, as a user runs it
    cli = [str(exe)] if exe.is_file() else [py, "-m", "songreel.cli.main"]
    print(f"python {sys.version.split()[0]}; cores available: {len(os.sched_getaffinity(0))}; "
          f"load average {os.getloadavg()[0]:.1f}; repeats {args.repeats} (fresh process each)")
    files = {s: song_file(s, args.cache, env=env) for s in args.seconds}
    warmup = song_file(min(args.seconds), args.cache, env=env)
    print("\n| song | songreel analyze: wall s (CPU s) | peak RSS MiB | warm analyze_file: wall s (CPU s) | "
          "librosa load + beat_track: wall s (CPU s) | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for seconds, path in files.items():
        ours, base, warm = [], [], []
        for _ in range(args.repeats):
            ours.append(measure(cli + ["analyze", str(path)], env=env)[:3])
            warm.append(tuple(float(x) for x in measure([py, "-c", WARM, str(path), str(warmup)], env=env)[3].split()))
            if not args.no_librosa:
                base.append(measure([py, "-c", LIBROSA, str(path)], env=env)[:3])

        def cell(rows, i):
            vals = sorted(r[i] for r in rows)
            return "—" if not vals else (f"{vals[0]:.2f}" if len(vals) == 1 else f"{vals[0]:.2f}–{vals[-1]:.2f}")

        print(f"| {seconds} s | {cell(ours, 0)} ({cell(ours, 2)}) | {cell(ours, 1)} | "
              f"{cell(warm, 0)} ({cell(warm, 1)}) | {cell(base, 0)} ({cell(base, 2)}) | "
              f"{cell(base, 1)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
