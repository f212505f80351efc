"""The report card measured from the assembly's own decode is the card measured from the clips: same
measures for every shot (retimed clips, transition handles, footage made on the fly), a fallback for
the shots the assembly did not decode in full, and no second decode in a render."""

from __future__ import annotations

import dataclasses
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import qa_clips as qc
from test_assemble import make_edit

SHOTS = [dict(end=30, kind="pan", trans=("crossfade", 9)),   # handles either side of a crossfade
         dict(end=60, kind="pan3", clip_fps=16),              # retimed up (blended in-betweens)
         dict(end=90, kind="texture1", clip_fps=30, trans=("crossfade", 6)),  # retimed down
         dict(end=110, kind="pan", clip_fps=30),
         dict(kind="texture2")]


def test_measures_from_the_assembly_are_the_measures_from_the_clips(tmp_path):
    from songreel.assemble import assemble
    from songreel.qa.score import measure_shot
    from songreel.qa.tap import CardTaps

    edit = make_edit(tmp_path, SHOTS, total=140)
    taps = CardTaps(edit)
    assemble(edit, tmp_path / "out.mp4", tap=taps)
    taken = taps.measures()
    assert sorted(taken) == [0, 1, 2, 3, 4]
    for shot in edit.plan.shots:
        assert taken[shot.index] == measure_shot(edit.plan, shot, edit.clips[shot.index])
    assert taken[0]["frames"] == 30 and taken[1]["frames"] == 20  # on-screen clip frames: 30 of 24 fps, 20 of 16
    assert taken[1]["motion_mean"] > 0 and taken[4]["still_fraction"] == 1.0


def test_chained_segments_and_a_continuous_cut_are_judged_the_same(tmp_path):
    """Seams inside a chain and across a ``last_frame: next`` cut, and colour drift along a chain,
    come out of the assembly's decode as they come out of the clips: flagged where they should be."""
    from songreel.assemble import assemble
    from songreel.qa import score_edit
    from songreel.qa.tap import CardTaps
    from test_assemble import write_song

    n = 36
    chain = [qc.clean(n), qc.clean(n, seed=5), qc.graded(qc.clean(n, start=2 * n), gain=1.6, tint=(30, 0, -20))]
    edit = qc.make_edit(tmp_path, [chain, ([qc.clean(n)], {"last_frame": "next"}), [qc.clean(n, seed=4)]])
    edit = edit.with_(song=write_song(tmp_path / "song.wav", edit.plan.total_frames / 24 + 0.1))
    taps = CardTaps(edit)
    assemble(edit, tmp_path / "out.mp4", tap=taps)
    taken = taps.measures()
    assert sorted(taken) == [0, 1, 2]
    card = score_edit(edit, taken=taken)
    assert card.shots == score_edit(edit).shots
    assert "seam" in card.shot(1).flags and "colour_drift" in card.shot(1).flags
    assert "seam" in card.shot(2).flags and card.shot(2).measures["seam_frame"] == 4 * n


def test_a_stretch_joined_from_the_chunk_cache_is_measured_from_its_clips(tmp_path):
    """Chunks already encoded are not decoded: their shots get no measures from the assembly and the
    card falls back to the clips, so it is the card a full decode gives."""
    from songreel.assemble import assemble
    from songreel.qa import score_edit
    from songreel.qa.tap import CardTaps

    edit = make_edit(tmp_path, SHOTS, total=140)
    assemble(edit, tmp_path / "a.mp4", chunk_dir=tmp_path / "chunks")
    (tmp_path / "b").mkdir()
    changed = make_edit(tmp_path / "b", [*SHOTS[:4], dict(kind="pan")], total=140)
    new = dataclasses.replace(changed.clips[4][0], key="another take")
    edit2 = edit.with_(clips=edit.clips[:4] + ((new,),))
    taps = CardTaps(edit2)
    res = assemble(edit2, tmp_path / "b.mp4", chunk_dir=tmp_path / "chunks", tap=taps)
    assert res.stats["chunks"]["reused"] >= 1
    taken = taps.measures()
    assert 4 in taken and len(taken) < 5
    from_clips = score_edit(edit2)
    assert score_edit(edit2, taken=taken).shots == from_clips.shots


