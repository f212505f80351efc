"""Storyboard format v1: parsing, and one clear FILE:LINE: field message for every mistake."""

from fractions import Fraction
from pathlib import Path

import pytest

from songreel.errors import MissingFileError, StoryboardError
from songreel.ingest.storyboard import load_storyboard
from songreel.schema.storyboard import Length, parse_anchor, parse_length, parse_transition

GOOD = """\
songreel: 1
title: The Hardest Part
song: song.wav
video: {width: 1280, height: 720, fps: 23.976}
backend: animatic
style: "dreamy 35mm film, soft golden light"
negative: "text, watermark"
characters:
  her: "a young woman with curly auburn hair"
  him: "a young man with a denim jacket"
shots:
  - prompt: "{her} and {him} meet at a school locker, 1990s"
    length: 2 bars
    transition: cut
  - prompt: "prom night, slow dance"
    length: 8 beats
    seed: 7
  - clip: footage/wedding.mp4
    length: 4 bars
"""


def load_text(tmp_path: Path, text: str):
    p = tmp_path / "video.yaml"
    p.write_text(text, encoding="utf-8")
    return load_storyboard(p)


def expect_error(tmp_path, text, pattern):
    with pytest.raises(StoryboardError) as info:
        load_text(tmp_path, text)
    msg = str(info.value)
    assert "\n" not in msg
    assert pattern in msg, msg
    return msg


def test_the_issue_example_loads(tmp_path):
    sb = load_text(tmp_path, GOOD)
    assert sb.video.fps == Fraction(24000, 1001)
    assert sb.backend.name == "animatic"
    assert sb.shots[0].length == Length(Fraction(2), "bars")
    assert sb.shots[1].length == Length(Fraction(8), "beats") and sb.shots[1].seed == 7
    assert sb.shots[2].clip == tmp_path / "footage" / "wedding.mp4"  # relative to the storyboard
    assert sb.song == tmp_path / "song.wav"
    assert sb.backend_for(sb.shots[2]).name == "footage"
    assert sb.line_of("shots[1].seed") == 17


def test_backend_mapping_form_and_per_shot_override(tmp_path):
    text = GOOD.replace("backend: animatic", "backend: {name: animatic, caption: false}")
    text = text.replace("    seed: 7\n", "    seed: 7\n    backend: {name: diffusers, model: wan2.1-t2v-1.3b, steps: 20}\n")
    sb = load_text(tmp_path, text)
    assert sb.backend.options == {"caption": False}
    assert sb.backend_for(sb.shots[1]).options == {"model": "wan2.1-t2v-1.3b", "steps": 20}


def test_edits_return_copies(tmp_path):
    sb = load_text(tmp_path, GOOD)
    sb2 = sb.with_shot(1, prompt="prom night, fast dance")
    assert sb.shots[1].prompt == "prom night, slow dance"
    assert sb2.shots[1].prompt == "prom night, fast dance"
    assert sb2.path == sb.path and sb2.line_of("shots[1]") == sb.line_of("shots[1]")
    with pytest.raises(Exception):
        sb.shots[0].prompt = "x"  # frozen


@pytest.mark.parametrize("old,new,line,fragment", [
    ("length: 2 bars", "length: 3 bras", 13,
     'shots[0].length: got "3 bras", expected "N bars", "N beats", "N s" or minutes:seconds ("1:30")'),
    ("length: 8 beats", "length: 0 beats", 16, "shots[1].length: got \"0 beats\", expected a length greater than zero"),
    ("length: 8 beats", "length: -2 bars", 16, 'shots[1].length: got "-2 bars"'),
    ("length: 8 beats", "length: 8", 16, 'shots[1].length: got 8 (no unit), expected "N bars", "N beats", "N s" or '
     'minutes:seconds ("1:30") (did you mean "8 s" or "8 beats"?)'),
    ("length: 8 beats", "length: 1:75", 16, 'shots[1].length: got "1:75", expected'),
    ("    seed: 7", "    sed: 7", 17, 'shots[1].sed: unknown key "sed" (did you mean "seed"?)'),
    ("    seed: 7", "    seed: lucky", 17, 'shots[1].seed: got "lucky", expected an integer'),
    ("title: The", "titel: The", 2, 'unknown key "titel" (did you mean "title"?)'),
    ("transition: cut", "transition: wipe", 14, 'shots[0].transition: got "wipe"'),
    ("transition: cut", "transition: crosfade", 14, '(did you mean "crossfade"?)'),
    ("fps: 23.976", "fps: fast", 4, "video.fps: got 'fast', expected a frame rate"),
    ("width: 1280", "width: 1279", 4, "video.width: got 1279, expected an even number"),
    ("songreel: 1", "songreel: 2", 1, "songreel: got 2, expected 1"),
    ("{him} meet", "{bob} meet", 12, 'shots[0].prompt: unknown character "{bob}"; known: {her}, {him}'),
    ("backend: animatic", "backend: [animatic]", 5, "backend: got ['animatic'], expected a backend name"),
])
def test_every_mistake_names_file_line_field(tmp_path, old, new, line, fragment):
    assert old in GOOD
    msg = expect_error(tmp_path, GOOD.replace(old, new, 1), fragment)
    assert msg.startswith(f"{tmp_path / 'video.yaml'}:{line}: "), msg


