"""Footage read on the fly (no transcoded copy) and the film encoded in chunks aligned to its cuts:
checked by decoding what was written."""

from __future__ import annotations

import hashlib
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import decode_rgb, write_storyboard

from songreel import reel

SHOTS = """\
shots:
  - prompt: "a school locker, 1990s"
    length: 1 bar
  - prompt: "prom night, slow dance"
    length: 4 beats
    transition: crossfade 6/24 s
  - prompt: "a road trip, summer"
    length: 1 bar
  - prompt: "a wedding in the rain"
    length: 1 bar
    transition: crossfade 6/24 s
  - prompt: "an old couple on a porch"
"""


def frame_hashes(path: Path) -> list:
    """sha1 of every decoded frame's planes, with its pts."""
    import av

    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            out.append((f.pts, hashlib.sha1(b"".join(bytes(p) for p in f.planes)).hexdigest()))
    return out


def packets(path: Path) -> list:
    """(stream kind, pts, dts, keyframe) of every packet: the timing as a demuxer sees it."""
    import av

    with av.open(str(path)) as c:
        return [(p.stream.type, p.pts, p.dts, p.is_keyframe) for p in c.demux() if p.size]


def test_a_one_shot_edit_reencodes_its_stretch_only_and_matches_a_fresh_render(tmp_path, song_120):
    a = tmp_path / "a"
    sb = write_storyboard(a, SHOTS, song=song_120)
    first = reel.render(sb, a / "first.mp4")
    st = first.report["assembly"]
    plan = first.edit.plan
    assert st["chunks"]["reused"] == 0 and st["encoded_frames"] == plan.total_frames
    # the chunks: cuts, and both edges of each crossfade
    assert st["chunks"]["total"] == 1 + 2 + 1 + 2 + 0 + 1 + 0
    # edit one prompt (shot 3): only its own stretch is made again: the crossfade into it and its body
    sb.write_text(sb.read_text().replace("a road trip, summer", "a road trip, winter"))
    second = reel.render(sb, a / "second.mp4")
    st2 = second.report["assembly"]
    shot = second.edit.plan.shots[2]
    lo, hi = shot.render_start, shot.end + shot.tail
    assert shot.head == 3 and shot.tail == 0
    assert second.report["shots"]["generated"] == 1
    assert st2["chunks"]["encoded"] == 2 and st2["encoded_frames"] == hi - lo
    assert st2["stream_copied_frames"] == plan.total_frames - (hi - lo)
    # identical, frame for frame and timestamp for timestamp, to a render from scratch
    b = tmp_path / "b"
    b.mkdir()
    shutil.copy(sb, b / sb.name)
    shutil.copy(a / "song.wav", b / "song.wav")
    fresh = reel.render(b / sb.name, b / "fresh.mp4")
    assert fresh.report["assembly"]["chunks"]["reused"] == 0
    got, want = frame_hashes(second.video), frame_hashes(fresh.video)
    assert len(got) == plan.total_frames
    assert got == want
    assert packets(second.video) == packets(fresh.video)
    assert second.report["sync"] == fresh.report["sync"]
    # and the unchanged stretches are the first render's frames
    first_h = frame_hashes(first.video)
    assert first_h[:lo] == got[:lo] and first_h[hi:] == got[hi:]
    assert first_h[shot.start:shot.end] != got[shot.start:shot.end]


def test_chunked_film_has_the_frames_and_timing_of_one_continuous_encode(tmp_path, song_120):
    from songreel.assemble import assemble

    sb = write_storyboard(tmp_path, SHOTS, song=song_120)
    res = reel.render(sb, tmp_path / "film.mp4")
    whole = assemble(res.edit, tmp_path / "whole.mp4")
    assert whole.stats["encoded_frames"] == res.edit.plan.total_frames
    a, b = frame_hashes(res.video), frame_hashes(whole.path)
    pts = [p for p, _ in a]
    assert pts == [p for p, _ in b] == [k * pts[1] for k in range(res.edit.plan.total_frames)]
    ya, yb = decode_y(res.video), decode_y(whole.path)
    assert psnr(ya, yb) > 40  # two encodes of the same frames (crf 23 ultrafast)
    assert [s["frame"] for s in res.report["seams"]] == [s["frame"] for s in whole.seams]
    # the seam statistics of reused chunks come back from the cache
    again = reel.render(sb, tmp_path / "again.mp4")
    assert again.report["assembly"]["encoded_frames"] == 0
    assert again.report["seams"] == res.report["seams"]


