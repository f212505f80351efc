"""Frame-level features shared by every analysis step, computed once per song, in chunks.

One short-time Fourier transform feeds the onset envelopes (full band, body band without the
cymbals, low band for kick and bass), chroma (harmonic change), MFCC (timbre, for sections) and
RMS (energy). All arrays share one frame grid: frame ``i`` is centred at ``i * hop_length / sr``
seconds.

Plain numpy, float32, chunked: the STFT is taken a few thousand frames at a time and reduced to
the 128 mel bands, 12 chroma bins and RMS at once, so memory grows with the song only by those
small matrices (a 10-minute song: ~60 MB), not by the spectrogram (~900 MB as complex64). The
numbers follow librosa's conventions (periodic Hann window, centred frames, Slaney mel
filterbank, ``power_to_db(ref=max, top_db=80)``, spectral-flux onset strength shifted by
``lag + n_fft // (2 hop)`` frames) without importing librosa, whose ``beat`` module alone takes
~6 s and ~280 MiB to import (it compiles a numba kernel on every import).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Analysis sample rate in Hz; songs are mixed to mono and resampled to it.
SR = 22050
#: Hop in samples at :data:`SR` (11.6 ms, 86.13 frames/s). Hop 512 biases tempo (120 -> 117.45 BPM).
HOP = 256
N_FFT = 2048
N_MELS = 128
N_MFCC = 20
#: Mel bands below this frequency make the low-frequency (kick/bass) onset envelope.
LOW_HZ = 200.0
#: Mel bands below this frequency make the "body" onset envelope: kick, snare, bass, chords —
#: what a listener taps — without the hi-hats and cymbals that subdivide the beat.
BODY_HZ = 1000.0
#: Frames per STFT chunk (~24 s at the default hop): bounds the transient memory.
CHUNK_FRAMES = 2048
#: Silent frames prepended before the song so an onset at 0 s has a frame before it to differ from.
LEAD_FRAMES = 8


@dataclass(frozen=True, eq=False)
class Features:
    """Frame-level features of one song (all arrays ``(..., n_frames)``, float32).

    Attributes
    ----------
    sr, hop_length : int
        Frame ``i`` is at ``i * hop_length / sr`` seconds.
    duration : float
        Song length in seconds.
    onset : ndarray (n,)
        Spectral-flux onset strength of the log-mel spectrogram (librosa's ``onset_strength``).
    onset_low : ndarray (n,)
        The same restricted to mel bands below :data:`LOW_HZ`.
    onset_body : ndarray (n,)
        The same restricted to mel bands below :data:`BODY_HZ`.
    chroma : ndarray (12, n)
    mfcc : ndarray (20, n)
    rms : ndarray (n,)
    """

    sr: int
    hop_length: int
    duration: float
    onset: np.ndarray = field(repr=False)
    onset_low: np.ndarray = field(repr=False)
    onset_body: np.ndarray = field(repr=False)
    chroma: np.ndarray = field(repr=False)
    mfcc: np.ndarray = field(repr=False)
    rms: np.ndarray = field(repr=False)

    @property
    def frame_rate(self) -> float:
        return self.sr / self.hop_length

    @property
    def n_frames(self) -> int:
        return int(self.onset.shape[-1])


def to_mono(samples: np.ndarray, *, sr: int, target_sr: int = SR) -> np.ndarray:
    """Mix ``(channels, n)`` or ``(n,)`` samples to mono float32 at ``target_sr``."""
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0, dtype=np.float32) if y.shape[0] > 1 else y[0]
    if y.ndim != 1:
        raise ValueError(f"samples: expected shape (channels, n) or (n,), got {np.shape(samples)}")
    if int(sr) != int(target_sr):
        import soxr

        y = soxr.resample(y, int(sr), int(target_sr), quality="HQ").astype(np.float32, copy=False)
    return np.ascontiguousarray(y)


def hz_to_mel(f):
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=float)
    mel = f / (200.0 / 3)
    log = f >= 1000.0
    return np.where(log, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / (np.log(6.4) / 27.0), mel)


def mel_to_hz(m):
    m = np.asarray(m, dtype=float)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), (200.0 / 3) * m)


def mel_frequencies(n_mels: int = N_MELS, *, fmin: float = 0.0, fmax: float = SR / 2) -> np.ndarray:
    """Centre frequencies (Hz) of ``n_mels`` bands evenly spaced on the Slaney mel scale."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels))


def mel_filterbank(*, sr: int = SR, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular Slaney-normalised mel filterbank, shape ``(n_mels, 1 + n_fft // 2)``, float32."""
    fft_f = np.linspace(0.0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_frequencies(n_mels + 2, fmax=sr / 2)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_f[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float32)


def chroma_filterbank(*, sr: int = SR, n_fft: int = N_FFT) -> np.ndarray:
    """Pitch-class weights of the STFT bins, shape ``(12, 1 + n_fft // 2)``, float32 (row 0 = C).

    Ellis's chroma filterbank as librosa builds it (``librosa.filters.chroma`` with A440 tuning):
    each bin votes for the pitch classes near its frequency with a Gaussian as wide as the bin
    (in semitones, at least one), columns normalised to unit length, then weighted by a
    two-octave-wide Gaussian centred on octave 5 (~C5).
    """
    freqs = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    bins = 12.0 * np.log2(freqs / (440.0 / 16))
    bins = np.concatenate(([bins[0] - 18.0], bins))  # the 0 Hz bin: 1.5 octaves below bin 1
    width = np.concatenate((np.maximum(bins[1:] - bins[:-1], 1.0), [1.0]))
    d = np.subtract.outer(bins, np.arange(12, dtype=float)).T
    d = np.remainder(d + 6.0 + 120.0, 12.0) - 6.0
    w = np.exp(-0.5 * (2.0 * d / width[None, :]) ** 2)
    w /= np.maximum(np.linalg.norm(w, axis=0, keepdims=True), 1e-30)
    w *= np.exp(-0.5 * ((bins / 12.0 - 5.0) / 2.0) ** 2)[None, :]
    w = np.roll(w, -3, axis=0)  # rows from A to rows from C
    return np.ascontiguousarray(w[:, :1 + n_fft // 2], dtype=np.float32)


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II matrix ``(n_out, n_in)`` (MFCC from log-mel, as ``scipy.fft.dct(norm='ortho')``)."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    m = np.sqrt(2.0 / n_in) * np.cos(np.pi * k * (2 * n + 1) / (2 * n_in))
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float32)


def _segment(y: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``y[start:stop]`` with zeros outside the signal (the centred STFT's padding), float32."""
    out = np.zeros(stop - start, dtype=np.float32)
    a, b = max(start, 0), min(stop, y.shape[0])
    if b > a:
        out[a - start:b - start] = y[a:b]
    return out


def onset_strength(mel_db: np.ndarray, *, lag: int = 1, n_fft: int = N_FFT, hop_length: int = HOP) -> np.ndarray:
    """Spectral-flux onset strength of a log-mel spectrogram ``(bands, n)``, float32 ``(n,)``.

    Mean over bands of the positive change from ``lag`` frames before, shifted by
    ``lag + n_fft // (2 hop_length)`` frames so a peak sits on the onset's frame (a centred
    frame hears an onset half a window early).
    """
    n = mel_db.shape[-1]
    env = np.zeros(n, dtype=np.float32)
    if n <= lag:
        return env
    flux = np.maximum(mel_db[:, lag:] - mel_db[:, :-lag], 0.0).mean(axis=0, dtype=np.float32)
    shift = lag + n_fft // (2 * hop_length)
    m = max(min(n - shift, flux.shape[0]), 0)
    env[shift:shift + m] = flux[:m]
    return env


def compute_features(y: np.ndarray, *, sr: int = SR, hop_length: int = HOP,
                     chunk_frames: int = CHUNK_FRAMES) -> Features:
    """Compute all frame features of a mono signal, a chunk of STFT frames at a time.

    Parameters
    ----------
    y : ndarray (n,)
        Mono audio, float.
    sr : int
        Sample rate of ``y`` in Hz.
    hop_length : int
        Frame hop in samples.
    chunk_frames : int
        STFT frames per chunk (memory, not results).

    Returns
    -------
    Features
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"y: expected a mono signal of shape (n,), got shape {y.shape}")
    duration = y.shape[0] / float(sr)
    n = 1 + y.shape[0] // hop_length
    lead = LEAD_FRAMES
    total = n + lead
    half = N_FFT // 2
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    mel_fb = mel_filterbank(sr=sr, n_fft=N_FFT, n_mels=N_MELS)
    chroma_fb = chroma_filterbank(sr=sr, n_fft=N_FFT)
    mel = np.empty((N_MELS, total), dtype=np.float32)
    chroma = np.empty((12, total), dtype=np.float32)
    rms = np.empty(total, dtype=np.float32)
    for f0 in range(0, total, chunk_frames):
        f1 = min(f0 + chunk_frames, total)
        # frame f (with the lead) is centred at sample (f - lead) * hop
        start = (f0 - lead) * hop_length - half
        seg = _segment(y, start, (f1 - 1 - lead) * hop_length - half + N_FFT)
        frames = np.lib.stride_tricks.sliding_window_view(seg, N_FFT)[::hop_length]
        spec = np.fft.rfft(frames * window, axis=-1)
        power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32).T  # (bins, frames)
        del spec, frames
        mel[:, f0:f1] = mel_fb @ power
        c = chroma_fb @ power
        chroma[:, f0:f1] = c / np.maximum(c.max(axis=0, keepdims=True), 1e-10)
        x = 2.0 * power.sum(axis=0) - power[0] - power[-1]
        rms[f0:f1] = np.sqrt(np.maximum(x, 0.0) / float(N_FFT) ** 2)
        del power, c
    # log-mel, relative to the loudest bin of the whole song, 80 dB floor (in place)
    np.maximum(mel, 1e-10, out=mel)
    np.log10(mel, out=mel)
    mel *= 10.0
    mel -= mel.max()
    np.maximum(mel, -80.0, out=mel)
    freqs = mel_frequencies(N_MELS, fmax=sr / 2)
    onset = onset_strength(mel, hop_length=hop_length)[lead:]
    onset_low = onset_strength(mel[freqs < LOW_HZ], hop_length=hop_length)[lead:]
    onset_body = onset_strength(mel[freqs < BODY_HZ], hop_length=hop_length)[lead:]
    mfcc = dct_matrix(N_MFCC, N_MELS) @ mel[:, lead:]
    del mel
    return Features(sr=int(sr), hop_length=int(hop_length), duration=duration,
                    onset=np.ascontiguousarray(onset), onset_low=np.ascontiguousarray(onset_low),
                    onset_body=np.ascontiguousarray(onset_body), chroma=np.ascontiguousarray(chroma[:, lead:]),
                    mfcc=np.ascontiguousarray(mfcc, dtype=np.float32), rms=np.ascontiguousarray(rms[lead:]))
