"""songreel.analysis: tempo, beat grid, meter, bars, sections, envelopes, cache, errors.

Synthetic songs (``songreel.synth``) give exact answers; the annotated real excerpts in
``../shared/data/audio`` (skipped when absent) keep the figures of docs/benchmarks.md honest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from songreel.analysis import analyze, analyze_file, plot_analysis  # noqa: E402
from songreel.errors import InputError, MissingExtraError, UnknownNameError  # noqa: E402
from songreel.synth import render_song, write_wav  # noqa: E402

SR = 22050
# ../shared beside a clone, or beside the folder of worktrees
_ROOTS = Path(__file__).resolve().parents[2:4]
DATA = next((p / "shared/data/audio" for p in _ROOTS if (p / "shared/data/audio").is_dir()),
            _ROOTS[0] / "shared/data/audio")


@pytest.fixture(scope="session", autouse=True)
def warm_up():
    """One small analysis first, so the first test's figures do not include module loading."""
    analyze(render_song(bpm=120, sections=(("verse", 2),), sample_rate=SR))


def _song(**kw):
    kw.setdefault("sample_rate", SR)
    return render_song(**kw)


def _errors(truth, est):
    est = np.asarray(est)
    return np.array([est[np.argmin(np.abs(est - t))] - t for t in truth])


def _clicks(bpm, seconds, offset=0.3):
    n = int(seconds * SR)
    y = np.zeros(n, np.float32)
    burst = (np.random.default_rng(0).standard_normal(int(0.02 * SR))
             * np.exp(-np.arange(int(0.02 * SR)) / (0.003 * SR))).astype(np.float32)
    times = np.arange(offset, seconds - 0.05, 60.0 / bpm)
    for t in times:
        i = int(round(t * SR))
        y[i:i + burst.size] += burst[: n - i]
    return SimpleNamespace(samples=y[None], sample_rate=SR, sha256="clicks"), np.round(times * SR) / SR


# --- import cost -------------------------------------------------------------------------------

