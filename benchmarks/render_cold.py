"""A whole first render: `songreel render` cold and warm vs the ffmpeg CLI and MoviePy on the same job.

The job: 12 footage clips of 5 s at 1280x720 24 fps, 0.5 s crossfades, libx264 medium crf 18, a
54.5 s song (AAC, stream-copied by songreel and ffmpeg; MoviePy has no copy path). Contestants, each in
its own fresh process, interleaved in every repeat:

- ``ffmpeg``: the CLI's xfade chain (the same builder as ``benchmarks/assemble.py``, fed 5 s per clip);
- ``moviepy``: MoviePy 2 ``CrossFadeIn`` + ``concatenate_videoclips(padding=-0.5)``, run by the
  interpreter given with ``--moviepy-python`` (MoviePy 2 pins Pillow < 12; keep it in its own venv);
- ``cold``: ``songreel render`` in a fresh folder (storyboard, song, the 12 clips): analysis, the
  footage shots and the assembly all included;
- ``warm``: ``songreel render`` again in that folder, to a new file (analysis, clips and encoded
  chunks all reused);
- ``warm-encode``: the same with the encoded chunks removed first (analysis and clips reused, the film
  encoded again).

In each repeat ffmpeg and the cold render run back to back, in alternating order (see
:func:`repeat_order`), and each repeat's ratios are taken against its own ffmpeg run.

Wall time, CPU of the process tree and peak RSS of the whole tree (polled every 50 ms) come from
``benchmarks/assemble.py``'s ``measure``. Other modes:

- ``--edit``: 13 animatic shots at 720p, a fresh render, then one prompt edited and rendered again;
- ``--memory``: peak RSS of ``songreel render`` (fresh folder) for a 60 s and a 240 s song at 720p,
  animatic and footage;
- ``--preview``: the director's preview of a 240 s song (``songreel render --preview`` of a 1280x720
  storyboard, drawn at 854x480); with ``--preview-plain`` also a plain 854x480 x264-medium render of it.

Usage (repository root)::

    .venv/bin/python benchmarks/render_cold.py --moviepy-python /tmp/mpvenv/bin/python --repeats 3
    .venv/bin/python benchmarks/render_cold.py --edit --memory --preview --repeats 1
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import assemble as job  # noqa: E402  (benchmarks/assemble.py: material, ffmpeg builder, measure)

N = 12
CLIP = 5.0
XFADE = 0.5
SONG = N * CLIP - (N - 1) * XFADE      # 54.5 s
FPS = job.FPS


def song(work: Path, seconds: float) -> Path:
    """A 120 BPM synthetic song as AAC, ``seconds`` long (made once)."""
    out = work / f"song-{seconds:g}.m4a"
    if out.exists():
        return out
    sys.path.insert(0, str(ROOT / "src"))
    from songreel.synth import render_song, write_wav

    bars = int(seconds // 2) + 1
    s = render_song(bpm=120.0, meter=4, sections=(("verse", bars // 2), ("chorus", bars - bars // 2)),
                    sample_rate=44100)
    wav = write_wav(work / f"song-{seconds:g}.wav", s.samples, s.sample_rate)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-t", f"{seconds:g}", "-c:a", "aac",
                    "-b:a", "256k", str(out)], check=True)
    return out


def ffmpeg_cmd(clips, song_path, out, preset, crf):
    """The xfade chain of ``benchmarks/assemble.py``, each input cut to 5 s (offsets k * 4.5 s)."""
    args = ["ffmpeg", "-v", "error", "-y"]
    for c in clips[:N]:
        args += ["-t", f"{CLIP:g}", "-i", str(c)]
    args += ["-i", str(song_path)]
    parts, last = [], "[0:v]"
    for k in range(1, N):
        label = f"[v{k}]" if k < N - 1 else "[vout]"
        parts.append(f"{last}[{k}:v]xfade=transition=fade:duration={XFADE}:offset={k * (CLIP - XFADE):g}{label}")
        last = label
    args += ["-filter_complex", ";".join(parts), "-map", "[vout]", "-map", f"{N}:a",
             "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
             "-c:a", "copy", "-movflags", "+faststart", "-frames:v", str(round(SONG * FPS)), str(out)]
    return args


def run_moviepy(clips, song_path, out, preset, crf):
    from moviepy import AudioFileClip, VideoFileClip, concatenate_videoclips, vfx

    parts = []
    for i in range(N):
        c = VideoFileClip(str(clips[i]), audio=False).subclipped(0, CLIP)
        if i > 0:
            c = c.with_effects([vfx.CrossFadeIn(XFADE)])
        parts.append(c)
    video = concatenate_videoclips(parts, padding=-XFADE, method="compose").with_duration(SONG)
    video = video.with_audio(AudioFileClip(str(song_path)))
    video.write_videofile(str(out), fps=FPS, codec="libx264", preset=preset, audio_codec="aac",
                          audio_bitrate="320k", ffmpeg_params=["-crf", str(crf), "-pix_fmt", "yuv420p",
                                                               "-movflags", "+faststart"], logger=None)


def footage_storyboard(folder: Path, clips, song_path: Path, *, seconds: float, width: int, height: int,
                       preset: str, crf: int) -> Path:
    """A fresh project folder: the song, the clips (linked), a storyboard of footage shots of 4.5 s
    (9 beats) with 0.5 s crossfades, cycling through the clips, the last shot to the song's end."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(song_path, folder / "song.m4a")
    foot = folder / "footage"
    foot.mkdir(exist_ok=True)
    n = int(round((seconds - CLIP) / (CLIP - XFADE))) + 1
    lines = [f"songreel: 1\nsong: song.m4a\nvideo: {{width: {width}, height: {height}, fps: {FPS}}}",
             f"encode: {{preset: {preset}, crf: {crf}}}", "shots:"]
    for i in range(n):
        src = Path(clips[i % len(clips)])
        link = foot / f"{i:03d}{src.suffix}"
        if not link.exists():
            link.symlink_to(src)
        lines.append(f"  - clip: footage/{link.name}")
        if i < n - 1:
            lines += ["    length: 9 beats", "    transition: crossfade 0.5 s"]
    p = folder / "story.yaml"
    p.write_text("\n".join(lines) + "\n")
    return p


