"""Work done is never done twice, and nothing the user has is lost: store, one-shot re-render, takes,
lock file, ETA, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from conftest import write_storyboard
from songreel import reel
from songreel.errors import InputError, SongreelError
from songreel.generate.base import Capabilities, GenerationResult
from songreel.generate.store import ClipStore

SMALL = "{width: 160, height: 90, fps: 24}"


def twenty_shots(edit: int | None = None) -> str:
    lines = ["shots:"]
    for i in range(20):
        prompt = f"shot {i + 1}: a street at dusk, view {i}" + (" (edited)" if i == edit else "")
        lines.append(f'  - prompt: "{prompt}"')
        if i < 19:
            lines.append("    length: 1 beat")
    return "\n".join(lines) + "\n"


def test_editing_one_prompt_of_twenty_regenerates_one(tmp_path, song_120):
    sb = write_storyboard(tmp_path, twenty_shots(), song=song_120, video=SMALL)
    first = reel.render(sb, tmp_path / "a.mp4")
    assert first.report["shots"]["generated"] == 20 and first.report["shots"]["reused"] == 0
    write_storyboard(tmp_path, twenty_shots(edit=4), song=song_120, video=SMALL)
    second = reel.render(sb, tmp_path / "b.mp4")
    assert second.report["shots"]["generated"] == 1
    assert second.report["shots"]["reused"] == 19
    regenerated = [i for i, c in enumerate(second.edit.clips) if not c[0].reused]
    assert regenerated == [4]


# ---------------------------------------------------------------------------------------------------
# a backend that chains by first frame (test double)


def _colour(*parts) -> np.ndarray:
    import hashlib

    h = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.frombuffer(h[:3], dtype=np.uint8).astype(np.uint8)


class ChainBackend:
    """Solid-colour clips, lossless (x264 qp 0): frame 0 is the first-frame image if given, else a colour of
    the seed alone; the middle frames are a colour of prompt + seed; the last frame is the last-frame image
    if given. Chains segments by first frame, like an image-to-video model."""

    name = "chainer"
    version = "1"
    model = "solid"
    made: list = []

    def __init__(self, spec, *, project):
        self.project = project

    def capabilities(self):
        return Capabilities(native_fps=Fraction(24), first_frame=True, last_frame=True, max_frames=12, size_multiple=2)

    def generate(self, request, out: Path):
        from songreel.media import ClipWriter

        ChainBackend.made.append((request.prompt, request.seed, request.context.get("segment")))
        h, w = request.height, request.width
        first = request.first_frame.load() if request.first_frame else np.broadcast_to(_colour(request.seed), (h, w, 3))
        mid = np.broadcast_to(_colour(request.prompt, request.seed), (h, w, 3))
        last = request.last_frame.load() if request.last_frame else mid
        with ClipWriter(out, w, h, request.fps, crf=0, preset="ultrafast") as wr:
            for i in range(request.frames):
                wr.write(np.ascontiguousarray(first if i == 0 else last if i == request.frames - 1 else mid))
        return GenerationResult(out, request.frames, request.fps, w, h)


@pytest.fixture
def chainer(monkeypatch):
    from songreel.generate import registry

    ChainBackend.made = []
    monkeypatch.setattr(registry, "_entry_points", lambda: {"chainer": "test_reliability:ChainBackend"})
    return ChainBackend


def chained_board(prompt3="a kitchen, morning", seed3=3) -> str:
    return f"""\
backend: chainer
shots:
  - prompt: "a locker"
    seed: 1
    length: 1 bar
  - prompt: "a hallway"
    seed: 2
    length: 1 bar
    last_frame: next
  - prompt: "{prompt3}"
    seed: {seed3}
    length: 2 bars
  - prompt: "a porch"
    seed: 4
