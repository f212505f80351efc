"""Tempo and beat grid: octave-aware tempo, dynamic-programming beats, latency correction, extrapolation.

Functions over numpy arrays in librosa's vocabulary (``onset_envelope``, ``sr``, ``hop_length``).
One job, the beat grid, past 450 lines because its parts are one chain that shares constants and
evidence: the tempogram proposes a tempo class, the octave decision runs the fixed-tempo tracker
at each level to measure off-beat onsets, and the same tracker then lays the grid that is snapped,
corrected and extrapolated. The optional ``beat_this`` tracker lives in :mod:`.beat_this`.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, UnknownNameError
from .features import HOP, SR

#: Seconds by which the tracked beats (spectral-flux onsets, centred frames, hop 256 at 22050 Hz)
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
PRIOR_OCTAVES = 1.0
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
#: margin >= 0.10 (docs/benchmarks.md lists the evidence per excerpt).
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

#: The body-band test (:func:`choose_octave`) applies from this slow level up: nobody taps 40 BPM,
#: but a 55 BPM ballad is a beat, and only the body of the music tells it from 110.
BODY_FROM_BPM = 50.0
#: Moving from ``T`` to ``2 T`` needs the body's off-beat ratio at ``T`` to reach this, or this
#: share of the full-band ratio, whichever is larger. Measured on synthetic songs: 0.02-0.16 at the
#: true beat with eighth or sixteenth hats, 0.34-0.98 at half the true tempo (a half-time feel is
#: the lowest: the snare on 3 is the only body onset between the half-tempo beats).
BODY_NEEDED = 0.25
BODY_SHARE = 0.4
#: Weight of the body envelope's periodicity in the choice of the tempo class (:func:`read_tempo`).
BODY_PULSE = 0.7
#: Octave decisions closer than this (evidence units of :func:`choose_octave`) are reported as unsure.
UNSURE_MARGIN = 0.12
#: Alternatives slower than this are not offered (a 30 BPM "beat" is a bar).
ALT_MIN_BPM = 40.0

#: Built-in tracker names. ``librosa`` is the built-in dynamic-programming tracker (the algorithm of
#: librosa's ``beat_track``, computed here without importing librosa); the name is kept so
#: existing storyboards read the same.
TRACKERS = ("librosa", "beat_this")


def tempo(*, onset_envelope: np.ndarray, sr: int = SR, hop_length: int = HOP,
          tempo_hint: float | None = None, body_envelope: np.ndarray | None = None) -> float:
    """Estimate the global tempo: the strongest periodicity, then the octave a listener taps.

    Parameters
    ----------
    onset_envelope : ndarray (n,)
        Onset strength at ``sr / hop_length`` frames per second.
    sr, hop_length : int
    tempo_hint : float, optional
        Approximate tempo in BPM; the estimate is the strongest periodicity near it
        (it chooses the octave: a hint of 90 turns a 175 BPM reading into 87.5).
    body_envelope : ndarray (n,), optional
        Onset strength without the cymbals (:attr:`.features.Features.onset_body`); lets
        :func:`choose_octave` see whether the faster level is carried by hi-hats alone.

    Returns
    -------
    float
        Tempo in BPM (lag-quantised; :func:`beat_grid` refines it from the beats). Without a
        hint the octave is chosen by :func:`choose_octave`.
    """
    return read_tempo(onset_envelope=onset_envelope, sr=sr, hop_length=hop_length, tempo_hint=tempo_hint,
                      body_envelope=body_envelope)["bpm"]


def read_tempo(*, onset_envelope: np.ndarray, sr: int = SR, hop_length: int = HOP,
               tempo_hint: float | None = None, body_envelope: np.ndarray | None = None) -> dict:
    """:func:`tempo` with its evidence: ``bpm``, ``alternative`` (BPM or None), ``margin``, ``steps``.

    ``margin`` is how far the closest octave decision was from going the other way (in the units
    of :func:`choose_octave`'s evidence; below :data:`UNSURE_MARGIN` the reading is reported as
    unsure) and ``alternative`` the level that decision would have chosen.
    """
    _check_bpm(tempo_hint, "tempo_hint")
    start, std = (float(tempo_hint), HINT_OCTAVES) if tempo_hint else (PRIOR_BPM, PRIOR_OCTAVES)
    onset_envelope = np.asarray(onset_envelope, dtype=np.float32)
    if onset_envelope.size < 8 or not np.any(onset_envelope > 0):
        return dict(bpm=float(start), alternative=None, margin=0.0, steps=[])
    win = int(min(round(AC_SECONDS * sr / hop_length), onset_envelope.shape[-1]))
    strength = tempogram_strength(onset_envelope, win_length=win)
    if body_envelope is not None and np.any(np.asarray(body_envelope) > 0):
        # the body's periodicity keeps swung or triplet hi-hats from choosing a 3:2 neighbour
        strength = (1.0 - BODY_PULSE) * strength + BODY_PULSE * tempogram_strength(body_envelope, win_length=win)
    lags = np.arange(1, win)
    bpms = 60.0 * sr / (hop_length * lags)
    log_bpm, strength = np.log2(bpms[::-1]), strength[1:][::-1]

    def pulse(t):
        return np.interp(np.log2(t), log_bpm, strength, left=0.0, right=0.0)

    grid = 2.0 ** np.linspace(np.log2(30.0), np.log2(300.0), 1200)
    prior = np.exp(-0.5 * ((np.log2(grid) - np.log2(start)) / std) ** 2)
    score = (pulse(grid) + SUPPORT * pulse(2.0 * grid)) * prior
    best = float(grid[int(np.argmax(score))])
    if tempo_hint:
        return dict(bpm=best, alternative=None, margin=float("inf"), steps=[])
    steps: list = []
    level = choose_octave(onset_envelope=onset_envelope, bpm=best, sr=sr, hop_length=hop_length, steps=steps,
                          body_envelope=body_envelope)
    alternative, margin = None, float("inf")
    for st in steps:
        if st["slow"] < ALT_MIN_BPM or not (st["slow"] == level or st["fast"] == level):
            continue
        m = abs(st["margin"])
        if m < margin:
            margin, alternative = m, (st["fast"] if st["slow"] == level else st["slow"])
    return dict(bpm=level, alternative=alternative, margin=margin, steps=steps)


def tempogram_strength(onset_envelope: np.ndarray, *, win_length: int, stride: int = 8,
                       chunk: int = 512) -> np.ndarray:
    """Mean autocorrelation tempogram (librosa's ``tempogram`` averaged over time), shape ``(win_length,)``.

    Each window of ``win_length`` frames (centred, Hann-weighted, the envelope ramped to 0 at
    both ends) is autocorrelated and normalised by its peak; the mean is taken over every
    ``stride``-th window, a chunk of windows at a time (the full tempogram of a 10-minute song
    would be ~280 MB; the windows are 8 s long, so every 8th one, 93 ms apart, gives the same mean).
    Bin ``k`` is a lag of ``k`` frames (``60 sr / (hop k)`` BPM).
    """
    env = np.asarray(onset_envelope, dtype=np.float64)
    n = env.shape[0]
    win = int(win_length)
    padded = np.pad(env, (win // 2, win // 2), mode="linear_ramp", end_values=(0, 0))
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)
    n_fft = _fast_size(2 * win - 1)
    total = np.zeros(win)
    starts = np.arange(0, n, int(stride))
    for a in range(0, starts.size, chunk):
        idx = starts[a:a + chunk]
        frames = np.lib.stride_tricks.sliding_window_view(padded, win)[idx]
        spec = np.fft.rfft(frames * hann, n=n_fft, axis=-1)
        ac = np.fft.irfft(spec.real ** 2 + spec.imag ** 2, n=n_fft, axis=-1)[:, :win]
        peak = np.abs(ac).max(axis=1, keepdims=True)
        total += np.where(peak > 1e-30, ac / np.where(peak > 1e-30, peak, 1.0), 0.0).sum(axis=0)
    return total / max(starts.size, 1)


def _fast_size(n: int) -> int:
    """Smallest ``2**a * 3**b >= n`` (a size pocketfft transforms quickly)."""
    best = 1 << int(np.ceil(np.log2(n)))
    p3 = 1
    while p3 < best:
        size = p3 << max(int(np.ceil(np.log2(n / p3))), 0)
        best = min(best, size)
        p3 *= 3
    return best


def track_beats(onset_envelope: np.ndarray, *, bpm: float, sr: int = SR, hop_length: int = HOP,
                tightness: float = 100.0) -> np.ndarray:
    """Beat frames by dynamic programming at a fixed tempo (Ellis 2007, as librosa's ``beat_track``).

    The onset envelope (scaled by its standard deviation) is smoothed with a Gaussian a beat
    wide; each frame's best predecessor lies between half and two beat periods back, scored by
    its cumulative score minus ``tightness * log(gap / period)**2``. The path is traced back
    from the last local maximum of the cumulative score above half their median.

    Plain numpy: predecessors are at least half a beat back, so half a beat of frames is
    decided at once.

    Returns
    -------
    ndarray (n_beats,) of int
        Frame indices, increasing.
    """
    env = np.asarray(onset_envelope, dtype=np.float64)
    n = env.shape[0]
    if n < 3 or not np.any(env > 0):
        return np.zeros(0, dtype=int)
    fpb = float(sr) * 60.0 / (hop_length * float(bpm))
    k = int(round(fpb))
    env = env / (env.std(ddof=1) + 1e-30)
    window = np.exp(-0.5 * (np.arange(-k, k + 1) * 32.0 / k) ** 2)
    local = np.convolve(env, window, mode="same")
    near, far = int(round(fpb / 2)), 2 * k
    offsets = np.arange(max(near, 1), far + 1)
    penalty = -tightness * (np.log(offsets) - np.log(fpb)) ** 2
    cum = np.empty(n)
    back = np.full(n, -1, dtype=np.int64)
    block = max(near, 1)
    for a in range(0, n, block):
        i = np.arange(a, min(a + block, n))
        locs = i[:, None] - offsets[None, :]
        cand = np.where(locs >= 0, cum[np.maximum(locs, 0)] + penalty, -np.inf)
        j = np.argmax(cand, axis=1)
        best = cand[np.arange(i.size), j]
        has = np.isfinite(best)
        cum[i] = local[i] + np.where(has, best, 0.0)
        back[i] = np.where(has, locs[np.arange(i.size), j], -1)
    # the path may only start once the local score is non-trivial
    first = int(np.argmax(local >= 0.01 * local.max()))
    back[:first] = -1
    peaks = np.flatnonzero((cum[1:-1] > cum[:-2]) & (cum[1:-1] >= cum[2:])) + 1
    if peaks.size == 0:
        return np.zeros(0, dtype=int)
    threshold = 0.5 * float(np.median(cum[peaks]))
    tail = int(peaks[cum[peaks] >= threshold][-1]) if np.any(cum[peaks] >= threshold) else int(peaks[-1])
    path = []
    f = tail
    while f >= 0:
        path.append(f)
        f = int(back[f])
    beats = np.asarray(path[::-1], dtype=int)
    # beats where the smoothed onsets are nil are not beats (silence at the edges)
    keep = local[beats] > 0
    if np.any(keep):
        beats = beats[np.argmax(keep):beats.size - int(np.argmax(keep[::-1]))]
    return beats


def offbeat_ratio(*, onset_envelope: np.ndarray, bpm: float, sr: int = SR, hop_length: int = HOP,
                  measure: np.ndarray | None = None) -> float:
    """How strong the onsets half-way between the beats are, relative to the beats, at a tempo.

    Beats are tracked on ``onset_envelope`` with the tempo held at ``bpm``; at each beat and each
    midpoint the peak of ``measure`` (default: the same envelope) within +-2 frames is taken.
    The ratio is ``(mean(mid) - m) / (mean(beat) - m)`` with ``m`` the median of the envelope
    (the floor a silent position reads).

    Returns
    -------
    float
        In ``[0, 1.5]``: ~1 when the midpoints carry onsets as strong as the beats (the pulse at
        twice ``bpm`` is even: a click track read at half its tempo), ~0 when they are silent.
    """
    env = np.asarray(onset_envelope, dtype=np.float32)
    frames = track_beats(env, bpm=float(bpm), sr=sr, hop_length=hop_length).astype(float)
    if frames.size < 3:
        return 0.0
    env = env if measure is None else np.asarray(measure, dtype=np.float32)
    n = env.shape[0]

    def peak(f):
        f = np.round(f).astype(int)
        return np.stack([env[np.clip(f + d, 0, n - 1)] for d in range(-2, 3)]).max(axis=0)

    floor = float(np.median(env))
    on = peak(frames[:-1]).mean() - floor
    mid = peak(0.5 * (frames[:-1] + frames[1:])).mean() - floor
    return float(np.clip(mid / on, 0.0, 1.5)) if on > 1e-9 else 0.0


def choose_octave(*, onset_envelope: np.ndarray, bpm: float, sr: int = SR, hop_length: int = HOP,
                  steps: list | None = None, body_envelope: np.ndarray | None = None) -> float:
    """Choose the metrical level a listener taps among ``bpm * 2**k``, from beat-level evidence.

    Walks up the ladder from the level in ``[MIN_BPM, 2 MIN_BPM)``: from a level ``T`` it moves to
    ``2 T`` while the onsets half-way between ``T``'s beats are nearly as strong as the beats
    (:func:`offbeat_ratio`), against a threshold that rises with the tempo (see
    :data:`EVEN_NEEDED`) — and, from a level a listener could tap (``T >= BODY_FROM_BPM``), only
    when the body of the music (kick, snare, bass, chords: ``body_envelope``) also moves
    half-way between ``T``'s beats (:data:`BODY_NEEDED`). Straight eighth-note hi-hats over a
    68 BPM backbeat are even in the full band but silent in the body, so 68 stays the beat.
    It stops at the first level that does not move up, or at :data:`MAX_BPM`.

    Parameters
    ----------
    onset_envelope : ndarray (n,)
    bpm : float
        Any level of the tempo (its octave does not matter).
    sr, hop_length : int
    steps : list, optional
        If given, one dict per comparison is appended to it (``slow``, ``fast`` in BPM, ``even``,
        ``sub``, ``support``, ``needed``, ``body``, ``margin``, ``faster``), to show why a level
        was chosen. ``margin`` > 0 moved up, < 0 stayed; its size is the distance from the
        threshold that decided.

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

    def body(t):
        if body_envelope is None:
            return float("nan")
        if ("body", t) not in ratio:
            ratio[("body", t)] = offbeat_ratio(onset_envelope=onset_envelope, bpm=t, sr=sr, hop_length=hop_length,
                                               measure=body_envelope)
        return ratio[("body", t)]

    while 2.0 * level <= MAX_BPM:
        fast = 2.0 * level
        support = SUB_WEIGHT * np.log2(SUB_BPM / fast)
        needed = EVEN_NEEDED + EVEN_SLOPE * np.log2(fast / 174.0)
        margin = r(level) + support * r(fast) - needed
        b = float("nan")
        if body_envelope is not None and level >= BODY_FROM_BPM:
            b = body(level)
            body_needed = max(BODY_NEEDED, BODY_SHARE * r(level))
            margin = min(margin, b - body_needed)
        faster = margin >= 0
        if steps is not None:
            steps.append(dict(slow=level, fast=fast, even=r(level), sub=r(fast), support=float(support),
                              needed=float(needed), body=b, margin=float(margin), faster=bool(faster)))
        if not faster:
            break
        level = fast
    return level


def beat_grid(y: np.ndarray | None = None, *, sr: int = SR, onset_envelope: np.ndarray | None = None,
              hop_length: int = HOP, tempo_hint: float | None = None, bpm: float | None = None,
              duration: float | None = None, latency: float = LATENCY,
              tightness: float = 100.0, body_envelope: np.ndarray | None = None,
              reading: dict | None = None) -> tuple[float, np.ndarray]:
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
        Tempo-adherence weight of the dynamic program (:func:`track_beats`).
    body_envelope : ndarray (n_frames,), optional
        Onset strength without the cymbals; evidence for the tempo octave (:func:`choose_octave`).
    reading : dict, optional
        If given, filled with the tempo reading (:func:`read_tempo`: ``bpm``, ``alternative``,
        ``margin``, ``steps``).

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
    _check_bpm(bpm, "bpm")
    _check_bpm(tempo_hint, "tempo_hint")
    if onset_envelope is None:
        if y is None:
            raise InputError("beat_grid: pass y= (audio) or onset_envelope=")
        from .features import compute_features

        feats = compute_features(np.asarray(y, dtype=np.float32), sr=sr, hop_length=hop_length)
        onset_envelope, body_envelope = feats.onset, feats.onset_body
    onset_envelope = np.asarray(onset_envelope, dtype=np.float32)
    fr = sr / hop_length
    if duration is None:
        duration = onset_envelope.shape[-1] / fr
    if reading is None:
        reading = {}
    if bpm:
        start = float(bpm)
        reading.update(bpm=start, alternative=None, margin=float("inf"), steps=[])
    else:
        reading.update(read_tempo(onset_envelope=onset_envelope, sr=sr, hop_length=hop_length,
                                  tempo_hint=tempo_hint, body_envelope=body_envelope))
        start = reading["bpm"]
    beats = np.empty(0)
    if np.any(onset_envelope > 0):
        frames = track_beats(onset_envelope, bpm=start, sr=sr, hop_length=hop_length, tightness=tightness)
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
