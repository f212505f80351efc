"""Timeline export (OTIO / FCP7 XML / EDL), reading real timelines, and the contact sheet.

The edit is built by hand: solid-colour MP4 clips written with PyAV and a Plan made from the
dataclasses, so these tests depend on neither the planner nor the generators.
"""

from __future__ import annotations

import json
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

otio = pytest.importorskip("opentimelineio")

from songreel.errors import InputError, MissingExtraError, MissingFileError, OutputError  # noqa: E402
from songreel.export import timeline as tlmod  # noqa: E402
from songreel.export import timeline_files as tlmod_files  # noqa: E402
from songreel.export.timeline import (  # noqa: E402
    edit_to_otio, media_path, read_timeline, summarize, write_timeline)
from songreel.schema.clip import ClipRef  # noqa: E402
from songreel.schema.edit import Edit  # noqa: E402
from songreel.schema.plan import PlannedShot, PlannedTransition, Plan, Segment  # noqa: E402
from songreel.schema.storyboard import BackendSpec, ShotSpec  # noqa: E402
from songreel.timebase import frames_in  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "otio"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"the shared real timelines ({DATA}) are absent")
SONG_SECONDS = 10
W, H = 64, 36

COLOURS = [(220, 40, 40), (40, 200, 60), (40, 60, 220), (230, 200, 30), (200, 40, 200), (30, 200, 210),
           (250, 140, 20)]


def has_adapter(name: str) -> bool:
    return name in {a.name for a in otio.plugins.ActiveManifest().adapters}


# ---------------------------------------------------------------------------------------------------
# fixture: a hand-built edit


def write_clip(path: Path, frames: int, fps: Fraction, colour) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "10"}
        img = np.empty((H, W, 3), np.uint8)
        img[:] = colour
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            f.time_base = 1 / Fraction(fps)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def write_song(path: Path, seconds: float, rate: int = 8000) -> Path:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    x = (0.2 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())
    return path


# (name, start, end, head, tail, transition (kind, start, frames) into the next, segment splits, clip fps)
SHOTS = [
    ("Opening", 0, 42, 0, 4, ("crossfade", 38, 8), (), None),
    ("Walk", 42, 90, 4, 0, ("cut", 90, 0), (64,), (None, Fraction(16))),
    ("Dance", 90, 138, 0, 0, ("dip", 132, 6), (), None),
    ("Rain 🌧️ مطر שלום", 138, 186, 6, 6, ("crossfade", 180, 12), (), None),
    ("End", 186, 240, 6, 0, None, (), None),
]


