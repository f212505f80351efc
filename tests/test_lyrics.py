"""Timed lyrics: LRC / SRT parsing and lyric anchors."""

from __future__ import annotations

import pytest

from songreel.errors import InputError, MissingFileError, PlanError
from songreel.ingest.lyrics import LyricLine, load_lyrics, resolve_lyric_anchor
from songreel.schema.storyboard import parse_anchor

LRC = """\ufeff[ti:Test Song]
[ar:Someone]
[length: 03:20]
[by:me]

[00:01.00]First line
[00:03.50][00:20.25]Chorus, repeated!
[00:05.123]Third <00:05.50>with <00:06.00>word stamps
[00:08.00]
[00:12:50]I remember the summer
[01:02]Later on
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_lrc(tmp_path):
    lines = load_lyrics(write(tmp_path, "song.lrc", LRC))
    assert [(l.index, l.start, l.end, l.text) for l in lines] == [
        (1, 1.0, None, "First line"),                  # LRC gives no end: the subtitles hold it a while
        (2, 3.5, None, "Chorus, repeated!"),
        (3, 5.123, 8.0, "Third with word stamps"),     # ends at the empty time tag
        (4, 12.5, None, "I remember the summer"),
        (5, 20.25, None, "Chorus, repeated!"),         # the second time tag of the chorus line
        (6, 62.0, None, "Later on"),
    ]
    assert all(isinstance(l, LyricLine) for l in lines)


def test_lrc_offset(tmp_path):
    # LRC offset: positive milliseconds make the lyrics come earlier
    lines = load_lyrics(write(tmp_path, "o.lrc", "[offset:+500]\n[00:01.00]a\n[00:02.00]b\n"))
    assert [(l.start, l.end) for l in lines] == [(0.5, None), (1.5, None)]
    lines = load_lyrics(write(tmp_path, "o3.lrc", "[offset:+500]\n[00:01.00]a\n[00:02.00]\n"))
    assert [(l.start, l.end) for l in lines] == [(0.5, 1.5)]
    lines = load_lyrics(write(tmp_path, "o2.lrc", "[offset:-250]\n[00:01.00]a\n"))
    assert lines[0].start == 1.25


@pytest.mark.parametrize("text,line,match", [
    ("[00:01.00]ok\n[00:61.00]bad seconds\n", 2, "61 seconds"),
    ("[00:01.00]ok\njust words\n", 2, "without a time tag"),
    ("[00:01.00]ok\n[offset:soon]\n", 2, "milliseconds"),
    ("[00:01.00]ok\n\n[1.5]x\n", 3, r"expected a time \[mm:ss.xx\]"),
])
def test_lrc_errors_name_file_and_line(tmp_path, text, line, match):
    p = write(tmp_path, "bad.lrc", text)
    with pytest.raises(InputError, match=match) as e:
        load_lyrics(p)
    assert str(e.value).startswith(f"{p}:{line}: ") and "\n" not in str(e.value)


SRT = """1
00:00:01,000 --> 00:00:02,500
Hello <i>world</i>

2
00:00:03,000 --> 00:00:05,250 X1:0
Two lines
of text

3
00:01:00.5 --> 00:01:02,000
dot separator
"""


def test_srt(tmp_path):
    lines = load_lyrics(write(tmp_path, "s.srt", SRT.replace("\n", "\r\n")))
    assert [(l.index, l.start, l.end, l.text) for l in lines] == [
        (1, 1.0, 2.5, "Hello world"), (2, 3.0, 5.25, "Two lines\nof text"), (3, 60.5, 62.0, "dot separator")]


@pytest.mark.parametrize("text,line,match", [
    ("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\nno timing here\n", 6, "no timing line"),
    ("1\n00:00:01,000 -> 00:00:02,000\nx\n", 2, "no timing line"),
    ("1\n00:00:01,000 --> 00:00:02\nx\n", 2, "expected 'HH:MM:SS,mmm --> HH:MM:SS,mmm'"),
    ("1\n00:00:03,000 --> 00:00:02,000\nx\n", 2, "before it starts"),
    ("hello\n", 1, "expected a cue number"),
])
def test_srt_errors(tmp_path, text, line, match):
    p = write(tmp_path, "bad.srt", text)
    with pytest.raises(InputError, match=match) as e:
        load_lyrics(p)
    assert str(e.value).startswith(f"{p}:{line}: ")


def test_load_errors(tmp_path):
    with pytest.raises(MissingFileError, match="nope.lrc"):
        load_lyrics(tmp_path / "nope.lrc")
    with pytest.raises(InputError, match=r"expected \.lrc or \.srt"):
        load_lyrics(write(tmp_path, "x.txt", "hi"))
    p = tmp_path / "latin1.lrc"
    p.write_bytes(b"[00:01.00]ok\n[00:02.00]caf\xe9\n")
    with pytest.raises(InputError, match=r"latin1.lrc:2: not UTF-8"):
        load_lyrics(p)


def test_resolve_lyric_anchor(tmp_path):
    lines = load_lyrics(write(tmp_path, "song.lrc", LRC))
    assert resolve_lyric_anchor(parse_anchor("lyric 4"), lines) == 12.5
    assert resolve_lyric_anchor(parse_anchor("lyric: I remember"), lines) == 12.5
    assert resolve_lyric_anchor(parse_anchor("lyric: chorus REPEATED"), lines) == 3.5   # first occurrence
    with pytest.raises(PlanError, match=r"no lyric 40: the lyrics have 6 lines") as e:
        resolve_lyric_anchor(parse_anchor("lyric 40"), lines)
    assert str(e.value) == "no lyric 40: the lyrics have 6 lines (lyric 1 to lyric 6)"
    with pytest.raises(PlanError, match=r"no lyric matching 'I remembered you': closest is lyric 4 "
                                        r"'I remember the summer' \(0:12.50\)"):
        resolve_lyric_anchor(parse_anchor("lyric: I remembered you"), lines)
    with pytest.raises(PlanError, match="the lyrics have 6 lines"):
        resolve_lyric_anchor(parse_anchor("lyric: zzzz qqqq"), lines)
    with pytest.raises(PlanError, match="no lyrics"):
        resolve_lyric_anchor(parse_anchor("lyric 1"), ())
