"""End to end: a demo-like render through songreel.reel, exported as a timeline and a contact sheet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

otio = pytest.importorskip("opentimelineio")
reel = pytest.importorskip("songreel.reel")
pytest.importorskip("librosa")

from songreel.export.timeline import media_path, read_timeline, summarize, write_timeline  # noqa: E402


def test_demo_render_with_otio(tmp_path):
    from PIL import Image

    from songreel.demo import write_demo
    from songreel.export.contact_sheet import contact_sheet, middle_frame

    sb = write_demo(tmp_path, width=128, height=72)
    res = reel.render(sb, tmp_path / "film.mp4", otio=tmp_path / "film.otio")
    plan = res.edit.plan
    rate = float(plan.fps)
    RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange

    tl = read_timeline(tmp_path / "film.otio")
    assert tl.duration() == RT(plan.total_frames, rate)
    items = [c for c in tl.video_tracks()[0] if isinstance(c, (otio.schema.Clip, otio.schema.Stack))]
    assert len(items) == len(plan.shots)
    for item, shot in zip(items, plan.shots):
        assert item.range_in_parent() == TR(RT(shot.start, rate), RT(shot.frames, rate))
        assert item.metadata["songreel"]["prompt"] == shot.prompt
    planned = [s for s in plan.shots if s.transition and s.transition.frames and s.transition.kind != "cut"]
    trs = [t for t in tl.video_tracks()[0] if isinstance(t, otio.schema.Transition)]
    assert [(t.in_offset.value, t.out_offset.value) for t in trs] == [
        (s.end - s.transition.start, s.transition.end - s.end) for s in planned]
    for c in tl.find_clips():
        assert media_path(tmp_path / "film.otio", c.media_reference.target_url).is_file()
    inside = [f for f in plan.beat_frames if 0 <= f < plan.total_frames]
    kinds = [m.metadata["songreel"]["kind"] for m in tl.tracks.markers]
    assert kinds.count("beat") + kinds.count("bar") == len(inside)
    assert kinds.count("bar") == sum(1 for d in plan.downbeat_beats if 0 <= plan.beat_frames[d] < plan.total_frames)

    if "fcp_xml" in {a.name for a in otio.plugins.ActiveManifest().adapters}:
        write_timeline(res.edit, tmp_path / "film.xml")
        assert summarize(read_timeline(tmp_path / "film.xml")).frames == plan.total_frames

    sheet = contact_sheet(res.edit, tmp_path / "sheet.png", thumb_width=128)
    with Image.open(sheet.path) as im:
        px = np.asarray(im.convert("RGB")).astype(float)
    for i in (0, len(plan.shots) - 1):
        x0, y0, x1, y1 = sheet.boxes[i]
        _, frame = middle_frame(res.edit, i)
        assert np.abs(px[y0:y1, x0:x1].mean((0, 1)) - frame.reshape(-1, 3).mean(0)).max() < 8