def build_edit(root: Path, fps: Fraction) -> Edit:
    root.mkdir(parents=True, exist_ok=True)
    total = frames_in(SONG_SECONDS, fps)
    assert total == 240
    beat_frames = tuple(range(-6, 270, 12))              # beats past both ends, as the planner keeps them
    downbeat_beats = tuple(range(2, len(beat_frames), 4))  # beat at frame 6 is a pickup (bar 0)
    shots, clips, colour = [], [], 0
    for i, (name, a, b, head, tail, tr, splits, clip_fps) in enumerate(SHOTS):
        edges = [a - head, *splits, b + tail]
        segs = tuple(Segment(j, edges[j], edges[j + 1] - edges[j]) for j in range(len(edges) - 1))
        refs = []
        for j, g in enumerate(segs):
            cf = (clip_fps[j] if clip_fps else None) or fps
            n = -(-g.frames * cf.numerator * fps.denominator // (cf.denominator * fps.numerator))  # ceil
            p = write_clip(root / f"clip{i}_{j}.mp4", n, cf, COLOURS[colour % len(COLOURS)])
            refs.append(ClipRef(key=f"key{i}{j}" * 4, path=p, frames=n, fps=cf, width=W, height=H,
                                provenance={"model": "animatic-v1"}))
            colour += 1
        transition = None if tr is None else PlannedTransition(tr[0], tr[1], tr[2], b)
        shots.append(PlannedShot(
            index=i, name=name, spec=ShotSpec(prompt=f"prompt {i}"), prompt=f"shot {i}: {name}, golden hour",
            negative="", seed=100 + i, backend=BackendSpec(name="animatic"), start=a, end=b, head=head,
            tail=tail, transition=transition, segments=segs, position=f"{1 + a // 48}.1",
            section="verse"))
        clips.append(tuple(refs))
    plan = Plan(title="Test film", fps=fps, width=W, height=H, duration=float(SONG_SECONDS), total_frames=total,
                tempo=120.0, meter=4, beat_frames=beat_frames, downbeat_beats=downbeat_beats,
                sections=(("intro", 0, 66), ("verse", 66, 162), ("chorus", 162, total)), shots=tuple(shots))
    song = write_song(root / "song.wav", SONG_SECONDS)
    return Edit(plan=plan, song=song, clips=tuple(clips))


@pytest.fixture(scope="module")
def edits(tmp_path_factory):
    root = tmp_path_factory.mktemp("edit")
    return {fps: build_edit(root / str(fps).replace("/", "_"), fps) for fps in (Fraction(24), Fraction(24000, 1001))}


FPS = [Fraction(24), Fraction(24000, 1001)]


def expected_beats(plan):
    inside = [i for i, f in enumerate(plan.beat_frames) if 0 <= f < plan.total_frames]
    bars = [i for i in inside if i in plan.downbeat_beats]
    return inside, bars


# ---------------------------------------------------------------------------------------------------
# OTIO


def v1_items(tl):
    v1 = tl.video_tracks()[0]
    return [c for c in v1 if isinstance(c, (otio.schema.Clip, otio.schema.Stack))]


@pytest.mark.parametrize("fps", FPS, ids=["24", "23.976"])
def test_otio_export_reads_back_exactly(edits, tmp_path, fps):
    edit = edits[fps]
    plan = edit.plan
    rate = float(fps)
    out = tmp_path / "film.otio"
    res = write_timeline(edit, out, media="copy")
    assert res.path == out and out.is_file()
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]   # atomic: no temp left behind

    text = out.read_text()
    assert '"Marker.2"' in text and "Marker.3" not in text
    assert json.loads(text)["OTIO_SCHEMA"] == "Timeline.1"

    tl = read_timeline(out)
    RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange
    assert tl.duration() == RT(plan.total_frames, rate)
    assert tl.duration().rate == pytest.approx(rate)
    assert tl.metadata["songreel"]["fps"] == str(fps)

    # one item per shot on V1, each exactly on its planned frames
    items = v1_items(tl)
    assert len(items) == len(plan.shots)
    for item, shot, clips in zip(items, plan.shots, edit.clips):
        assert item.range_in_parent() == TR(RT(shot.start, rate), RT(shot.frames, rate))
        assert item.source_range == TR(RT(shot.start - shot.segments[0].start, rate), RT(shot.frames, rate))
        md = item.metadata["songreel"]
        assert (md["prompt"], md["seed"], md["backend"], md["model"]) == (shot.prompt, shot.seed, "animatic",
                                                                          "animatic-v1")
        assert list(md["keys"]) == [c.key for c in clips]
        assert md["name"] == shot.name
        if len(clips) == 1:
            assert isinstance(item, otio.schema.Clip)
        else:   # a chained shot: nested stack, one clip per segment on its own frames
            assert isinstance(item, otio.schema.Stack)
            inner = list(item[0])
            assert len(inner) == len(shot.segments)
            for c, g in zip(inner, shot.segments):
                assert c.range_in_parent() == TR(RT(g.start - shot.render_start, rate), RT(g.frames, rate))
    # single-segment shots, plus the song: one clip per shot at the top of V1
    top_clips = [c for c in tl.video_tracks()[0] if isinstance(c, otio.schema.Clip)]
    assert len(top_clips) == sum(1 for c in edit.clips if len(c) == 1)

    # dissolves where planned, with offsets from the planned frames; the dip is a cut plus a marker
    trs = [t for t in tl.video_tracks()[0] if isinstance(t, otio.schema.Transition)]
    planned = [s for s in plan.shots if s.transition and s.transition.kind not in ("cut", "dip")]
    assert len(trs) == len(planned) == 2
    dips = list(tl.video_tracks()[0].markers)
    assert [(m.name, m.marked_range, m.color, m.metadata["songreel"]["colour"]) for m in dips] == [
        ("dip to black", TR(RT(132, rate), RT(6, rate)), otio.schema.MarkerColor.BLACK, "black")]
    assert items[2].range_in_parent().end_time_exclusive() == RT(138, rate) == \
        items[3].range_in_parent().start_time
    for t, s in zip(trs, planned):
        assert t.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
        assert t.in_offset == RT(s.end - s.transition.start, rate)
        assert t.out_offset == RT(s.transition.end - s.end, rate)
        assert t.metadata["songreel"]["kind"] == s.transition.kind
        # the handles hold the media the transition needs
        assert t.in_offset.value <= plan.shots[s.index + 1].head
        assert t.out_offset.value <= s.tail
        assert t.range_in_parent().start_time == RT(s.transition.start, rate)
        assert "fitted" not in t.metadata["songreel"]

    # markers: one per beat inside the song, bars on downbeats, sections by label
    inside, bars = expected_beats(plan)
    ms = list(tl.tracks.markers)
    beat_like = [m for m in ms if m.metadata["songreel"]["kind"] in ("beat", "bar")]
    assert len(beat_like) == len(inside)
    assert sorted(m.marked_range.start_time for m in beat_like) == [RT(plan.beat_frames[i], rate) for i in inside]
    bar_ms = [m for m in ms if m.color == otio.schema.MarkerColor.YELLOW]
    assert [m.name for m in bar_ms] == [f"bar {n + 1}" for n in range(len(bars))]
    assert [m.marked_range.start_time for m in bar_ms] == [RT(plan.beat_frames[i], rate) for i in bars]
    assert all(m.marked_range.duration.value == 0 for m in beat_like)
    assert {m.color for m in beat_like} == {otio.schema.MarkerColor.GREEN, otio.schema.MarkerColor.YELLOW}
    first = min(beat_like, key=lambda m: m.marked_range.start_time)
    assert first.name == "0.4"   # the pickup beat before bar 1
    sec = [m for m in ms if m.color == otio.schema.MarkerColor.PURPLE]
    assert [(m.name, m.marked_range) for m in sec] == [
        (lab, TR(RT(a, rate), RT(b - a, rate))) for lab, a, b in plan.sections]

    # media: relative references that resolve from the .otio's folder, same bytes as the sources
    refs = [c.media_reference for c in tl.find_clips()]
    assert len(refs) == sum(len(c) for c in edit.clips) + 1
    for ref in refs:
        assert not ref.target_url.startswith(("/", "file:"))
        assert ref.target_url.startswith("film_media/")
        assert media_path(out, ref.target_url).is_file()
    song = tl.audio_tracks()[0][0]
    assert media_path(out, song.media_reference.target_url).read_bytes() == edit.song.read_bytes()
    assert song.source_range == TR(RT(0, rate), RT(plan.total_frames, rate))
    # available_range comes from the clip file, at the clip's own rate
    walk2 = items[1][0][1].media_reference
    assert walk2.available_range == TR(RT(0, 16), RT(edit.clips[1][1].frames, 16))

    s = summarize(tl)
    assert (s.clips, s.frames, s.transitions, s.video_tracks, s.audio_tracks) == (
        len(refs), plan.total_frames, 2, 1, 1)


