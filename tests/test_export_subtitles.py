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


def test_a_line_without_an_end_leaves_before_an_instrumental(tmp_path):
    """LRC gives no end: a line stays until the next one, for HOLD seconds at most."""
    from songreel.export.subtitles import HOLD

    p = tmp_path / "song.lrc"
    p.write_text("[00:01.00]sung\n[00:03.00]before the solo\n[00:30.00]after the solo\n[00:33.00]ended\n"
                 "[00:34.50]\n", encoding="utf-8")
    fps = Fraction(24)
    cues = lyric_cues(load_lyrics(p), fps=fps, total_frames=40 * 24)
    assert [(c.text, c.start_frame, c.end_frame) for c in cues] == [
        ("sung", 24, 72),                                   # up to the next line
        ("before the solo", 72, 72 + round(HOLD * 24)),     # not through the 27 s instrumental
        ("after the solo", 720, 792),
        ("ended", 792, 828)]                                # the empty time tag ends it
    text = srt_text(cues, fps=fps)
    assert "00:00:03,000 --> 00:00:08,000\nbefore the solo" in text
    assert HOLD == 5.0


def test_burned_in_lyrics_stay_clear_of_the_animatic_caption(tmp_path):
    from songreel.schema.analysis import Analysis
    from songreel.generate.animatic import AnimaticBackend
    from songreel.generate.base import ProjectInfo
    from songreel.ingest.storyboard import load_storyboard
    from songreel.plan.planner import make_plan
    from songreel.schema.clip import GenerationRequest
    from songreel.schema.storyboard import BackendSpec

    w, h, fps = 320, 180, Fraction(24)
    frames = {}
    for caption in (True, False):
        be = AnimaticBackend(BackendSpec(name="animatic", options={"caption": caption}),
                             project=ProjectInfo(w, h, fps, tmp_path, tmp_path / ".songreel"))
        req = GenerationRequest(backend="animatic", model="animatic", version="1", prompt="a long prompt " * 8,
                                negative="", seed=3, frames=2, fps=fps, width=w, height=h,
                                context={"caption": "shot 1", "position": "1.1", "section": "verse"})
        res = be.generate(req, tmp_path / f"{caption}.mp4")
        frames[caption] = np.asarray(res.tail_frames)[-1]
    caption_rows = set(np.nonzero((np.abs(frames[True].astype(int) - frames[False]) > 8).any(axis=(1, 2)))[0])
    assert caption_rows and min(caption_rows) > h // 2          # the caption strip is at the bottom

    beats = tuple(0.25 + 0.5 * k for k in range(20))
    a = Analysis(duration=10.0, tempo=120.0, meter=4, beats=beats, downbeats=beats[::4], sections=())
    lines = (LyricLine(0.5, 4.0, "words that must stay readable", 1),)
    for backend, clear in (("animatic", True), ("{name: animatic, caption: false}", False), ("footage", False)):
        sb_path = tmp_path / "sb.yaml"
        shot = "clip: x.mp4" if backend == "footage" else "prompt: x"
        sb_path.write_text(f"songreel: 1\nsong: s.wav\nvideo: {{width: {w}, height: {h}}}\n"
                           f"backend: {backend if backend != 'footage' else 'animatic'}\nshots:\n  - {shot}\n")
        plan = make_plan(load_storyboard(sb_path), a)
        burn = LyricBurnIn.for_plan(lines, plan)
        out = burn.apply(frames[True], 1.0)
        lyric_rows = set(np.nonzero((out != frames[True]).any(axis=(1, 2)))[0])
        assert lyric_rows, backend
        assert burn.position == ("top" if clear else "bottom"), backend
        if clear:
            assert not lyric_rows & caption_rows, backend
    # placed at the bottom over a caption, they would overlap: what the placement avoids
    bottom = LyricBurnIn.from_lyrics(lines, fps=fps, position="bottom").apply(frames[True], 1.0)
    assert set(np.nonzero((bottom != frames[True]).any(axis=(1, 2)))[0]) & caption_rows
