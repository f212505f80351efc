"""The report card's flags, each shown by a clip made to show it and withheld from a clean clip."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import qa_clips as qc

N = 72  # 3 s at 24 fps


def card(tmp_path, shots, **kw):
    from songreel.qa import score_edit

    return score_edit(qc.make_edit(tmp_path, shots, **kw))


def test_clean_clips_are_not_flagged(tmp_path):
    r = card(tmp_path, [[qc.clean(N)], [qc.clean(N // 2, seed=1), qc.clean(N // 2, start=N // 2, seed=1)]])
    for s in r.shots:
        assert s.flags == (), (s.shot, s.reasons)
        assert s.score > 0.95
    assert r.worst == ()
    # the chained clean shot: its boundary continues the motion
    m = r.shots[1].measures
    assert m["seam_jump"] is not None and m["seam_ratio"] < 2.0
    assert m["drift_luma"] < 2.0


@pytest.mark.parametrize("make, flag", [
    (lambda: [[qc.frozen(N)]], "frozen"),
    (lambda: [[qc.black(N, fraction=0.5)]], "black"),
    (lambda: [[qc.flicker(N, levels=6.0)]], "flicker"),
    (lambda: [[qc.clean(N // 2), qc.clean(N // 2, start=N // 2 + 40, seed=2)]], "seam"),
    (lambda: [[qc.clean(N // 3), *[qc.graded(qc.clean(N // 3, start=N // 3 * k), gain=1.0 + 0.5 * k, lift=12 * k)
                                  for k in (1, 2)]]], "colour_drift"),
    (lambda: [[qc.bursts(N, [qc.BEAT * k + qc.BEAT // 2 for k in range(N // qc.BEAT)])]], "off_beat"),
])
def test_each_flag_on_a_clip_made_to_show_it(tmp_path, make, flag):
    r = card(tmp_path, [[qc.clean(N, seed=5)]] + make())
    clean, bad = r.shots
    assert flag in bad.flags, bad.measures
    assert bad.reasons.get(flag)
    assert clean.flags == ()
    assert bad.score < clean.score
    assert r.worst == (2,)


def test_off_beat_judges_motion_on_the_beat_clean(tmp_path):
    on = qc.bursts(N, [qc.BEAT * k for k in range(1, N // qc.BEAT)])
    off = qc.bursts(N, [qc.BEAT * k + qc.BEAT // 2 for k in range(N // qc.BEAT)])
    r = card(tmp_path, [[on], [off]])
    m_on, m_off = r.shots[0].measures, r.shots[1].measures
    assert m_on["motion_peaks"] >= 3 and m_on["beat_alignment"] > 0.8
    assert "off_beat" not in r.shots[0].flags
    assert m_off["beat_alignment"] < 0.3 and "off_beat" in r.shots[1].flags
    # steady motion has no peaks to judge
    steady = card(tmp_path / "s", [[qc.clean(N, speed=2.0)]]).shots[0].measures
    assert steady["motion_peaks"] == 0 and steady["beat_alignment"] is None


def test_a_jump_where_a_cut_is_meant_to_be_continuous_is_a_seam(tmp_path):
    a = qc.clean(N)
    cont = qc.clean(N, start=N)
    jump = qc.clean(N, seed=4)
    r = card(tmp_path / "a", [([a], {"last_frame": "next"}), [cont]])
    assert r.shots[0].flags == () and r.shots[0].measures["cut_jump"] < 3
    r = card(tmp_path / "b", [([a], {"last_frame": "next"}), [jump]])
    assert "seam" in r.shots[0].flags and r.shots[0].measures["seam_frame"] == N
    # an ordinary cut between unrelated shots is not a seam
    r = card(tmp_path / "c", [[a], [jump]])
    assert r.shots[0].flags == () and "cut_jump" not in r.shots[0].measures


def test_black_is_not_also_called_frozen(tmp_path):
    r = card(tmp_path, [[[np.zeros((qc.H, qc.W, 3), np.uint8)] * N]])
    assert r.shots[0].flags == ("black",)
    assert r.shots[0].measures["black_fraction"] == 1.0


def test_scores_rank_worse_clips_lower(tmp_path):
    r = card(tmp_path, [[qc.clean(N)], [qc.flicker(N, levels=3.0)], [qc.flicker(N, levels=10.0)]])
    s = [x.score for x in r.shots]
    assert s[0] > s[1] > s[2]
    assert r.worst == (3, 2)


def test_measures_never_hold_the_clip(tmp_path):
    """The meter keeps scalars and a second of small frames, whatever the clip's length."""
    from songreel.qa.frames import shot_frames
    from songreel.qa.measures import ShotMeter

    edit = qc.make_edit(tmp_path, [[qc.clean(240)]])
    meter = ShotMeter(beats=edit.plan.beat_frames)
    for f in shot_frames(edit.plan, edit.plan.shots[0], edit.clips[0]):
        assert f.y.shape[1] <= 96
        meter.add(f)
    assert len(meter.recent) <= 24
    assert meter.finish()["frames"] == 240