def test_link_and_absolute_media(edits, tmp_path):
    edit = edits[Fraction(24)]
    write_timeline(edit, tmp_path / "a.otio", media="link")
    linked = tmp_path / "a_media" / "song.wav"
    assert linked.stat().st_ino == edit.song.stat().st_ino or linked.read_bytes() == edit.song.read_bytes()
    write_timeline(edit, tmp_path / "b.otio", media="absolute")
    assert not (tmp_path / "b_media").exists()
    tl = read_timeline(tmp_path / "b.otio")
    for c in tl.find_clips():
        assert c.media_reference.target_url.startswith("file:///")
        assert media_path(tmp_path / "b.otio", c.media_reference.target_url).is_file()
    # twice in a row is fine (media already there)
    write_timeline(edit, tmp_path / "a.otio", media="link")


def test_split_segments_and_pure_builder(edits):
    edit = edits[Fraction(24)]
    tl = edit_to_otio(edit, segments="split", markers=False)
    clips = [c for c in tl.video_tracks()[0] if isinstance(c, otio.schema.Clip)]
    assert len(clips) == sum(len(c) for c in edit.clips)
    walk = [c for c in clips if c.metadata["songreel"]["shot"] == 2]
    assert [c.range_in_parent().start_time.value for c in walk] == [42, 64]
    assert sum(c.duration().value for c in walk) == 48
    assert tl.duration().value == 240 and not tl.tracks.markers
    with pytest.raises(InputError, match="segments"):
        edit_to_otio(edit, segments="flat")
    # offline edit: no media references, the original paths kept in metadata
    off = edit_to_otio(edit, link=False)
    refs = [c.media_reference for c in off.find_clips()]
    assert all(isinstance(r, otio.schema.MissingReference) for r in refs)
    assert refs[0].metadata["songreel"]["key"] == edit.clips[0][0].key
    assert refs[0].metadata["songreel"]["path"] == str(edit.clips[0][0].path)
    with pytest.raises(InputError, match=r"edit.clips: got 4 shots of clips, expected one per planned shot \(5\)"):
        edit_to_otio(edit.with_(clips=edit.clips[:4]))