def animatic_storyboard(folder: Path, song_path: Path, *, shots: int, width: int, height: int, preset: str,
                        crf: int, beats: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(song_path, folder / "song.m4a")
    lines = [f"songreel: 1\nsong: song.m4a\nvideo: {{width: {width}, height: {height}, fps: {FPS}}}",
             f"encode: {{preset: {preset}, crf: {crf}}}", "shots:"]
    for i in range(shots):
        lines.append(f'  - prompt: "scene {i + 1}: a couple, year {1990 + i}"')
        if i < shots - 1:
            lines += [f"    length: {beats} beats"] + (["    transition: crossfade 0.5 s"] if i % 3 == 1 else [])
    p = folder / "story.yaml"
    p.write_text("\n".join(lines) + "\n")
    return p


def songreel_cmd(story: Path, out: Path) -> list:
    return [str(Path(sys.executable).parent / "songreel"), "render", str(story), "-o", str(out)]


def env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT / "src"))


def timed(name: str, cmd: list, out: Path, cwd_env=None) -> dict:
    c0, busy0 = job.cpu_children(), job.machine_busy()
    r = job.measure(cmd, env=cwd_env or env())
    r["cpu"] = job.cpu_children() - c0
    r["other_cpu"] = max(0.0, job.machine_busy() - busy0 - r["cpu"])
    r["load"] = os.getloadavg()[0]
    r["frames"] = job._count_frames(out) if out.exists() else 0
    r.pop("stdout", None)
    return r


def report_of(out: Path) -> dict:
    try:
        return json.loads(out.with_name(out.stem + ".report.json").read_text())
    except (OSError, ValueError):
        return {}


def line(tag: str, r: dict) -> str:
    return (f"{tag:12s} wall {r['wall']:7.1f} s  cpu {r['cpu']:7.1f} s  peak {r['peak_rss_mb']:6.0f} MiB  "
            f"frames {r['frames']}  other jobs {r['other_cpu']:6.1f} s cpu  load {r['load']:.2f}")


def repeat_order(only, rep: int) -> list:
    """The contestants of repeat ``rep``: ffmpeg and the cold render back to back, first one then the
    other on alternate repeats, so that the host's speed drifting over minutes (this VM's CPU time for
    the same ffmpeg job moves by up to a third) weighs on both alike; the rest after them."""
    pair = [n for n in ("ffmpeg", "cold") if n in only]
    if rep % 2:
        pair.reverse()
    return pair + [n for n in only if n not in pair]


