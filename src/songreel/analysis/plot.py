"""Draw an analysis for a director: waveform, beats, numbered bars, coloured sections."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ..schema.analysis import Analysis

_COLOURS = {"intro": "#9ecae1", "verse": "#a1d99b", "chorus": "#fc9272", "bridge": "#dadaeb",
            "outro": "#bdbdbd"}
_SPARE = ["#fdd0a2", "#c7e9c0", "#fcbba1", "#d9d9d9", "#c6dbef", "#e5f5e0", "#fee6ce", "#efedf5"]


def plot_analysis(analysis: Analysis, song, path, *, title: str | None = None) -> Path:
    """Draw waveform, beats (thin), downbeats (thick, bar numbers), sections (coloured spans).

    Parameters
    ----------
    analysis : Analysis
    song : Song
        The analysed audio (``samples``, ``sample_rate``).
    path : str or Path
        Output image; the format follows the suffix (``.png``, ``.svg``, ``.pdf``).
    title : str, optional
        Default: the song's file name, tempo and meter.

    Returns
    -------
    Path
        ``path``, written atomically (temp name, then rename).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    path = Path(path)
    y = np.asarray(song.samples, dtype=np.float32)
    y = y.mean(axis=0) if y.ndim == 2 else y
    sr = float(song.sample_rate)
    duration = analysis.duration or y.shape[0] / sr
    # waveform as a min/max envelope of ~4000 columns (fast for long songs)
    cols = int(min(4000, max(y.shape[0], 1)))
    edges = np.linspace(0, y.shape[0], cols + 1).astype(int)
    lo = np.minimum.reduceat(y, edges[:-1]) if y.size else np.zeros(cols)
    hi = np.maximum.reduceat(y, edges[:-1]) if y.size else np.zeros(cols)
    t = edges[:-1] / sr

    width = float(np.clip(duration / 6.0, 12.0, 40.0))
    fig = Figure(figsize=(width, 4.2), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    colours: dict[str, str] = {}
    spare = iter(_SPARE * 4)
    for s in analysis.sections:
        c = colours.setdefault(s.label, _COLOURS.get(s.label) or next(spare))
        ax.axvspan(s.start, s.end, color=c, alpha=0.55, lw=0)
        ax.text(s.start + 0.2, 1.08, s.label, fontsize=11, fontweight="bold", va="top", ha="left",
                clip_on=True)
    ax.fill_between(t, lo, hi, color="#3a3a3a", lw=0)
    if analysis.rms:
        rate = analysis.envelope_rate
        tr = np.arange(len(analysis.rms)) / rate
        ax.plot(tr, -1.0 + 0.35 * np.asarray(analysis.rms), color="#08519c", lw=0.8, label="rms")
    for b in analysis.beats:
        ax.axvline(b, color="#555555", lw=0.4, alpha=0.6, ymin=0.1, ymax=0.9)
    label_every = max(1, int(np.ceil(len(analysis.downbeats) / (width * 4))))
    for i, d in enumerate(analysis.downbeats, start=1):
        ax.axvline(d, color="#b30000", lw=1.6, ymin=0.05, ymax=0.95)
        if (i - 1) % label_every == 0:
            ax.text(d, -1.12, str(i), fontsize=7, color="#b30000", ha="center", va="top", clip_on=False)
    ax.set_xlim(0, duration)
    ax.set_ylim(-1.15, 1.12)
    ax.set_yticks([])
    ax.set_xlabel("seconds (red: downbeats, numbered by bar; grey: beats)")
    name = Path(getattr(song, "path", "") or "").name or "song"
    ax.set_title(title or f"{name} — {analysis.tempo:.1f} BPM, {analysis.meter} beats/bar, "
                          f"{len(analysis.downbeats)} bars, tracker {analysis.tracker}", fontsize=11)
    ax.xaxis.set_major_locator(matplotlib.ticker.MultipleLocator(5 if duration < 120 else 10))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix or ".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format=(path.suffix.lstrip(".") or "png"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