def test_write_errors(edits, tmp_path, monkeypatch):
    edit = edits[Fraction(24)]
    with pytest.raises(InputError, match=r"\.mov.*expected \.otio"):
        write_timeline(edit, tmp_path / "x.mov")
    with pytest.raises(InputError, match="media: got 'move'"):
        write_timeline(edit, tmp_path / "x.otio", media="move")
    monkeypatch.setitem(tlmod.FORMATS, ".edl", ("no_such_adapter", "otio-cmx3600-adapter", "CMX3600 EDL"))
    with pytest.raises(MissingExtraError, match=r"otio-cmx3600-adapter.*pip install 'songreel\[otio\]'"):
        write_timeline(edit, tmp_path / "x.edl")
    bad = edit.with_(song=tmp_path / "nope.wav")
    with pytest.raises(MissingFileError, match="nope.wav"):
        write_timeline(bad, tmp_path / "y.otio")


@pytest.mark.skipif(not has_adapter("fcp_xml"), reason="otio-fcp-adapter not installed")
@pytest.mark.parametrize("fps", FPS, ids=["24", "23.976"])
def test_fcp7_xml_round_trip(edits, tmp_path, fps):
    edit = edits[fps]
    plan = edit.plan
    out = tmp_path / "film.xml"
    write_timeline(edit, out)
    assert out.read_text().lstrip().startswith("<?xml")
    tl = read_timeline(out)
    rate = float(fps)
    assert tl.duration().to_frames() == plan.total_frames
    assert tl.duration().rate == pytest.approx(rate, abs=1e-3)
    # split into one clip per segment (default for XML): the pieces of each shot tile its frames
    items = v1_items(tl)
    assert len(items) == sum(len(c) for c in edit.clips)
    for shot in plan.shots:
        mine = [i.range_in_parent() for i in items if i.name.startswith(f"{shot.index + 1:02d} ")]
        assert [(r.start_time.to_frames(), r.end_time_exclusive().to_frames()) for r in mine] == \
            [(max(g.start, shot.start), min(g.end, shot.end)) for g in shot.segments]
    names = [i.name for i in items]
    assert "04 Rain 🌧️ مطر שלום" in names and "02 Walk · 2/2" in names
    assert len(tl.tracks.markers) == len(expected_beats(plan)[0]) + len(plan.sections)
    trs = [t for t in tl.video_tracks()[0] if isinstance(t, otio.schema.Transition)]
    assert [(t.in_offset.to_frames(), t.out_offset.to_frames()) for t in trs] == [(4, 4), (6, 6)]
    assert len(tl.audio_tracks()) >= 1
    for c in tl.find_clips():
        ref = c.media_reference
        if isinstance(ref, otio.schema.ExternalReference):
            assert media_path(out, ref.target_url).is_file(), ref.target_url


