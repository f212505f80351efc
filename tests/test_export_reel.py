"""End to end: a demo-like render through songreel.reel, exported as a timeline and a contact sheet."""

from __future__ import annotations

import numpy as np
import pytest

from songreel import reel

otio = pytest.importorskip("opentimelineio")
from songreel.export.timeline import media_path, read_timeline, write_timeline  # noqa: E402


def check_handles(tl) -> int:
    """Every transition on V1 uses media its neighbours have (no negative source time, nothing past a
    clip's available range); returns how many there are."""
    v1 = list(tl.video_tracks()[0])
    n = 0
    for k, t in enumerate(v1):
        if not isinstance(t, otio.schema.Transition):
            continue
        n += 1
        before, after = v1[k - 1], v1[k + 1]
        assert t.in_offset.value >= 0 and t.out_offset.value >= 0
        head = after.source_range.start_time - t.in_offset
        assert head.value >= 0, (t.name, head)
        tail_end = before.source_range.end_time_exclusive() + t.out_offset
        for item, need_from, need_to in ((after, head, None), (before, None, tail_end)):
            ref = getattr(item, "media_reference", None)
            avail = ref.available_range if ref is not None else None
            if avail is None and isinstance(item, otio.schema.Stack):
                avail = otio.opentime.TimeRange(duration=item[0].duration())
            if avail is None:
                continue
            if need_from is not None:
                assert need_from >= avail.start_time, (t.name, need_from, avail)
            if need_to is not None:
                assert need_to.to_seconds() <= avail.end_time_exclusive().to_seconds() + 1e-6, (t.name, need_to, avail)
    return n


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
    planned = [s for s in plan.shots if s.transition and s.transition.frames and
               s.transition.kind not in ("cut", "dip", "dip-white")]
    trs = [t for t in tl.video_tracks()[0] if isinstance(t, otio.schema.Transition)]
    assert [(t.in_offset.value, t.out_offset.value) for t in trs] == [
        (s.end - s.transition.start, s.transition.end - s.end) for s in planned]
    for c in tl.find_clips():
        assert media_path(tmp_path / "film.otio", c.media_reference.target_url).is_file()
    inside = [f for f in plan.beat_frames if 0 <= f < plan.total_frames]
    kinds = [m.metadata["songreel"]["kind"] for m in tl.tracks.markers]
    assert kinds.count("beat") + kinds.count("bar") == len(inside)
    assert kinds.count("bar") == sum(1 for d in plan.downbeat_beats if 0 <= plan.beat_frames[d] < plan.total_frames)

    assert {s.transition.kind for s in plan.shots if s.transition} >= {"crossfade", "dip"}
    dips = [m for m in tl.video_tracks()[0].markers if m.metadata["songreel"]["kind"] == "dip"]
    assert len(dips) == sum(1 for s in plan.shots if s.transition and s.transition.kind == "dip")
    check_handles(tl)

    # the demo exports to every format, and each reads back through OTIO's own adapters with every
    # transition inside the media it has
    adapters = {a.name for a in otio.plugins.ActiveManifest().adapters}
    for suffix, adapter, kwargs in ((".otio", "otio_json", {}), (".xml", "fcp_xml", {}),
                                    (".edl", "cmx_3600", {"rate": rate})):
        if adapter not in adapters:
            continue
        out = tmp_path / f"again{suffix}"
        write_timeline(res.edit, out)
        back = otio.adapters.read_from_file(str(out), adapter_name=adapter, **kwargs)
        assert back.duration().to_frames() == plan.total_frames, suffix
        assert check_handles(back) == len(planned), suffix

    sheet = contact_sheet(res.edit, tmp_path / "sheet.png", thumb_width=128)
    with Image.open(sheet.path) as im:
        px = np.asarray(im.convert("RGB")).astype(float)
    for i in (0, len(plan.shots) - 1):
        x0, y0, x1, y1 = sheet.boxes[i]
        _, frame = middle_frame(res.edit, i)
        assert np.abs(px[y0:y1, x0:x1].mean((0, 1)) - frame.reshape(-1, 3).mean(0)).max() < 8
