"""Sections: boundaries on downbeats from bar-level novelty, labels from repetition and energy.

1. Bar-synchronous features (MFCC timbre, chroma harmony, loudness), z-scored.
2. A bar self-similarity matrix; Foote's checkerboard novelty along its diagonal; peaks at least
   ``min_bars`` apart are boundaries (so boundaries are downbeats by construction).
3. Segments are grouped by the mean similarity of their bars (repeated material shares a group).
4. Names: the most repeated high-energy group is ``chorus``; another repeated group ``verse``; a
   quiet unrepeated first / last segment ``intro`` / ``outro``; an unrepeated segment after a
   chorus ``bridge``; anything else gets letters ``A``, ``B`` ...
"""

from __future__ import annotations

import string

import numpy as np

from ..schema.analysis import Section

#: Segments whose bar similarity (relative to their own) exceeds this share a label.
SAME_LABEL = 0.6


def bar_features(*, bars: np.ndarray, duration: float, mfcc: np.ndarray, chroma: np.ndarray,
                 rms: np.ndarray, frame_rate: float) -> np.ndarray:
    """Mean features per bar, z-scored per dimension; shape ``(n_bars, d)``.

    ``bars`` are bar start times in seconds (the last bar ends at ``duration``).
    """
    n = mfcc.shape[-1]
    edges = np.clip(np.round(np.append(bars, duration) * frame_rate).astype(int), 0, n)
    loud = np.log(np.maximum(rms, 1e-3 * max(float(np.max(rms)), 1e-9)))  # floor at -60 dB
    rows = []
    for a, b in zip(edges[:-1], edges[1:]):
        b = max(b, a + 1)
        c = chroma[:, a:b].mean(axis=1)
        c = c / (np.linalg.norm(c) + 1e-9)
        rows.append(np.concatenate([mfcc[1:13, a:b].mean(axis=1), c, [loud[a:b].mean()]]))
    f = np.asarray(rows, dtype=float)
    f = np.clip((f - f.mean(axis=0)) / (f.std(axis=0) + 1e-6), -3.0, 3.0)
    # weights: timbre 12 dims, harmony 12 dims, loudness 1 dim -> comparable shares
    w = np.concatenate([np.full(12, 1.0), np.full(12, 1.0), [2.0]])
    return f * w


def novelty(ssm: np.ndarray, *, half_width: int) -> np.ndarray:
    """Foote novelty along the diagonal of a self-similarity matrix with a Gaussian checkerboard."""
    n = ssm.shape[0]
    w = int(half_width)
    g = np.exp(-0.5 * ((np.arange(-w, w) + 0.5) / (0.5 * w)) ** 2)
    sign = np.sign(np.arange(-w, w) + 0.5)
    kernel = np.outer(g, g) * np.outer(sign, sign)
    padded = np.pad(ssm, w, mode="constant", constant_values=0.0)
    out = np.zeros(n + 1)
    for i in range(n + 1):
        block = padded[i:i + 2 * w, i:i + 2 * w]
        out[i] = np.sum(block * kernel)
    return out


