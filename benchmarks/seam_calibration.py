"""Calibrate the seam flag on real footage: what scores do normal joins get?

Three populations, every clip of ``../shared/data/video`` conformed to one size (yuv420p, as the
assembler sees frames):

* ``within``: consecutive frames inside one continuous clip (no seam at all);
* ``cuts``: the last frame of one real clip against the first frame of another — an ordinary cut
  between two different shots, what most seams of a music video are;
* ``jumps``: a clip against a copy of itself made darker/brighter or colour-shifted (an exposure or
  white-balance jump a director would want pointed out in a *continuous* shot).

    PYTHONPATH=src python benchmarks/seam_calibration.py [--data ../shared/data/video]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from songreel.assemble.color import PlaneStats, seam_score

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "video"
W, H = 320, 180


def frames(path: Path, limit: int = 400) -> list[np.ndarray]:
    import av

    out = []
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return []
            for i, fr in enumerate(c.decode(video=0)):
                out.append(fr.reformat(width=W, height=H, format="yuv420p").to_ndarray())
                if i >= limit:
                    break
    except Exception:  # noqa: BLE001 - a clip the decoder refuses is not part of the calibration
        return []
    return out


def shifted(planes: np.ndarray, dy: float, du: float) -> np.ndarray:
    out = planes.astype(np.float32)
    out[:H] += dy
    out[H:H + H // 4] += du
    return np.clip(out, 0, 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    a = ap.parse_args()
    clips = {p.relative_to(a.data).as_posix(): f for p in sorted(a.data.rglob("*"))
             if p.is_file() and W and (f := frames(p)) and len(f) > 2 and min(x.std() for x in f[:1]) > 1}
    within, cuts, jumps = [], [], []
    for f in clips.values():
        within += [seam_score(PlaneStats.of(x, H), PlaneStats.of(y, H))["score"] for x, y in zip(f, f[1:])]
        mid = f[len(f) // 2]
        for dy, du in ((-25, 0), (25, 0), (0, 15), (-15, 10)):
            jumps.append(seam_score(PlaneStats.of(mid, H), PlaneStats.of(shifted(mid, dy, du), H))["score"])
    for (na, fa), (nb, fb) in itertools.permutations(clips.items(), 2):
        cuts.append(seam_score(PlaneStats.of(fa[-1], H), PlaneStats.of(fb[0], H))["score"])
    print(f"clips: {len(clips)} ({', '.join(clips)})")
    for name, xs in (("within (no seam)", within), ("cuts between real shots", cuts), ("exposure/colour jumps", jumps)):
        q = np.percentile(xs, [5, 25, 50, 75, 95, 99])
        print(f"{name:26s} n={len(xs):5d}  p5 {q[0]:6.1f}  p25 {q[1]:6.1f}  median {q[2]:6.1f}  p75 {q[3]:6.1f}  "
              f"p95 {q[4]:6.1f}  p99 {q[5]:6.1f}  max {max(xs):6.1f}")
    for thr in (20, 40, 60, 80, 100):
        print(f"threshold {thr:3d}: flags {np.mean(np.array(cuts) > thr):5.0%} of real cuts, "
              f"{np.mean(np.array(within) > thr):5.1%} of frame steps, {np.mean(np.array(jumps) > thr):5.0%} of jumps")


if __name__ == "__main__":
    main()
