"""The report card end to end: in every render's report, through ``songreel review``, and
``--retake-worst`` keeping the better take — on the animatic, footage, a paid stand-in and tiny diffusers."""

from __future__ import annotations

import dataclasses
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import qa_clips as qc

pytest.importorskip("librosa")

SHOTS = ("bpm: 120\nshots:\n  - prompt: a red car on a road at night\n    length: 2 bars\n"
         "  - prompt: a woman walking in the rain\n    length: 2 bars\n  - prompt: snow on the mountains\n")


def _film(tmp_path, song_120, body=SHOTS, name="storyboard.yaml"):
    from conftest import write_storyboard

    return write_storyboard(tmp_path / "film", body, song=song_120, name=name)


def _mid_luma(path, frame):
    from conftest import decode_rgb

    return decode_rgb(path, [frame])[frame].astype(np.float32).mean(axis=2)


def flag_take_zero_of(shot_number, monkeypatch):
    """Make the scorer see take 1 of shot ``shot_number`` as frozen (a test double for a bad take); every
    other shot and take is scored for real."""
    from songreel.qa import score as score_mod

    real = score_mod.score_shot

    def fake(plan, shot, clips, *, take=0, **kw):
        card = real(plan, shot, clips, take=take, **kw)
        if shot.index + 1 == shot_number and take == 0:
            return dataclasses.replace(card, score=0.1, flags=("frozen",), reasons={"frozen": "made up"})
        return card

    monkeypatch.setattr(score_mod, "score_shot", fake)


def test_animatic_render_has_a_clean_report_card(song_120, tmp_path):
    import songreel

    sb = _film(tmp_path, song_120)
    res = songreel.render(sb, tmp_path / "out.mp4")
    qa = res.report["qa"]
    assert [s["shot"] for s in qa["shots"]] == [1, 2, 3]
    for s in qa["shots"]:
        assert 0.0 <= s["score"] <= 1.0 and s["flags"] == [] and s["measures"]["frames"] > 0
        assert s["measures"]["black_fraction"] == 0.0 and s["measures"]["still_fraction"] == 0.0
    assert qa["worst"] == []
    assert res.report["timing"]["qa_s"] >= 0
    on_disk = json.loads(res.report_path.read_text())
    assert on_disk["qa"]["shots"][0]["measures"] == qa["shots"][0]["measures"]
    assert songreel.QAReport.from_dict(on_disk["qa"]).shot(2).score == qa["shots"][1]["score"]
    assert res.report.qa.worst == () and songreel.Report.read(res.report_path).qa.shot(3).measures["frames"] > 0


def test_a_rerender_reuses_the_measures_of_unchanged_shots(song_120, tmp_path, monkeypatch):
    """The card's measures are kept by content: a second render measures no shot, and after one
    prompt is edited only that shot is measured again; the card is the same as a fresh one."""
    import songreel
    from songreel.qa import score as score_mod
    from songreel.qa import tap as tap_mod

    sb = _film(tmp_path, song_120)
    first = songreel.render(sb, tmp_path / "a.mp4")
    assert first.report["qa"]["measured_while_assembling"] == 3
    measured: list = []
    real_measure, real_tap = score_mod.measure_shot, tap_mod.ShotTap.measures

    def counting(plan, shot, clips, **kw):
        measured.append(shot.index + 1)
        return real_measure(plan, shot, clips, **kw)

    def counting_tap(self, next_clips=None):
        m = real_tap(self, next_clips)
        measured.append(self.shot.index + 1)
        return m

    monkeypatch.setattr(score_mod, "measure_shot", counting)
    monkeypatch.setattr(tap_mod.ShotTap, "measures", counting_tap)
    again = songreel.render(sb, tmp_path / "b.mp4")
    assert measured == [] and again.report["qa"]["shots"] == first.report["qa"]["shots"]
    sb.write_text(sb.read_text().replace("a woman walking in the rain", "a woman walking in the snow"))
    edited = songreel.render(sb, tmp_path / "c.mp4")
    assert measured == [2] and edited.report["qa"]["measured_while_assembling"] == 1
    fresh = songreel.render(_film(tmp_path / "fresh", song_120, body=SHOTS.replace("rain", "snow")), tmp_path / "d.mp4")
    assert measured[0] == 2 and sorted(measured[1:]) == [1, 2, 3]
    assert edited.report["qa"]["shots"] == fresh.report["qa"]["shots"]