def sections(*, downbeats: np.ndarray, duration: float, mfcc: np.ndarray, chroma: np.ndarray,
             rms: np.ndarray, frame_rate: float, min_bars: int = 4,
             max_sections: int | None = None) -> tuple[Section, ...]:
    """Segment and label a song on its bar grid.

    Parameters
    ----------
    downbeats : ndarray (n_bars,)
        Bar start times in seconds, increasing.
    duration : float
        Song length in seconds.
    mfcc, chroma, rms : ndarray (..., n_frames)
        Frame features at ``frame_rate`` frames per second.
    min_bars : int
        Shortest section in bars.
    max_sections : int, optional
        Most sections (default: one per ~8 s, at least 2).

    Returns
    -------
    tuple of Section
        Contiguous, covering ``[0, duration)``; every inner boundary is a downbeat.
    """
    bars = np.asarray(downbeats, dtype=float)
    bars = bars[(bars >= 0) & (bars < duration)]
    bar_len = float(np.median(np.diff(bars))) if bars.size > 1 else float(duration)
    if bars.size == 0 or bars[0] >= 0.5 * bar_len:
        bars = np.concatenate([[0.0], bars])  # a pickup bar before the first downbeat
    else:
        bars = np.concatenate([[0.0], bars[1:]])  # the first bar starts a moment early: at 0
    if bars.size > 1 and duration - bars[-1] < 0.5 * bar_len:
        bars = bars[:-1]  # a sliver of a bar at the end joins the previous bar
    n = bars.size
    if n < 2 * min_bars:
        return (Section(0.0, float(duration), "A"),)
    feats = bar_features(bars=bars, duration=duration, mfcc=mfcc, chroma=chroma, rms=rms,
                         frame_rate=frame_rate)
    unit = feats / (np.linalg.norm(feats, axis=1, keepdims=True) + 1e-9)
    ssm = unit @ unit.T
    nov = novelty(ssm, half_width=min_bars)
    if max_sections is None:
        max_sections = max(2, int(round(duration / 8.0)))
    cuts = _pick_peaks(nov, n_bars=n, min_bars=min_bars, max_cuts=max_sections - 1)
    edges = [0] + cuts + [n]
    segs = [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
    loud = feats[:, -1]
    labels = _label(segs, ssm, loud)
    times = np.append(bars, duration)
    out = []
    for (a, b), lab in zip(segs, labels):
        out.append(Section(0.0 if a == 0 else float(times[a]), float(duration) if b == n else float(times[b]), lab))
    return tuple(out)


def _pick_peaks(nov: np.ndarray, *, n_bars: int, min_bars: int, max_cuts: int) -> list[int]:
    """Bar indices of boundaries: strongest novelty peaks, ``min_bars`` apart, above mean + 0.5 std."""
    cand = []
    for i in range(min_bars, n_bars - min_bars + 1):
        lo, hi = max(0, i - 2), min(len(nov), i + 3)
        if nov[i] >= nov[lo:hi].max() and nov[i] > 0:
            cand.append(i)
    inner = nov[min_bars:n_bars - min_bars + 1]
    if inner.size == 0:
        return []
    thresh = inner.mean() + 0.5 * inner.std()
    cand = sorted((i for i in cand if nov[i] >= thresh), key=lambda i: -nov[i])
    chosen: list[int] = []
    for i in cand:
        if len(chosen) >= max_cuts:
            break
        if all(abs(i - j) >= min_bars for j in chosen):
            chosen.append(i)
    return sorted(chosen)


def _label(segs, ssm: np.ndarray, loud: np.ndarray) -> list[str]:
    """Group segments by block similarity, then name the groups."""
    k = len(segs)
    block = np.zeros((k, k))
    for i, (a, b) in enumerate(segs):
        for j, (c, d) in enumerate(segs):
            block[i, j] = ssm[a:b, c:d].mean()
    diag = np.sqrt(np.maximum(np.diag(block), 1e-6))
    rel = block / np.outer(diag, diag)
    # average-linkage agglomeration with a fixed threshold
    groups = [[i] for i in range(k)]
    while len(groups) > 1:
        best = -np.inf
        pair: tuple[int, int] | None = None
        for x in range(len(groups)):
            for y in range(x + 1, len(groups)):
                s = np.mean([rel[i, j] for i in groups[x] for j in groups[y]])
                if s > best:
                    best, pair = s, (x, y)
        if best < SAME_LABEL or pair is None:  # None only when every similarity is NaN
            break
        x, y = pair
        groups[x] = groups[x] + groups[y]
        del groups[y]
    group_of = np.zeros(k, dtype=int)
    for g, members in enumerate(groups):
        group_of[members] = g
    energy = np.array([loud[a:b].mean() for a, b in segs])
    g_energy = {g: energy[m].mean() for g, m in enumerate(groups)}
    counts = {g: len(m) for g, m in enumerate(groups)}
    names: dict[int, str] = {}
    median_e = float(np.median(energy))
    # intro / outro: a quieter first / last segment whose group is only at the song's edges
    edges = {0, k - 1}
    edge_groups = {g for g, m in enumerate(groups) if set(m) <= edges and k > 2}
    repeated = [g for g in counts if counts[g] >= 2 and g not in edge_groups]
    chorus = None
    if repeated:
        loud_rep = [g for g in repeated if g_energy[g] >= median_e - 1e-9] or repeated
        chorus = max(loud_rep, key=lambda g: (counts[g], g_energy[g]))
        names[chorus] = "chorus"
    top = g_energy[chorus] if chorus is not None else float(energy.max())
    if group_of[0] in edge_groups and energy[0] < top:
        names[group_of[0]] = "intro"
    if group_of[k - 1] in edge_groups and group_of[k - 1] not in names and energy[k - 1] < top:
        names[group_of[k - 1]] = "outro"
    if chorus is not None:
        first_chorus = min(groups[chorus])
        others = [g for g in repeated if g not in names]
        if others:
            verse = max(others, key=lambda g: (counts[g], min(groups[g]) < first_chorus, -min(groups[g])))
            names[verse] = "verse"
        for g, m in enumerate(groups):
            if g in names or counts[g] != 1:
                continue
            if first_chorus < m[0] < k - 1 and "bridge" not in names.values():
                names[g] = "bridge"
    letters = iter(string.ascii_uppercase)
    order = sorted(range(len(groups)), key=lambda g: min(groups[g]))
    for g in order:
        if g not in names:
            names[g] = next(letters, f"S{g}")
    labels = [names[group_of[i]] for i in range(k)]
    if k > 2 and labels[-1] == "intro":  # the same quiet material closing the song is its outro
        labels[-1] = "outro"
    return labels
