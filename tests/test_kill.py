"""SIGKILL ``songreel render`` at random points during generation and assembly, re-run it, and check:

- the final MP4 decodes to exactly the frames of an uninterrupted render (per-frame hashes of luma);
- no clip that was finished (metadata written) when the process died was generated again (its
  metadata's creation time and its generation count in the shot journal are unchanged);
- no temp file is left beside the output or in the store, and the output name only ever holds a
  complete video (an earlier output survives a killed ``--force`` render intact).

Each round first deletes a few random clips from the store (so the killed run has generation work
left) or targets the assembly (killed once the output's temp file exists), alternating, with a seeded RNG.
The default suite runs 3 rounds; ``-m slow`` runs 10.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import write_storyboard
from songreel import reel

SHOTS = "shots:\n" + "".join(f'  - prompt: "scene {i}: a city at night, camera {i}"\n    length: 1 bar\n'
                             for i in range(7)) + '  - prompt: "the last scene: dawn over the sea"\n'
VIDEO = "{width: 320, height: 180, fps: 24}"
SRC = Path(__file__).resolve().parents[1] / "src"


def frame_hashes(path: Path) -> list[str]:
    import av

    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            out.append(hashlib.sha256(f.to_ndarray(format="gray").tobytes()).hexdigest()[:16])
    return out


def start(folder: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(SRC))
    return subprocess.Popen([sys.executable, "-m", "songreel.cli.main", "render", "video.yaml", "-o", "out.mp4",
                             "--force"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finished(store: Path) -> dict:
    """{key: (created, generations)} for every clip whose metadata exists."""
    gens = {}
    db = store / "shots.sqlite"
    if db.exists():
        c = sqlite3.connect(str(db))
        try:
            gens = dict(c.execute("SELECT key, generations FROM clips").fetchall())
        except sqlite3.OperationalError:  # killed before the first table was made
            gens = {}
        finally:
            c.close()
    out = {}
    for meta in (store / "clips").glob("*.json"):
        if meta.name.startswith("."):
            continue
        try:
            created = json.loads(meta.read_text())["created"]
        except (ValueError, KeyError):
            continue  # never the case: metadata is written atomically
        out[meta.stem] = (created, gens.get(meta.stem))
    return out


def temps(folder: Path) -> list[Path]:
    found = [p for p in folder.iterdir() if ".tmp" in p.name]
    for sub in ("clips", "frames", "chunks"):
        d = folder / ".songreel" / sub
        if d.is_dir():
            found += [p for p in d.iterdir() if ".tmp" in p.name]
    return found


def wait_for(cond, proc, timeout=60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


def kill_rounds(tmp_path, song, rounds: int, seed: int):
    ref_dir = tmp_path / "reference"
    sb = write_storyboard(ref_dir, SHOTS, song=song, video=VIDEO, name="video.yaml")
    ref = reel.render(sb, ref_dir / "out.mp4")
    want = frame_hashes(ref.video)
    assert len(want) == ref.edit.plan.total_frames

    work = tmp_path / "work"
    write_storyboard(work, SHOTS, song=song, video=VIDEO, name="video.yaml")
    (work / ".songreel" / "analysis").mkdir(parents=True)
    for p in (ref_dir / ".songreel" / "analysis").glob("*.json"):  # skip librosa: the song is the same
        (work / ".songreel" / "analysis" / p.name).write_bytes(p.read_bytes())
    store = work / ".songreel"
    rng = random.Random(seed)
    stages = []
    for k in range(rounds):
        target = "generate" if k % 2 == 0 else "assemble"
        keys = sorted(finished(store))
        if target == "generate" and keys:
            for key in rng.sample(keys, min(len(keys), rng.randint(3, 5))):
                (store / "clips" / f"{key}.json").unlink()
                (store / "clips" / f"{key}.mp4").unlink()
        before_out = (work / "out.mp4").read_bytes() if (work / "out.mp4").exists() else None
        had = set(finished(store))
        proc = start(work)
        if target == "generate":
            hit = wait_for(lambda: bool(set(finished(store)) - had) or
                           any(".tmp" in p.name for p in (store / "clips").glob(".*")), proc)
            delay = rng.uniform(0.0, 0.3)
        else:
            hit = wait_for(lambda: any(p.name.startswith(".out.tmp") for p in work.iterdir()), proc)
            delay = rng.uniform(0.0, 0.5)
        time.sleep(delay if hit else 0)
        assembling = any(p.name.startswith(".out.tmp") for p in work.iterdir())
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        done_at_kill = finished(store)
        if proc.returncode == -signal.SIGKILL:
            stages.append("assemble" if assembling else "generate" if len(done_at_kill) < 8 else "other")
        # the output name holds the old complete video or the new complete one, never a part
        if (work / "out.mp4").exists():
            now = (work / "out.mp4").read_bytes()
            assert now == before_out or frame_hashes(work / "out.mp4") == want
        # re-run to completion
        proc = start(work)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert frame_hashes(work / "out.mp4") == want, f"round {k}: frames differ from the uninterrupted render"
        after = finished(store)
        for key, (created, gens) in done_at_kill.items():
            assert after[key] == (created, gens), f"round {k}: finished clip {key} was generated again"
        assert not temps(work), f"round {k}: temp files left: {temps(work)}"
        assert len(after) == 8
    return stages


def test_kill_during_render_and_resume(tmp_path, song_120):
    stages = kill_rounds(tmp_path, song_120, rounds=3, seed=7)
    assert "generate" in stages and "assemble" in stages, stages


@pytest.mark.slow
def test_kill_during_render_and_resume_ten_times(tmp_path, song_120):
    stages = kill_rounds(tmp_path, song_120, rounds=10, seed=2024)
    assert stages.count("generate") >= 3 and stages.count("assemble") >= 3, stages
