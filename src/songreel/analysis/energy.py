"""Energy envelopes for motion and transition intensity: RMS and onset strength, normalised to [0, 1]."""

from __future__ import annotations

import numpy as np

from .features import HOP, SR


def envelopes(y: np.ndarray | None = None, *, sr: int = SR, hop_length: int = HOP,
              onset_envelope: np.ndarray | None = None, rms: np.ndarray | None = None,
              ) -> tuple[float, np.ndarray, np.ndarray]:
    """Onset and RMS envelopes at the frame rate, each scaled to ``[0, 1]``.

    Parameters
    ----------
    y : ndarray (n,), optional
        Mono audio; needed unless both envelopes are given.
    sr, hop_length : int
    onset_envelope, rms : ndarray (n_frames,), optional
        Precomputed envelopes to normalise.

    Returns
    -------
    rate : float
        Envelope samples per second (``sr / hop_length``).
    onset_envelope, rms : ndarray (n_frames,)
        float32 in ``[0, 1]``; a silent song gives zeros.
    """
    if onset_envelope is None or rms is None:
        if y is None:
            raise ValueError("envelopes: pass y= (audio) or both onset_envelope= and rms=")
        from .features import compute_features

        feats = compute_features(np.asarray(y, dtype=np.float32), sr=sr, hop_length=hop_length)
        onset_envelope = feats.onset if onset_envelope is None else onset_envelope
        rms = feats.rms if rms is None else rms
    return sr / hop_length, normalise(onset_envelope), normalise(rms)


def normalise(x: np.ndarray, *, percentile: float = 99.5) -> np.ndarray:
    """Scale a non-negative envelope to ``[0, 1]`` by a high percentile (robust to one spike), clipped."""
    x = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
    top = np.percentile(x, percentile) if x.size else 0.0
    if top <= 1e-12:
        top = x.max() if x.size else 0.0
    if top <= 1e-12:
        return np.zeros(x.shape, dtype=np.float32)
    return np.clip(x / top, 0.0, 1.0).astype(np.float32)