def test_without_opencv_motion_comes_from_frame_differences(tmp_path, monkeypatch):
    from songreel.qa import measures

    monkeypatch.setattr(measures, "_CV2", [None])
    on = qc.bursts(N, [qc.BEAT * k for k in range(1, N // qc.BEAT)])
    r = card(tmp_path, [[on], [qc.frozen(N)]])
    assert r.shots[0].measures["motion_method"] == "difference"
    assert r.shots[0].measures["beat_alignment"] > 0.8
    assert "frozen" in r.shots[1].flags
    assert any("songreel[flow]" in n for n in r.notes)


def test_report_card_round_trips():
    from songreel.schema.qa import QAReport, ShotQA, worst_first

    shots = (ShotQA(1, 0.9, ("seam",), {"seam": "x"}, {"a": 1}, take=2), ShotQA(2, 1.0), ShotQA(3, 0.2, ("black",)))
    r = QAReport(shots=shots, worst=worst_first(shots), notes=("n",), seconds=1.5)
    assert r.worst == (3, 1)
    back = QAReport.from_dict(r.to_dict())
    assert back.shots == shots and back.worst == (3, 1) and back.notes == ("n",)
    assert r.to_dict()["shots"][0]["take"] == 3


# --- identity ---------------------------------------------------------------------------------------


def test_identity_both_ways_with_a_tiny_model(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from PIL import Image

    from songreel.qa import identity

    folder = qc.save_tiny_clip(tmp_path / "model")
    monkeypatch.setenv(identity.ENV, str(folder))
    identity._CACHE.clear()
    ref = tmp_path / "ana.png"
    Image.fromarray(qc.face()).save(ref)
    same = [np.roll(qc.face(), k // 6, axis=1) for k in range(N)]
    other = [255 - f for f in same]
    r = card(tmp_path, [([same], {"characters": ("ana",)}), ([other], {"characters": ("ana",)}), [qc.clean(N)]],
             characters={"ana": str(ref)})
    a, b, c = r.shots
    assert a.measures["identity"] > 0.9 and "identity" not in a.flags
    assert b.measures["identity"] < 0.75 and "identity" in b.flags and "ana" in b.reasons["identity"]
    assert "identity" not in c.measures  # no character: not measured
    assert r.notes == () or all("identity" not in n for n in r.notes)


def test_identity_without_the_extra_is_a_note_not_a_crash(tmp_path, monkeypatch):
    import sys

    from PIL import Image

    from songreel.qa import identity

    identity._CACHE.clear()
    monkeypatch.setitem(sys.modules, "transformers", None)
    ref = tmp_path / "ana.png"
    Image.fromarray(qc.face()).save(ref)
    r = card(tmp_path, [([qc.clean(N)], {"characters": ("ana",)})], characters={"ana": str(ref)})
    assert "identity" not in r.shots[0].measures
    assert any("songreel[diffusers]" in n for n in r.notes)
    identity._CACHE.clear()


def test_identity_model_that_cannot_load_is_a_note(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    from songreel.qa import identity

    identity._CACHE.clear()
    emb, note = identity.load_embedder(str(tmp_path / "no-such-model"))
    assert emb is None and "no such model folder" in note
    (tmp_path / "empty").mkdir()
    emb, note = identity.load_embedder(str(tmp_path / "empty"))
    assert emb is None and note.startswith("identity not measured: cannot load")
    identity._CACHE.clear()
