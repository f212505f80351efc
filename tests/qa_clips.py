"""Synthetic clips that show each QA flag (and clean ones that must not), and hand-built edits of them.

Every clip is made with PyAV (``songreel.media.ClipWriter``) from numpy pictures: a textured scene that
drifts steadily (clean), and that same scene frozen, blacked out, flickering, cut mid-chain, drifting in
colour, or moving only in bursts on or off the beat.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

W, H, FPS = 160, 90, 24
BEAT = 12  # frames per beat: 120 BPM at 24 fps


def scene(offset: float, *, seed: int = 0, w: int = W, h: int = H) -> np.ndarray:
    """A smooth textured picture, shifted ``offset`` pixels to the left (sub-pixel exact)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    x = xx + offset
    img = np.zeros((h, w, 3))
    for k in range(6):
        fx, fy, ph = rng.uniform(0.02, 0.12), rng.uniform(0.02, 0.12), rng.uniform(0, 6.28)
        wave = np.sin(fx * x + fy * yy + ph)
        img += wave[..., None] * rng.uniform(10, 30, size=3)
    img += np.array([110.0, 100.0, 90.0])
    return np.clip(img, 0, 255).astype(np.uint8)


def write(path: Path, frames, fps: int = FPS) -> Path:
    from songreel.media import ClipWriter

    frames = list(frames)
    h, w = frames[0].shape[:2]
    with ClipWriter(path, w, h, Fraction(fps), crf=16, preset="ultrafast") as wr:
        for f in frames:
            wr.write(f)
    return path


def clean(n: int, *, start: float = 0.0, speed: float = 1.0, seed: int = 0):
    return [scene(start + speed * k, seed=seed) for k in range(n)]


def frozen(n: int, *, seed: int = 0):
    still = scene(0.0, seed=seed)
    return [still] * n


def black(n: int, *, fraction: float = 0.5, seed: int = 0):
    out = clean(n, seed=seed)
    for k in range(int(n * fraction)):
        out[k] = np.zeros_like(out[k])
    return out


def flicker(n: int, *, levels: float = 8.0, seed: int = 0):
    out = []
    for k, f in enumerate(clean(n, seed=seed)):
        out.append(np.clip(f.astype(np.int16) + (levels if k % 2 else -levels), 0, 255).astype(np.uint8))
    return out


def graded(frames, *, gain: float = 1.0, lift: float = 0.0, tint=(0.0, 0.0, 0.0)):
    """A colour grade: contrast ``gain`` around mid-grey, brightness ``lift``, a per-channel ``tint``."""
    out = []
    for f in frames:
        x = (f.astype(np.float64) - 128.0) * gain + 128.0 + lift + np.asarray(tint)
        out.append(np.clip(x, 0, 255).astype(np.uint8))
    return out


def bursts(n: int, at, *, seed: int = 0, step: float = 10.0):
    """A scene still except for quick moves (1/4, 1/2, 1/4 of ``step`` pixels) centred on frames ``at``."""
    pos, out = 0.0, []
    moves = {}
    for a in at:
        for d, share in ((-1, 0.25), (0, 0.5), (1, 0.25)):
            moves[a + d] = moves.get(a + d, 0.0) + share * step
    for k in range(n):
        pos += moves.get(k, 0.0)
        out.append(scene(pos, seed=seed))
    return out


def make_edit(tmp: Path, shots: list, *, beats: int = 64, characters: dict | None = None):
    """A hand-built Edit: ``shots`` is a list of shots, each a list of segment clips (lists of frames),
    optionally ``(segments, {"characters": (...), "last_frame": "next"})``. Shots follow each other;
    segments cover their shot exactly. Beats every :data:`BEAT` frames from frame 0."""
    from songreel.schema.clip import ClipRef
    from songreel.schema.edit import Edit
    from songreel.schema.plan import Plan, PlannedShot, Segment
    from songreel.schema.storyboard import BackendSpec, ShotSpec

    tmp.mkdir(parents=True, exist_ok=True)
    planned, clips, start = [], [], 0
    for i, item in enumerate(shots):
        segs, opts = (item if isinstance(item, tuple) else (item, {}))
        segments, refs, s0 = [], [], start
        for j, frames in enumerate(segs):
            path = write(tmp / f"shot{i}-seg{j}.mp4", frames)
            segments.append(Segment(j, start, len(frames)))
            refs.append(ClipRef(key=f"k{i}{j}", path=path, frames=len(frames), fps=Fraction(FPS), width=W, height=H))
            start += len(frames)
        spec = ShotSpec(prompt=f"shot {i + 1}", last_frame=opts.get("last_frame"))
        planned.append(PlannedShot(index=i, name=f"shot {i + 1}", spec=spec, prompt=f"shot {i + 1}", negative="",
                                   seed=i, backend=BackendSpec(name="animatic"), start=s0, end=start,
                                   segments=tuple(segments), characters=tuple(opts.get("characters", ()))))
        clips.append(tuple(refs))
    total = start
    plan = Plan(title="qa", fps=Fraction(FPS), width=W, height=H, duration=total / FPS, total_frames=total,
                tempo=120.0, meter=4, beat_frames=tuple(range(0, max(total, beats * BEAT) + 1, BEAT)),
                downbeat_beats=tuple(range(0, beats + 1, 4)), sections=(("verse", 0, total),),
                shots=tuple(planned), extra={"character_images": dict(characters or {})})
    return Edit(plan=plan, song=tmp / "song.wav", clips=tuple(clips), extra={"picks": {}})


def save_tiny_clip(folder: Path) -> Path:
    """A tiny random-weight CLIP vision model + image processor, saved as a user's model folder.

    Seed 3, two layers: on this model the reference picture and a moved copy score ~0.99, and the
    colour-inverted picture (another "person") ~0.5 — far either side of the 0.75 threshold.
    """
    import torch
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    torch.manual_seed(3)
    cfg = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8, projection_dim=64)
    CLIPVisionModelWithProjection(cfg).eval().save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def face() -> np.ndarray:
    """The reference picture of a character (the pattern the tiny model was checked on)."""
    yy, xx = np.mgrid[0:H, 0:W]
    return np.stack([(xx * 1.5) % 256, (yy * 2.8) % 256, np.full_like(xx, 60)], -1).astype(np.uint8)