@pytest.mark.skipif(not has_adapter("cmx_3600"), reason="otio-cmx3600-adapter not installed")
@pytest.mark.parametrize("fps", FPS, ids=["24", "23.976"])
def test_edl_round_trip(edits, tmp_path, fps):
    edit = edits[fps]
    plan = edit.plan
    out = tmp_path / "film.edl"
    write_timeline(edit, out)
    tl = read_timeline(out, rate=float(fps))
    v1 = tl.video_tracks()[0]
    clips = [c for c in v1 if isinstance(c, otio.schema.Clip)]
    assert len(clips) == sum(len(c) for c in edit.clips)   # EDL cannot nest: one event per segment
    assert tl.duration().to_frames() == plan.total_frames
    # CMX3600 dissolves start at the record frame where the planned transition starts and last its frames
    trs = [t for t in v1 if isinstance(t, otio.schema.Transition)]
    planned = [s.transition for s in plan.shots if s.transition and s.transition.kind not in ("cut", "dip")]
    assert [(t.range_in_parent().start_time.to_frames(), t.range_in_parent().duration.to_frames())
            for t in trs] == [(p.start, p.frames) for p in planned]
    # the incoming clip's media is aligned: its source frame 0 sits at its segment's first frame
    starts = sorted(c.range_in_parent().start_time.to_frames() for c in clips)
    hard = [s.start for s in plan.shots[1:] if plan.shots[s.index - 1].transition is None or
            plan.shots[s.index - 1].transition.kind in ("cut", "dip")]
    cuts = sorted({0} | set(hard) | {p.start for p in planned} | {g.start for s in plan.shots for g in s.segments[1:]})
    assert starts == cuts
    text = out.read_text()
    assert "film_media/shot002-walk-part2.mp4" in text


# ---------------------------------------------------------------------------------------------------
# real timelines from other tools


@needs_data
def test_real_otio_v0181_files():
    p = read_timeline(DATA / "otio" / "v0.18.1" / "premiere_example.otio")
    s = summarize(p)
    assert (s.clips, round(s.duration, 2)) == (13, 42.37)
    s = summarize(read_timeline(DATA / "otio" / "v0.18.1" / "screening_example.otio"))
    assert (s.clips, round(s.duration, 2)) == (9, 43.71)


@needs_data
@pytest.mark.parametrize("name", ["premiere_example.otio", "screening_example.otio"])
def test_marker3_files_give_one_line_error(name):
    with pytest.raises(InputError) as e:
        read_timeline(DATA / "otio" / name)
    msg = str(e.value)
    assert "\n" not in msg and name in msg and "Marker.3" in msg and "Marker.2" in msg


@needs_data
@pytest.mark.parametrize("name,clips", [("simple_cut.otio", 4), ("transition_test.otio", 3),
                                        ("nested_example.otio", 7), ("multitrack.otio", 5)])
def test_other_real_otio(name, clips):
    assert summarize(read_timeline(DATA / "otio" / name)).clips == clips


@needs_data
@pytest.mark.skipif(not has_adapter("fcp_xml"), reason="otio-fcp-adapter not installed")
def test_real_fcp7_xml():
    s = summarize(read_timeline(DATA / "fcp7xml" / "premiere_example.xml"))
    assert (s.clips, round(s.duration, 2)) == (13, 42.37)


@needs_data
@pytest.mark.skipif(not has_adapter("cmx_3600"), reason="otio-cmx3600-adapter not installed")
def test_real_edl():
    s = summarize(read_timeline(DATA / "edl" / "screening_example.edl"))
    assert (s.clips, round(s.duration, 2)) == (9, 43.71)
    s = summarize(read_timeline(DATA / "edl" / "25fps.edl", rate=25))
    assert s.rate == 25 and s.clips == 4


