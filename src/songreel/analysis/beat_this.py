"""The optional ``beat_this`` tracker (Foscarin, Schlüter and Widmer, ISMIR 2024), behind ``songreel[beats]``.

Runs the model through beat_this's own inference path (``beat_this.inference.Audio2Beats``: its
log-mel front end, chunked transformer, minimal peak-picking post-processor) on the CPU. Named
checkpoints are fetched by beat_this on first use into torch hub's standard cache; a failure to
import the package or load the weights is one :class:`TrackerUnavailable` line saying what to
install or where to put the file — never a silent fallback to the built-in tracker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MissingExtraError
from .beats import _period, extend_grid

#: Where beat_this fetches its published checkpoints (the package's own ``CHECKPOINT_URL``).
BEAT_THIS_URL = "https://cloud.cp.jku.at/public.php/dav/files/7ik4RrBKTS273gp"
_BEAT_THIS_MODELS: dict = {}


def beat_this_cache(checkpoint: str = "final0") -> Path:
    """Where a named beat_this checkpoint lives once fetched: torch hub's standard cache."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints" / f"beat_this-{checkpoint}.ckpt"


def beat_this_status(checkpoint: str = "final0") -> tuple[bool, str]:
    """Whether the ``beat_this`` tracker can run here without a download, and if not, why.

    Returns
    -------
    ok : bool
    why : str
        Empty when ``ok``; else one line naming what is missing and how to get it.
    """
    import importlib.util

    if importlib.util.find_spec("beat_this") is None:
        return False, "the beat_this package is not installed: pip install 'songreel[beats]'"
    try:
        import beat_this.inference  # noqa: F401
    except Exception as e:  # noqa: BLE001 - any import failure is reported as it is
        return False, (f"the beat_this package is installed but cannot be imported ({type(e).__name__}: "
                       f"{str(e).splitlines()[0] if str(e) else ''}); it needs torchaudio built for the "
                       "installed torch")
    if not Path(checkpoint).is_file() and not beat_this_cache(checkpoint).is_file():
        return False, (f"weights '{checkpoint}' are not in {beat_this_cache(checkpoint)} (fetched from "
                       f"{BEAT_THIS_URL}/{checkpoint}.ckpt on first use)")
    return True, ""


def beat_this_grid(y: np.ndarray, *, sr: int, checkpoint: str = "final0",
                   duration: float | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """Beats and downbeats from the optional ``beat_this`` tracker (Foscarin et al., ISMIR 2024).

    The model runs through beat_this's own inference path (``Audio2Beats``: its log-mel front
    end, chunked transformer, minimal peak-picking post-processor) on the CPU.

    Parameters
    ----------
    y : ndarray (n,)
        Mono audio.
    sr : int
    checkpoint : str
        A published checkpoint name (``final0``: fetched on first use into torch hub's cache,
        :func:`beat_this_cache`) or the path of a ``.ckpt`` file.
    duration : float, optional
        Song length in seconds (default: ``len(y) / sr``).

    Returns
    -------
    tempo : float
    beats, downbeats : ndarray
        Seconds; ``beats`` extrapolated like :func:`beat_grid`; ``downbeats`` as the model reads them.

    Raises
    ------
    MissingExtraError
        ``beat_this`` is not installed or cannot be imported, or its weights cannot be loaded
        (not cached and no network): the message says what to install or where to put the file.
    """
    import importlib.util

    if importlib.util.find_spec("beat_this") is None:
        raise TrackerUnavailable(
            "tracker: 'beat_this' needs the beat_this package, which is not installed: "
            "pip install 'songreel[beats]' (its weights are fetched on first use), or use tracker: librosa")
    model = _BEAT_THIS_MODELS.get(checkpoint)
    if model is None:
        try:
            from beat_this.inference import Audio2Beats
        except Exception as e:  # noqa: BLE001 - a broken dependency is the same user error
            raise TrackerUnavailable(
                f"tracker: 'beat_this' is installed but cannot be imported ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}); install torchaudio built for your torch "
                "(pip install 'songreel[beats]'), or use tracker: librosa") from None
        try:
            model = Audio2Beats(checkpoint_path=checkpoint, device="cpu", dbn=False)
        except Exception as e:  # noqa: BLE001 - offline, bad file: the user must fetch or point at weights
            raise TrackerUnavailable(
                f"tracker: 'beat_this' weights '{checkpoint}' could not be loaded ({type(e).__name__}); "
                f"offline? download {BEAT_THIS_URL}/{checkpoint}.ckpt to {beat_this_cache(checkpoint)} "
                "(or pass a .ckpt path), or use tracker: librosa") from None
        _BEAT_THIS_MODELS[checkpoint] = model
    import torch

    with torch.inference_mode():
        b, d = model(np.asarray(y, dtype=np.float32), int(sr))
    b, d = np.asarray(b, dtype=float), np.asarray(d, dtype=float)
    if duration is None:
        duration = len(y) / sr
    period = _period(b, fallback=0.5)
    return 60.0 / period, extend_grid(b, duration=duration, period=period), d


def meter_from_downbeats(beats: np.ndarray, downbeats: np.ndarray) -> int | None:
    """Beats per bar implied by a tracker's downbeats: the median count between consecutive ones (2..12)."""
    beats, downbeats = np.asarray(beats, float), np.asarray(downbeats, float)
    if downbeats.size < 2 or beats.size < 2:
        return None
    idx = np.unique(np.searchsorted(beats, downbeats - 0.07))
    counts = np.diff(idx)
    counts = counts[counts > 0]
    if counts.size == 0:
        return None
    m = int(round(float(np.median(counts))))
    return m if 2 <= m <= 12 else None


class TrackerUnavailable(MissingExtraError):
    """An optional beat tracker (package or weights) is not available; the message says what to get."""

    def __init__(self, message: str):
        ImportError.__init__(self, message)