def test_store_gc_removes_the_measures_of_removed_clips_and_analyses_no_storyboard_reads(song_120, tmp_path, monkeypatch):
    import songreel
    from songreel import reel
    from songreel.qa import score as score_mod

    sb = _film(tmp_path, song_120)
    songreel.render(sb, tmp_path / "a.mp4")
    sb.write_text(sb.read_text().replace("a woman walking in the rain", "a woman walking in the snow"))
    songreel.render(sb, tmp_path / "b.mp4")
    qa_dir = sb.parent / ".songreel" / "qa"
    assert len(list(qa_dir.glob("*.json"))) == 4  # shot 2 measured twice: the rain take and the snow take
    (qa_dir / "0123456789abcdef0123456789abcdef.json").write_text('{"frames": 3}')  # an older format
    analyses = sb.parent / ".songreel" / "analysis"
    (own,) = analyses.glob("analysis-*.json")
    (analyses / "analysis-0123456789abcdef0123456789abcdef.json").write_text("{}")  # another song's
    dry = reel.gc_store(sb.parent, dry_run=True)
    assert dry["measures"]["removed"] == 2 and len(list(qa_dir.glob("*.json"))) == 5
    done = reel.gc_store(sb.parent)
    assert done["measures"] == {"removed": 2, "kept": 3, "bytes": dry["measures"]["bytes"]}
    assert done["measures"]["bytes"] > 0 and len(list(qa_dir.glob("*.json"))) == 3
    assert done["analyses"] == {"removed": 1, "kept": 1, "bytes": 2} and list(analyses.iterdir()) == [own]
    monkeypatch.setattr(score_mod, "measure_shot", lambda *a, **k: pytest.fail("measured again"))
    again = songreel.render(sb, tmp_path / "c.mp4")
    assert again.report["qa"]["measured_while_assembling"] == 0 and len(again.report["qa"]["shots"]) == 3


