"""The planner: shots on exact frames of the beat grid (pure, no media)."""

from fractions import Fraction

import pytest

from songreel.errors import PlanError
from songreel.ingest.storyboard import load_storyboard
from songreel.plan.planner import make_plan
from songreel.schema.analysis import Analysis, Section
from songreel.timebase import seconds_to_frame


def grid_analysis(*, bpm=120.0, duration=100.0, lead=0.25, meter=4, sections=None) -> Analysis:
    period = 60.0 / bpm
    beats = []
    t = lead % period
    while t < duration:
        beats.append(round(t, 9))
        t += period
    first_down = next(i for i, b in enumerate(beats) if b >= lead - 1e-9)
    downs = beats[first_down::meter]
    secs = sections or (Section(0.0, 24.25, "intro"), Section(24.25, 48.25, "chorus"), Section(48.25, 72.25, "verse"),
                        Section(72.25, 96.25, "chorus"), Section(96.25, duration, "outro"))
    return Analysis(duration=duration, tempo=bpm, meter=meter, beats=tuple(beats), downbeats=tuple(downs),
                    sections=tuple(secs))


def storyboard(tmp_path, shots: str, *, fps="24", extra=""):
    p = tmp_path / "sb.yaml"
    p.write_text(f"songreel: 1\nsong: song.wav\nvideo: {{width: 320, height: 180, fps: {fps}}}\n{extra}shots:\n{shots}",
                 encoding="utf-8")
    return load_storyboard(p)


def test_cuts_land_on_beat_frames_counting_bars_from_first_downbeat(tmp_path):
    a = grid_analysis(lead=0.75)  # beats at 0.25, 0.75 ...; bar 1 at 0.75 s (lead-in of one beat)
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 2 bars\n  - prompt: b\n    length: 8 beats\n"
                              "  - prompt: c\n    length: 3 s\n  - prompt: d\n")
    plan = make_plan(sb, a)
    fps = Fraction(24)
    assert plan.total_frames == 2400
    s = plan.shots
    assert s[0].start == 0                                      # the lead-in belongs to shot 1
    assert s[0].end == seconds_to_frame(0.75 + 8 * 0.5, fps)    # 2 bars after bar 1
    assert s[1].end == seconds_to_frame(0.75 + 16 * 0.5, fps)
    assert s[2].end == seconds_to_frame(0.75 + 22 * 0.5, fps)   # 3 s = 6 beats, on the beat
    assert s[3].end == plan.total_frames
    beat_frames = set(plan.beat_frames)
    assert all(c in beat_frames for c in plan.cuts)
    assert [x.position for x in s] == ["0.4", "3.1", "5.1", "6.3"]
    assert s[1].section == "intro"


def test_ntsc_rate_stays_exact(tmp_path):
    a = grid_analysis(duration=60.0)
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 4 bars\n  - prompt: b\n", fps="23.976")
    plan = make_plan(sb, a)
    assert plan.fps == Fraction(24000, 1001)
    assert plan.total_frames == 1439                      # round(60 * 23.976...)
    assert plan.shots[0].end == seconds_to_frame(0.25 + 16 * 0.5, Fraction(24000, 1001))


def test_length_past_the_end_names_the_shot(tmp_path):
    a = grid_analysis(duration=20.0)
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 4 bars\n  - prompt: b\n    length: 8 bars\n  - prompt: c\n")
    with pytest.raises(PlanError) as e:
        make_plan(sb, a)
    msg = str(e.value)
    assert "sb.yaml:8: shots[1].length" in msg and '"8 bars" runs to' in msg and "past the song's end at 0:20.00" in msg
    assert "the song has" in msg


def test_missing_length_only_allowed_last(tmp_path):
    sb = storyboard(tmp_path, "  - prompt: a\n  - prompt: b\n")
    with pytest.raises(PlanError, match=r"shots\[0\]\.length: missing"):
        make_plan(sb, grid_analysis())