def test_import_does_not_load_librosa():
    code = "import sys, songreel.analysis; assert 'librosa' not in sys.modules, 'librosa imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_analysis_runs_without_librosa_numba_or_scipy():
    """The analysis itself is numpy: librosa.beat alone costs ~6 s and ~280 MiB to import."""
    code = ("import sys; from songreel.synth import render_song; from songreel.analysis import analyze; "
            "a = analyze(render_song(bpm=100, sections=(('verse', 2),), sample_rate=22050)); "
            "heavy = [m for m in ('librosa', 'numba', 'scipy', 'torch') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- tempo, beats, latency ---------------------------------------------------------------------

#: The tempo sweep: the range of beats as listeners tap them, pop/dance tempos included.
SWEEP_BPMS = [60.0, 70.0, 80.0, 90.0, 100.0, 110.0, 120.0, 128.0, 140.0, 150.0, 160.0, 174.0]


@pytest.mark.parametrize("bpm", SWEEP_BPMS + [97.0])
def test_click_track_tempo_and_beats(bpm):
    """Plain clicks, no hint: read at their own tempo, never at half (140 was read as 70)."""
    song, truth = _clicks(bpm, 12.0)
    a = analyze(song)
    assert a.tempo == pytest.approx(bpm, rel=0.02)
    err = _errors(truth, a.beats)
    assert np.abs(err).max() < 0.020, err


@pytest.mark.parametrize("bpm", SWEEP_BPMS)
def test_tempo_octave_sweep_4_4(bpm):
    """Synthetic 4/4 songs at 60..174 BPM, no hint: the right octave, so the bars are right too."""
    s = _song(bpm=bpm, sections=(("verse", 4), ("chorus", 4), ("verse", 4)), lead_in=0.31)
    a = analyze(s)
    assert a.tempo == pytest.approx(bpm, rel=0.02)
    assert a.meter == 4
    assert np.abs(_errors(s.downbeats, a.downbeats)).max() < 0.020


@pytest.mark.parametrize("bpm", [60.0, 100.0, 140.0, 174.0])
def test_tempo_octave_sweep_3_4(bpm):
    s = _song(bpm=bpm, meter=3, sections=(("verse", 4), ("chorus", 4), ("verse", 4)), lead_in=0.31)
    a = analyze(s)
    assert a.tempo == pytest.approx(bpm, rel=0.02)
    assert a.meter in (3, 6)  # beats grouped in threes (a 3/4 at 174 may be read as bars of 6)


def test_offbeat_ratio_measures_the_faster_pulse():
    from songreel.analysis.beats import choose_octave, offbeat_ratio
    from songreel.analysis.features import compute_features

    song, _ = _clicks(120.0, 12.0)
    env = compute_features(song.samples[0], sr=SR).onset
    assert offbeat_ratio(onset_envelope=env, bpm=60.0) > 0.8  # at half speed every midpoint is a click
    assert offbeat_ratio(onset_envelope=env, bpm=120.0) < 0.1  # at its tempo the midpoints are silent
    for level in (30.0, 60.0, 120.0, 240.0):  # the octave a reading starts in does not matter
        assert choose_octave(onset_envelope=env, bpm=level) == pytest.approx(120.0)


def test_latency_correction():
    """After LATENCY is subtracted, beats sit on the sample-exact onsets of clicks and synth music."""
    from songreel.analysis.beats import LATENCY

    assert 0.005 < LATENCY < 0.035
    song, truth = _clicks(120, 16.0)
    click_err = _errors(truth, analyze(song).beats)
    s = _song(bpm=120, sections=(("verse", 4), ("chorus", 4)))
    synth_err = _errors(s.beats, analyze(s).beats)
    for err in (click_err, synth_err):
        assert abs(np.mean(err)) < 0.010, np.mean(err)
        assert np.abs(err).max() < 0.020


@pytest.mark.parametrize("bpm, meter, hint", [(120.0, 4, None), (93.0, 4, None), (100.0, 3, None),
                                              (180.0, 6, 180.0)])
def test_synth_tempo_meter_downbeats(bpm, meter, hint):
    s = _song(bpm=bpm, meter=meter, sections=(("verse", 4), ("chorus", 4), ("verse", 4)), lead_in=0.31)
    a = analyze(s, tempo_hint=hint)
    assert a.tempo == pytest.approx(bpm, rel=0.02)
    assert a.meter == meter
    assert np.abs(_errors(s.beats, a.beats)).max() < 0.020
    assert np.abs(_errors(s.downbeats, a.downbeats)).max() < 0.020  # the bar phase is right
    assert set(a.downbeats) <= set(a.beats)


def test_6_8_without_hint_reads_the_eighths():
    """A 6/8 at 180 eighths per minute: read at 180 (not 90) with two accents per bar of 6."""
    s = _song(bpm=180, meter=6, sections=(("verse", 4), ("chorus", 4)))
    a = analyze(s)
    assert a.tempo == pytest.approx(180.0, rel=0.02)
    assert a.meter == 6
    assert np.abs(_errors(s.downbeats, a.downbeats)).max() < 0.020


def test_tempo_hint_and_bpm_choose_the_octave():
    s = _song(bpm=90, sections=(("chorus", 6),))  # hats on the eighths: 180 is a real pulse too
    assert analyze(s, tempo_hint=180).tempo == pytest.approx(180, rel=0.02)
    assert analyze(s, tempo_hint=90).tempo == pytest.approx(90, rel=0.02)
    fast = _song(bpm=140, sections=(("verse", 4), ("chorus", 4)))
    assert analyze(fast).tempo == pytest.approx(140, rel=0.02)
    assert analyze(fast, tempo_hint=70).tempo == pytest.approx(70, rel=0.02)  # the hint wins
    fixed = analyze(s, bpm=45)
    assert fixed.tempo == 45
    assert np.median(np.diff(fixed.beats)) == pytest.approx(60 / 45, rel=0.02)


def test_grid_is_extrapolated_over_the_whole_song():
    # 2.6 s of silence before bar 1 and a long tail: the grid still covers start and end
    s = _song(bpm=120, sections=(("verse", 6),), lead_in=2.6, tail=2.2)
    a = analyze(s)
    period = 60 / a.tempo
    beats = np.asarray(a.beats)
    assert np.all(np.diff(beats) > 0)
    assert 0 <= beats[0] < period
    assert a.duration - period <= beats[-1] < a.duration
    assert np.abs(_errors(s.beats, beats)).max() < 0.020
    # the extrapolated beats continue the grid (bar 1 exists and sits on the first real beat)
    assert np.min(np.abs(np.asarray(a.downbeats) - s.downbeats[0])) < 0.020


def test_meter_and_first_downbeat_overrides():
    s = _song(bpm=120, sections=(("verse", 4), ("chorus", 4)))
    a = analyze(s, meter=3)
    assert a.meter == 3
    beats = list(a.beats)
    idx = [beats.index(d) for d in a.downbeats]
    assert set(np.diff(idx)) == {3}
    b = analyze(s, first_downbeat=float(s.beats[1]) + 0.03)
    assert b.meter == 4
    assert np.min(np.abs(np.asarray(b.downbeats) - s.beats[1])) < 0.020
    assert np.min(np.abs(np.asarray(b.downbeats) - s.beats[0])) > 0.2


# --- sections and envelopes ----------------------------------------------------------------------

def test_sections_repeat_labels_and_find_the_chorus():
    form = (("intro", 4), ("verse", 6), ("chorus", 6), ("verse", 6), ("chorus", 6))
    s = _song(bpm=132, sections=form)
    a = analyze(s)
    labels = [x.label for x in a.sections]
    assert labels == ["intro", "verse", "chorus", "verse", "chorus"], labels
    for est, ref in zip(a.sections, s.sections):
        assert abs(est.start - ref.start) < 0.03
    # contiguous, covering, on downbeats
    assert a.sections[0].start == 0.0 and a.sections[-1].end == pytest.approx(a.duration)
    for x, y in zip(a.sections, a.sections[1:]):
        assert x.end == y.start and y.start in a.downbeats


def test_envelopes_normalised_at_rate():
    s = _song(bpm=110, sections=(("verse", 4), ("chorus", 4)))
    a = analyze(s)
    for env in (a.onset_envelope, a.rms):
        e = np.asarray(env)
        assert e.min() >= 0 and e.max() <= 1 and e.max() > 0.9
        assert len(e) == pytest.approx(a.duration * a.envelope_rate, abs=3)
    rms = np.asarray(a.rms)
    cut = int(s.sections[1].start * a.envelope_rate)
    assert rms[cut:].mean() > rms[:cut].mean()  # the chorus is louder


def test_progress_and_fields():
    calls = []
    s = _song(bpm=120, sections=(("verse", 4),))
    a = analyze(s, progress=lambda f, m: calls.append((f, m)))
    assert calls[0][0] == 0.0 and calls[-1][0] == 1.0
    assert all(0 <= f <= 1 for f, _ in calls) and [f for f, _ in calls] == sorted(f for f, _ in calls)
    assert a.tracker == "librosa" and a.duration == pytest.approx(s.duration)


def test_plot(tmp_path):
    s = _song(bpm=120, sections=(("verse", 4), ("chorus", 4)))
    a = analyze(s)
    out = plot_analysis(a, s, tmp_path / "beats.png", title="test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["beats.png"]


# --- cache -------------------------------------------------------------------------------------

def test_analyze_file_cache(tmp_path):
    s = _song(bpm=120, sections=(("verse", 4),))
    wav = write_wav(tmp_path / "song.wav", s.samples, s.sample_rate)
    cache = tmp_path / "cache"
    a = analyze_file(wav, cache_dir=cache)
    b = analyze_file(wav, cache_dir=cache)
    assert a.extra["cache"] == "miss" and b.extra["cache"] == "hit"
    assert a.beats == b.beats and a.sections == b.sections and a.audio_hash == b.audio_hash != ""
    c = analyze_file(wav, cache_dir=cache, meter=3)
    assert c.extra["cache"] == "miss" and c.meter == 3
    assert len(list(cache.glob("*.json"))) == 2
    assert not list(cache.glob(".*"))  # no temp files left


# --- errors ------------------------------------------------------------------------------------

def test_unknown_tracker_lists_accepted_names():
    s = _song(bpm=120, sections=(("verse", 1),))
    with pytest.raises(UnknownNameError, match="madmom.*librosa, beat_this"):
        analyze(s, tracker="madmom")


def test_beat_this_missing_is_a_clear_error():
    from songreel.analysis.beat_this import beat_this_status

    ok, why = beat_this_status()
    if ok:
        pytest.skip("beat_this and its weights are available here")
    s = _song(bpm=120, sections=(("verse", 1),))
    with pytest.raises(MissingExtraError) as e:
        analyze(s, tracker="beat_this")
    text = str(e.value)
    assert "tracker: 'beat_this'" in text and "tracker: librosa" in text
    # not installed -> the extra to install; installed but broken -> what failed; offline -> where to put weights
    assert "songreel[beats]" in text or "could not be loaded" in text, text


@pytest.mark.parametrize("kw, word", [(dict(bpm=0), "bpm"), (dict(tempo_hint=1000.0), "tempo_hint"),
                                      (dict(meter=13), "meter"), (dict(meter=2.5), "meter"),
                                      (dict(first_downbeat=-1.0), "first_downbeat")])
def test_bad_options_name_the_value(kw, word):
    s = _song(bpm=120, sections=(("verse", 1),))
    with pytest.raises(InputError, match=word):
        analyze(s, **kw)


def test_analyze_file_missing(tmp_path):
    from songreel.errors import MissingFileError

    with pytest.raises(MissingFileError):
        analyze_file(tmp_path / "nope.wav", cache_dir=tmp_path)


# --- annotated real audio (thresholds a little below the measured figures) -----------------------

def _read_beats(path):
    rows = [ln.split() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    t = np.array([float(r[0]) for r in rows])
    pos = np.array([int(float(r[1])) for r in rows])
    return t, t[pos == 1]


def _need(*paths):
    for p in paths:
        if not p.exists():
            pytest.skip(f"annotated audio not available: {p}")


@pytest.mark.parametrize("audio, beats, meter, f_min, fd_min", [
    ("gtzan/country.00000.wav", "gtzan/gtzan_country_00000.beats", 4, 0.88, 0.8),  # measured 0.930 / 0.889
    ("ballroom/Media-105901.wav", "ballroom/Media-105901.beats", 3, 0.92, 0.9),  # measured 0.972 / 1.000
])
def test_real_beats_and_downbeats(audio, beats, meter, f_min, fd_min):
    import mir_eval

    from songreel.ingest.audio import load_song

    _need(DATA / audio, DATA / beats)
    ref, ref_down = _read_beats(DATA / beats)
    a = analyze(load_song(DATA / audio))
    f = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(np.asarray(a.beats)))
    fd = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ref_down),
                                 mir_eval.beat.trim_beats(np.asarray(a.downbeats)))
    assert f >= f_min and fd >= fd_min and a.meter == meter, (f, fd, a.meter)


@pytest.mark.parametrize("audio, ref_bpm", [("madmom/sample.wav", 87.5), ("beatnet/808kick120bpm.mp3", 120.0)])
def test_real_tempo_octave(audio, ref_bpm):
    from songreel.ingest.audio import load_song

    _need(DATA / audio)
    assert analyze(load_song(DATA / audio)).tempo == pytest.approx(ref_bpm, rel=0.04)


def test_real_sections_sargon():
    import json

    import mir_eval

    from songreel.ingest.audio import load_song

    _need(DATA / "sargon/Mindless_cut.mp3", DATA / "sargon/Mindless_cut.jams")
    ann = json.loads((DATA / "sargon/Mindless_cut.jams").read_text())["annotations"][0]["data"]
    ref = np.array([[d["time"], d["time"] + d["duration"]] for d in ann])
    a = analyze(load_song(DATA / "sargon/Mindless_cut.mp3"))
    ref = np.clip(ref, 0, a.duration)
    est = np.array([[s.start, s.end] for s in a.sections])
    _, _, f = mir_eval.segment.detection(ref, est, window=3.0)
    assert f >= 0.6, f  # measured 0.727