def test_review_prints_the_worst_and_draws_the_flags(song_120, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import songreel
    from songreel.cli.main import app

    sb = _film(tmp_path, song_120)
    flag_take_zero_of(2, monkeypatch)
    r = CliRunner().invoke(app, ["review", str(sb)])
    assert r.exit_code == 0, r.output
    assert "1 of 3 shots flagged" in r.output and "shot 2" in r.output and "frozen: made up" in r.output
    png = sb.with_name("storyboard.review.png")
    assert png.exists()
    # the sheet: red frame around shot 2, green around the others
    from PIL import Image

    report = songreel.review(sb, sheet=png)  # replaces its own sheet
    assert report.worst == (2,) and report.sheet == png
    from songreel.export.contact_sheet import contact_sheet
    from songreel.reel import build_edit

    boxes = contact_sheet(build_edit(sb), tmp_path / "plain.png").boxes
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        edge = img[(y0 + y1) // 2, x0 - 2]
        want = (214, 40, 40) if k == 1 else (46, 160, 67)
        assert np.abs(edge - want).max() <= 2, (k, edge)


def test_review_keeps_a_file_it_did_not_write(song_120, tmp_path):
    import songreel

    sb = _film(tmp_path, song_120)
    mine = tmp_path / "holiday.png"
    from PIL import Image

    Image.new("RGB", (8, 8), (1, 2, 3)).save(mine)
    before = mine.read_bytes()
    with pytest.raises(songreel.OutputError, match="already exists"):
        songreel.review(sb, sheet=mine)
    assert mine.read_bytes() == before
    with pytest.raises(songreel.InputError, match="expected .png"):
        songreel.review(sb, sheet=tmp_path / "x.jpg")


def test_retake_worst_keeps_the_better_take_and_records_the_pick(song_120, tmp_path, monkeypatch):
    import songreel
    from songreel.schema.lock import lock_path, read_lock

    sb = _film(tmp_path, song_120)
    flag_take_zero_of(1, monkeypatch)
    res = songreel.render(sb, tmp_path / "out.mp4", retake_worst=2)
    retake = res.report["retake"]
    assert retake["asked"] == 2 and any("1 shot flagged" in n for n in retake["notes"])
    (row,) = retake["shots"]
    assert row["shot"] == 1 and row["kept"] == "new" and row["dollars"] == 0
    assert row["before"] == {"take": 1, "score": 0.1, "flags": ["frozen"]}
    assert row["after"]["take"] == 2 and row["after"]["score"] > 0.9 and row["after"]["flags"] == []
    assert res.report["qa"]["worst"] == [] and res.report["qa"]["shots"][0]["take"] == 2
    assert res.report["takes"]["picked"] == {"1": 2}
    entry = read_lock(lock_path(sb)).shots[0]
    assert entry.picked and entry.take == 1 and entry.takes == 2
    assert entry.clips == tuple(c.key for c in res.edit.clips[0])
    # the video shows the new take: its middle frame matches take 2's clip, not take 1's
    from songreel.export.contact_sheet import middle_frame

    mid, new = middle_frame(res.edit, 0)
    got = _mid_luma(res.output, mid)
    assert np.abs(got - new.astype(np.float32).mean(axis=2)).mean() < 6
    # a later plain render keeps the pick (no retake asked)
    again = songreel.render(sb, tmp_path / "again.mp4")
    assert again.report["takes"]["picked"] == {"1": 2} and "retake" not in again.report.data
    assert again.report["shots"]["generated"] == 0


def test_retake_keeps_the_old_take_when_the_new_one_is_no_better(song_120, tmp_path):
    """Footage: a frozen clip is flagged; its new take is the same footage (no better), so the first
    take stays and no pick is recorded."""
    import songreel
    from songreel.schema.lock import lock_path, read_lock

    folder = tmp_path / "film"
    folder.mkdir()
    qc.write(folder / "still.mp4", qc.frozen(5 * 24))
    qc.write(folder / "moving.mp4", qc.clean(9 * 24))
    body = ("bpm: 120\nbackend: footage\nshots:\n  - clip: still.mp4\n    length: 2 bars\n"
            "  - clip: moving.mp4\n    length: 2 bars\n  - clip: moving.mp4\n    in: 4\n")
    sb = _film(tmp_path, song_120, body)
    first = songreel.render(sb, tmp_path / "a.mp4")
    qa = first.report["qa"]
    assert qa["worst"] == [1] and "frozen" in qa["shots"][0]["flags"]
    assert qa["shots"][1]["flags"] == [] and qa["shots"][2]["flags"] == []
    res = songreel.render(sb, tmp_path / "b.mp4", retake_worst=1)
    (row,) = res.report["retake"]["shots"]
    assert row["kept"] == "old" and row["before"]["take"] == 1 and row["after"]["take"] == 2
    assert row["after"]["score"] <= row["before"]["score"]
    entry = read_lock(lock_path(sb)).shots[0]
    assert not entry.picked and entry.take == 0 and entry.takes == 2
    assert res.report["qa"]["worst"] == [1]


def test_cli_render_retake_prints_before_and_after(song_120, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from songreel.cli.main import app

    sb = _film(tmp_path, song_120)
    flag_take_zero_of(3, monkeypatch)
    r = CliRunner().invoke(app, ["render", str(sb), "-o", str(tmp_path / "o.mp4"), "--retake-worst", "1"])
    assert r.exit_code == 0, r.output
    assert "retake shot 3: take 1 0.10 (frozen) -> take 2" in r.output and "new take kept" in r.output
    assert "qa: no shot flagged" in r.output


def test_paid_retakes_stay_within_the_budget(song_120, tmp_path, monkeypatch):
    pytest.importorskip("httpx")
    from hosted_servers import STANDINS, base_url

    import songreel

    key = "sk-songreel-TEST-qa"
    monkeypatch.setenv("LUMAAI_API_KEY", key)
    server = STANDINS["luma"](key)
    try:
        fast = {"poll_interval": 0.01, "retry_base": 0.01, "retry_cap": 0.05, "lookup_grace": 0, "request_timeout": 5}
        opts = {"base_url": base_url(server), "model": "ray-2", **fast}
        backend = "{" + ", ".join(["name: luma"] + [f"{k}: {json.dumps(v)}" for k, v in opts.items()]) + "}"
        body = (f"bpm: 120\nbackend: {backend}\nshots:\n  - prompt: a lighthouse\n    length: 2 bars\n"
                "  - prompt: waves on the rocks\n")
        sb = _film(tmp_path, song_120, body)
        flag_take_zero_of(1, monkeypatch)
        res = songreel.render(sb, tmp_path / "a.mp4", retake_worst=1)  # no budget: a paid shot is not retaken
        made = len(server.submissions)
        assert res.report["retake"]["shots"] == [] and "give a budget" in res.report["retake"]["notes"][0]
        res = songreel.render(sb, tmp_path / "b.mp4", retake_worst=1, budget=0.01)
        assert len(server.submissions) == made and "would pass the $0.01 budget" in res.report["retake"]["notes"][0]
        res = songreel.render(sb, tmp_path / "c.mp4", retake_worst=1, budget=100)
        (row,) = res.report["retake"]["shots"]
        segs = len(res.edit.plan.shots[0].segments)
        assert len(server.submissions) == made + segs
        assert 0 < row["dollars"] <= 100 and res.report["retake"]["spent"] == row["dollars"]
    finally:
        server.stop()


@pytest.mark.parametrize("kwargs, message", [
    ({"retake_worst": -1}, "retake_worst: got -1, expected a whole number 0..64"),
    ({"retake_worst": "2"}, "retake_worst: got '2'"),
    ({"budget": 5.0}, "budget: got 5.0 without retake_worst"),
    ({"retake_worst": 1, "budget": -2}, "budget: got -2, expected US dollars"),
    ({"retake_worst": 1, "budget": float("nan")}, "budget: got nan"),
    ({"retake_worst": 1, "locked": True}, "cannot retake with locked=True"),
])
def test_retake_arguments_are_checked_at_the_door(tmp_path, kwargs, message):
    import songreel

    with pytest.raises(songreel.InputError) as e:
        songreel.render(tmp_path / "none.yaml", tmp_path / "o.mp4", **kwargs)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.slow  # tiny random-weight diffusers pipeline: 9 clips, a retake and an assembly
def test_tiny_diffusers_render_scores_and_retakes(song_120, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    torch.set_num_threads(1)
    import songreel
    from songreel.generate.tiny_models import save_tiny
    from songreel.schema.lock import lock_path, read_lock

    save_tiny("ltx", tmp_path / "film" / "models" / "ltx")
    backend = "{name: diffusers, model: models/ltx, steps: 2, width: 32, height: 32, max_frames: 49}"
    body = (f"bpm: 120\nbackend: {backend}\nshots:\n  - prompt: a red car at night\n    length: 2 bars\n"
            "  - prompt: a woman in the rain\n    length: 2 bars\n  - prompt: snow mountains\n")
    sb = _film(tmp_path, song_120, body)
    flag_take_zero_of(3, monkeypatch)
    res = songreel.render(sb, tmp_path / "out.mp4", retake_worst=1)
    cards = res.report["qa"]["shots"]
    assert len(cards) == 3 and all(0 <= c["score"] <= 1 for c in cards)
    assert cards[2]["measures"]["seam_jump"] is not None  # the long shot is a chain: its seams are measured
    (row,) = res.report["retake"]["shots"]
    assert row["shot"] == 3 and row["before"]["score"] == 0.1
    assert (row["kept"] == "new") == (row["after"]["score"] > 0.1)
    entry = read_lock(lock_path(sb)).shots[2]
    assert entry.takes == 2 and entry.picked == (row["kept"] == "new")


def test_infinite_zoom_levels_are_scored_as_pictures_not_a_chain(song_120, tmp_path):
    import songreel

    body = ("bpm: 120\nlook: infinite-zoom\nshots:\n  - prompt: a city\n    length: 2 bars\n"
            "  - prompt: a street\n    length: 2 bars\n  - prompt: a window\n")
    res = songreel.render(_film(tmp_path, song_120, body), tmp_path / "z.mp4", retake_worst=1)
    qa = res.report["qa"]
    assert len(qa["shots"]) == 3 and qa["worst"] == []
    for s in qa["shots"]:
        m = s["measures"]
        assert m["zoom_level"] >= 0 and m["seam_jump"] is None and m["drift_luma"] is None
        assert m["still_fraction"] is None and m["black_fraction"] == 0.0
    assert res.report["retake"]["shots"] == []