def test_read_errors(tmp_path):
    with pytest.raises(MissingFileError, match="missing.otio"):
        read_timeline(tmp_path / "missing.otio")
    bad = tmp_path / "bad.otio"
    bad.write_text("{not json")
    with pytest.raises(InputError) as e:
        read_timeline(bad)
    assert "bad.otio" in str(e.value) and "\n" not in str(e.value)
    other = tmp_path / "x.fcpxml"
    other.write_text("<fcpxml/>")
    with pytest.raises(InputError, match="expected .otio"):
        read_timeline(other)


# ---------------------------------------------------------------------------------------------------
# contact sheet


def test_contact_sheet(edits, tmp_path):
    from PIL import Image

    from songreel.export.contact_sheet import contact_sheet, middle_frame

    edit = edits[Fraction(24000, 1001)]
    plan = edit.plan
    out = tmp_path / "sheet.png"
    sheet = contact_sheet(edit, out, thumb_width=160, columns=3)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == sheet.size
        px = np.asarray(im.convert("RGB")).astype(float)
    assert sheet.size[0] == 2 * 20 + 3 * 160 + 2 * 14
    assert len(sheet.boxes) == len(plan.shots)
    # boxes in story order: left to right, then down
    assert [b[:2] for b in sheet.boxes] == sorted((b[:2] for b in sheet.boxes), key=lambda p: (p[1], p[0]))
    means = []
    for i, (x0, y0, x1, y1) in enumerate(sheet.boxes):
        assert (x1 - x0, y1 - y0) == (160, 90)
        mid, frame = middle_frame(edit, i)
        assert mid == sheet.frames[i] and plan.shots[i].start <= mid < plan.shots[i].end
        got = px[y0:y1, x0:x1].reshape(-1, 3).mean(0)
        assert np.abs(got - frame.reshape(-1, 3).mean(0)).max() < 6, i
        means.append(got)
    # shot 2 ("Walk") shows its second segment, the 16 fps clip: the middle frame is past the split
    assert sheet.frames[1] >= 64
    assert np.abs(means[1] - np.array(COLOURS[2])).max() < 12
    # the beat strip sits under the grid and is not blank
    sx0, sy0, sx1, sy1 = sheet.strip
    assert sy0 > max(b[3] for b in sheet.boxes) and sy1 <= sheet.size[1]
    assert px[sy0:sy1, sx0:sx1].std() > 20
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_decode_frame_seeks(tmp_path):
    from songreel.export.contact_sheet import decode_frame

    # a clip whose colour changes every frame: the decoded frame must be the one asked for
    path = tmp_path / "ramp.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "5", "g": "12"}
        for i in range(60):
            f = av.VideoFrame.from_ndarray(np.full((H, W, 3), i * 4, np.uint8), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 24)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    for i in (0, 7, 12, 13, 35, 59, 80):
        want = min(i, 59) * 4
        assert abs(decode_frame(path, i, Fraction(24)).mean() - want) < 3, i


def test_a_failed_export_leaves_nothing_behind(edits, tmp_path, monkeypatch):
    edit = edits[Fraction(24)]

    def refuse(*a, **k):
        raise ValueError("value cannot be negative here")

    monkeypatch.setattr(otio.adapters, "write_to_file", refuse)
    for name in ("film.xml", "new/folder/film.edl"):
        with pytest.raises(OutputError, match=r"adapter failed: ValueError: value cannot be negative here"):
            write_timeline(edit, tmp_path / name)
    assert list(tmp_path.iterdir()) == []          # no media folder, no temp file, no created folders

    # media placing fails halfway: what this call added goes, what was there stays
    keep = tmp_path / "film_media"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    real_place = tlmod_files.place
    calls = []

    def place_then_fail(src, dst, mode):
        calls.append(dst)
        if len(calls) == 3:
            raise OutputError(f"{dst}: cannot write media (disk full)")
        real_place(src, dst, mode)

    monkeypatch.setattr(tlmod_files, "place", place_then_fail)
    with pytest.raises(OutputError, match="disk full"):
        write_timeline(edit, tmp_path / "film.otio")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["film_media", "notes.txt"]