def decode_y(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="gray").astype(np.float32) for f in c.decode(video=0)])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def write_source(path: Path, frames: int, w: int, h: int, fps: Fraction, *, crf: int = 16) -> Path:
    """A moving test pattern (gradient + travelling bar) as H.264."""
    from songreel.media import ClipWriter

    y, x = np.mgrid[0:h, 0:w]
    with ClipWriter(path, w, h, fps, crf=crf, preset="ultrafast") as cw:
        for i in range(frames):
            rgb = np.stack([(x * 255 // w), (y * 255 // h), np.full_like(x, (i * 7) % 255)], -1).astype(np.uint8)
            bar = (i * 5) % w
            rgb[:, bar:bar + 12] = 255
            cw.write(rgb)
    return path


FOOTAGE = """\
shots:
  - clip: footage/same.mp4
    length: 1 bar
  - clip: footage/wide.mp4
    length: 1 bar
    transition: crossfade 6/24 s
  - prompt: "after the footage: chained on its last frame"
    length: 1 bar
  - clip: footage/tiny.mp4
    fit: hold
"""


def test_footage_is_read_on_the_fly_and_shows_what_a_transcoded_copy_showed(tmp_path, song_120):
    """No transcoded copy of a plain source in the store; the film's frames and sync are those of the
    former path (each source conformed into a store clip first, then assembled), up to that path's
    own extra encode."""
    from songreel.assemble import assemble
    from songreel.media import ClipWriter
    from songreel.sampling import FootageFrames

    foot = tmp_path / "footage"
    foot.mkdir()
    write_source(foot / "same.mp4", 60, 320, 180, Fraction(24))            # the output size: passes straight
    write_source(foot / "wide.mp4", 75, 400, 180, Fraction(30000, 1001))   # cropped, retimed 29.97 -> 24
    write_source(foot / "tiny.mp4", 12, 96, 54, Fraction(12))              # enlarged 3.3x: a note
    sb = write_storyboard(tmp_path, FOOTAGE, song=song_120)
    res = reel.render(sb, tmp_path / "film.mp4")
    store = tmp_path / ".songreel" / "clips"
    clips = res.edit.clips
    # the store holds the animatic shot's clip and no transcoded copy of any footage
    assert sorted(p.stem for p in store.glob("*.mp4")) == [clips[2][0].key]
    for i in (0, 1, 3):
        (c,) = clips[i]
        assert c.conform is not None and Path(c.path).parent == foot
    assert any("tiny.mp4 is 96x54, enlarged 3.3x to 320x180" in w for w in res.warnings)
    assert any("tiny.mp4" in w for w in res.report["assembly"]["warnings"])
    # nothing of the footage was decoded to "generate" it; a chained successor gets its frames as the
    # screen shows them: the film's frame at the shot's last cut-to-cut frame
    ref, shot = clips[0][0], res.edit.plan.shots[0]
    assert ref.last_frame is None and ref.tail is None
    from songreel.sampling import clip_frame_rgb

    want = clip_frame_rgb(ref, shot.end - 1 - shot.segments[0].start)
    assert np.array_equal(want, FootageFrames(ref.conform).rgb(shot.end - 1 - shot.segments[0].start))
    film = decode_rgb(res.video, [shot.end - 1])[shot.end - 1]
    assert psnr(film.astype(np.float32), want.astype(np.float32)) > 30
    # the former path: every footage clip transcoded into a store clip first (crf 14, veryfast)
    old = []
    for i, cs in enumerate(clips):
        c = cs[0]
        if c.conform is None:
            old.append(cs)
            continue
        path = tmp_path / f"copy{i}.mp4"
        frames = FootageFrames(c.conform)
        with ClipWriter(path, c.width, c.height, c.fps, crf=14, preset="veryfast") as cw:
            for k in range(c.frames):
                cw.write(frames.rgb(k))
        frames.close()
        old.append((c.with_(path=path, conform=None),))
    before = assemble(res.edit.with_(clips=tuple(old)), tmp_path / "before.mp4")
    a, b = frame_hashes(res.video), frame_hashes(before.path)
    pts = [p for p, _ in a]
    assert pts == [p for p, _ in b] == [k * pts[1] for k in range(res.edit.plan.total_frames)]
    assert psnr(decode_y(res.video), decode_y(before.path)) > 35
    from songreel.assemble.encode import probe_output

    assert probe_output(res.video) == probe_output(before.path)


@pytest.mark.slow
def test_the_progress_moves_through_assembly_for_encoded_and_reused_chunks(tmp_path, song_120):
    events = []

    class Seen(reel.Progress):
        def advance(self, name, done, total=None, note=""):
            if name == "assemble":
                events.append((done, total))

    sb = write_storyboard(tmp_path, SHOTS, song=song_120)
    first = reel.render(sb, tmp_path / "one.mp4", progress=Seen())
    total = first.edit.plan.total_frames
    assert len(events) == total and events[-1] == (total, total)
    assert [d for d, _ in events] == sorted(d for d, _ in events)
    events.clear()
    sb.write_text(sb.read_text().replace("a road trip, summer", "a road trip, winter"))
    reel.render(sb, tmp_path / "two.mp4", progress=Seen())
    done = [d for d, _ in events]
    # reused chunks advance the bar a chunk at a time, encoded ones a frame at a time
    assert done == sorted(done) and done[-1] == total and 10 < len(done) < total


def test_a_clip_that_fails_mid_film_leaves_no_output_and_no_partial_chunk(tmp_path):
    from test_assemble import make_edit

    from songreel.assemble import assemble
    from songreel.errors import MediaError

    edit = make_edit(tmp_path, [dict(end=24, kind="texture1"), dict(end=48, kind="texture2"), dict(kind="texture1")],
                     total=72)
    bad = tmp_path / "clip2.mp4"
    bad.write_bytes(b"not a video")
    chunks = tmp_path / "chunks"
    try:
        assemble(edit, tmp_path / "x.mp4", chunk_dir=chunks)
    except MediaError as e:
        assert "clip2.mp4" in str(e)
    else:
        raise AssertionError("a broken clip was assembled")
    assert not (tmp_path / "x.mp4").exists() and not list(tmp_path.glob(".x.tmp-*"))
    # the chunks finished before the failure are kept (whole); nothing half-written is left
    assert not [p for p in chunks.iterdir() if ".tmp-" in p.name]
    assert not list((chunks / "renders").iterdir())  # its in-flight record went with it; no finished one
    kept = sorted(p.suffix for p in chunks.iterdir() if p.is_file())
    assert kept == [".json", ".json", ".mp4", ".mp4"]
    # and a render with the clip repaired reuses them
    from test_assemble import write_clip

    write_clip(bad, "texture1", 25)
    res = assemble(edit, tmp_path / "x.mp4", chunk_dir=chunks)
    assert res.stats["chunks"] == {"total": 3, "reused": 2, "encoded": 1} and res.frames == 72


def test_store_gc_removes_exactly_the_chunks_no_latest_render_uses(tmp_path, song_120):
    from typer.testing import CliRunner

    from songreel.assemble.chunks import ChunkCache
    from songreel.cli.main import app

    sb = write_storyboard(tmp_path, SHOTS, song=song_120, video="{width: 64, height: 36, fps: 24}")
    cache = ChunkCache(tmp_path / ".songreel" / "chunks")
    film = tmp_path / "film.mp4"
    # another file from the same storyboard (other encoder settings: other chunks), rendered first
    other = reel.render(sb, tmp_path / "other.mp4", encode={"crf": 30})
    first = reel.render(sb, film)
    k_other, k1 = (set(r.report["assembly"]["chunk_keys"]) for r in (other, first))
    assert not k_other & k1 and set(cache.keys()) == k_other | k1
    # edit one shot and render the film again: the chunks of its old stretch are orphaned
    sb.write_text(sb.read_text().replace("a road trip, summer", "a road trip, winter"))
    second = reel.render(sb, film, force=True)
    k2 = set(second.report["assembly"]["chunk_keys"])
    orphans = k1 - k2
    assert len(orphans) == 2 and set(cache.keys()) == k_other | k1 | k2
    want = frame_hashes(film)
    runner = CliRunner()
    r = runner.invoke(app, ["store", "gc", str(tmp_path), "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "would remove 1 clips, 2 frames, 2 film chunks" in r.stdout
    assert set(cache.keys()) == k_other | k1 | k2
    r = runner.invoke(app, ["store", "gc", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "removed 1 clips, 2 frames, 2 film chunks" in r.stdout
    assert f"{len(k_other | k2)} film chunks used by storyboard.yaml" in r.stdout
    assert set(cache.keys()) == k_other | k2
    assert not any((cache.root / f"{k}.{ext}").exists() for k in orphans for ext in ("mp4", "json"))
    # the next render joins every remaining chunk and decodes the same
    third = reel.render(sb, film, force=True)
    st = third.report["assembly"]
    assert third.report["shots"]["generated"] == 0
    assert st["chunks"]["reused"] == st["chunks"]["total"] == len(k2) and st["encoded_frames"] == 0
    assert frame_hashes(film) == want and len(want) == third.edit.plan.total_frames
    # an earlier render into a file that is gone keeps nothing; the latest render is kept as it is
    (tmp_path / "other.mp4").unlink()
    d = reel.gc_store(tmp_path)
    assert set(d["chunks"]["chunks"]) == k_other - k2 and d["chunks"]["bytes"] > 0
    assert set(cache.keys()) == k2
    assert reel.gc_store(tmp_path)["chunks"]["chunks"] == []
    # a storyboard no longer in the folder keeps no chunks
    sb.rename(tmp_path / "moved-away.txt")
    (tmp_path / "storyboard.lock.json").unlink()
    assert set(reel.gc_store(tmp_path)["chunks"]["chunks"]) == k2 and cache.keys() == []


def test_store_gc_leaves_the_chunks_of_a_running_render_alone(tmp_path):
    import json
    import subprocess
    import sys

    from songreel.assemble.chunks import Chunk, ChunkCache
    from songreel.reel.gc import gc_chunks

    cache = ChunkCache(tmp_path / "chunks")
    cache.root.mkdir()
    for key in ("a" * 32, "b" * 32, "c" * 32):
        cache.media(key).write_bytes(b"x" * 10)
        cache.meta_path(key).write_text("{}")
    claim = cache.claim([Chunk(0, 5, "a" * 32)])  # this process is rendering from chunk a
    # a claim left by a process that is gone counts for nothing
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = cache.root / "renders" / f".inflight.tmp-{int(dead.stdout)}-1.json"
    stale.write_text(json.dumps({"keys": ["b" * 32]}))
    d = gc_chunks(cache.root, set(), dry_run=True)
    assert sorted(d["chunks"]) == ["b" * 32, "c" * 32] and d["kept"] == 1 and d["temps"] == [stale.name]
    assert d["bytes"] == 2 * (10 + 2) + stale.stat().st_size
    assert len(cache.keys()) == 3 and stale.exists() and claim.exists()  # a dry run removes nothing
    claim.unlink()
    d = gc_chunks(cache.root, set())
    assert sorted(d["chunks"]) == ["a" * 32, "b" * 32, "c" * 32] and d["temps"] == [stale.name]
    assert cache.keys() == [] and not stale.exists()
    # a storyboard's only render is kept even once its file is gone; nothing else
    cache.media("d" * 32).write_bytes(b"x")
    cache.meta_path("d" * 32).write_text("{}")
    cache.record(tmp_path / "gone.mp4", ["d" * 32], storyboard="story.yaml")
    assert gc_chunks(cache.root, {"story.yaml"})["chunks"] == [] and cache.keys() == ["d" * 32]