"""


def test_chained_successor_regenerates_only_when_its_conditioning_frame_changed(tmp_path, song_120, chainer):
    sb = write_storyboard(tmp_path, chained_board(), song=song_120, video=SMALL)
    e1 = reel.build_edit(sb)
    n = [len(s.segments) for s in e1.plan.shots]
    assert n[2] >= 4  # a 2-bar shot in 12-frame pieces: chained by first frame
    assert e1.extra["generated"] == sum(n)
    # same conditioning: shot 2 ends on shot 3's first frame, which depends on shot 3's seed only
    write_storyboard(tmp_path, chained_board(prompt3="a kitchen, evening"), song=song_120, video=SMALL)
    chainer.made = []
    e2 = reel.build_edit(sb)
    assert e2.extra["generated"] == n[2] and e2.extra["reused"] == sum(n) - n[2]
    assert {p for p, _, _ in chainer.made} == {"a kitchen, evening"}
    # a new seed for shot 3 changes its first frame: shot 2, conditioned on it, is made again too
    write_storyboard(tmp_path, chained_board(prompt3="a kitchen, evening", seed3=33), song=song_120, video=SMALL)
    chainer.made = []
    e3 = reel.build_edit(sb)
    # (only its last segment: the one that ends on that frame; its earlier segments are unchanged)
    assert e3.extra["generated"] == n[2] + 1
    assert {(p, j) for p, _, j in chainer.made if p == "a hallway"} == {("a hallway", n[1] - 1)}
    # within the shot every segment after the first opens on the one before it
    clips = e3.clips[2]
    from conftest import decode_rgb

    for a, b in zip(clips, clips[1:]):
        last = decode_rgb(a.path, [a.frames - 1])[a.frames - 1]
        first = decode_rgb(b.path, [0])[0]
        assert np.abs(last.astype(int) - first.astype(int)).max() <= 2  # one more RGB -> yuv420p round trip


# ---------------------------------------------------------------------------------------------------
# store: checksums, temps, journal, gc, info


def test_a_corrupt_clip_is_regenerated_not_used(tmp_path, song_120):
    sb = write_storyboard(tmp_path, twenty_shots(), song=song_120, video=SMALL)
    e1 = reel.build_edit(sb)
    victim = e1.clips[3][0].path
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    e2 = reel.build_edit(sb)
    assert e2.extra["generated"] == 1 and not e2.clips[3][0].reused
    store = ClipStore(tmp_path / ".songreel")
    assert store.get(e2.clips[3][0].key) is not None  # verified again
    assert store.journal.clip(e2.clips[3][0].key)["generations"] == 2


def test_stale_temps_of_dead_processes_are_removed_on_open(tmp_path):
    store = ClipStore(tmp_path / ".songreel")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = store.clips / f".{'a' * 32}.tmp-{dead.pid}-1.mp4"
    live = store.clips / f".{'b' * 32}.tmp-{os.getpid()}-1.mp4"
    frame = store.frames / f".{'c' * 32}.tmp-{dead.pid}-7.png"
    for p in (stale, live, frame):
        p.write_bytes(b"partial")
    ClipStore(tmp_path / ".songreel")
    assert not stale.exists() and not frame.exists()
    assert live.exists()  # a live process may still be writing it


def test_gc_survives_a_live_writers_temp_renamed_into_place_meanwhile(tmp_path, monkeypatch):
    import songreel.generate.store as store_mod

    store = ClipStore(tmp_path / ".songreel")
    live = store.clips / f".{'d' * 32}.tmp-{os.getpid()}-1.mp4"
    live.write_bytes(b"partial")

    def renamed_meanwhile(pid: int) -> bool:   # the writer finishes between listing and the age check
        live.unlink(missing_ok=True)
        return True

    monkeypatch.setattr(store_mod, "pid_alive", renamed_meanwhile)
    assert store.gc(set(), dry_run=True)["temps"] == []


def test_store_info_and_gc(tmp_path, song_120):
    from typer.testing import CliRunner

    from songreel.cli.main import app

    sb = write_storyboard(tmp_path, twenty_shots(), song=song_120, video=SMALL)
    reel.build_edit(sb)
    reel.build_edit(sb)
    info = ClipStore(tmp_path / ".songreel").info()
    assert info["clips"] == 20 and info["hits"] == 20 and info["generations"] == 20
    write_storyboard(tmp_path, twenty_shots(edit=7), song=song_120, video=SMALL)
    e = reel.build_edit(sb)
    assert ClipStore(tmp_path / ".songreel").info()["clips"] == 21
    runner = CliRunner()
    r = runner.invoke(app, ["store", "gc", str(tmp_path), "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "would remove 1 clips" in r.stdout
    assert ClipStore(tmp_path / ".songreel").info()["clips"] == 21
    # a storyboard that cannot be planned stops gc: nothing is removed
    (tmp_path / "broken.yaml").write_text("songreel: 1\nsong: song.wav\nshots: [{lenght: 2}]\n")
    r = runner.invoke(app, ["store", "gc", str(tmp_path)])
    assert r.exit_code == 2 and "nothing was removed" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    (tmp_path / "broken.yaml").unlink()
    r = runner.invoke(app, ["store", "gc", str(tmp_path)])
    assert r.exit_code == 0 and "removed 1 clips" in r.stdout
    store = ClipStore(tmp_path / ".songreel")
    assert set(store.keys()) == {c[0].key for c in e.clips}
    again = reel.build_edit(sb)
    assert again.extra["generated"] == 0
    r = runner.invoke(app, ["store", "info", str(sb)])
    assert r.exit_code == 0 and "clips: 20" in r.stdout and "throughput animatic" in r.stdout


# ---------------------------------------------------------------------------------------------------
# takes, pick, lock


TAKES = """\
shots:
  - prompt: "a school locker"
    length: 2 bars
  - prompt: "prom night"
    name: prom
    length: 1 bar
    takes: 3
  - prompt: "an old couple on a porch"
