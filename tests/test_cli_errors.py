"""The CLI as a process: ``python -m songreel.cli.main`` works, usage errors are one line with exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def run(args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(SRC), COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "songreel.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_module_entry_point_and_help(tmp_path):
    r = run(["--help"], tmp_path)
    assert r.returncode == 0 and "render" in r.stdout and "takes" in r.stdout and "store" in r.stdout


@pytest.mark.parametrize("args,fragment", [
    (["render", "video.yaml"], "Missing option '-o' / '--output'"),
    (["render", "video.yaml", "-o", "x.mp4", "--takes", "0"], "--takes"),
    (["no-such-command"], "No such command"),
    (["plan", "missing.yaml"], "missing.yaml: no such storyboard file"),
    (["pick", "1", "two", "video.yaml"], "Invalid value for 'take'"),
    (["store", "info", "nowhere"], "nowhere: no such storyboard or folder"),
    (["takes", "1"], "no storyboard"),
])
def test_usage_errors_are_one_line(tmp_path, args, fragment):
    r = run(args, tmp_path)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_debug_shows_the_traceback(tmp_path):
    r = run(["--debug", "plan", "missing.yaml"], tmp_path)
    assert r.returncode == 2 and "Traceback" in r.stderr and "MissingFileError" in r.stderr
