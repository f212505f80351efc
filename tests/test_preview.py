"""The director's preview (``render(preview=True)`` / ``songreel render --preview``) and the animatic
drawn straight into yuv420p, several shots at once."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import songreel
from songreel.errors import InputError
from songreel.generate.animatic import AnimaticBackend, Caption, Scene, planes_rgb, render_caption
from songreel.reel.preview import preview_size
from songreel.schema.clip import GenerationRequest

from conftest import decode_gray_small, decode_rgb, write_storyboard

SRC = Path(__file__).resolve().parents[1] / "src"


def _solid_clip(path: Path, colour, frames: int = 48, size=(320, 180)) -> Path:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "10"}
        img = np.empty((size[1], size[0], 3), np.uint8)
        img[:] = colour
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


BODY = """shots:
  - prompt: a night drive, rain on the glass
    backend: {name: veo}
    length: 2 bars
  - clip: red.mp4
    length: 2 bars
  - prompt: dawn over the sea
"""


def test_preview_draws_generated_shots_keeps_footage_and_every_cut(tmp_path, song_120, monkeypatch):
    # a paid backend with no key: the preview must never construct it, let alone call it
    for key in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    _solid_clip(tmp_path / "red.mp4", (230, 20, 20))
    p = write_storyboard(tmp_path, BODY, song=song_120, video="{width: 1280, height: 720, fps: 24}")
    plan = songreel.plan(p)
    res = songreel.render(p, tmp_path / "preview.mp4", preview=True)

    import av

    with av.open(str(res.output)) as c:
        vs = c.streams.video[0]
        assert (vs.codec_context.width, vs.codec_context.height) == (854, 480)
    gray = decode_gray_small(res.output)
    assert len(gray) == plan.total_frames
    # the cuts are where the full-size plan puts them: the preview has the film's timing
    s0, s1, s2 = plan.shots
    diffs = np.abs(np.diff(gray, axis=0)).mean(axis=(1, 2))
    for cut in (s1.start, s2.start):
        assert diffs[cut - 1] > 4 * np.median(diffs) + 2, (cut, diffs[cut - 3:cut + 2])
    mid = (s1.start + s2.start) // 2
    red = decode_rgb(res.output, [mid])[mid].reshape(-1, 3).mean(axis=0)
    assert red[0] > 190 and red[1] < 60 and red[2] < 60, red   # the footage, not an animatic
    assert res.report.qa is None and res.report["preview"]["size"] == [854, 480]
    assert res.report["preview"]["encode"]["preset"] == "veryfast"
    assert res.report.shots.generated == 3   # two animatic shots and the footage reference
    assert res.report.sync.max_cut_error_ms <= 1000 / 48
    assert not p.with_name(p.stem + ".lock.json").exists()   # the project's lock is not the preview's


def test_preview_refuses_what_it_cannot_honour(tmp_path, song_120):
    p = write_storyboard(tmp_path, "shots:\n  - prompt: a field\n", song=song_120)
    for kwargs, word in (({"takes": 2}, "takes"), ({"locked": True}, "locked"), ({"retake_worst": 1}, "retake_worst"),
                         ({"executor": "ray"}, "executor"), ({"preview": "yes"}, "preview")):
        args = {"preview": True, **kwargs}
        with pytest.raises(InputError) as e:
            songreel.render(p, tmp_path / "x.mp4", **args)
        assert str(e.value).startswith(word + ": ") and "\n" not in str(e.value), str(e.value)
    assert not (tmp_path / "x.mp4").exists()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(SRC), COLUMNS="120")
    r = subprocess.run([sys.executable, "-m", "songreel.cli.main", "render", str(p), "-o", "x.mp4", "--preview",
                        "--takes", "2"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].startswith("error: --takes: got 2 with --preview"), lines[0]


@pytest.mark.parametrize("size,expected", [((1280, 720), (854, 480)), ((1920, 1080), (854, 480)),
                                           ((1080, 1920), (270, 480)), ((640, 360), (640, 360)),
                                           ((1000, 750), (640, 480)), ((1024, 1024), (480, 480))])
def test_preview_size_keeps_the_aspect_and_never_enlarges(size, expected):
    assert preview_size(*size) == expected


def _request(w=214, h=120, prompt="a couple at the fair, 1994", frames=24):
    return GenerationRequest(backend="animatic", model="procedural", version=AnimaticBackend.version, prompt=prompt,
                             negative="", seed=7, frames=frames, fps=Fraction(24), width=w, height=h,
                             context={"caption": "shot 2", "position": "3.1", "section": "verse"})


def test_animatic_planes_are_the_rgb_drawing_in_yuv():
    """The yuv420p drawing is the RGB one (the same blend, in the encoder's colour space): converted
    back, it matches within the rounding of 4:2:0 — and a misplaced chroma disc would not."""
    req = _request()
    scene = Scene.from_request(req)
    for t in (0.0, 0.6, 1.9):
        rgb = scene.frame(t, 0.0).astype(np.int16)
        back = planes_rgb(scene.planes(t, 0.0)).astype(np.int16)
        d = np.abs(back - rgb)
        assert d.mean() < 2.0 and np.percentile(d, 99) <= 8, (t, d.mean(), np.percentile(d, 99))
    # the caption too, at an odd offset (chroma needs an even box: it is padded, not shifted)
    cap = render_caption(req, req.width, req.height)
    odd = Caption(np.concatenate([cap.rgb, cap.alpha * 255], axis=-1).astype(np.uint8), 3, 5)
    planes = scene.planes(0.5, 0.0)
    rgb = planes_rgb(planes)
    want = odd.apply(rgb.copy()).astype(np.int16)
    got = planes_rgb(odd.apply_planes(planes)).astype(np.int16)
    d = np.abs(got - want)
    assert d.mean() < 2.0, d.mean()
    assert np.abs(got - rgb.astype(np.int16)).mean() > 5   # the caption is really there


def test_animatic_shots_render_at_once_and_the_film_is_the_same(tmp_path, song_120, monkeypatch):
    body = "shots:\n" + "".join(f"  - {{prompt: scene {i}, length: 1 bar}}\n" for i in range(5)) + \
        "  - prompt: the end\n"
    assert AnimaticBackend.max_concurrent == max(1, min(4, os.cpu_count() or 1))
    monkeypatch.setattr(AnimaticBackend, "max_concurrent", 3)
    a = songreel.render(write_storyboard(tmp_path / "a", body, song=song_120, video="{width: 96, height: 64, fps: 24}"),
                        tmp_path / "a.mp4")
    monkeypatch.setattr(AnimaticBackend, "max_concurrent", 1)
    b = songreel.render(write_storyboard(tmp_path / "b", body, song=song_120, video="{width: 96, height: 64, fps: 24}"),
                        tmp_path / "b.mp4")
    assert a.report.shots.generated == b.report.shots.generated == 6
    import av

    def frames(path):
        with av.open(str(path)) as c:
            return [f.to_ndarray() for f in c.decode(video=0)]

    fa, fb = frames(a.output), frames(b.output)
    assert len(fa) == len(fb) and all(np.array_equal(x, y) for x, y in zip(fa, fb))


def test_large_blocks_are_mapped_one_by_one():
    """On glibc the allocator takes the fixed threshold (a render's memory stays flat); elsewhere it is
    left alone. A subprocess keeps the setting out of this test process."""
    code = ("import ctypes.util, sys; from songreel.memory import return_large_blocks as r\n"
            "ok = r(); assert r() is ok\n"
            "glibc = sys.platform.startswith('linux') and 'libc.so.6' in (ctypes.util.find_library('c') or '')\n"
            "assert ok == glibc, (ok, glibc)\nprint(ok)")
    env = dict(os.environ, PYTHONPATH=str(SRC))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