def test_anchors_sections_bars_beats_times(tmp_path):
    a = grid_analysis()
    sb = storyboard(tmp_path,
                    "  - prompt: a\n    length: 2 bars\n"
                    "  - prompt: b\n    at: chorus\n"          # previous shot stretches to the chorus
                    "  - prompt: c\n    at: bar 17\n    until: chorus 2\n"
                    "  - prompt: d\n    at: beat 145\n    length: 4 beats\n"
                    "  - prompt: e\n    at: '1:30.2'\n")
    plan = make_plan(sb, a)
    fps = Fraction(24)
    s = plan.shots
    assert s[0].end == s[1].start == seconds_to_frame(24.25, fps)
    assert s[2].start == seconds_to_frame(0.25 + 16 * 4 * 0.5, fps)        # bar 17
    assert s[2].end == seconds_to_frame(72.25, fps)                         # until chorus 2
    assert s[3].start == seconds_to_frame(0.25 + 144 * 0.5, fps)            # beat 145 = chorus 2
    assert s[3].end == s[4].start                                           # stretched to the next anchor
    assert s[4].start == seconds_to_frame(90.25, fps)                        # 1:30 snapped to nearest beat
    assert s[1].section == "chorus 1" and s[2].section == "chorus 1"


def test_unknown_section_says_what_the_song_has(tmp_path):
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 2 bars\n  - prompt: b\n    at: chorus 3\n")
    with pytest.raises(PlanError) as e:
        make_plan(sb, grid_analysis())
    assert "no section 'chorus 3': the song has" in str(e.value)
    assert "chorus ×2 at 0:24 and 1:12" in str(e.value)
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 2 bars\n  - prompt: b\n    at: chrous\n")
    with pytest.raises(PlanError, match='did you mean "chorus"'):
        make_plan(sb, grid_analysis())


def test_anchor_out_of_order(tmp_path):
    # an over-long length is reported on its own line, with the room there is
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 20 bars\n  - prompt: b\n    at: chorus\n")
    with pytest.raises(PlanError) as e:
        make_plan(sb, grid_analysis())
    assert str(e.value).endswith(
        'sb.yaml:6: shots[0].length: "20 bars" runs to 0:40.25, past shot 2\'s at: "chorus" at 0:24.25; shot 1 has '
        "12 bars from 0:00.25 to there: shorten it, or leave out its length to stretch it to the anchor")
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 2 bars\n  - prompt: b\n    length: 20 bars\n"
                              "  - prompt: c\n    length: 1 bar\n  - prompt: d\n    at: '0:30'\n")
    with pytest.raises(PlanError) as e:
        make_plan(sb, grid_analysis())
    msg = str(e.value)
    assert 'sb.yaml:8: shots[1].length: "20 bars" runs to 0:44.25, past shot 4\'s at: "0:30" at 0:30.25 ' \
           "(snapped to the nearest beat, +0.25 s, so the cut lands on the music) (and shot 3 after it has no " \
           "room); shot 2 has 13 bars from 0:04.25 to there" in msg
    # anchors out of order among themselves are reported on the anchor, a time anchor's snap explained
    sb = storyboard(tmp_path, "  - prompt: a\n  - prompt: b\n    at: bar 5\n  - prompt: c\n    at: '0:03'\n")
    with pytest.raises(PlanError) as e:
        make_plan(sb, grid_analysis())
    assert 'shots[2].at: at: "0:03" is 0:03.25 (snapped to the nearest beat, +0.25 s, so the cut lands on ' \
           "the music), not after shot 2's start at 0:08.25; anchors must follow the shot order" in str(e.value)


def test_stretched_shots_say_so(tmp_path):
    sb = storyboard(tmp_path, "  - prompt: a locker\n    length: 2 bars\n  - prompt: a porch\n    length: 8 beats\n"
                              "  - prompt: the chorus\n    at: chorus 2\n    length: 3 bars\n")
    plan = make_plan(sb, grid_analysis())
    s = plan.shots
    assert s[0].notes == ()
    assert s[1].notes == ('stretched from "8 beats" (4.00 s) to 34 bars (68.00 s) to meet shot 3\'s at: "chorus 2" '
                          "at 1:12.25",)
    assert s[2].notes == ("stretched from 3 bars to 27.75 s (+21.75 s) to end with the song",)
    assert plan.warnings == ("shot 2 (a porch): " + s[1].notes[0], "shot 3 (the chorus): " + s[2].notes[0])
    assert plan.to_dict()["shots"][1]["notes"] == list(s[1].notes)
    # an open length meeting an anchor is what was asked for: no note
    sb = storyboard(tmp_path, "  - prompt: a\n  - prompt: b\n    at: chorus\n")
    assert all(not x.notes for x in make_plan(sb, grid_analysis()).shots[:1])


