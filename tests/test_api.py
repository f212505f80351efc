"""The public Python API: a program written from docs/python-api.md, argument errors, stable keys."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import audio_seconds, cut_frames, decode_gray_small, write_storyboard

import songreel

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

STORY = """\
title: API test
shots:
  - prompt: "a school locker"
    length: 2 bars
  - prompt: "prom night"
    length: 2 bars
    transition: crossfade 1 beat
  - prompt: "an old couple on a porch"
"""


def _env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_a_program_written_from_the_docs_renders_and_reads_the_sync(tmp_path, song_120):
    """The first example of docs/python-api.md, run as it is printed there."""
    pytest.importorskip("opentimelineio")
    doc = (ROOT / "docs" / "python-api.md").read_text(encoding="utf-8")
    program = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    assert "songreel.render(" in program and "report.sync.max_cut_error_ms" in program
    write_storyboard(tmp_path, STORY, song=song_120, name="my-video.yaml", video="{width: 160, height: 90, fps: 24}")
    (tmp_path / "program.py").write_text(program, encoding="utf-8")
    p = subprocess.run([sys.executable, "program.py"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    # the three shots, then output, max cut error, video - audio, generated/reused
    assert [ln.split()[0] for ln in lines[:3]] == ["1", "2", "3"]
    assert lines[3] == "out.mp4"
    max_cut, delta = float(lines[4]), float(lines[5])
    assert 0.0 <= max_cut <= 500 / 24
    assert abs(delta) <= 1000 / 24
    assert lines[6].split() == ["3", "0"]
    video = tmp_path / "out.mp4"
    gray = decode_gray_small(video)
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert gray.shape[0] == report["sync"]["expected_frames"] == round(16.5 * 24)
    assert abs(audio_seconds(video) - 16.5) < 0.05
    assert (tmp_path / "cut.otio").is_file()
    # the hard cut after shot 1 lands on bar 3 (beat 8, 4 s at 120 BPM -> frame 96), as planned
    assert any(abs(k - 96) <= 1 for k in cut_frames(gray))


def test_render_result_is_typed(tmp_path, song_120):
    sb = write_storyboard(tmp_path, STORY, song=song_120, video="{width: 96, height: 54, fps: 12}")
    res = songreel.render(sb, tmp_path / "a.mp4")
    assert isinstance(res, songreel.RenderResult) and isinstance(res.report, songreel.Report)
    assert res.output == tmp_path / "a.mp4" and res.report_path.is_file()
    assert res.report.sync.video_frames == res.report.sync.expected_frames == round(16.5 * 12)
    assert res.report.sync.on_beat
    confidence = res.report["song"]["confidence"]  # how sure the analysis was of each reading
    assert set(confidence) == {"tempo", "meter", "downbeat"}
    assert all(v is None or 0.0 <= v <= 1.0 for v in confidence.values())
    assert (res.report.shots.generated, res.report.shots.reused, res.report.shots.total) == (3, 0, 3)
    assert songreel.Report.read(res.report_path).sync == res.report.sync
    with pytest.raises(AttributeError):
        res.report.sync.max_cut_error_ms = 0.0  # frozen
    again = songreel.render(songreel.load(sb), tmp_path / "a.mp4", force=True)
    assert (again.report.shots.generated, again.report.shots.reused) == (0, 3)


class Recorder(songreel.Progress):
    def __init__(self):
        self.events = []

    def stage(self, name, total=None):
        self.events.append(("stage", name))

    def advance(self, name, done, total=None, note=""):
        self.events.append(("advance", name))


def test_one_progress_protocol_for_analysis_generation_and_assembly(tmp_path, song_120):
    sb = write_storyboard(tmp_path, STORY, song=song_120, video="{width: 96, height: 54, fps: 12}")
    rec = Recorder()
    songreel.render(sb, tmp_path / "p.mp4", progress=rec)
    stages = [n for kind, n in rec.events if kind == "stage"]
    # the report card is measured from the assembly's decode, so it comes after it
    assert stages[:4] == ["analysis", "generate", "assemble", "qa"]
    assert {n for kind, n in rec.events if kind == "advance"} >= {"analysis", "generate", "qa", "assemble"}
    rec = Recorder()
    a = songreel.analyze(song_120, progress=rec)
    assert abs(a.tempo - 120) < 1 and ("stage", "analysis") in rec.events


@pytest.mark.parametrize("call, message", [
    (lambda d: songreel.render(123, d / "o.mp4"), "storyboard: got 123, expected a storyboard path"),
    (lambda d: songreel.render(d / "storyboard.yaml", None), "output: got None, expected a path to the .mp4"),
    (lambda d: songreel.render(d / "storyboard.yaml", d / "o.mp4", takes=0), "takes: got 0, expected a whole number 1..16"),
    (lambda d: songreel.render(d / "storyboard.yaml", d / "o.mp4", takes=True), "takes: got True"),
    (lambda d: songreel.render(d / "storyboard.yaml", d / "o.mp4", encode="fast"), "encode: got 'fast', expected a dict"),
    (lambda d: songreel.render(d / "storyboard.yaml", d / "o.mp4", encode={"crf": "best"}), "encode.crf: got 'best'"),
    (lambda d: songreel.render(d / "storyboard.yaml", d / "o.avi"), "o.avi: output must be an .mp4 file"),
    (lambda d: songreel.export(d / "storyboard.yaml", d / "cut.mov"), "path: "),
    (lambda d: songreel.export(d / "storyboard.yaml", d / "cut.otio", media="move"), "media: got 'move'"),
    (lambda d: songreel.export(d / "storyboard.yaml", d / "x.srt"), "has no 'lyrics:' file"),
    (lambda d: songreel.analyze(None), "song: got None, expected an audio file path"),
    (lambda d: songreel.load(d / "nope.yaml"), "nope.yaml"),
    (lambda d: songreel.pick(d / "storyboard.yaml", "9", 1), "shot: got 9, expected a shot number 1..3"),
])
def test_api_arguments_are_checked_with_one_line(tmp_path, song_120, call, message):
    write_storyboard(tmp_path, STORY, song=song_120, video="{width: 96, height: 54, fps: 12}")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(songreel.SongreelError) as err:
        call(tmp_path)
    text = str(err.value)
    assert message in text and "\n" not in text
    assert "--" not in text.split(":")[0]  # the library speaks of arguments, not CLI flags
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".songreel") == \
        [n for n in before if n != ".songreel"]


def test_the_cli_says_its_own_flags_for_the_same_errors(tmp_path, song_120):
    sb = write_storyboard(tmp_path, STORY, song=song_120, video="{width: 96, height: 54, fps: 12}")
    (tmp_path / "out.mp4").write_bytes(b"an earlier render")
    p = subprocess.run([sys.executable, "-m", "songreel.cli.main", "render", str(sb), "-o", "out.mp4"],
                       cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 2
    assert "already exists; use --force to replace it" in p.stderr and "force=True" not in p.stderr
    assert (tmp_path / "out.mp4").read_bytes() == b"an earlier render"
    p = subprocess.run([sys.executable, "-m", "songreel.cli.main", "render", str(sb), "-o", "x.mp4", "--crf", "99"],
                       cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and p.stderr.startswith("error: --crf: got 99"), p.stderr


def _footage_project(folder: Path, song: Path) -> Path:
    """A storyboard with footage shots (the case whose seeds followed the working directory)."""
    from fractions import Fraction

    from songreel.media import ClipWriter

    (folder / "footage").mkdir(parents=True, exist_ok=True)
    for k in range(2):
        with ClipWriter(folder / "footage" / f"take{k}.mp4", 96, 54, Fraction(12), preset="ultrafast") as w:
            for i in range(30):
                w.write(np.full((54, 96, 3), 40 + 60 * k + i, dtype=np.uint8))
    body = ("shots:\n  - clip: footage/take0.mp4\n    length: 2 bars\n  - prompt: \"a porch at dusk\"\n"
            "    length: 2 bars\n  - clip: ./footage/take1.mp4\n")
    return write_storyboard(folder, body, song=song, name="perf.yaml", video="{width: 96, height: 54, fps: 12}")


def _render_cli(cwd: Path, storyboard: str, out: str) -> str:
    p = subprocess.run([sys.executable, "-m", "songreel.cli.main", "render", storyboard, "-o", out, "--force"],
                       cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_keys_do_not_depend_on_how_the_path_was_typed_or_where_the_project_lives(tmp_path, song_120):
    project = tmp_path / "project"
    _footage_project(project, song_120)
    first = _render_cli(project, "perf.yaml", "a.mp4")
    assert "generated 3, reused 0" in first
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert "generated 0, reused 3" in _render_cli(elsewhere, str(project / "perf.yaml"), str(elsewhere / "b.mp4"))
    moved = tmp_path / "moved" / "project"
    moved.parent.mkdir()
    shutil.move(str(project), str(moved))
    assert "generated 0, reused 3" in _render_cli(tmp_path, "moved/project/perf.yaml", "c.mp4")
    # same frames every time
    a, c = decode_gray_small(moved / "a.mp4"), decode_gray_small(tmp_path / "c.mp4")
    assert a.shape == c.shape and np.abs(a - c).max() < 2.0


def test_import_songreel_stays_light_and_the_api_names_resolve():
    code = ("import sys, songreel\n"
            "heavy = [m for m in ('librosa', 'av', 'torch', 'diffusers', 'gradio', 'ray', 'httpx', 'numpy')"
            " if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "import songreel.plan.planner, songreel.export.report\n"
            "assert callable(songreel.plan) and callable(songreel.export), (songreel.plan, songreel.export)\n"
            "assert all(hasattr(songreel, n) for n in songreel.__all__)\n"
            "import logging\n"
            "assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger('songreel').handlers)\n")
    p = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr


def test_a_timeline_that_fails_after_the_render_keeps_the_video_and_its_report(tmp_path, song_120, monkeypatch):
    from songreel.errors import OutputError
    from songreel.export import timeline

    def refuse(edit, path, **kwargs):
        raise OutputError(f"{path}: the editor's format refused it")

    monkeypatch.setattr(timeline, "write_timeline", refuse)
    sb = write_storyboard(tmp_path, STORY, song=song_120, video="{width: 96, height: 54, fps: 12}")
    with pytest.raises(OutputError, match="refused it .*the video .*o.mp4 and its report .* were written"):
        songreel.render(sb, tmp_path / "o.mp4", timeline=tmp_path / "cut.edl")
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert "refused" in report["output"]["otio_error"]
    assert decode_gray_small(tmp_path / "o.mp4").shape[0] == report["sync"]["expected_frames"]


def test_a_storyboard_from_text_renders_without_a_file(tmp_path, song_120):
    sb = write_storyboard(tmp_path, STORY, song=song_120, video="{width: 96, height: 54, fps: 12}")
    text = sb.read_text()
    sb.unlink()
    story = songreel.loads(text, tmp_path / "unsaved.yaml")  # an editor's buffer, never saved
    res = songreel.render(story, tmp_path / "t.mp4")
    assert res.report.sync.video_frames == res.report.sync.expected_frames
    assert not (tmp_path / "unsaved.yaml").exists() and not (tmp_path / "unsaved.lock.json").exists()


def test_flow_retiming_without_opencv_names_the_extra(monkeypatch):
    from songreel.assemble import retime

    monkeypatch.setitem(sys.modules, "cv2", None)  # as if opencv were not installed
    with pytest.raises(songreel.MissingExtraError, match=r"shots\[2\].interpolate: flow interpolation needs the "
                       r"'opencv-python-headless' package.*pip install 'songreel\[flow\]'"):
        retime._cv2("shots[2].interpolate")