def main_job(args, clips, song_path, out_dir: Path) -> dict:
    results: dict = {}
    for rep in range(args.repeats):
        for name in repeat_order(args.only, rep):
            out = out_dir / f"{name}.mp4"
            out.unlink(missing_ok=True)
            if name == "ffmpeg":
                r = timed(name, ffmpeg_cmd(clips, song_path, out, args.preset, args.crf), out)
            elif name == "moviepy":
                if not args.moviepy_python:
                    continue
                cmd = [str(args.moviepy_python), __file__, "--run", "moviepy", "--out", str(out), "--work",
                       str(args.work), "--preset", args.preset, "--crf", str(args.crf)]
                r = timed(name, cmd, out, dict(os.environ, OMP_NUM_THREADS="1"))
            elif name == "cold":
                proj = out_dir / f"cold-{rep}"
                shutil.rmtree(proj, ignore_errors=True)
                story = footage_storyboard(proj, clips, song_path, seconds=SONG, width=1280, height=720,
                                           preset=args.preset, crf=args.crf)
                out = proj / "cold.mp4"
                r = timed(name, songreel_cmd(story, out), out)
                r["report"] = {k: report_of(out).get(k) for k in ("timing", "assembly", "shots")}
            elif name in ("warm", "warm-encode"):
                proj = out_dir / f"cold-{rep}"
                if not (proj / "story.yaml").exists():
                    continue
                if name == "warm-encode":
                    shutil.rmtree(proj / ".songreel" / "chunks", ignore_errors=True)
                out = proj / f"{name}.mp4"
                out.unlink(missing_ok=True)
                r = timed(name, songreel_cmd(proj / "story.yaml", out), out)
                r["report"] = {k: report_of(out).get(k) for k in ("timing", "assembly", "shots")}
            else:
                continue
            results.setdefault(name, []).append(r)
            print(f"[{rep + 1}/{args.repeats}] " + line(name, r), flush=True)
            if args.json:
                args.json.write_text(json.dumps({"job": results}, indent=1, default=str))
    med = {k: {m: statistics.median(x[m] for x in v) for m in ("wall", "cpu", "peak_rss_mb")}
           for k, v in results.items()}
    print(f"\n1280x720 {FPS} fps, 12 clips x 5 s, 0.5 s crossfades, {SONG:g} s song, libx264 {args.preset} "
          f"crf {args.crf}; medians of {args.repeats}")
    print("| contestant | wall s | CPU s | peak RSS MiB | wall vs ffmpeg | wall vs MoviePy |")
    print("|---|---|---|---|---|---|")
    ref, mp = med.get("ffmpeg"), med.get("moviepy")
    for k, m in med.items():
        vs_ff = f"{m['wall'] / ref['wall']:.2f}x" if ref else "—"
        vs_mp = f"{mp['wall'] / m['wall']:.2f}x faster" if mp and k != "moviepy" else "—"
        print(f"| {k} | {m['wall']:.1f} | {m['cpu']:.1f} | {m['peak_rss_mb']:.0f} | {vs_ff} | {vs_mp} |")
    if "ffmpeg" in results and len(results) > 1:
        print("\n| repeat | " + " | ".join(f"{k} / ffmpeg" for k in results if k != "ffmpeg") + " |")
        print("|---|" + "---|" * (len(results) - 1))
        for rep, ref_run in enumerate(results["ffmpeg"]):
            cells = [f"{v[rep]['wall'] / ref_run['wall']:.2f}" if rep < len(v) else "—"
                     for k, v in results.items() if k != "ffmpeg"]
            print(f"| {rep + 1} | " + " | ".join(cells) + " |")
    return {"runs": results, "medians": med}


def edit_job(args, work: Path, out_dir: Path) -> dict:
    """13 animatic shots at 720p over the 54.5 s song: fresh render, then one prompt edited."""
    res: dict = {}
    for rep in range(args.repeats):
        proj = out_dir / f"edit-{rep}"
        shutil.rmtree(proj, ignore_errors=True)
        story = animatic_storyboard(proj, song(work, SONG), shots=13, width=1280, height=720, preset=args.preset,
                                    crf=args.crf, beats=8)
        full = timed("full", songreel_cmd(story, proj / "full.mp4"), proj / "full.mp4")
        story.write_text(story.read_text().replace("scene 7: a couple, year 1996", "scene 7: a couple, winter"))
        again = timed("edited", songreel_cmd(story, proj / "edited.mp4"), proj / "edited.mp4")
        again["report"] = {k: report_of(proj / "edited.mp4").get(k) for k in ("timing", "assembly", "shots")}
        print(line("full", full), flush=True)
        print(line("one edit", again) + f"  ratio {again['wall'] / full['wall']:.2f}", flush=True)
        res.setdefault("full", []).append(full)
        res.setdefault("edited", []).append(again)
    return res


