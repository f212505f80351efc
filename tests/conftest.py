"""Shared fixtures: synthetic songs with exact ground truth, storyboards, decoding helpers."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared(*parts) -> Path:
    """A file under ../shared/data; skips the test if the folder is absent."""
    p = DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared test material not present: {p}")
    return p


@pytest.fixture(scope="session")
def song_120(tmp_path_factory) -> Path:
    """16.5 s, 120 BPM, 4/4: intro 2 bars, verse 2, chorus 4 (beats exactly every 0.5 s from 0)."""
    from songreel.synth import render_song, write_wav

    d = tmp_path_factory.mktemp("song120")
    s = render_song(bpm=120.0, meter=4, sections=(("intro", 2), ("verse", 2), ("chorus", 4)), sample_rate=22050)
    return write_wav(d / "song.wav", s.samples, s.sample_rate)


def write_storyboard(folder: Path, body: str, *, song: Path, name: str = "storyboard.yaml",
                     video: str = "{width: 320, height: 180, fps: 24}") -> Path:
    """Write a storyboard whose song is ``song`` (copied beside it)."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "song.wav"
    if not target.exists():
        shutil.copy(song, target)
    text = f"songreel: 1\nsong: song.wav\nvideo: {video}\nencode: {{preset: ultrafast}}\n" + body
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def decode_gray_small(path: Path, size=(64, 36)) -> np.ndarray:
    """All frames of a video, downscaled luma, shape (n, h, w) float32 (small: safe to hold)."""
    import av

    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            out.append(f.reformat(width=size[0], height=size[1], format="gray").to_ndarray().astype(np.float32))
    return np.stack(out)


def decode_rgb(path: Path, indices) -> dict:
    """Selected frames as RGB arrays {index: (H, W, 3)}."""
    import av

    want = set(indices)
    got = {}
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in want:
                got[i] = f.to_ndarray(format="rgb24")
            if len(got) == len(want):
                break
    return got


def cut_frames(gray: np.ndarray, *, factor: float = 6.0) -> list[int]:
    """Frames where the picture changes abruptly: index k means frames k-1 -> k jump."""
    diffs = np.abs(np.diff(gray, axis=0)).mean(axis=(1, 2))
    base = np.median(diffs) + 1e-3
    return [int(k) + 1 for k in np.nonzero(diffs > max(factor * base, 4.0))[0]]


def audio_seconds(path: Path) -> float:
    """Decoded audio duration of a media file."""
    import av

    n = 0
    rate = None
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        for f in c.decode(a):
            n += f.samples
            rate = f.sample_rate
    return n / rate
