"""songreel.synth: deterministic songs with exact beats, bars and sections."""

from __future__ import annotations

import numpy as np
import pytest

from songreel.synth import render_song, write_wav


def test_shapes_truth_and_determinism():
    a = render_song(bpm=120, meter=4, sections=(("verse", 2), ("chorus", 2)), sample_rate=22050, seed=3)
    b = render_song(bpm=120, meter=4, sections=(("verse", 2), ("chorus", 2)), sample_rate=22050, seed=3)
    assert a.samples.shape == (2, round(a.duration * 22050)) and a.samples.dtype == np.float32
    assert np.array_equal(a.samples, b.samples)
    assert len(a.beats) == 16 and np.allclose(np.diff(a.beats), 0.5, atol=1 / 22050)
    assert np.array_equal(a.downbeats, a.beats[::4])
    # beat times are whole samples
    assert np.allclose(a.beats * 22050, np.round(a.beats * 22050), atol=1e-6)
    assert [s.label for s in a.sections] == ["verse", "chorus"]
    assert a.sections[0].start == 0.0 and a.sections[-1].end == pytest.approx(a.duration)
    assert a.sections[1].start == a.downbeats[2]
    assert np.abs(a.samples).max() <= 0.9


def test_lead_in_6_8_and_mono():
    s = render_song(bpm=180, meter=6, sections=(("verse", 2),), sample_rate=22050, lead_in=0.25, channels=1)
    assert s.samples.shape[0] == 1
    assert s.beats[0] == pytest.approx(0.25, abs=1 / 22050)
    assert len(s.downbeats) == 2 and s.downbeats[1] - s.downbeats[0] == pytest.approx(2.0, abs=1e-4)
    # the sound starts at the first beat, not before
    first = int(np.argmax(np.abs(s.samples[0]) > 1e-4))
    assert abs(first - round(0.25 * 22050)) <= 2


def test_chorus_louder_and_brighter_than_verse():
    s = render_song(bpm=120, sections=(("verse", 4), ("chorus", 4)), sample_rate=22050)
    mid = int(s.sections[1].start * 22050)
    v, c = s.samples[0, :mid], s.samples[0, mid:]
    assert np.sqrt(np.mean(c**2)) > 1.3 * np.sqrt(np.mean(v**2))

    def centroid(x):
        spec = np.abs(np.fft.rfft(x))
        f = np.fft.rfftfreq(x.size, 1 / 22050)
        return (spec * f).sum() / spec.sum()

    assert centroid(c) > centroid(v)


def test_fast():
    import time

    t = time.perf_counter()
    s = render_song(bpm=120, sections=(("verse", 15), ("chorus", 15)), sample_rate=44100)
    assert s.duration >= 60
    assert time.perf_counter() - t < 1.5


def test_bad_parameters_name_the_value():
    with pytest.raises(ValueError, match="bpm.*1000"):
        render_song(bpm=1000)
    with pytest.raises(ValueError, match="meter"):
        render_song(meter=1)
    with pytest.raises(ValueError, match="sections"):
        render_song(sections=(("verse", 0),))


def test_write_wav_atomic_roundtrip(tmp_path):
    import soundfile as sf

    s = render_song(bpm=100, sections=(("verse", 1),), sample_rate=22050)
    out = write_wav(tmp_path / "song.wav", s.samples, s.sample_rate)
    data, sr = sf.read(out, always_2d=True)
    assert sr == 22050 and data.shape == (s.samples.shape[1], 2)
    assert np.allclose(data.T, s.samples, atol=1 / 16000)
    assert [p.name for p in tmp_path.iterdir()] == ["song.wav"]  # no temp file left behind
