"""Footage sources are hashed and probed on a background thread while the song is analysed, and the
render uses what that thread found: the same clip keys and frames, each source read once, and a bad
file fails where and as it always did."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import write_storyboard
from test_render_chunks import frame_hashes, write_source

from songreel import reel
from songreel.generate import sources

SHOTS = """\
shots:
  - clip: footage/moving.mp4
    length: 1 bar
  - prompt: "between the footage"
    length: 1 bar
  - clip: footage/still.png
    length: 1 bar
  - clip: footage/moving.mp4
    in: 0.5
"""
SMALL = "{width: 64, height: 36, fps: 24}"
ALL_FACTS = {"sha256", "probe", "duration", "copy_reason"}


def project(folder: Path, song: Path) -> tuple[Path, dict]:
    from PIL import Image

    (folder / "footage").mkdir(parents=True)
    moving = write_source(folder / "footage" / "moving.mp4", 60, 96, 54, Fraction(24))
    still = folder / "footage" / "still.png"
    Image.fromarray(np.full((40, 64, 3), 90, np.uint8)).save(still)
    sb = write_storyboard(folder, SHOTS, song=song, video=SMALL)
    return sb, {moving: ALL_FACTS, still: {"sha256", "probe"}}


def counting(monkeypatch, sources_of: dict) -> list:
    """Record (function, file name, thread name) for every hash and demux of a footage source."""
    import songreel.generate.footage as footage
    import songreel.ingest.audio as audio

    calls: list = []
    names = {Path(p).name for p in sources_of}
    for module, name in ((audio, "file_sha256"), (footage, "copy_reason")):
        real = getattr(module, name)

        def wrapped(path, *a, _real=real, _name=name, **k):
            if Path(path).name in names:
                calls.append((_name, Path(path).name, threading.current_thread().name))
            return _real(path, *a, **k)

        monkeypatch.setattr(module, name, wrapped)
    return calls


def test_footage_is_hashed_and_probed_while_the_song_is_analysed(tmp_path, song_120, monkeypatch):
    import songreel.reel.edit as edit_mod

    sb, wanted = project(tmp_path / "a", song_120)
    calls = counting(monkeypatch, wanted)
    seen_at_plan: dict = {}
    real_analysis, real_plan = edit_mod.analyze_storyboard_song, edit_mod.full_plan

    def analysis(*a, **k):  # the song is "analysed" until the prefetch has found everything (or 60 s)
        deadline = time.monotonic() + 60
        while any(sources.known_facts(p) != f for p, f in wanted.items()) and time.monotonic() < deadline:
            time.sleep(0.01)
        return real_analysis(*a, **k)

    def plan(*a, **k):
        seen_at_plan.update({p: sources.known_facts(p) for p in wanted})
        return real_plan(*a, **k)

    monkeypatch.setattr(edit_mod, "analyze_storyboard_song", analysis)
    monkeypatch.setattr(edit_mod, "full_plan", plan)
    got = reel.render(sb, tmp_path / "a" / "film.mp4")
    assert seen_at_plan == wanted
    # each source hashed and (the video) demuxed exactly once, and that on the prefetch thread
    assert sorted(calls) == sorted([("file_sha256", "moving.mp4", "songreel-prefetch"),
                                    ("file_sha256", "still.png", "songreel-prefetch"),
                                    ("copy_reason", "moving.mp4", "songreel-prefetch")])
    monkeypatch.undo()

    # without the prefetch: the same clip keys and the same film
    monkeypatch.setattr(sources, "prefetch_sources", lambda paths: None)
    sb_b, wanted_b = project(tmp_path / "b", song_120)
    calls_b = counting(monkeypatch, wanted_b)
    plain = reel.render(sb_b, tmp_path / "b" / "film.mp4")
    assert {c[2] for c in calls_b} == {"MainThread"}
    keys = [[c.key for c in cs] for cs in got.edit.clips]
    assert keys == [[c.key for c in cs] for cs in plain.edit.clips]
    assert frame_hashes(got.video) == frame_hashes(plain.video)


def test_a_bad_footage_file_fails_as_before_and_the_prefetch_never_raises(tmp_path, song_120, monkeypatch):
    from songreel.errors import MediaError
    from songreel.media import probe_video

    # the prefetch thread swallows what it cannot read; only what it could (the bytes' hash) is remembered
    bad, missing = tmp_path / "bad.mp4", tmp_path / "missing.mp4"
    bad.write_bytes(b"not a video at all")
    hooked: list = []
    monkeypatch.setattr(threading, "excepthook", lambda args: hooked.append(args))
    t = sources.prefetch_sources([bad, missing, bad])
    assert t is not None
    t.join(30)
    assert not t.is_alive() and hooked == []
    assert sources.known_facts(bad) == {"sha256"} and sources.known_facts(missing) == set()
    with pytest.raises(MediaError) as direct:
        probe_video(bad)
    with pytest.raises(MediaError) as memo:
        sources.source_probe(bad)
    assert str(memo.value) == str(direct.value)

    # a source that goes bad after the input checks: the render fails with the message it gave
    # without the prefetch (a changed file is a new entry, so nothing stale is used)
    import songreel.reel.edit as edit_mod

    real_analysis = edit_mod.analyze_storyboard_song

    def spoiling(sb, *a, **k):
        (Path(sb.path).parent / "footage" / "moving.mp4").write_bytes(b"spoilt while the song was analysed")
        return real_analysis(sb, *a, **k)

    monkeypatch.setattr(edit_mod, "analyze_storyboard_song", spoiling)
    messages = []
    for name in ("a", "b"):
        if name == "b":
            monkeypatch.setattr(sources, "prefetch_sources", lambda paths: None)
        sb, _ = project(tmp_path / name, song_120)
        with pytest.raises(Exception) as e:
            reel.render(sb, tmp_path / name / "film.mp4")
        messages.append((type(e.value), str(e.value).replace(f"/{name}/", "/X/")))
        assert not (tmp_path / name / "film.mp4").exists()
    assert messages[0] == messages[1]
    assert "moving.mp4" in messages[0][1] and "\n" not in messages[0][1]
    assert hooked == []


def test_a_bad_footage_file_is_one_line_from_the_cli(tmp_path, song_120):
    from typer.testing import CliRunner

    from songreel.cli.main import app

    sb, _ = project(tmp_path, song_120)
    (tmp_path / "footage" / "moving.mp4").write_bytes(b"not a video")
    r = CliRunner().invoke(app, ["render", str(sb), "-o", str(tmp_path / "film.mp4")])
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "shots[0].clip" in lines[0] and "moving.mp4" in lines[0], r.stderr
