"""Frame-level features shared by every analysis step, computed once per song.

One STFT feeds the onset envelope, the low-frequency onset envelope (kick evidence for
downbeats), chroma (harmonic change), MFCC (timbre, for sections) and RMS (energy).
All arrays share one frame grid: frame ``i`` is centred at ``i * hop_length / sr`` seconds.
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
#: Mel bands below this frequency make the low-frequency (kick/bass) onset envelope.
LOW_HZ = 200.0


@dataclass(frozen=True, eq=False)
class Features:
    """Frame-level features of one song (all arrays ``(..., n_frames)``).

    Attributes
    ----------
    sr, hop_length : int
        Frame ``i`` is at ``i * hop_length / sr`` seconds.
    duration : float
        Song length in seconds.
    onset : ndarray (n,)
        Spectral-flux onset strength (librosa ``onset_strength`` on the log-mel spectrogram).
    onset_low : ndarray (n,)
        The same restricted to mel bands below :data:`LOW_HZ`.
    chroma : ndarray (12, n)
    mfcc : ndarray (20, n)
    rms : ndarray (n,)
    """

    sr: int
    hop_length: int
    duration: float
    onset: np.ndarray = field(repr=False)
    onset_low: np.ndarray = field(repr=False)
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
        y = y.mean(axis=0)
    if y.ndim != 1:
        raise ValueError(f"samples: expected shape (channels, n) or (n,), got {np.shape(samples)}")
    if int(sr) != int(target_sr):
        import soxr

        y = soxr.resample(y, int(sr), int(target_sr), quality="HQ").astype(np.float32, copy=False)
    return np.ascontiguousarray(y)


def compute_features(y: np.ndarray, *, sr: int = SR, hop_length: int = HOP) -> Features:
    """Compute all frame features of a mono signal.

    Parameters
    ----------
    y : ndarray (n,)
        Mono audio, float.
    sr : int
        Sample rate of ``y`` in Hz.
    hop_length : int
        Frame hop in samples.

    Returns
    -------
    Features
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"y: expected a mono signal of shape (n,), got shape {y.shape}")
    duration = y.shape[0] / float(sr)
    if y.shape[0] < N_FFT:
        y = np.pad(y, (0, N_FFT - y.shape[0]))
    stft = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=hop_length, center=True))
    power = stft**2
    mel_fb = librosa.filters.mel(sr=sr, n_fft=N_FFT, n_mels=N_MELS, fmin=0.0, fmax=sr / 2)
    mel = mel_fb @ power
    mel_db = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
    onset = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=hop_length, lag=1, max_size=1)
    freqs = librosa.mel_frequencies(n_mels=N_MELS, fmin=0.0, fmax=sr / 2)
    low = freqs < LOW_HZ
    onset_low = librosa.onset.onset_strength(S=mel_db[low], sr=sr, hop_length=hop_length, lag=1, max_size=1)
    chroma = librosa.feature.chroma_stft(S=power, sr=sr, n_fft=N_FFT, hop_length=hop_length, tuning=0.0)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=20)
    rms = librosa.feature.rms(S=stft, frame_length=N_FFT, hop_length=hop_length)[0]
    n = min(onset.shape[-1], chroma.shape[-1], rms.shape[-1])
    return Features(sr=int(sr), hop_length=int(hop_length), duration=duration,
                    onset=onset[:n].astype(np.float32), onset_low=onset_low[:n].astype(np.float32),
                    chroma=chroma[:, :n].astype(np.float32), mfcc=mfcc[:, :n].astype(np.float32),
                    rms=rms[:n].astype(np.float32))