"""


def test_takes_contact_strip_pick_and_lock(tmp_path, song_120, monkeypatch):
    from PIL import Image
    from typer.testing import CliRunner

    from songreel.cli.main import app
    from songreel.generate.runner import shot_seed
    from songreel.schema.lock import lock_path, read_lock

    sb = write_storyboard(tmp_path, TAKES, song=song_120, video=SMALL)
    res = reel.render(sb, tmp_path / "a.mp4")
    assert res.report["shots"] == {"total": 3, "generated": 3, "reused": 0, "failed": {}}
    assert res.edit.extra["takes_generated"] == 2  # the two other candidates of "prom"
    lock = read_lock(lock_path(sb))
    assert lock.shots[1].takes == 3 and not lock.shots[1].picked
    assert [len(s.clips) for s in lock.shots] == [1, 1, 1]
    assert lock.plan["shots"][1]["takes"] == 3 and lock.analysis["beats"]

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["takes", "prom"])  # the only storyboard here
    assert r.exit_code == 0, r.output
    assert "generated 0, reused 3" in r.stdout
    strip = Path(r.stdout.split("contact strip: ")[1].split()[0])
    with Image.open(tmp_path / strip if not strip.is_absolute() else strip) as im:
        assert im.width > 3 * 160 and im.height > 90
    shot = res.edit.plan.shots[1]
    for t in range(3):
        assert f"seed {shot_seed(shot, t)}" in r.stdout

    r = runner.invoke(app, ["pick", "2", "3"])
    assert r.exit_code == 0, r.output
    lock = read_lock(lock_path(sb))
    assert lock.shots[1].picked and lock.shots[1].take == 2

    again = reel.render(sb, tmp_path / "b.mp4")
    assert again.report["shots"]["generated"] == 0
    clip = again.edit.clips[1][0]
    assert clip.provenance["seed"] == shot_seed(shot, 2)
    assert read_lock(lock_path(sb)).shots[1].clips == (clip.key,)
    assert again.report["takes"]["picked"] == {"2": 3}

    # editing another shot keeps the pick; editing the picked shot drops it, with a note
    write_storyboard(tmp_path, TAKES.replace("a school locker", "a school gym"), song=song_120, video=SMALL)
    third = reel.render(sb, tmp_path / "c.mp4")
    assert third.edit.clips[1][0].key == clip.key and third.report["shots"]["generated"] == 1
    write_storyboard(tmp_path, TAKES.replace("a school locker", "a school gym").replace("prom night", "prom dawn")
                     .replace("    name: prom\n", ""), song=song_120, video=SMALL)
    fourth = reel.render(sb, tmp_path / "d.mp4")
    assert any("no longer applies" in w for w in fourth.warnings)
    assert fourth.edit.clips[1][0].provenance["seed"] == fourth.edit.plan.shots[1].seed

    r = runner.invoke(app, ["pick", "prom", "9"])
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1


def test_the_lock_pins_the_analysis(tmp_path, song_120, monkeypatch):
    import songreel.analysis as analysis_mod

    sb = write_storyboard(tmp_path, TAKES, song=song_120, video=SMALL)
    first = reel.render(sb, tmp_path / "a.mp4")

    def no_analyser(*a, **k):
        raise AssertionError("the locked analysis should have been used")

    monkeypatch.setattr(analysis_mod, "analyze_file", no_analyser)
    second = reel.render(sb, tmp_path / "b.mp4")
    assert second.edit.plan.cuts == first.edit.plan.cuts
    assert second.edit.analysis.extra.get("cache") == "lock"
    # a lock whose analysis says otherwise wins over what the analyser would say now: cuts follow it
    from songreel.schema.lock import lock_path

    doc = json.loads(lock_path(sb).read_text())
    doc["analysis"]["downbeats"] = [d + 0.5 for d in doc["analysis"]["downbeats"]]
    lock_path(sb).write_text(json.dumps(doc))
    third = reel.render(sb, tmp_path / "c.mp4")
    assert third.edit.plan.cuts != first.edit.plan.cuts
    # a changed song is analysed afresh (here: by the stub, which refuses)
    with open(tmp_path / "song.wav", "ab") as f:
        f.write(b"\0\0\0\0")
    with pytest.raises(AssertionError, match="locked analysis"):
        reel.render(sb, tmp_path / "d.mp4")


def test_render_locked_refuses_a_changed_storyboard(tmp_path, song_120):
    sb = write_storyboard(tmp_path, TAKES, song=song_120, video=SMALL)
    with pytest.raises(InputError, match="no lock file"):
        reel.render(sb, tmp_path / "a.mp4", locked=True)
    reel.render(sb, tmp_path / "a.mp4")
    res = reel.render(sb, tmp_path / "b.mp4", locked=True)
    assert res.report["shots"]["generated"] == 0
    write_storyboard(tmp_path, TAKES.replace("prom night", "prom day"), song=song_120, video=SMALL)
    with pytest.raises(InputError, match="changed since"):
        reel.render(sb, tmp_path / "c.mp4", locked=True)
    assert not (tmp_path / "c.mp4").exists()


# ---------------------------------------------------------------------------------------------------
# progress: a whole-render ETA from remembered throughput


class Recorder(reel.Progress):
    def __init__(self):
        self.etas = []

    def eta(self, seconds, note=""):
        self.etas.append(seconds)


def test_eta_uses_throughput_remembered_per_backend(tmp_path, song_120):
    sb = write_storyboard(tmp_path, twenty_shots(), song=song_120, video=SMALL)
    p = Recorder()
    reel.render(sb, tmp_path / "a.mp4", progress=p)
    assert p.etas[0] is None  # nothing measured yet
    rates = json.loads((tmp_path / ".songreel" / "throughput.json").read_text())["rates"]
    assert rates["animatic"] > 0 and rates["assemble"] > 0
    write_storyboard(tmp_path, twenty_shots(edit=2), song=song_120, video=SMALL)
    p = Recorder()
    reel.render(sb, tmp_path / "b.mp4", progress=p)
    assert p.etas[0] is not None and p.etas[0] > 0  # known before the first clip of this run
    assert p.etas[-1] == 0.0


# ---------------------------------------------------------------------------------------------------
# Ctrl-C: stop after the current clip, keep what is done, exit 130


def _cli(args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    return subprocess.Popen([sys.executable, "-m", "songreel.cli.main", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_ctrl_c_stops_between_clips_and_keeps_them(tmp_path, song_120):
    sb = write_storyboard(tmp_path, twenty_shots(), song=song_120, video="{width: 640, height: 360, fps: 24}")
    reel.analyze_storyboard_song(reel.load(sb))  # cache the analysis: the render starts generating at once
    proc = _cli(["render", sb.name, "-o", "out.mp4"], tmp_path)
    clips = tmp_path / ".songreel" / "clips"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(clips.glob("*.json"))) < 2:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert lines[-1].startswith("stopped: after") and "Traceback" not in err
    assert not (tmp_path / "out.mp4").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]
    assert not [p for p in clips.iterdir() if ".tmp" in p.name]
    store = ClipStore(tmp_path / ".songreel")
    done = store.keys()
    assert 2 <= len(done) < 20
    assert all(store.get(k) is not None for k in done)
    res = reel.render(sb, tmp_path / "out.mp4")
    assert res.report["shots"]["reused"] == len(done)
    assert res.report["shots"]["generated"] == 20 - len(done)


def test_an_existing_output_is_kept_until_the_new_one_is_complete(tmp_path, song_120):
    sb = write_storyboard(tmp_path, twenty_shots(), song=song_120, video=SMALL)
    (tmp_path / "out.mp4").write_bytes(b"my earlier cut")
    with pytest.raises(SongreelError, match="already exists"):
        reel.render(sb, tmp_path / "out.mp4")
    assert (tmp_path / "out.mp4").read_bytes() == b"my earlier cut"

    stop = __import__("threading").Event()

    class StopAtFive(reel.Progress):
        def advance(self, name, done, total=None, note=""):
            if name == "generate" and done >= 5:
                stop.set()

    with pytest.raises(reel.Interrupted):
        reel.render(sb, tmp_path / "out.mp4", force=True, progress=StopAtFive(), stop=stop)
    assert (tmp_path / "out.mp4").read_bytes() == b"my earlier cut"
    res = reel.render(sb, tmp_path / "out.mp4", force=True)
    assert res.report["shots"]["reused"] >= 5 and (tmp_path / "out.mp4").stat().st_size > 1000
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]
