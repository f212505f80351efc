"""The infinite-zoom look in an editor: the rendered film on V1 with shot markers, the song on A1."""

from __future__ import annotations

import pytest

from songreel import reel
from songreel.demo import write_demo
from songreel.errors import InputError


@pytest.fixture(scope="module")
def zoom_render(tmp_path_factory):
    d = tmp_path_factory.mktemp("zoomexport")
    sb = write_demo(d, width=160, height=90, look="infinite-zoom")
    res = reel.render(sb, d / "out.mp4", otio=d / "cut.otio")
    return d, sb, res


def test_render_otio_holds_the_film_and_the_song(zoom_render):
    from songreel.export.timeline import media_path, read_timeline

    d, sb, res = zoom_render
    tl = read_timeline(d / "cut.otio")
    plan = res.edit.plan
    v1, a1 = tl.tracks[0], tl.tracks[1]
    clips = list(v1.find_clips())
    assert len(clips) == 1
    film = clips[0]
    assert film.source_range.duration.to_frames() == plan.total_frames
    assert media_path(d / "cut.otio", film.media_reference.target_url).read_bytes() == res.video.read_bytes()
    assert [m.marked_range.start_time.to_frames() for m in v1.markers] == [s.start for s in plan.shots]
    assert list(a1.find_clips())[0].source_range.duration.to_frames() == plan.total_frames


def test_export_without_a_render_says_what_to_do(zoom_render, tmp_path):
    from songreel.export.timeline import write_timeline

    d, sb, res = zoom_render
    with pytest.raises(InputError, match="render it with `songreel render"):
        write_timeline(res.edit.with_(video=None), tmp_path / "x.otio")