def test_bars_and_beats_are_worded_in_the_singular_and_plural():
    from songreel.plan.wording import bars_beats

    assert [bars_beats(b, 4) for b in (1, 3, 4, 5, 7, 8, 68, 2.5)] == [
        "1 beat", "3 beats", "1 bar", "1 bar 1 beat", "1 bar 3 beats", "2 bars", "17 bars", "2.5 beats"]
    assert bars_beats(7, 3) == "2 bars 1 beat"


def test_transitions_are_centred_and_get_handles(tmp_path):
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 2 bars\n    transition: crossfade 1 beat\n"
                              "  - prompt: b\n    length: 2 bars\n    transition: dip 2 beats\n  - prompt: c\n")
    plan = make_plan(sb, grid_analysis())
    t0 = plan.shots[0].transition
    assert t0.kind == "crossfade" and t0.frames == 12 and t0.start == t0.cut - 6
    assert plan.shots[0].tail == 6 and plan.shots[1].head == 6          # crossfades need handles
    t1 = plan.shots[1].transition
    assert t1.kind == "dip" and t1.frames == 24
    assert plan.shots[1].tail == 0 and plan.shots[2].head == 0          # dips don't
    seg = plan.shots[1].segments
    assert seg[0].start == plan.shots[1].start - 6 and seg[-1].end == plan.shots[1].end


def test_segments_respect_the_backend_limit(tmp_path):
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 8 bars\n  - prompt: b\n")
    plan = make_plan(sb, grid_analysis(), segment_limit=lambda spec: 81)
    for shot in plan.shots:
        assert all(g.frames <= 81 for g in shot.segments)
        assert shot.segments[0].start == shot.render_start
        assert sum(g.frames for g in shot.segments) == shot.render_frames
        assert all(a.end == b.start for a, b in zip(shot.segments, shot.segments[1:]))


def test_prompts_style_characters_and_stable_seeds(tmp_path):
    extra = 'style: "35mm film"\nnegative: "text"\ncharacters:\n  her: "a woman with auburn hair"\n'
    sb = storyboard(tmp_path, "  - prompt: '{her} at a locker'\n    length: 2 bars\n    negative: blur\n"
                              "  - prompt: b\n", extra=extra)
    plan = make_plan(sb, grid_analysis())
    assert plan.shots[0].prompt == "a woman with auburn hair at a locker, 35mm film"
    assert plan.shots[0].negative == "text, blur"
    assert plan.shots[0].characters == ("her",)
    # inserting a shot before does not change the others' seeds (stable re-renders)
    sb2 = storyboard(tmp_path, "  - prompt: new\n    length: 1 bar\n  - prompt: '{her} at a locker'\n    length: 2 bars\n"
                               "    negative: blur\n  - prompt: b\n", extra=extra)
    plan2 = make_plan(sb2, grid_analysis())
    assert plan2.shots[1].seed == plan.shots[0].seed and plan2.shots[2].seed == plan.shots[1].seed


def test_new_mix_keeps_musical_positions(tmp_path):
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 4 bars\n  - prompt: b\n    at: chorus\n")
    slow = make_plan(sb, grid_analysis(bpm=120.0))
    fast = make_plan(sb, grid_analysis(bpm=100.0, duration=120.0, sections=(
        Section(0, 29.05, "intro"), Section(29.05, 120, "chorus"))))
    assert slow.shots[1].start_beat == 48 and fast.shots[1].start_beat == 48  # 12 bars in, both mixes
    assert slow.shots[1].section == "chorus 1" and fast.shots[1].section == "chorus"


def test_plan_json_shape(tmp_path):
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 2 bars\n  - prompt: b\n")
    d = make_plan(sb, grid_analysis()).to_dict()
    assert d["schema"] == "songreel.Plan.1" and len(d["shots"]) == 2
    assert d["shots"][0]["end_frame"] == d["shots"][1]["start_frame"]


