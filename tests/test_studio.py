"""The studio without a browser: the project folder's path rule, uploads, the YAML <-> table round trip
with comments, the render queue, and the ``songreel studio`` command's door checks."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from songreel.errors import InputError

pytest.importorskip("ruamel.yaml", reason="the studio extra is not installed (pip install 'songreel[studio]')")

from songreel.studio.project import Project, sanitize_name, store_upload  # noqa: E402
from songreel.studio.storyboard_table import COLUMNS, Document  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

COMMENTED = """\
songreel: 1
title: "Night bus"   # working title
song: song.wav
video: {width: 320, height: 180, fps: 24}
# who is in it
characters:
  her: "a woman in a red coat"
  him: {description: "a man with a lantern", seed: 7}
shots:
  # act one
  - prompt: "{her} waits at a bus stop"   # wide
    length: 2 bars
    transition: crossfade 1 beat
  - prompt: 'rain on the window'
    length: 8 beats  # keep it short
  - name: last
    prompt: "{him} walks home"
"""


# ---- the path rule -----------------------------------------------------------------------------

@pytest.fixture()
def project(tmp_path) -> Project:
    (tmp_path / "outside.wav").write_bytes(b"not yours")
    root = tmp_path / "proj"
    root.mkdir()
    (root / "song.wav").write_bytes(b"RIFF")
    (root / "sub").mkdir()
    return Project(root)


@pytest.mark.parametrize("value", ["../outside.wav", "sub/../../outside.wav", "/etc/passwd", "link.wav",
                                   "linkdir/outside.wav"])
def test_paths_outside_the_project_are_refused(project, value):
    (project.root / "link.wav").symlink_to(project.root.parent / "outside.wav")
    (project.root / "linkdir").symlink_to(project.root.parent)
    with pytest.raises(InputError) as e:
        project.inside(value, "song")
    msg = str(e.value)
    assert msg.startswith("song: got ") and repr(value) in msg and "outside the project folder" in msg
    assert "\n" not in msg


def test_paths_inside_the_project_resolve(project):
    assert project.inside("song.wav", "song") == project.root / "song.wav"
    assert project.inside("sub/../song.wav", "song") == project.root / "song.wav"
    assert project.inside(project.root / "song.wav", "song") == project.root / "song.wav"


@pytest.mark.parametrize("field, text", [
    ("song", "song: ../outside.wav"),
    ("lyrics", "lyrics: ../words.lrc"),
    ("shots[0].clip", "shots:\n  - clip: ../../etc/x.mp4"),
    ("shots[0].first_frame", "shots:\n  - prompt: a\n    first_frame: /tmp/a.png"),
    ("characters.her.image", "characters:\n  her: {description: x, image: ../her.png}"),
    ("characters.her.ref[0]", "characters:\n  her: {description: x, ref: [../her.png]}"),
    ("characters.her.looks.old.ref", "characters:\n  her: {description: x, looks: {old: {ref: ../o.png}}}"),
    ("backend.lora", "backend: {name: diffusers, model: Wan-AI/Wan2.1, lora: ../../weights.safetensors}"),
])
def test_storyboard_fields_naming_outside_paths_are_refused(project, field, text):
    data = {"songreel": 1, "song": "song.wav", "shots": [{"prompt": "a"}]}
    data.update(Document(text).data)
    with pytest.raises(InputError) as e:
        project.check_storyboard_data(data, "story.yaml")
    assert str(e.value).startswith(f"story.yaml: {field}: got ")


def test_hub_ids_are_not_paths(project):
    project.check_storyboard_data({"songreel": 1, "song": "song.wav", "backend": {"name": "diffusers",
                                   "model": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"}, "shots": [{"prompt": "a"}]}, "s.yaml")


@pytest.mark.parametrize("name, expected", [
    ("My Song (final).wav", "My_Song_final.wav"),
    ("../../etc/passwd.mp3", "passwd.mp3"),
    ("C:\\Users\\me\\Démo.FLAC", "Demo.flac"),
    (".hidden.wav", "hidden.wav"),
    ("....wav", "upload.wav"),
])
def test_upload_names_are_sanitised(name, expected):
    assert sanitize_name(name) == expected


def test_upload_suffix_and_size_are_checked(project, tmp_path):
    exe = tmp_path / "x.sh"
    exe.write_bytes(b"#!/bin/sh")
    with pytest.raises(InputError, match=r"upload: got 'x.sh', expected a file ending in \.wav"):
        store_upload(project, exe)
    big = tmp_path / "big.wav"
    big.write_bytes(b"0" * 2048)
    with pytest.raises(InputError, match="upload: big.wav is 0 MiB, expected at most 0 MiB"):
        store_upload(project, big, limit=1024)


def test_uploads_never_overwrite(project, tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    (a / "song.wav").write_bytes(b"RIFF other")
    got = store_upload(project, a / "song.wav")
    assert got == project.root / "song-2.wav" and (project.root / "song.wav").read_bytes() == b"RIFF"
    assert store_upload(project, a / "song.wav") == got          # same content: reused, not copied again
    assert not list(project.root.glob(".*.part"))


# ---- YAML <-> table ----------------------------------------------------------------------------

def test_round_trip_is_byte_exact():
    assert Document(COMMENTED).text() == COMMENTED


def test_table_edit_changes_only_that_cell():
    doc = Document(COMMENTED)
    rows = doc.rows()
    assert [r[COLUMNS.index("length")] for r in rows] == ["2 bars", "8 beats", ""]
    rows[1][COLUMNS.index("length")] = "1 bars"
    doc.set_rows(rows)
    # the comment stays where it was, in its column
    assert doc.text() == COMMENTED.replace("length: 8 beats  # keep it short", "length: 1 bars   # keep it short")


def test_table_add_remove_and_clear_cells():
    doc = Document(COMMENTED)
    rows = doc.rows()
    rows[0][COLUMNS.index("transition")] = ""                       # an empty cell removes the key
    rows[2][COLUMNS.index("seed")] = "42"
    rows.append(["", "sunrise", "2 bars", "bar 9", "", "", "", "3"])
    doc.set_rows(rows)
    text = doc.text()
    assert "transition" not in text and "# wide" in text and "# act one" in text and "# who is in it" in text
    assert "seed: 42\n" in text                                    # an int, not "42"
    assert text.endswith("  - prompt: sunrise\n    length: 2 bars\n    at: bar 9\n    takes: 3\n")
    doc.set_rows(rows[:1])
    assert len(doc.shots()) == 1 and "# wide" in doc.text()


def test_characters_and_style():
    doc = Document(COMMENTED)
    assert doc.characters() == [["her", "a woman in a red coat"], ["him", "a man with a lantern"]]
    doc.set_characters([["her", "a woman in a blue coat"], ["him", "a man with a lantern"]])
    doc.set("style", "grainy 16mm")
    text = doc.text()
    assert 'her: "a woman in a blue coat"' in text and "seed: 7" in text and "# who is in it" in text
    assert "style: grainy 16mm" in text


def test_indentation_of_the_file_is_kept():
    text = "songreel: 1\nsong: song.wav\nshots:\n- prompt: a  # flush\n  length: 1 bars\n- prompt: b\n"
    doc = Document(text)
    assert doc.text() == text
    rows = doc.rows()
    rows[1][COLUMNS.index("length")] = "2 bars"
    doc.set_rows(rows)
    assert doc.text() == text + "  length: 2 bars\n"


def test_malformed_yaml_is_one_line():
    from songreel.errors import StoryboardError

    with pytest.raises(StoryboardError) as e:
        Document("songreel: 1\nshots: [\n", "x.yaml")
    assert str(e.value).startswith("x.yaml:") and "\n" not in str(e.value)


# ---- the studio's checks speak the CLI's words --------------------------------------------------

def test_check_gives_the_cli_error_line(tmp_path, song_120):
    from songreel.studio.service import Studio

    (tmp_path / "song.wav").write_bytes(song_120.read_bytes())
    st = Studio(tmp_path)
    bad = "songreel: 1\nsong: song.wav\nshots:\n  - prompt: a\n    length: 3 bras\n"
    with pytest.raises(InputError) as e:
        st.check(bad, "story.yaml")
    msg = str(e.value)
    assert msg.startswith(f'{tmp_path}/story.yaml:5: shots[0].length: got "3 bras", expected "N bars"')
    (tmp_path / "story.yaml").write_text(bad)
    r = subprocess.run([sys.executable, "-c", "from songreel.cli.main import main; main()", "plan", "story.yaml"],
                       cwd=tmp_path, capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), timeout=120)
    # the same line as the CLI's (which names the file as it was given)
    assert r.returncode == 2 and msg.split("story.yaml:")[1] in " ".join(r.stderr.split())


def test_plan_and_estimate(tmp_path, song_120):
    from songreel.studio.service import Studio

    (tmp_path / "song.wav").write_bytes(song_120.read_bytes())
    st = Studio(tmp_path)
    text = "songreel: 1\nsong: song.wav\nvideo: {width: 64, height: 36, fps: 12}\nshots:\n" \
           "  - prompt: a\n    length: 2 bars\n  - prompt: b\n"
    plan = st.plan(text)
    assert [s["start_frame"] for s in plan["shots"]] == [0, 48]
    est = st.estimate(text, "s.yaml")
    assert est["paid"] is False and est["new_clips"] >= 2 and est["text"].startswith("free")


def test_preview_is_the_directors_preview(tmp_path, song_120, monkeypatch):
    """The studio's preview is ``render --preview``: a paid shot is drawn by the animatic (no key, nothing
    submitted), the frame is 480 lines, no lock file is written, and the same text is not rendered twice."""
    import av
    from songreel.studio.service import Studio

    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    (tmp_path / "song.wav").write_bytes(song_120.read_bytes())
    st = Studio(tmp_path)
    text = "songreel: 1\nsong: song.wav\nvideo: {width: 1280, height: 720, fps: 12}\nshots:\n" \
           "  - prompt: a\n    length: 2 bars\n  - prompt: b\n    backend: veo\n"
    p = st.preview(text, "storyboard.yaml", shot=2)
    with av.open(p["video"]) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (854, 480)
    assert p["start"] == 4.0 and p["end"] == pytest.approx(p["shots"][1]["end"])
    report = Path(p["video"]).with_name(Path(p["video"]).stem + ".report.json").read_text()
    assert '"preview"' in report
    assert not list(tmp_path.glob("*.lock.json")) and not list(tmp_path.glob(".*.lock.json"))
    made = Path(p["video"]).stat().st_mtime_ns
    assert st.preview(text, "storyboard.yaml")["video"] == p["video"]
    assert Path(p["video"]).stat().st_mtime_ns == made


# ---- the queue -----------------------------------------------------------------------------------

def test_queue_runs_in_order_and_keeps_state_on_disk(tmp_path):
    from songreel.errors import Interrupted
    from songreel.studio.queue import RenderQueue

    state = tmp_path / "jobs.json"
    q = RenderQueue(state)
    gate = threading.Event()

    def slow(progress, stop):
        progress.stage("generate", 2)
        progress.advance("generate", 1, 2, "shot 1 generated")
        progress.eta(3.0)
        gate.wait(10)
        return {"n": 1}

    def stopped(progress, stop):
        raise Interrupted("stopped after the current clip")

    a = q.submit("render", "first", slow)
    b = q.submit("render", "second", lambda p, s: {"n": 2})
    c = q.submit("render", "third", stopped)
    import time

    for _ in range(100):
        if (q.job(a) or {}).get("note") == "shot 1 generated":
            break
        time.sleep(0.05)
    assert q.job(a)["status"] == "running" and q.job(b)["status"] == "queued"
    assert q.active()["id"] == a
    gate.set()
    assert q.wait(b, 10)["result"] == {"n": 2}
    assert q.wait(c, 10)["status"] == "stopped"
    assert q.wait(a, 1)["status"] == "done"
    # a new server reads what the last one did
    again = RenderQueue(state)
    assert [j["status"] for j in again.snapshot()] == ["done", "done", "stopped"]


def test_a_job_running_when_the_server_died_is_interrupted(tmp_path):
    import json

    from songreel.studio.queue import RenderQueue

    state = tmp_path / "jobs.json"
    state.write_text(json.dumps({"jobs": [{"id": "x", "kind": "render", "title": "t", "status": "running"}]}))
    job = RenderQueue(state).job("x")
    assert job["status"] == "interrupted" and "finished clips are kept" in job["error"]


# ---- the command ---------------------------------------------------------------------------------

def test_missing_extra_is_one_line_exit_2(tmp_path):
    code = ("import importlib.util, sys\n"
            "real = importlib.util.find_spec\n"
            "importlib.util.find_spec = lambda n, *a: None if n.startswith('gradio') else real(n, *a)\n"
            "sys.argv = ['songreel', 'studio', sys.argv[1], '--no-browser']\n"
            "from songreel.cli.main import main; main()\n")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    out = (r.stdout + r.stderr).strip()
    assert r.returncode == 2
    assert out == "error: the studio needs the 'gradio' package, which is not installed: pip install 'songreel[studio]'"


def test_is_loopback():
    from songreel.cli.studio import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_import_songreel_stays_light():
    r = subprocess.run([sys.executable, "-c", "import songreel, songreel.studio, songreel.cli.main, sys; "
                        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gradio', 'ruamel', 'torch')))"],
                       capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), timeout=120)
    assert r.stdout.strip() == "[]", r.stderr


def test_takes_and_pick_through_the_queue(tmp_path, song_120):
    from songreel.studio.service import Studio

    (tmp_path / "song.wav").write_bytes(song_120.read_bytes())
    st = Studio(tmp_path)
    text = "songreel: 1\nsong: song.wav\nvideo: {width: 160, height: 90, fps: 12}\nencode: {preset: ultrafast}\n" \
           "shots:\n  - prompt: a  # keep me\n    length: 2 bars\n  - prompt: b\n"
    job = st.queue.wait(st.submit_takes(text, "story.yaml", 1, 2), 120)
    assert job["status"] == "done", job
    r = job["result"]
    assert [t["take"] for t in r["takes"]] == [1, 2] and Path(r["strip"]).is_file()
    assert len({t["seed"] for t in r["takes"]}) == 2
    assert "picked take 2 of shot 1" in st.pick("story.yaml", 1, 2)
    assert "# keep me" in (tmp_path / "story.yaml").read_text()
    with pytest.raises(InputError, match=r"shot: got 5, expected a shot number 1\.\.2"):
        st.submit_takes(text, "story.yaml", 5, 2)
    paid = text.replace("  - prompt: b\n", "  - prompt: b\n    backend: {name: veo}\n")
    with pytest.raises(InputError, match="paid backend; confirm the spend first"):
        st.submit_takes(paid, "story.yaml", 2, 2)


def test_characters_sheets_per_look_refs_and_reroll_through_the_service(tmp_path, song_120):
    from PIL import Image

    from songreel.studio.service import Studio

    root = tmp_path / "proj"
    root.mkdir()
    (root / "song.wav").write_bytes(song_120.read_bytes())
    Image.new("RGB", (48, 64), (200, 40, 40)).save(root / "her.png")
    Image.new("RGB", (48, 64), (40, 40, 200)).save(tmp_path / "outside.png")
    st = Studio(root)
    text = ("songreel: 1\nsong: song.wav\nvideo: {width: 160, height: 90, fps: 12}\n"
            "characters:\n  her:\n    description: a girl with short red hair\n    ref: her.png\n"
            "    looks:\n      teen: a teenage girl with short red hair\n"
            "      old: {description: an old woman with short white hair}\n"
            "shots:\n  - prompt: '{her} by the sea'\n")
    chars = st.characters(text, "story.yaml")
    assert [c["name"] for c in chars] == ["her"] and chars[0]["refs"] == [str(root / "her.png")]
    looks = chars[0]["looks"]
    assert [lk["caption"] for lk in looks] == ["her · base", "her · teen", "her · old"]
    assert looks[2]["description"] == "an old woman with short white hair"
    assert all(lk["refs"] == [str(root / "her.png")] for lk in looks)   # a look without ref: keeps hers
    for lk in looks:
        with Image.open(lk["sheet"]) as im:
            im.load()
            assert im.width > 0 and Path(lk["sheet"]).is_relative_to(root)
    assert len({lk["sheet"] for lk in looks}) == 3
    # re-roll: a new seed and a new picture, and the studio shows it from now on
    old = looks[2]
    r = st.reroll(text, "story.yaml", "her", "old")
    assert r["previous"] == old["seed"] and r["seed"] != old["seed"] and r["sheet"] != old["sheet"]
    with Image.open(r["sheet"]) as a, Image.open(old["sheet"]) as b:
        assert a.tobytes() != b.tobytes()
    again = st.characters(text, "story.yaml")[0]["looks"]
    assert again[2]["sheet"] == r["sheet"] and again[0]["sheet"] == looks[0]["sheet"]
    assert Studio(root).characters(text, "story.yaml")[0]["looks"][2]["seed"] == r["seed"]   # kept on disk
    # a reference outside the project is refused, on the character or on a look
    for bad in (text.replace("ref: her.png", "ref: ../outside.png"),
                text.replace("old: {description:", "old: {ref: [her.png, ../outside.png], description:")):
        with pytest.raises(InputError, match=r"characters\.her\.(looks\.old\.)?ref(\[1\])?: got '\.\./outside"
                                             r"\.png', a path outside the project folder"):
            st.characters(bad, "story.yaml")


def test_only_the_studios_own_hidden_storyboards_are_swept(tmp_path):
    from songreel.studio.service import Studio

    st = Studio(tmp_path)
    names = [".studio-preview-0123456789.yaml", ".studio-api-abcdef0123.lock.json", ".studio-mine.yaml",
             "storyboard.yaml", ".studio-preview-0123456789.yaml.bak"]
    for n in names:
        (tmp_path / n).write_text("x")
        os.utime(tmp_path / n, (1, 1))
    st._sweep()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == \
        [".studio-mine.yaml", ".studio-preview-0123456789.yaml.bak", "storyboard.yaml"]


# ---- starting points: a draft from a sentence, the demo -------------------------------------------

def test_draft_through_the_service_fills_the_song_and_never_clobbers(tmp_path, song_120):
    from songreel.studio.service import Studio

    import songreel

    (tmp_path / "My Song.wav").write_bytes(song_120.read_bytes())
    (tmp_path / "draft-My_Song.yaml").write_text("mine\n")  # the user's file of the first name
    st = Studio(tmp_path)
    res = st.draft("My Song.wav", "a lighthouse keeper waits for a ship", cut_every="2 bars",
                   video={"width": 160, "height": 90, "fps": 12})
    assert res["name"] == "draft-My_Song-2.yaml" and res["source"] == "offline"
    assert (tmp_path / "draft-My_Song.yaml").read_text() == "mine\n"
    assert (tmp_path / res["name"]).read_text(encoding="utf-8") == res["text"]
    assert 'song: "My Song.wav"' in res["text"] or "song: My Song.wav" in res["text"]
    plan = songreel.plan(tmp_path / res["name"])
    # the shots fill the song: back to back from frame 0 to its last frame, 2 bars (48 frames) apart
    assert res["shots"] == len(plan.shots) == 4
    assert plan.shots[0].start == 0 and plan.shots[-1].end == plan.total_frames == round(16.5 * 12)
    assert all(a.end == b.start for a, b in zip(plan.shots, plan.shots[1:]))
    assert [s.start for s in plan.shots] == [0, 48, 96, 144]
    # the song must be the project's own; the key field names a variable, never holds a key
    (tmp_path.parent / "outside.wav").write_bytes(song_120.read_bytes())
    with pytest.raises(InputError, match="outside the project folder"):
        st.draft("../outside.wav", "x")
    with pytest.raises(InputError, match=r"key variable: got 'sk-123'.*never the key itself"):
        st.draft("My Song.wav", "x", llm="http://127.0.0.1:9/v1", model="m", key_env="sk-123")
    with pytest.raises(InputError, match="--concept"):
        st.draft("My Song.wav", "  ")


def test_draft_with_a_model_reads_the_key_from_the_environment_only(tmp_path, song_120, monkeypatch):
    from chat_server import ChatServer, good_answer

    from songreel.studio.service import Studio

    secret = "sk-studio-DO-NOT-STORE-77"
    monkeypatch.setenv("STUDIO_TEST_KEY", secret)
    (tmp_path / "song.wav").write_bytes(song_120.read_bytes())
    st = Studio(tmp_path)
    with ChatServer([good_answer], key=secret) as srv:
        res = st.draft("song.wav", "a lighthouse keeper waits for a ship", llm=srv.url, model="m",
                       key_env="STUDIO_TEST_KEY", video={"width": 160, "height": 90, "fps": 12})
        assert len(srv.requests) == 1
    assert res["source"].startswith(srv.url) and res["shots"] >= 1
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f


def test_start_from_the_demo_through_the_service_renders(tmp_path):
    from conftest import audio_seconds, decode_gray_small

    import songreel
    from songreel.studio.service import Studio

    st = Studio(tmp_path)
    dm = st.demo(width=64, height=36)
    assert dm["name"] == "storyboard.yaml" and dm["song"] == "song.wav"
    assert (tmp_path / "song.wav").is_file() and "width: 64" in dm["text"]
    assert "storyboard.yaml" in st.project.storyboards() and "song.wav" in st.project.songs()
    job = st.queue.wait(st.submit_render(dm["text"], dm["name"]), 600)
    assert job["status"] == "done", job
    out = Path(job["result"]["video"])
    plan = songreel.plan(tmp_path / "storyboard.yaml")
    assert len(decode_gray_small(out, size=(16, 9))) == plan.total_frames == job["result"]["sync"]["video_frames"]
    assert abs(audio_seconds(out) - float(plan.duration)) < 0.05
    assert job["result"]["sync"]["on_beat"]
    # a storyboard the person edited since is kept as it is, the song too
    edited = dm["text"].replace("an old couple on a porch swing", "a lighthouse at dawn")
    (tmp_path / "storyboard.yaml").write_text(edited, encoding="utf-8")
    song = (tmp_path / "song.wav").stat().st_mtime_ns
    again = st.demo(width=64, height=36)
    assert again["text"] == edited and (tmp_path / "song.wav").stat().st_mtime_ns == song


def test_demo_project_checks_its_arguments(tmp_path):
    import songreel

    with pytest.raises(InputError, match=r"width: got 15, expected an even whole number"):
        songreel.demo_project(tmp_path, width=15)
    with pytest.raises(InputError, match=r"look: got 'zoom', expected one of cuts, infinite-zoom"):
        songreel.demo_project(tmp_path, look="zoom")
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="a file; expected a folder"):
        songreel.demo_project(tmp_path / "f")
    assert not (tmp_path / "storyboard.yaml").exists()
