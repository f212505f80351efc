"""Fuzz: mutated storyboards make the loader and planner raise SongreelError or succeed, never anything else.

Hypothesis mutates a valid storyboard (drop/add keys, wrong types, odd numbers, unicode, musical-looking
strings) both as data (dumped to YAML) and as raw text (characters inserted, deleted, replaced), then
runs ``load_storyboard`` + ``apply_overrides`` + ``make_plan`` on a synthetic 120 BPM analysis.
Derandomized with bounded examples so CI runs the same cases in a few seconds.
"""

from __future__ import annotations

import copy
import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from songreel.errors import SongreelError
from songreel.ingest.storyboard import load_storyboard
from songreel.plan.planner import apply_overrides, make_plan
from songreel.schema.analysis import Analysis, Section

BASE = {
    "songreel": 1,
    "title": "fuzz",
    "song": "song.wav",
    "video": {"width": 320, "height": 180, "fps": 24},
    "backend": "animatic",
    "style": "35mm film",
    "characters": {"her": "a woman with curly hair", "him": {"description": "a man", "seed": 7}},
    "encode": {"preset": "ultrafast", "crf": 20},
    "shots": [
        {"prompt": "{her} at a locker", "length": "2 bars", "transition": "crossfade 1 beat"},
        {"prompt": "{him} dancing", "length": "4 beats", "seed": 3, "takes": 2},
        {"prompt": "a road trip", "at": "chorus", "length": "1 bar", "transition": "dip"},
        {"prompt": "an old couple", "until": "end"},
    ],
}

ANALYSIS = Analysis(
    duration=16.5, tempo=120.0, meter=4, beats=tuple(i * 0.5 for i in range(34)),
    downbeats=tuple(i * 2.0 for i in range(9)),
    sections=(Section(0.0, 4.0, "intro"), Section(4.0, 8.0, "verse"), Section(8.0, 16.5, "chorus")),
    audio_hash="0" * 64, tracker="synthetic")

WORDS = ["2 bars", "0 bars", "-1 beats", "1/3 bars", "3.5 s", "bar 0", "bar 999", "beat 1", "chorus 9", "verse",
         "intro 2", "1:99", "0:00", "99:00", "lyric 1", "lyric:", "end", "crossfade 99 bars", "cut 1 beat", "next",
         "whip 1/2 beat ending on the beat", "{her}", "{nobody}", "{", "}", "\u202e\u05e9\u05dc\u05d5\u05dd", "🎸",
         "", " ", "animatic", "diffusers", "nope", "3/4", "6/8", "23.976", "30000/1001", "0", "nan", "inf"]
KEYS = ["prompt", "clip", "name", "length", "at", "until", "transition", "seed", "negative", "backend", "takes",
        "first_frame", "last_frame", "fit", "conform", "in", "camera", "pulse", "songreel", "song", "shots", "video",
        "width", "height", "fps", "bpm", "meter", "first_downbeat", "sections", "look", "zoom", "encode",
        "characters", "lyrics", "color_match", "seed", "style", "analysis", "tracker", "tempo_hint", "label", "lenght"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**40, max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(WORDS), st.text(max_size=30),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
                      max_leaves=6)


def _paths(node, prefix=()):
    """Every (path, container) location in a nested dict/list."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


def _get(node, path):
    for p in path:
        node = node[p]
    return node


@st.composite
def mutated(draw):
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "drop", "add", "word"]))
        if not path:
            if op == "replace" and draw(st.booleans()):
                doc = draw(values)
                break
            continue
        parent = _get(doc, path[:-1])
        key = path[-1]
        if op == "replace":
            parent[key] = draw(values)
        elif op == "word":
            parent[key] = draw(st.sampled_from(WORDS))
        elif op == "drop":
            if isinstance(parent, dict):
                parent.pop(key, None)
            elif isinstance(parent, list) and parent:
                parent.pop(key)
        elif op == "add":
            target = _get(doc, path)
            if isinstance(target, dict):
                target[draw(st.sampled_from(KEYS))] = draw(values)
            elif isinstance(target, list):
                target.append(draw(values))
        if not isinstance(doc, dict):
            break
    return doc


def _plan(tmp_path, text: str):
    p = tmp_path / "fuzz.yaml"
    try:
        sb = load_storyboard(p, text=text)
        analysis = apply_overrides(ANALYSIS, sb)
        return make_plan(sb, analysis)
    except SongreelError as e:
        msg = str(e)
        assert msg and "\n" not in msg.strip("\n"), repr(msg)
        return None


FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def test_the_base_storyboard_plans(tmp_path):
    plan = _plan(tmp_path, yaml.safe_dump(BASE, allow_unicode=True))
    assert plan is not None and len(plan.shots) == 4


@FUZZ
@given(doc=mutated())
def test_mutated_storyboards_only_raise_songreel_errors(tmp_path, doc):
    try:
        text = yaml.safe_dump(doc, allow_unicode=True)
    except (yaml.YAMLError, ValueError, OverflowError):
        return
    _plan(tmp_path, text)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["insert", "delete", "replace"]),
                                st.text(min_size=1, max_size=3)), min_size=1, max_size=4))
def test_mutated_text_only_raises_songreel_errors(tmp_path, edits):
    text = yaml.safe_dump(BASE, allow_unicode=True, sort_keys=False)
    for pos, op, chars in edits:
        pos = pos % (len(text) + 1)
        if op == "insert":
            text = text[:pos] + chars + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + len(chars):]
        else:
            text = text[:pos] + chars + text[pos + len(chars):]
    _plan(tmp_path, text)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**30, -1, 0, "", "🎸" * 100, [], {}])
def test_odd_numbers_in_every_numeric_field(tmp_path, value):
    for path in (("video", "width"), ("video", "fps"), ("bpm",), ("meter",), ("first_downbeat",), ("seed",),
                 ("color_match",), ("encode", "crf"), ("shots", 0, "seed"), ("shots", 0, "pulse"),
                 ("shots", 1, "takes"), ("shots", 0, "length"), ("shots", 2, "at"), ("shots", 3, "in")):
        doc = copy.deepcopy(BASE)
        _get(doc, path[:-1])[path[-1]] = value
        _plan(tmp_path, yaml.safe_dump(doc, allow_unicode=True))
