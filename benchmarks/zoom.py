"""Infinite-zoom render speed at 1080p: the compositor against the x264 encode it feeds (issue 5).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/zoom.py [--frames 96] [--size 1920x1080]

Builds a 4-bar zoom (120 BPM, factor 2 per bar: one level per bar, up to ~9 levels on screen at once)
in a temp folder, twice: with still levels (compositing alone) and with moving levels (every level a
1080p H.264 clip, so decoding is included). Times, single-threaded:

- ``compose``: :func:`songreel.assemble.zoom.compose_zoom` producing yuv420p frames;
- ``x264``: encoding the same frames with libx264 preset medium, crf 18 (the default), threads auto
  (what :func:`songreel.assemble.assemble` does), fed from memory.

The compositor must be faster than the encoder (``assemble`` runs them on two threads, so the encoder
is then the bottleneck and the zoom costs no wall time of its own).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _plan(folder: Path, w: int, h: int):
    from songreel.ingest.storyboard import load_storyboard
    from songreel.plan.planner import make_plan
    from songreel.plan.zoom import plan_zoom
    from songreel.schema.analysis import Analysis, Section

    shots = "".join(f"  - prompt: level {k}\n    length: 1 bar\n" for k in range(3)) + "  - prompt: level 3\n"
    p = folder / "sb.yaml"
    p.write_text(f"songreel: 1\nsong: song.wav\nvideo: {{width: {w}, height: {h}, fps: 24}}\nlook: infinite-zoom\n"
                 f"zoom: {{per: 1 bar, factor: 2}}\nshots:\n{shots}", encoding="utf-8")
    sb = load_storyboard(p)
    beats = tuple(i * 0.5 for i in range(20))
    a = Analysis(duration=8.0, tempo=120.0, meter=4, beats=beats, downbeats=beats[::4],
                 sections=(Section(0.0, 8.0, "song"),))
    return plan_zoom(make_plan(sb, a), sb, a), a


def _texture(seed: int, w: int, h: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        for _ in range(3):
            fx, fy = rng.uniform(0.002, 0.03, 2)
            img[..., c] += np.sin(xx * fx + yy * fy + rng.uniform(0, 6.3)) * 40
    img += rng.normal(0, 12, img.shape)          # grain: realistic work for the encoder
    return np.clip(img + 128, 0, 255).astype(np.uint8)


def _edit(folder: Path, plan, analysis, moving: bool):
    from songreel.generate.outpaint import shrink_into_centre
    from songreel.media import ClipWriter
    from songreel.schema.clip import ClipRef
    from songreel.schema.edit import Edit

    layout = plan.layout
    w, h = plan.width, plan.height
    L = len(layout.levels)
    imgs = [None] * L
    imgs[-1] = _texture(L - 1, w, h)
    for g in range(L - 2, -1, -1):
        known, (x0, y0, x1, y1) = shrink_into_centre(imgs[g + 1], layout.levels[g].ratio)
        img = _texture(g, w, h)
        img[y0:y1, x0:x1] = known[y0:y1, x0:x1]
        imgs[g] = img
    clips = [[None] * len(s.segments) for s in plan.shots]
    for lv in layout.levels:
        path = folder / f"{'moving' if moving else 'still'}{lv.index}.mp4"
        n = (lv.clip_end - lv.clip_start) if moving else 1
        with ClipWriter(path, w, h, plan.fps, crf=18, preset="ultrafast") as cw:
            for i in range(n):
                cw.write(np.roll(imgs[lv.index], i, axis=1) if moving else imgs[lv.index])
        clips[lv.shot][lv.sub] = ClipRef(key=path.stem, path=path, frames=n, fps=plan.fps, width=w, height=h,
                                         provenance={"context": {"zoom_nested": True, "zoom_start": lv.clip_start}})
    return Edit(plan=plan, song=folder / "song.wav", clips=tuple(tuple(c) for c in clips), analysis=analysis)


def _time_compose(edit, frames: int):
    from songreel.assemble.zoom import compose_zoom

    out = []
    t = time.perf_counter()
    for i, planes in enumerate(compose_zoom(edit)):
        out.append(planes)
        if i + 1 >= frames:
            break
    return time.perf_counter() - t, out


def _time_x264(frames, w: int, h: int, fps, folder: Path) -> float:
    import av

    path = folder / "enc.mp4"
    t = time.perf_counter()
    with av.open(str(path), mode="w", format="mp4") as c:
        s = c.add_stream("libx264", rate=Fraction(fps))
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"crf": "18", "preset": "medium"}
        s.codec_context.thread_count = 0
        for i, planes in enumerate(frames):
            fr = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            fr.pts = i
            for p in s.encode(fr):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--size", default="1920x1080")
    args = ap.parse_args(argv)
    w, h = (int(x) for x in args.size.lower().split("x"))
    print(f"size {w}x{h}, {args.frames} frames, cores {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        plan, a = _plan(d, w, h)
        layout = plan.layout
        on_screen = []
        for f in range(args.frames):
            c = layout.current(f)
            on_screen.append(sum(1 for g in range(c, len(layout.levels)) if layout.scale(g, f) * w >= 3))
        print(f"levels on screen per frame: min {min(on_screen)}, max {max(on_screen)}")
        rows = []
        for moving in (False, True):
            edit = _edit(d, plan, a, moving)
            secs, frames = _time_compose(edit, args.frames)
            enc = _time_x264(frames, w, h, plan.fps, d)
            n = len(frames)
            rows.append(("moving clips" if moving else "still levels", n / secs, secs / n * 1000, n / enc,
                         enc / n * 1000))
            del frames
    print("| levels | compose fps | compose ms/frame | x264 medium fps | x264 ms/frame | compose / x264 speed |")
    print("|---|---|---|---|---|---|")
    for name, cf, cms, ef, ems in rows:
        print(f"| {name} | {cf:.1f} | {cms:.1f} | {ef:.1f} | {ems:.1f} | {cf / ef:.2f}× |")


if __name__ == "__main__":
    main()
