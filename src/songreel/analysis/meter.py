"""Meter and bar phase from accents per beat position.

Each beat gets an accent: low-frequency onset strength (kick and bass notes land on strong beats)
plus harmonic change (chords change on downbeats). For each candidate meter and phase the
downbeats' mean accent is compared with the other beats'; the best contrast wins. 6/8 is read at
the eighth-note level (6 beats a bar, accents on 1 and 4): it beats 3/4 only when beat 1 is clearly
stronger than beat 4 (:data:`HALF_BAR_T`); otherwise the pairs of bars are bars of 3.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

#: Meters chosen from the audio when none is given (beats per bar).
METERS = (3, 4, 6)
#: Bonus (in standard errors) for 4/4, the common case, so weak evidence does not flip to 3 or 6.
PRIOR_4 = 2.0
#: A bar of 6 beats (6/8 counted in eighths, or 6/4) needs its downbeat to stand out from its
#: half-bar beat (beat 4) by this many standard errors; otherwise it is two bars of 3. Measured on
#: synthetic songs: 3.4-4.7 for 6/8 (kick and chord change on 1, snare on 4), 0.6-1.7 for 3/4
#: read in pairs of bars (the pairs differ only by the bass notes of the progression).
HALF_BAR_T = 2.5


def beat_accents(*, beats: np.ndarray, onset_low: np.ndarray, chroma: np.ndarray, onset: np.ndarray,
                 frame_rate: float, latency: float = 0.0) -> np.ndarray:
    """Accent strength of each beat, z-scored, shape ``(n_beats,)``.

    Parameters
    ----------
    beats : ndarray (n_beats,)
        Beat times in seconds.
    onset_low : ndarray (n_frames,)
        Low-frequency onset strength.
    chroma : ndarray (12, n_frames)
    onset : ndarray (n_frames,)
        Full-band onset strength.
    frame_rate : float
        Frames per second of the features.
    latency : float
        Seconds to add to a beat time to find its frame in the (late) onset envelopes.
    """
    n = onset.shape[-1]
    beats = np.asarray(beats, dtype=float)
    if beats.size == 0:
        return np.zeros(0)
    frames = np.clip(np.round((beats + latency) * frame_rate).astype(int), 0, n - 1)

    def peak(env):
        win = np.stack([env[np.clip(frames + d, 0, n - 1)] for d in range(-2, 3)])
        return win.max(axis=0)

    low, full = peak(onset_low), peak(onset)
    # harmonic change: chroma of the beat span vs the previous beat span
    bounds = np.concatenate([np.clip(np.round(beats * frame_rate).astype(int), 0, n - 1), [n]])
    sync = np.stack([chroma[:, a:max(b, a + 1)].mean(axis=1) for a, b in zip(bounds[:-1], bounds[1:])], axis=1)
    sync = sync / (np.linalg.norm(sync, axis=0, keepdims=True) + 1e-9)
    change = np.zeros(beats.size)
    change[1:] = 1.0 - np.sum(sync[:, 1:] * sync[:, :-1], axis=0)
    # the first beat has no previous span to differ from: neutral, not a change from silence
    change[0] = float(np.median(change[1:])) if beats.size > 1 else 0.0
    return _z(low) + _z(change) + 0.5 * _z(full)


def _z(x: np.ndarray) -> np.ndarray:
    s = np.std(x)
    return (x - np.mean(x)) / s if s > 1e-9 else np.zeros_like(x)


def downbeats(*, beats: np.ndarray, accents: np.ndarray, meter: int | None = None,
              first_downbeat: float | None = None, meters=METERS,
              evidence: dict | None = None) -> tuple[int, np.ndarray, float]:
    """Choose the meter and the bar phase.

    Parameters
    ----------
    beats : ndarray (n_beats,)
        Beat times in seconds.
    accents : ndarray (n_beats,)
        Per-beat accent (:func:`beat_accents`).
    meter : int, optional
        Beats per bar, 2..12 (6/8 is 6); fixes the meter, the phase is still read from the audio.
    first_downbeat : float, optional
        Seconds; the beat nearest this time is a downbeat (fixes the phase).
    meters : sequence of int
        Candidates when ``meter`` is not given.
    evidence : dict, optional
        If given, filled with the runner-up reading: ``meter_alternative`` and ``meter_margin``
        (score of the chosen meter minus the best other meter's, in standard errors; absent when
        ``meter`` was given) and ``downbeat_alternative`` (seconds of the first beat of the best
        other bar phase) and ``downbeat_margin`` (absent when ``first_downbeat`` was given).

    Returns
    -------
    meter : int
    downbeats : ndarray
        The subset of ``beats`` that start bars.
    confidence : float
        Accent contrast of the chosen meter and phase (0 when both were given).

    Raises
    ------
    InputError
        ``meter`` outside 2..12, or ``first_downbeat`` not a finite number of seconds.
    """
    if meter is not None and (isinstance(meter, bool) or not isinstance(meter, (int, np.integer))
                              or not 2 <= int(meter) <= 12):
        raise InputError(f"meter: expected beats per bar as a whole number 2..12 (6/8 is 6), got {meter!r}")
    if first_downbeat is not None and (isinstance(first_downbeat, bool)
                                       or not isinstance(first_downbeat, (int, float, np.integer, np.floating))
                                       or not np.isfinite(first_downbeat) or first_downbeat < 0):
        raise InputError(f"first_downbeat: expected a time in seconds >= 0, got {first_downbeat!r}")
    beats = np.asarray(beats, dtype=float)
    accents = np.asarray(accents, dtype=float)
    if beats.size == 0:
        return int(meter or 4), beats, 0.0
    candidates = [int(meter)] if meter else list(meters)
    idx = np.arange(beats.size)
    scores = {}
    for m in candidates:  # the meter is read from the audio even when the phase is given
        for p in range(m):
            scores[(m, p)] = _contrast(accents, idx % m == p) + (PRIOR_4 if m == 4 else 0.0)
    (m, p), _ = max(scores.items(), key=lambda kv: kv[1])
    half_bar = None
    if meter is None and m % 2 == 0 and m // 2 in candidates:
        # a bar of 6 is two bars of 3 unless its half-bar beat is clearly weaker than its downbeat
        half_bar = _t(accents[idx % m == p], accents[idx % m == (p + m // 2) % m])
        if half_bar < HALF_BAR_T:
            m, p = m // 2, p % (m // 2)
    if first_downbeat is not None:
        p = int(np.argmin(np.abs(beats - first_downbeat))) % m
    confidence = _contrast(accents, idx % m == p)
    if evidence is not None:
        _fill_evidence(evidence, scores, m=m, p=p, beats=beats, meter_given=meter is not None,
                       phase_given=first_downbeat is not None)
        if half_bar is not None:  # the half-bar test decided between m and 2m
            evidence.update(meter_alternative=2 * m if half_bar < HALF_BAR_T else m // 2,
                            meter_margin=float(abs(half_bar - HALF_BAR_T)))
    return m, beats[idx % m == p], float(confidence)


def _fill_evidence(evidence: dict, scores: dict, *, m: int, p: int, beats: np.ndarray, meter_given: bool,
                   phase_given: bool) -> None:
    """Runner-up meter and bar phase, with how far behind they are (in standard errors)."""
    chosen = scores[(m, p)]
    if not meter_given:
        others = {mm: max(v for (k, _), v in scores.items() if k == mm) for mm, _ in scores if mm != m}
        if others:
            alt = max(others, key=others.__getitem__)
            # meters that divide one another (3 and 6) share downbeats: the bar length is the question
            evidence.update(meter_alternative=int(alt), meter_margin=float(chosen - others[alt]))
    if not phase_given and m > 1:
        phases = {pp: v for (k, pp), v in scores.items() if k == m and pp != p}
        if phases:
            alt = max(phases, key=phases.__getitem__)
            evidence.update(downbeat_alternative=float(beats[alt]) if alt < beats.size else None,
                            downbeat_margin=float(chosen - phases[alt]))


def _t(a: np.ndarray, b: np.ndarray) -> float:
    """Welch t statistic of ``mean(a) - mean(b)`` (0 when either is empty or both are constant)."""
    if a.size < 1 or b.size < 1:
        return 0.0
    se = np.sqrt(a.var() / a.size + b.var() / b.size)
    return float((a.mean() - b.mean()) / se) if se > 1e-9 else 0.0


def _contrast(accents: np.ndarray, mask: np.ndarray) -> float:
    """Downbeat-vs-other mean accent difference in standard errors (a two-sample t statistic)."""
    if mask.sum() < 1 or (~mask).sum() < 1:
        return 0.0
    a, b = accents[mask], accents[~mask]
    spread = np.sqrt((a.var() * a.size + b.var() * b.size) / max(a.size + b.size - 2, 1))
    if spread < 1e-9:
        return 0.0
    return float((a.mean() - b.mean()) / (spread * np.sqrt(1.0 / a.size + 1.0 / b.size)))