def memory_job(args, clips, work: Path, out_dir: Path) -> dict:
    res: dict = {}
    for kind in ("animatic", "footage"):
        for secs in (60, 240):
            proj = out_dir / f"mem-{kind}-{secs}"
            shutil.rmtree(proj, ignore_errors=True)
            sp = song(work, secs)
            if kind == "footage":
                story = footage_storyboard(proj, clips, sp, seconds=secs, width=1280, height=720,
                                           preset=args.memory_preset, crf=args.crf)
            else:
                story = animatic_storyboard(proj, sp, shots=secs // 5, width=1280, height=720,
                                            preset=args.memory_preset, crf=args.crf, beats=10)
            r = timed(kind, songreel_cmd(story, proj / "out.mp4"), proj / "out.mp4")
            print(line(f"{kind}@{secs}", r), flush=True)
            res[f"{kind}@{secs}"] = r
            shutil.rmtree(proj, ignore_errors=True)
    for kind in ("animatic", "footage"):
        a, b = res[f"{kind}@60"]["peak_rss_mb"], res[f"{kind}@240"]["peak_rss_mb"]
        print(f"{kind}: peak RSS 60 s {a:.0f} MiB, 240 s {b:.0f} MiB, ratio {b / a:.2f}")
    return res


def preview_job(args, work: Path, out_dir: Path) -> dict:
    """The director's preview of a 240 s song, fresh folder and process: ``songreel render --preview``
    of a 1280x720 storyboard (48 shots; drawn at 854x480, x264 veryfast crf 23), and with
    ``--preview-plain`` for comparison a plain render of it written at 854x480, x264 medium crf 18."""
    res: dict = {}
    for rep in range(args.repeats):
        for name in ("preview", "480p-medium") if args.preview_plain else ("preview",):
            proj = out_dir / f"{name}-{rep}"
            shutil.rmtree(proj, ignore_errors=True)
            w, h, extra = (1280, 720, ["--preview"]) if name == "preview" else (854, 480, [])
            story = animatic_storyboard(proj, song(work, 240), shots=48, width=w, height=h, preset="medium", crf=18,
                                        beats=10)
            out = proj / "out.mp4"
            r = timed(name, songreel_cmd(story, out) + extra, out)
            r["report"] = {k: report_of(out).get(k) for k in ("timing", "preview")}
            print(f"[{rep + 1}/{args.repeats}] " + line(name, r) + f"  timing {r['report']['timing']}", flush=True)
            res.setdefault(name, []).append(r)
    for name, runs in res.items():
        print(f"{name}: median wall {statistics.median(x['wall'] for x in runs):.1f} s over {len(runs)}")
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=["ffmpeg", "moviepy", "cold", "warm", "warm-encode"])
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--crf", type=int, default=18)
    ap.add_argument("--memory-preset", default="medium", help="x264 preset of the --memory renders "
                    "(default: the storyboard default, what a user gets)")
    ap.add_argument("--moviepy-python", type=Path, help="interpreter with MoviePy 2 installed")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="the shared test material")
    ap.add_argument("--work", type=Path, default=Path("/tmp/songreel-cold"))
    ap.add_argument("--edit", action="store_true")
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--preview", action="store_true")
    ap.add_argument("--preview-plain", action="store_true", help="--preview also renders the storyboard plainly "
                    "at 854x480, x264 medium, for comparison")
    ap.add_argument("--no-job", action="store_true", help="skip the main side-by-side job")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    job.VIDEO = args.shared / "data" / "video"
    if args.run == "moviepy":  # inside the measured subprocess
        clips = sorted((args.work / "1280x720").glob("clip*.mp4"))
        run_moviepy(clips, song(args.work, SONG), args.out, args.preset, args.crf)
        return 0
    mat = job.prepare(args.work, 1280, 720, 60)
    clips = mat["clips"]
    song_path = song(args.work, SONG)
    out_dir = args.work / "out"
    out_dir.mkdir(exist_ok=True)
    doc: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "cores": os.cpu_count()}
    if not args.no_job:
        doc["job"] = main_job(args, clips, song_path, out_dir)
    if args.edit:
        doc["edit"] = edit_job(args, args.work, out_dir)
    if args.memory:
        doc["memory"] = memory_job(args, clips, args.work, out_dir)
    if args.preview:
        doc["preview"] = preview_job(args, args.work, out_dir)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
