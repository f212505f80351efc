"""Subtitles (SRT / WebVTT) aligned to frames, and the lyric burn-in overlay."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest

from songreel.errors import InputError
from songreel.export.subtitles import (
    Cue, LyricBurnIn, frame_ms, lyric_cues, srt_text, vtt_text, write_srt, write_vtt)
from songreel.ingest.lyrics import LyricLine, load_lyrics

LINES = (LyricLine(0.52, 2.0, "first", 1), LyricLine(2.0, None, "second", 2),
         LyricLine(3.3, 3.31, "blink", 3), LyricLine(7.777, None, "last → مطر 🌧️", 4),
         LyricLine(30.0, None, "after the end", 5))
FPS = [Fraction(24), Fraction(24000, 1001), Fraction(30000, 1001), Fraction(25)]

_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d) --> (\d\d):(\d\d):(\d\d)[,.](\d\d\d)")


def parse_back(text):
    """(start_ms, end_ms, text) for each cue of an SRT or VTT."""
    out = []
    blocks = [b for b in text.strip().split("\n\n") if "-->" in b]
    for b in blocks:
        lines = b.split("\n")
        k = next(i for i, l in enumerate(lines) if "-->" in l)
        g = [int(x) for x in _TIME.match(lines[k]).groups()]
        a = ((g[0] * 60 + g[1]) * 60 + g[2]) * 1000 + g[3]
        e = ((g[4] * 60 + g[5]) * 60 + g[6]) * 1000 + g[7]
        out.append((a, e, "\n".join(lines[k + 1:])))
    return out


def first_frame_at_or_after(ms, fps):
    """The frame a player shows first for a cue starting at ``ms``: the first whose pts >= ms."""
    return math.ceil(Fraction(ms, 1000) * fps)


@pytest.mark.parametrize("fps", FPS, ids=str)
def test_cues_snap_to_frames(fps):
    total = round(10 * fps)
    cues = lyric_cues(LINES, fps=fps, total_frames=total, hold=2.0)
    assert [c.text for c in cues] == ["first", "second", "blink", "last → مطر 🌧️"]   # past the end: dropped
    assert cues[0].start_frame == round(Fraction("0.52") * fps)
    assert cues[0].end_frame == cues[1].start_frame == round(2 * fps)
    assert cues[1].end_frame == cues[2].start_frame        # an open line ends where the next begins
    assert cues[2].end_frame == cues[2].start_frame + 1    # at least one frame
    assert cues[3].end_frame == min(total, round(Fraction("9.777") * fps))
    assert [c.index for c in cues] == [1, 2, 3, 4]


@pytest.mark.parametrize("fps", FPS, ids=str)
@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_written_times_land_on_frames(tmp_path, fps, fmt):
    total = round(10 * fps)
    cues = lyric_cues(LINES, fps=fps, total_frames=total)
    path = tmp_path / f"lyrics.{fmt}"
    (write_srt if fmt == "srt" else write_vtt)(LINES, path, fps=fps, total_frames=total)
    text = path.read_text(encoding="utf-8")
    if fmt == "vtt":
        assert text.startswith("WEBVTT\n\n")
    back = parse_back(text)
    assert [t for *_, t in back] == [c.text for c in cues]
    for (a, e, _), c in zip(back, cues):
        # a player shows the cue from exactly its start frame to just before its end frame
        assert first_frame_at_or_after(a, fps) == c.start_frame
        assert first_frame_at_or_after(e, fps) == c.end_frame
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_srt_round_trips_through_the_reader(tmp_path):
    fps = Fraction(24000, 1001)
    p = write_srt(LINES, tmp_path / "l.srt", fps=fps, total_frames=240)
    again = load_lyrics(p)
    cues = lyric_cues(LINES, fps=fps, total_frames=240)
    assert [l.text for l in again] == [c.text for c in cues]
    assert [round(l.start * 1000) for l in again] == [frame_ms(c.start_frame, fps) for c in cues]


def test_frame_ms_and_escaping():
    assert frame_ms(1, Fraction(24000, 1001)) == 41          # 41.708 ms -> 41
    assert frame_ms(24000, Fraction(24000, 1001)) == 1001000
    assert "--&gt;" in vtt_text([Cue(1, 0, 24, "a --> b <c>")], fps=Fraction(24))
    assert srt_text([Cue(1, 24, 48, "x")], fps=Fraction(24)) == "1\n00:00:01,000 --> 00:00:02,000\nx\n"


def test_burn_in():
    fps = Fraction(24)
    burn = LyricBurnIn.from_lyrics(LINES, fps=fps, total_frames=240)
    frame = np.full((72, 128, 3), 40, np.uint8)
    assert burn.apply(frame, 0.1) is frame                 # nothing showing yet
    out = burn.apply(frame, Fraction(13, 24))              # frame 13 is in "first" (starts at 12.48 -> 12)
    assert out is not frame and out.shape == frame.shape and out.dtype == np.uint8
    assert (frame == 40).all()                             # input untouched
    changed = np.argwhere((out != 40).any(axis=2))
    assert len(changed) > 20
    assert changed[:, 0].min() > 72 // 2                   # drawn in the lower half
    assert out.max() > 200                                 # white text
    # RTL + emoji text renders without error; cached per cue
    last = burn.apply(frame, 8.0)
    assert (last != 40).any()
    assert burn.cue_at(round(8 * 24)).index == 4
    top = LyricBurnIn.from_lyrics(LINES, fps=fps, position="top").apply(frame, 1.0)
    assert np.argwhere((top != 40).any(axis=2))[:, 0].max() < 72 // 2
    with pytest.raises(InputError, match="expected \\(H, W, 3\\) uint8"):
        burn.apply(np.zeros((4, 4), np.uint8), 1.0)
    with pytest.raises(InputError, match="position"):
        LyricBurnIn([], fps, position="left")
