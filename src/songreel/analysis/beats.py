"""Tempo and beat grid: octave-aware tempo, dynamic-programming beats, latency correction, extrapolation.

Functions over numpy arrays in librosa's vocabulary (``onset_envelope``, ``sr``, ``hop_length``).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, MissingExtraError, UnknownNameError
from .features import HOP, SR

#: Seconds by which librosa's beats (spectral-flux onsets, centred frames, hop 256 at 22050 Hz)
#: come out late against the true sample-exact onsets; subtracted from every tracked beat.
#: Measured after peak snapping (:func:`snap_to_peaks`): 10.4 ms on noise-burst click tracks,
#: 20 ms on :func:`songreel.synth.render_song` songs (kick/notes with 2-5 ms attacks); 16 ms keeps
#: both within +-6 ms on average (``tests/test_analysis.py::test_latency_correction``).
LATENCY = 0.016

#: Centre of the log-normal tempo prior (BPM) and its width in octaves, used to pick the strongest
#: periodicity of the tempogram when no hint is given. This settles the tempo *class* (87.5 rather
#: than a 3:2 neighbour such as 115); the octave within the class is then chosen by
#: :func:`choose_octave` from beat-level evidence.
PRIOR_BPM = 100.0
PRIOR_OCTAVES = 0.5
#: Weight of "metrical support": pulse strength at twice a candidate tempo (its subdivision).
SUPPORT = 0.5
#: Octave decision (:func:`choose_octave`). Between a slower level ``T`` and ``2 T`` the faster one
#: is the beat when ``even + support * sub >= EVEN_NEEDED + EVEN_SLOPE * log2(2 T / 174)``, where
#: ``even`` is :func:`offbeat_ratio` at ``T`` (are the onsets half-way between ``T``'s beats as
#: strong as the beats? then ``2 T`` is an even pulse) and ``sub`` is it at ``2 T`` (the faster
#: level's own eighth notes). The threshold is the tempo prior: doubling to a fast tempo needs
#: more evenness. ``support = SUB_WEIGHT * log2(SUB_BPM / (2 T))``: below ``SUB_BPM`` eighth notes
#: under the faster level make it a more plausible beat (a 130 BPM song with a half-time feel);
#: above it they count against it (at 85 BPM with sixteenths, 170 would need notes 5.7 a second).
#: Set on synthetic songs and clicks at 60-174 BPM and the annotated excerpts, each decided with a
#: margin >= 0.10 (docs/benchmarks.md, issue 3, lists the evidence per excerpt).
EVEN_NEEDED = 0.6
EVEN_SLOPE = 0.45
SUB_BPM = 160.0
SUB_WEIGHT = 2.0
#: The octave ladder: the slowest level tried is in ``[MIN_BPM, 2 MIN_BPM)``; never above ``MAX_BPM``.
MIN_BPM = 30.0
MAX_BPM = 240.0
#: Prior width (octaves) around a user's ``tempo_hint``: narrow enough to pick that octave.
HINT_OCTAVES = 0.35
#: Seconds of onset envelope per autocorrelation window of the tempogram.
AC_SECONDS = 8.0

TRACKERS = ("librosa", "beat_this")


def tempo(*, onset_envelope: np.ndarray, sr: int = SR, hop_length: int = HOP,
          tempo_hint: float | None = None) -> float:
    """Estimate the global tempo: the strongest periodicity, then the octave a listener taps.

    Parameters
    ----------
    onset_envelope : ndarray (n,)
        Onset strength at ``sr / hop_length`` frames per second.
    sr, hop_length : int
    tempo_hint : float, optional
        Approximate tempo in BPM; the estimate is the strongest periodicity near it
        (it chooses the octave: a hint of 90 turns a 175 BPM reading into 87.5).

    Returns
    -------
    float
        Tempo in BPM (lag-quantised; :func:`beat_grid` refines it from the beats). Without a
        hint the octave is chosen by :func:`choose_octave`.
    """
    import librosa

    _check_bpm(tempo_hint, "tempo_hint")
    start, std = (float(tempo_hint), HINT_OCTAVES) if tempo_hint else (PRIOR_BPM, PRIOR_OCTAVES)
    onset_envelope = np.asarray(onset_envelope, dtype=float)
    if onset_envelope.size < 8 or not np.any(onset_envelope > 0):
        return float(start)
    win = int(min(round(AC_SECONDS * sr / hop_length), onset_envelope.shape[-1]))
    tg = librosa.feature.tempogram(onset_envelope=onset_envelope, sr=sr, hop_length=hop_length, win_length=win)
    strength = tg.mean(axis=1)
    bpms = librosa.tempo_frequencies(tg.shape[0], sr=sr, hop_length=hop_length)
    ok = np.isfinite(bpms) & (bpms > 0)
    log_bpm, strength = np.log2(bpms[ok][::-1]), strength[ok][::-1]

    def pulse(t):
        return np.interp(np.log2(t), log_bpm, strength, left=0.0, right=0.0)

    grid = 2.0 ** np.linspace(np.log2(30.0), np.log2(300.0), 1200)
    prior = np.exp(-0.5 * ((np.log2(grid) - np.log2(start)) / std) ** 2)
    score = (pulse(grid) + SUPPORT * pulse(2.0 * grid)) * prior
    best = float(grid[int(np.argmax(score))])
    if tempo_hint:
        return best
    return choose_octave(onset_envelope=onset_envelope, bpm=best, sr=sr, hop_length=hop_length)


def offbeat_ratio(*, onset_envelope: np.ndarray, bpm: float, sr: int = SR, hop_length: int = HOP) -> float:
    """How strong the onsets half-way between the beats are, relative to the beats, at a tempo.

    Beats are tracked with the tempo held at ``bpm``; at each beat and each midpoint the onset
    peak within +-2 frames is taken. The ratio is ``(mean(mid) - m) / (mean(beat) - m)`` with
    ``m`` the median of the envelope (the floor a silent position reads).

    Returns
    -------
    float
        In ``[0, 1.5]``: ~1 when the midpoints carry onsets as strong as the beats (the pulse at
        twice ``bpm`` is even: a click track read at half its tempo), ~0 when they are silent.
    """
    import librosa

    env = np.asarray(onset_envelope, dtype=float)
    _, frames = librosa.beat.beat_track(onset_envelope=env, sr=sr, hop_length=hop_length, bpm=float(bpm),
                                        tightness=100.0, trim=False, units="frames")
    frames = np.asarray(frames, dtype=float)
    if frames.size < 3:
        return 0.0
    n = env.shape[0]

    def peak(f):
        f = np.round(f).astype(int)
        return np.stack([env[np.clip(f + d, 0, n - 1)] for d in range(-2, 3)]).max(axis=0)

    floor = float(np.median(env))
    on = peak(frames[:-1]).mean() - floor
    mid = peak(0.5 * (frames[:-1] + frames[1:])).mean() - floor
    return float(np.clip(mid / on, 0.0, 1.5)) if on > 1e-9 else 0.0


def choose_octave(*, onset_envelope: np.ndarray, bpm: float, sr: int = SR, hop_length: int = HOP,
                  steps: list | None = None) -> float:
    """Choose the metrical level a listener taps among ``bpm * 2**k``, from beat-level evidence.

    Walks up the ladder from the level in ``[MIN_BPM, 2 MIN_BPM)``: from a level ``T`` it moves to
    ``2 T`` while the onsets half-way between ``T``'s beats are nearly as strong as the beats
    (:func:`offbeat_ratio`), against a threshold that rises with the tempo (see
    :data:`EVEN_NEEDED`); it stops at the first level whose in-between onsets are weak, or at
    :data:`MAX_BPM`.

    Parameters
    ----------
    onset_envelope : ndarray (n,)
    bpm : float
        Any level of the tempo (its octave does not matter).
    sr, hop_length : int
    steps : list, optional
        If given, one dict per comparison is appended to it (``slow``, ``fast`` in BPM, ``even``,
        ``sub``, ``support``, ``needed``, ``faster``), to show why a level was chosen.

    Returns
    -------
    float
        ``bpm * 2**k`` in BPM.
    """
    if not (np.isfinite(bpm) and bpm > 0):
        return float(bpm)
    level = float(bpm) * 2.0 ** np.ceil(np.log2(MIN_BPM / float(bpm)))  # in [MIN_BPM, 2 MIN_BPM)
    ratio = {}

    def r(t):
        if t not in ratio:
            ratio[t] = offbeat_ratio(onset_envelope=onset_envelope, bpm=t, sr=sr, hop_length=hop_length)
        return ratio[t]

    while 2.0 * level <= MAX_BPM:
        fast = 2.0 * level
        support = SUB_WEIGHT * np.log2(SUB_BPM / fast)
        needed = EVEN_NEEDED + EVEN_SLOPE * np.log2(fast / 174.0)
        faster = r(level) + support * r(fast) >= needed
        if steps is not None:
            steps.append(dict(slow=level, fast=fast, even=r(level), sub=r(fast), support=float(support),
                              needed=float(needed), faster=bool(faster)))
        if not faster:
            break
        level = fast
    return level


def beat_grid(y: np.ndarray | None = None, *, sr: int = SR, onset_envelope: np.ndarray | None = None,
              hop_length: int = HOP, tempo_hint: float | None = None, bpm: float | None = None,
              duration: float | None = None, latency: float = LATENCY,
              tightness: float = 100.0) -> tuple[float, np.ndarray]:
    """Track beats and return a grid that covers the whole song.

    Parameters
    ----------
    y : ndarray (n,), optional
        Mono audio; used only when ``onset_envelope`` is not given.
    sr, hop_length : int
        Sample rate and hop of the onset envelope.
    onset_envelope : ndarray (n_frames,), optional
        Precomputed onset strength (see :mod:`songreel.analysis.features`).
    tempo_hint : float, optional
        Approximate BPM; picks the tempo octave.
    bpm : float, optional
        Known tempo in BPM: the tracker is held to it and the grid is extrapolated at exactly it.
    duration : float, optional
        Song length in seconds (default: the envelope's length).
    latency : float
        Seconds subtracted from the tracked beats (:data:`LATENCY`).
    tightness : float
        librosa's tempo-adherence weight for the dynamic program.

    Returns
    -------
    tempo : float
        BPM of the grid: ``bpm`` if given, else refined from the tracked beats.
    beats : ndarray (n_beats,)
        Beat times in seconds, increasing, extrapolated at the tempo so the first beat is
        within one period of 0 s and the last within one period of ``duration``.

    Raises
    ------
    InputError
        ``bpm`` or ``tempo_hint`` is not a positive number in 20..400.
    """
    import librosa

    _check_bpm(bpm, "bpm")
    _check_bpm(tempo_hint, "tempo_hint")
    if onset_envelope is None:
        if y is None:
            raise InputError("beat_grid: pass y= (audio) or onset_envelope=")
        onset_envelope = librosa.onset.onset_strength(y=np.asarray(y, dtype=np.float32), sr=sr,
                                                      hop_length=hop_length)
    fr = sr / hop_length
    if duration is None:
        duration = onset_envelope.shape[-1] / fr
    start = float(bpm) if bpm else tempo(onset_envelope=onset_envelope, sr=sr, hop_length=hop_length,
                                         tempo_hint=tempo_hint)
    beats = np.empty(0)
    if np.any(onset_envelope > 0):
        _, frames = librosa.beat.beat_track(onset_envelope=onset_envelope, sr=sr, hop_length=hop_length,
                                            bpm=start, tightness=tightness, trim=False, units="frames")
        beats = snap_to_peaks(np.asarray(frames), onset_envelope=onset_envelope) / fr - latency
        beats = beats[(beats >= 0) & (beats < duration)]
    period = 60.0 / float(bpm) if bpm else _period(beats, fallback=60.0 / start)
    beats = trim_edges(beats, period=period)
    beats = extend_grid(beats, duration=duration, period=period)
    return 60.0 / period, beats


def _period(beats: np.ndarray, *, fallback: float) -> float:
    """Robust beat period from tracked beats: median slope over spans of up to 8 beats."""
    if beats.size < 3:
        return fallback
    k = int(min(8, beats.size - 1))
    slopes = (beats[k:] - beats[:-k]) / k
    return float(np.median(slopes))


def snap_to_peaks(frames: np.ndarray, *, onset_envelope: np.ndarray, radius: int = 2) -> np.ndarray:
    """Move each beat frame to the onset peak within ``radius`` frames, with sub-frame precision.

    The dynamic program trades onset strength against tempo regularity and may land a frame or
    two off the onset; a parabola through the peak and its neighbours refines the time.

    Returns
    -------
    ndarray (n,)
        Fractional frame indices.
    """
    env = np.asarray(onset_envelope, dtype=float)
    n = env.shape[0]
    out = np.asarray(frames, dtype=float).copy()
    for i, f in enumerate(np.asarray(frames, dtype=int)):
        lo, hi = max(f - radius, 0), min(f + radius + 1, n)
        if hi <= lo:
            continue
        p = lo + int(np.argmax(env[lo:hi]))
        if env[p] <= 0:
            continue
        offset = 0.0
        if 0 < p < n - 1:
            a, b, c = env[p - 1], env[p], env[p + 1]
            denom = a - 2 * b + c
            if denom < 0:
                offset = float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))
        out[i] = p + offset
    return out


def trim_edges(beats: np.ndarray, *, period: float, tolerance: float = 0.05) -> np.ndarray:
    """Drop leading and trailing beats whose spacing is off the period by more than ``tolerance``.

    The dynamic program starts and ends its path wherever it likes; those edge beats are often
    off the grid. :func:`extend_grid` then re-creates them at the period.
    """
    beats = np.asarray(beats, dtype=float)
    while beats.size >= 3 and abs((beats[1] - beats[0]) / period - 1.0) > tolerance:
        beats = beats[1:]
    while beats.size >= 3 and abs((beats[-1] - beats[-2]) / period - 1.0) > tolerance:
        beats = beats[:-1]
    return beats


def extend_grid(beats: np.ndarray, *, duration: float, period: float) -> np.ndarray:
    """Extrapolate a beat grid at ``period`` back towards 0 s and on towards ``duration``.

    Parameters
    ----------
    beats : ndarray (n,)
        Tracked beat times in seconds, increasing (may be empty).
    duration : float
        Song length in seconds.
    period : float
        Beat period in seconds used for the added beats.

    Returns
    -------
    ndarray
        Beats in ``[0, duration)``, increasing; the first is ``< period`` and the last is
        ``>= duration - period``.
    """
    if period <= 0 or not np.isfinite(period):
        raise InputError(f"extend_grid: period must be a positive number of seconds, got {period!r}")
    beats = np.asarray(beats, dtype=float)
    beats = np.unique(beats[(beats >= 0) & (beats < duration)])
    if beats.size == 0:
        return np.arange(0.0, duration, period)
    n_before = int(np.floor(beats[0] / period + 1e-9))
    before = beats[0] - period * np.arange(n_before, 0, -1)
    n_after = int(np.ceil((duration - beats[-1]) / period - 1e-9)) - 1
    after = beats[-1] + period * np.arange(1, max(n_after, 0) + 1)
    out = np.concatenate([before, beats, after])
    return out[(out >= 0) & (out < duration)]


def beat_this_grid(y: np.ndarray, *, sr: int, checkpoint: str = "final0",
                   duration: float | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """Beats and downbeats from the optional ``beat_this`` tracker (Foscarin et al., ISMIR 2024).

    Returns
    -------
    tempo : float
    beats, downbeats : ndarray
        Seconds; ``beats`` extrapolated like :func:`beat_grid`.

    Raises
    ------
    MissingExtraError
        ``beat_this`` is not installed, or its weights (``checkpoint``) cannot be loaded.
    """
    import importlib.util

    if importlib.util.find_spec("beat_this") is None:
        raise TrackerUnavailable(
            "beats tracker 'beat_this' needs the 'beat_this' package, which is not installed: "
            "pip install beat_this (it downloads its weights, checkpoint "
            f"'{checkpoint}', from the JKU server on first use; offline, place the .ckpt file "
            "and pass its path), or use tracker='librosa'")
    try:
        from beat_this.inference import Audio2Beats

        model = Audio2Beats(checkpoint_path=checkpoint, device="cpu", dbn=False)
    except Exception as e:  # noqa: BLE001 - any failure to get the weights is the same user error
        raise TrackerUnavailable(
            f"beats tracker 'beat_this': weights '{checkpoint}' could not be loaded ({e}); download "
            "the checkpoint (e.g. https://cloud.cp.jku.at/index.php/s/7ik4RrBKTS273gp -> final0.ckpt) "
            "and pass its file path, or use tracker='librosa'") from None
    b, d = model(np.asarray(y, dtype=np.float32), sr)
    b, d = np.asarray(b, dtype=float), np.asarray(d, dtype=float)
    if duration is None:
        duration = len(y) / sr
    period = _period(b, fallback=0.5)
    return 60.0 / period, extend_grid(b, duration=duration, period=period), d


class TrackerUnavailable(MissingExtraError):
    """An optional beat tracker (package or weights) is not available; the message says what to get."""

    def __init__(self, message: str):
        ImportError.__init__(self, message)


def check_tracker(tracker: str) -> str:
    """Return ``tracker`` if it is a known name, else raise :class:`UnknownNameError`."""
    from ..errors import did_you_mean

    if tracker not in TRACKERS:
        raise UnknownNameError(f"tracker: unknown beat tracker {tracker!r}{did_you_mean(tracker, TRACKERS)}; "
                               f"accepted: {', '.join(TRACKERS)}")
    return tracker


def _check_bpm(value, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or not 20 <= float(value) <= 400:
        raise InputError(f"{name}: expected a tempo in BPM between 20 and 400, got {value!r}")
