from fractions import Fraction

import pytest

from songreel.timebase import format_time, frames_in, parse_fps, parse_time, seconds_to_frame


@pytest.mark.parametrize("text,want", [
    (24, Fraction(24)), ("23.976", Fraction(24000, 1001)), (29.97, Fraction(30000, 1001)),
    ("30000/1001", Fraction(30000, 1001)), ("59.94", Fraction(60000, 1001)), (25.0, Fraction(25)),
])
def test_parse_fps_is_exact(text, want):
    assert parse_fps(text) == want


@pytest.mark.parametrize("bad", [0, -24, "fast", True, 1000])
def test_parse_fps_rejects(bad):
    with pytest.raises(ValueError, match="frame rate"):
        parse_fps(bad)


def test_frames_in_rounds_song_length():
    # 60 s at 23.976 = 1438.56 frames -> 1439
    assert frames_in(60.0, Fraction(24000, 1001)) == 1439
    assert frames_in(52.5, Fraction(24)) == 1260


def test_seconds_to_frame_nearest_and_exact_for_decimals():
    fps = Fraction(24)
    assert seconds_to_frame(0.5, fps) == 12
    assert seconds_to_frame(0.52, fps) == 12        # 12.48
    assert seconds_to_frame(0.53, fps) == 13        # 12.72
    assert seconds_to_frame(Fraction(1, 48), fps) == 1  # exactly half a frame rounds up


def test_parse_time_and_format():
    assert parse_time("1:02.5") == Fraction(125, 2)
    assert parse_time("62.5s") == Fraction(125, 2)
    assert parse_time("0:01:02.5") == Fraction(125, 2)
    assert format_time(62.5) == "1:02.50"
    with pytest.raises(ValueError, match="1:02.5"):
        parse_time("soon")