def test_storyboard_sections_override_the_detected_ones(tmp_path):
    from songreel.plan.planner import apply_overrides

    extra = "sections:\n  - {at: bar 3, label: verse}\n  - {at: '0:40', label: chorus}\n"
    sb = storyboard(tmp_path, "  - prompt: a\n    length: 2 bars\n  - prompt: b\n    at: chorus\n", extra=extra)
    a = apply_overrides(grid_analysis(), sb)
    # bar 3 starts at 0.25 + 8 beats; a section before the first override is the intro
    assert [(s.label, s.start) for s in a.sections] == [("intro", 0.0), ("verse", 4.25), ("chorus", 40.25)]
    assert a.sections[-1].end == a.duration
    plan = make_plan(sb, a)
    assert plan.shots[1].start == seconds_to_frame(40.25, Fraction(24)) and plan.shots[1].section == "chorus"
    bad = storyboard(tmp_path, "  - prompt: a\n",
                     extra="sections:\n  - {at: '0:40', label: chorus}\n  - {at: bar 3, label: verse}\n")
    with pytest.raises(PlanError, match=r"sections\[1\]\.at: sections must be in song order"):
        apply_overrides(grid_analysis(), bad)


def test_section_labels_match_whatever_their_case(tmp_path):
    secs = (Section(0.0, 10.25, "intro"), Section(10.25, 30.25, "A"), Section(30.25, 50.25, "B"),
            Section(50.25, 70.25, "chorus"), Section(70.25, 90.25, "A"), Section(90.25, 100.0, "Big Drop"))
    a = grid_analysis(sections=secs)
    fps = Fraction(24)
    for at, start in (("A", 10.25), ("a", 10.25), ("'A 1'", 10.25), ("'a 2'", 70.25), ("B", 30.25),
                      ("CHORUS", 50.25), ("section 3", 30.25), ("'Section 6'", 90.25), ("big drop", 90.25),
                      ("'Big  Drop'", 90.25)):
        sb = storyboard(tmp_path, f"  - prompt: x\n    length: 1 bar\n  - prompt: y\n    at: {at}\n")
        assert make_plan(sb, a).shots[1].start == seconds_to_frame(start, fps), at
    # the name `analyze` prints (label + occurrence) is usable as written
    from songreel.plan.planner import section_occurrences

    for label, k, sec in section_occurrences(secs)[1:]:
        sb = storyboard(tmp_path, f"  - prompt: x\n    length: 1 bar\n  - prompt: y\n    at: '{label} {k}'\n")
        assert make_plan(sb, a).shots[1].start == seconds_to_frame(sec.start, fps), (label, k)
    with pytest.raises(PlanError) as e:
        make_plan(storyboard(tmp_path, "  - prompt: x\n    length: 1 bar\n  - prompt: y\n    at: section 7\n"), a)
    assert "no section 7: the song has 6 sections (1: intro at 0:00, 2: A at 0:10," in str(e.value)
    with pytest.raises(PlanError) as e:
        make_plan(storyboard(tmp_path, "  - prompt: x\n    length: 1 bar\n  - prompt: y\n    at: Chorsu\n"), a)
    assert 'did you mean "chorus"' in str(e.value) and '"section 1" to "section 6"' in str(e.value)


def test_storyboard_section_labels_match_whatever_their_case(tmp_path):
    from songreel.plan.planner import apply_overrides

    extra = "sections:\n  - {at: bar 3, label: Verse}\n  - {at: '0:40', label: Pre-Chorus}\n"
    for at in ("Verse", "verse", "'VERSE 1'", "section 2"):
        sb = storyboard(tmp_path, f"  - prompt: a\n    length: 1 bar\n  - prompt: b\n    at: {at}\n"
                                  "  - prompt: c\n    at: pre-chorus\n", extra=extra)
        plan = make_plan(sb, apply_overrides(grid_analysis(), sb))
        assert plan.shots[1].start == seconds_to_frame(4.25, Fraction(24)), at
        assert plan.shots[2].start == seconds_to_frame(40.25, Fraction(24)) and plan.shots[2].section == "Pre-Chorus"
