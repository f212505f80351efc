"""A deterministic song synthesiser: music with exactly known beats, bars and sections.

Used by the demo (a song anyone may share) and by tests as exact ground truth for analysis.
Every beat starts on a whole sample: ``beats[k] == round(onset_sample) / sample_rate`` exactly,
where the drum hits and notes of that beat begin.

What it plays, per bar of ``meter`` beats:

- drums: kick on beat 1 (and 3 in 4/4), snare on the backbeats (2 and 4 in 4/4; 4 in 6/8, which
  accents 1 and 4; beats 2 and 3 softly in 3/4; 3 in a half-time feel), hi-hats on every beat (and
  off-beat eighths in louder sections, or a fixed eighth / sixteenth pattern throughout);
- bass: the chord root, one note per beat;
- chords: a three-note chord that changes every bar, following a progression per section label.

Each label has its own progression, timbre, loudness and brightness (``chorus`` is the loudest and
brightest, ``intro``/``outro`` sparse and soft, ``bridge`` a different colour), so that section
detection has real evidence; unknown labels get a style derived from the label's text.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .schema.analysis import Section

#: Hi-hat patterns :func:`render_song` plays.
HATS = ("auto", "quarters", "eighths", "sixteenths")

DEFAULT_SECTIONS: tuple[tuple[str, int], ...] = (
    ("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("outro", 4),
)

# style per label: progression (semitones of chord roots above A2), chord quality per step,
# partials (timbre: number of harmonics), level, drums ("none", "light", "full", "big")
_STYLES = {
    "intro": dict(prog=(0, 8, 3, 10), harm=2, level=0.35, drums="light", pad=True),
    "verse": dict(prog=(0, 8, 3, 10), harm=3, level=0.55, drums="full", pad=False),
    "chorus": dict(prog=(5, 7, 0, 3), harm=8, level=1.0, drums="big", pad=False),
    "bridge": dict(prog=(8, 10, 5, 7), harm=5, level=0.7, drums="full", pad=True),
    "outro": dict(prog=(0, 8, 3, 10), harm=2, level=0.35, drums="light", pad=True),
}


@dataclass(frozen=True, eq=False)
class SynthSong:
    """A rendered song and its exact ground truth.

    Attributes
    ----------
    samples : ndarray (channels, n) float32
    sample_rate : int
    beats, downbeats : ndarray
        Seconds; each is a whole number of samples over ``sample_rate``.
    sections : tuple of Section
        Contiguous, covering ``[0, duration)``; inner boundaries are downbeats.
    bpm : float
    meter : int
    duration : float
        Seconds (``samples.shape[1] / sample_rate``).
    """

    samples: np.ndarray = field(repr=False)
    sample_rate: int
    beats: np.ndarray = field(repr=False)
    downbeats: np.ndarray = field(repr=False)
    sections: tuple[Section, ...]
    bpm: float
    meter: int
    duration: float

    # Song-compatible surface, so a SynthSong can be passed to analysis directly
    sha256: str = ""

    def mono(self) -> np.ndarray:
        return self.samples.mean(axis=0)


def render_song(*, bpm: float = 120.0, meter: int = 4,
                sections: Sequence[tuple[str, int]] = DEFAULT_SECTIONS, sample_rate: int = 44100,
                seed: int = 0, lead_in: float = 0.0, swing: float = 0.0, channels: int = 2,
                tail: float = 0.5, hats: str = "auto", half_time: bool = False) -> SynthSong:
    """Render a song with known beats, bars and sections.

    Parameters
    ----------
    bpm : float
        Beats per minute (for ``meter=6`` the beat is the eighth note: 6/8 at 180 BPM has bars
        of 2 s).
    meter : int
        Beats per bar, 2..12. 3 plays a waltz, 6 a 6/8 (accents on 1 and 4), others a backbeat.
    sections : sequence of (label, bars)
        Song form. Labels choose the arrangement (see module docstring).
    sample_rate : int
    seed : int
        Seeds the noise of the drums; same arguments give identical samples.
    lead_in : float
        Seconds of silence before bar 1 (counted in the first section).
    swing : float
        0..0.5: delays off-beat hi-hat eighths by this fraction of half a beat. Beats stay exact.
    channels : int
        1 or 2.
    tail : float
        Seconds after the last bar for the sound to ring out (counted in the last section).
    hats : {"auto", "quarters", "eighths", "sixteenths"}
        Hi-hat pattern in sections with drums: ``"auto"`` plays them on every beat and adds
        off-beat eighths in the loudest sections; the others play that grid throughout (straight
        eighth-note hats on a slow song are the classic ballad pattern).
    half_time : bool
        4/4 only: kick on 1, snare on 3 (a half-time feel) instead of kick 1 and 3, snare 2 and 4.

    Returns
    -------
    SynthSong

    Raises
    ------
    ValueError
        A parameter is out of range; the message names it and the value.
    """
    if not (isinstance(bpm, (int, float)) and 20 <= bpm <= 400):
        raise ValueError(f"bpm: expected 20..400, got {bpm!r}")
    if not (isinstance(meter, int) and 2 <= meter <= 12):
        raise ValueError(f"meter: expected beats per bar 2..12, got {meter!r}")
    if not sections or any(not isinstance(b, int) or b < 1 for _, b in sections):
        raise ValueError(f"sections: expected (label, bars >= 1) pairs, got {sections!r}")
    if channels not in (1, 2):
        raise ValueError(f"channels: expected 1 or 2, got {channels!r}")
    if not 0 <= swing <= 0.5:
        raise ValueError(f"swing: expected 0..0.5, got {swing!r}")
    if hats not in HATS:
        raise ValueError(f"hats: expected one of {', '.join(HATS)}, got {hats!r}")
    if half_time and meter != 4:
        raise ValueError(f"half_time: a half-time feel is played in 4/4 only, got meter {meter!r}")
    if lead_in < 0 or tail < 0:
        raise ValueError(f"lead_in/tail: expected >= 0 seconds, got {lead_in!r}/{tail!r}")
    sr = int(sample_rate)
    rng = np.random.default_rng(seed)
    period = 60.0 / float(bpm)
    n_bars = sum(b for _, b in sections)
    n_beats = n_bars * meter
    beat_samples = np.round((lead_in + period * np.arange(n_beats + 1)) * sr).astype(np.int64)
    n_total = int(beat_samples[-1] + round(tail * sr))
    out = np.zeros((2, n_total + sr), dtype=np.float32)  # one second of headroom for ringing notes

    kick, snare, hat, crash = _drum_kit(sr, rng)
    bar = 0
    sec_objs = []
    for si, (label, bars) in enumerate(sections):
        style = _style(label)
        start_beat = bar * meter
        sec_start = 0.0 if si == 0 else beat_samples[start_beat] / sr
        sec_end = n_total / sr if si == len(sections) - 1 else beat_samples[(bar + bars) * meter] / sr
        sec_objs.append(Section(float(sec_start), float(sec_end), str(label)))
        lvl = style["level"]
        for b in range(bars):
            root = 45 + style["prog"][b % len(style["prog"])]  # MIDI, A2 + degree
            for k in range(meter):
                i = (bar + b) * meter + k
                s0, s1 = int(beat_samples[i]), int(beat_samples[i + 1])
                # drums
                accent = _accent(meter, k)
                if style["drums"] != "none":
                    if accent == 2 or (accent == 1 and meter == 4 and style["drums"] != "light" and not half_time):
                        _add(out, kick, s0, 0.9 * lvl ** 0.5, pan=0.0)
                    if (k == 2 if half_time else _is_snare(meter, k)) and style["drums"] != "light":
                        _add(out, snare, s0, (0.6 if meter != 3 else 0.3) * lvl, pan=0.1)
                    _add(out, hat, s0, 0.18 * lvl * (1.3 if accent else 1.0), pan=-0.3)
                    if (hats == "auto" and style["drums"] == "big") or hats in ("eighths", "sixteenths"):
                        off = s0 + int(round((s1 - s0) * (0.5 + swing * 0.5)))
                        _add(out, hat, off, 0.12 * lvl, pan=0.3)
                    if hats == "sixteenths":
                        for q in (0.25, 0.75):
                            _add(out, hat, s0 + int(round((s1 - s0) * q)), 0.08 * lvl, pan=0.3)
                        if b == 0 and k == 0:
                            _add(out, crash, s0, 0.25 * lvl, pan=-0.2)
                # bass: root, one note per beat (octave jump on non-accented beats in big sections)
                note = root - 12 + (12 if (style["drums"] == "big" and k % 2) else 0)
                _add(out, _tone(note, s1 - s0, sr, harmonics=3, decay=0.25), s0,
                     (0.35 if accent == 2 else 0.25) * lvl, pan=0.0)
            # chord for the whole bar
            b0, b1 = int(beat_samples[(bar + b) * meter]), int(beat_samples[(bar + b + 1) * meter])
            chord = [root + 12, root + 12 + (3 if style["prog"][b % len(style["prog"])] in (0, 5) else 4),
                     root + 19]
            length = b1 - b0
            pad = np.sum([_tone(n, length, sr, harmonics=style["harm"], decay=None if style["pad"] else 0.6)
                          for n in chord], axis=0)
            _add(out, pad, b0, 0.12 * lvl, pan=0.25, width=0.5)
            if label == "chorus":  # a bright lead hook on beats 1 and the middle of the bar
                hook = _tone(root + 24 + 7 * (b % 2), length // 2, sr, harmonics=6, decay=0.3)
                _add(out, hook, b0, 0.12 * lvl, pan=-0.25)
                _add(out, hook, b0 + length // 2, 0.10 * lvl, pan=0.25)
        bar += bars

    out = out[:, :n_total]
    peak = float(np.abs(out).max()) or 1.0
    out *= 0.89 / peak
    if channels == 1:
        out = out.mean(axis=0, keepdims=True)
    times = beat_samples[:-1] / sr
    return SynthSong(samples=np.ascontiguousarray(out, dtype=np.float32), sample_rate=sr,
                     beats=times, downbeats=times[::meter].copy(), sections=tuple(sec_objs),
                     bpm=float(bpm), meter=int(meter), duration=n_total / sr)


def write_wav(path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write ``(channels, n)`` float samples to a 16-bit WAV, atomically (temp name, then rename).

    Returns
    -------
    Path
        ``path``.
    """
    import soundfile as sf

    path = Path(path)
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[None]
    if data.ndim != 2:
        raise ValueError(f"samples: expected shape (channels, n), got {data.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".wav.tmp", dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, np.clip(data.T, -1.0, 1.0), int(sample_rate), format="WAV", subtype="PCM_16")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _style(label: str) -> dict:
    if label in _STYLES:
        return _STYLES[label]
    h = zlib.crc32(label.encode())
    prog = tuple(int(x) for x in ((h >> 0) % 12, (h >> 4) % 12, (h >> 8) % 12, (h >> 12) % 12))
    return dict(prog=prog, harm=2 + h % 6, level=0.5 + (h % 5) / 10, drums="full", pad=bool(h & 1))


def _accent(meter: int, k: int) -> int:
    """2 = bar accent (kick), 1 = secondary accent, 0 = weak."""
    if k == 0:
        return 2
    if meter == 6 and k == 3:
        return 1
    if meter == 4 and k == 2:
        return 1
    if meter not in (3, 4, 6) and k == meter // 2:
        return 1
    return 0


def _is_snare(meter: int, k: int) -> bool:
    if meter == 4:
        return k in (1, 3)
    if meter == 6:
        return k == 3
    if meter == 3:
        return k in (1, 2)
    return k % 2 == 1


def _add(out: np.ndarray, x: np.ndarray, at: int, gain: float, *, pan: float, width: float = 0.0) -> None:
    """Mix mono ``x`` into stereo ``out`` at sample ``at`` with constant-power pan."""
    n = min(x.shape[0], out.shape[1] - at)
    if n <= 0:
        return
    left = np.sqrt(0.5 * (1 - pan)) * gain
    right = np.sqrt(0.5 * (1 + pan)) * gain
    out[0, at:at + n] += left * x[:n]
    if width:
        # delay the right channel a little for width (a few ms)
        d = 97
        m = max(n - d, 0)
        out[1, at + d:at + d + m] += right * x[:m]
    else:
        out[1, at:at + n] += right * x[:n]


def _tone(midi: float, length: int, sr: int, *, harmonics: int, decay: float | None) -> np.ndarray:
    """A note of ``length`` samples: ``harmonics`` partials (1/h amplitudes), 5 ms attack."""
    t = np.arange(max(int(length), 1), dtype=np.float32) / sr
    f0 = 440.0 * 2.0 ** ((midi - 69) / 12.0)
    x = np.zeros_like(t)
    for h in range(1, harmonics + 1):
        if f0 * h >= sr / 2:
            break
        x += np.sin(2 * np.pi * f0 * h * t, dtype=np.float32) / h
    env = np.minimum(t / 0.005, 1.0)
    if decay is None:
        env *= np.minimum(1.0, (t[-1] - t + 1e-3) / 0.02)  # sustained; short release at the end
    else:
        env *= np.exp(-t / decay)
    return (x * env).astype(np.float32)


def _drum_kit(sr: int, rng: np.random.Generator):
    t = np.arange(int(0.35 * sr), dtype=np.float32) / sr
    freq = 50 + 100 * np.exp(-t / 0.04)
    kick = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.12)
    kick[: int(0.002 * sr)] *= np.linspace(0.3, 1.0, int(0.002 * sr))
    ts = t[: int(0.2 * sr)]
    noise = rng.standard_normal(ts.size).astype(np.float32)
    snare = 0.7 * noise * np.exp(-ts / 0.05) + 0.5 * np.sin(2 * np.pi * 190 * ts) * np.exp(-ts / 0.03)
    th = t[: int(0.05 * sr)]
    hn = rng.standard_normal(th.size).astype(np.float32)
    hat = np.diff(hn, prepend=0.0) * np.exp(-th / 0.012)
    tc = np.arange(int(1.2 * sr), dtype=np.float32) / sr
    cn = rng.standard_normal(tc.size).astype(np.float32)
    crash = np.diff(cn, prepend=0.0) * np.exp(-tc / 0.4)
    return (kick.astype(np.float32), snare.astype(np.float32), (0.6 * hat).astype(np.float32),
            (0.5 * crash).astype(np.float32))