def test_a_tap_that_misses_a_frame_reports_nothing(tmp_path):
    """Frames seen with a gap, or not all of them, never become measures; a frame seen twice counts once."""
    from songreel.qa.tap import ShotTap

    edit = make_edit(tmp_path, [dict(end=24, kind="pan"), dict(kind="texture1")], total=48)
    plan, shot, clips = edit.plan, edit.plan.shots[0], edit.clips[0]
    import av

    with av.open(str(clips[0].path)) as c:
        pictures = [f for f in c.decode(video=0)]
    whole = ShotTap(plan, shot, clips)
    for k, p in enumerate(pictures):
        whole.frame(0, k, p)
        if k == 3:
            whole.frame(0, 2, p)  # a reader opened later decodes from the start again: ignored
    assert whole.complete and whole.measures()["frames"] == 24
    gap = ShotTap(plan, shot, clips)
    for k, p in enumerate(pictures):
        if k != 5:
            gap.frame(0, k, p)
    assert gap.measures() is None and "frame 5" in gap.broken
    short = ShotTap(plan, shot, clips)
    for k, p in enumerate(pictures[:20]):
        short.frame(0, k, p)
    assert short.measures() is None and short.broken is None
    short.end(0, 20)  # the clip really has no more: what there was is the shot
    assert short.measures()["frames"] == 20
    bad = ShotTap(plan, shot, clips)
    bad.frame(0, 0, "not a picture")
    assert bad.measures() is None and bad.broken


def test_a_render_decodes_no_clip_for_its_card(song_120, tmp_path, monkeypatch):
    """A fresh render measures every shot while assembling (no second decode); its card is the card
    measured from the stored clips."""
    import songreel
    from conftest import write_storyboard
    from songreel.qa import score as score_mod
    from songreel.qa import score_edit

    body = ("bpm: 120\nshots:\n  - prompt: a red car at night\n    length: 2 bars\n    transition: crossfade 1 beat\n"
            "  - prompt: rain on a window\n    length: 3 bars\n  - prompt: snow on the mountains\n")
    sb = write_storyboard(tmp_path / "film", body, song=song_120)
    calls: list = []
    real = score_mod.measure_shot
    monkeypatch.setattr(score_mod, "measure_shot", lambda *a, **k: calls.append(1) or real(*a, **k))
    res = songreel.render(sb, tmp_path / "out.mp4")
    assert calls == [] and res.report["qa"]["measured_while_assembling"] == 3
    monkeypatch.setattr(score_mod, "measure_shot", real)
    assert [s.to_dict() for s in score_edit(res.edit).shots] == res.report["qa"]["shots"]


def test_footage_is_scored_as_the_film_shows_it(song_120, tmp_path):
    """A footage shot is measured on the frames the film shows (from ``in:``, conformed), not on its
    source from the start: a source whose first two seconds are black is not called black when the
    shot starts after them, and the card from the clips agrees."""
    import songreel
    from conftest import write_storyboard
    from songreel.qa import score_edit

    folder = tmp_path / "film"
    folder.mkdir()
    frames = [np.zeros((qc.H, qc.W, 3), np.uint8)] * (2 * qc.FPS) + list(qc.clean(3 * qc.FPS))
    qc.write(folder / "source.mp4", frames)
    body = "bpm: 120\nshots:\n  - clip: source.mp4\n    in: 2\n    length: 4 beats\n  - prompt: snow\n"
    sb = write_storyboard(folder, body, song=song_120)
    res = songreel.render(sb, tmp_path / "out.mp4")
    shot = res.report["qa"]["shots"][0]
    assert shot["flags"] == [] and shot["measures"]["black_fraction"] == 0.0
    assert res.report["qa"]["measured_while_assembling"] == 2
    assert [s.to_dict() for s in score_edit(res.edit).shots] == res.report["qa"]["shots"]
    # the identity model looks at the same pictures
    from songreel.qa.score import shot_frame

    plan = res.edit.plan
    assert shot_frame(plan, plan.shots[0], res.edit.clips[0], 0.0).mean() > 40


@pytest.mark.parametrize("retake", [0, 1])
def test_retakes_still_score_before_the_film_is_encoded(song_120, tmp_path, retake):
    import songreel
    from conftest import write_storyboard

    body = "bpm: 120\nshots:\n  - prompt: a red car\n    length: 2 bars\n  - prompt: snow\n"
    sb = write_storyboard(tmp_path / "film", body, song=song_120)
    res = songreel.render(sb, tmp_path / "out.mp4", retake_worst=retake)
    qa = res.report["qa"]
    assert len(qa["shots"]) == 2
    assert qa["measured_while_assembling"] == (2 if retake == 0 else 0)
    assert songreel.Report.read(res.report_path).qa.measured_while_assembling == qa["measured_while_assembling"]


def test_a_card_that_fails_after_the_film_is_written_keeps_the_film_and_its_report(song_120, tmp_path, monkeypatch):
    import songreel
    from conftest import decode_rgb, write_storyboard
    from songreel.errors import MissingFileError
    from songreel.qa import tap as tap_mod

    def gone(self):
        raise MissingFileError("clip.mp4: clip of shot 1 is not in the store any more")

    monkeypatch.setattr(tap_mod.CardTaps, "measures", gone)
    sb = write_storyboard(tmp_path / "film", "bpm: 120\nshots:\n  - prompt: a red car\n", song=song_120)
    res = songreel.render(sb, tmp_path / "out.mp4")
    assert res.report["qa"]["shots"] == [] and "not in the store" in res.report["qa"]["notes"][0]
    assert res.report_path.exists() and decode_rgb(res.output, [0])[0].mean() > 0