def test_missing_version_and_song(tmp_path):
    expect_error(tmp_path, GOOD.replace("songreel: 1\n", ""), "missing 'songreel: 1'")
    msg = expect_error(tmp_path, GOOD.replace("song: song.wav\n", ""), "song: missing")
    assert "expected the song file" in msg


def test_prompt_and_clip_exactly_one(tmp_path):
    text = GOOD.replace('  - clip: footage/wedding.mp4\n', '  - clip: footage/wedding.mp4\n    prompt: "x"\n')
    expect_error(tmp_path, text, "got both of prompt and clip, expected exactly one")
    text = GOOD.replace('  - clip: footage/wedding.mp4\n', '  - seed: 3\n')
    expect_error(tmp_path, text, "got neither of prompt and clip")


def test_yaml_syntax_tabs_duplicates_and_encoding(tmp_path):
    msg = expect_error(tmp_path, GOOD.replace("    length: 8 beats", "\tlength: 8 beats"), "tab character")
    assert ":16:" in msg
    expect_error(tmp_path, GOOD.replace('title: The Hardest Part', 'title: "unclosed'), "malformed YAML")
    expect_error(tmp_path, GOOD.replace("    seed: 7\n", "    seed: 7\n    seed: 8\n"), 'key "seed" appears twice')
    p = tmp_path / "latin1.yaml"
    p.write_bytes(GOOD.replace("dreamy", "r\xeaveur").encode("latin-1"))
    with pytest.raises(StoryboardError, match=r"latin1.yaml:6: byte 0xea is not UTF-8"):
        load_storyboard(p)
    expect_error(tmp_path, "", "is empty")
    expect_error(tmp_path, "- just\n- a list\n", "expected a mapping")


def test_missing_storyboard_file(tmp_path):
    with pytest.raises(MissingFileError, match="no such storyboard"):
        load_storyboard(tmp_path / "nope.yaml")


def test_unicode_prompts_are_fine(tmp_path):
    text = GOOD.replace("prom night, slow dance", "שלום 👋 prom night — مرحبا")
    sb = load_text(tmp_path, text)
    assert "👋" in sb.shots[1].prompt


@pytest.mark.parametrize("text,unit,amount", [("2 bars", "bars", 2), ("1 bar", "bars", 1), ("8 beats", "beats", 8),
                                              ("4.5 s", "s", Fraction(9, 2)), ("1/2 bar", "bars", Fraction(1, 2)),
                                              ("1:30", "s", 90), ("0:07.5", "s", Fraction(15, 2)),
                                              ("1:02:03", "s", 3723)])
def test_parse_length(text, unit, amount):
    assert parse_length(text) == Length(Fraction(amount), unit)


def test_parse_anchor_and_transition():
    assert parse_anchor("chorus 2").name == "chorus" and parse_anchor("chorus 2").occurrence == 2
    assert parse_anchor("bar 17").number == 17 and parse_anchor("beat 33").kind == "beat"
    assert parse_anchor("1:02.5").seconds == Fraction(125, 2)
    assert parse_anchor("lyric: I remember").text == "I remember"
    t = parse_transition("crossfade 1 beat")
    assert t.kind == "crossfade" and t.length == Length(Fraction(1), "beats")
    with pytest.raises(ValueError, match="a cut has no length"):
        parse_transition("cut 2 beats")


@pytest.mark.parametrize("written", ["1:30", '"1:30"', "'1:30'", "1:30.0", '"90 s"'])
def test_clock_lengths_are_seconds_quoted_or_not(tmp_path, written):
    """YAML 1.1 reads an unquoted 1:30 as the base-60 integer 90; the loader keeps it as written."""
    sb = load_text(tmp_path, GOOD.replace("length: 8 beats", f"length: {written}"))
    assert sb.shots[1].length == Length(Fraction(90), "s")


def test_clock_anchors_keep_what_was_written(tmp_path):
    sb = load_text(tmp_path, GOOD.replace("    seed: 7\n", "    seed: 7\n    at: 1:02.5\n").replace(
        "length: 8 beats", "length: 2 bars"))
    assert sb.shots[1].at.seconds == Fraction(125, 2) and sb.shots[1].at.raw == "1:02.5"


def test_section_anchors_fold_case():
    assert parse_anchor("A").name == "a" and parse_anchor("A 1").occurrence == 1
    assert parse_anchor("Verse 2").name == "verse" and parse_anchor("Verse 2").occurrence == 2
    assert parse_anchor("Big  Drop").name == "big drop"
    s3 = parse_anchor("Section 3")
    assert (s3.kind, s3.name, s3.number) == ("section", "", 3)
