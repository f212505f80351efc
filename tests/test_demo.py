"""`songreel demo` as a new user runs it: twice, after editing its storyboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import audio_seconds, decode_gray_small

SRC = Path(__file__).resolve().parents[1] / "src"


def _demo(cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "songreel.cli.main", "demo", "-o", "demo", "--width", "128",
                           "--height", "72"], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_running_the_demo_again_keeps_an_edited_storyboard(tmp_path):
    first = _demo(tmp_path)
    assert first.returncode == 0, first.stderr
    sb = tmp_path / "demo" / "storyboard.yaml"
    report = json.loads((tmp_path / "demo" / "out.report.json").read_text())
    video = tmp_path / "demo" / "out.mp4"
    assert decode_gray_small(video).shape[0] == report["sync"]["expected_frames"]
    assert abs(audio_seconds(video) - report["sync"]["song_seconds"]) < 0.05
    # an unedited demo storyboard is the demo's to rewrite; an edited one is the user's
    edited = sb.read_text().replace("meet at a school locker", "meet at a record shop")
    sb.write_text(edited)
    second = _demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert sb.read_text() == edited
    assert "has your edits; rendering it as it is" in second.stdout
    assert "generated 1," in second.stdout  # only the edited shot is made again
