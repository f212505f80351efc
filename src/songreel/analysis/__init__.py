"""Song analysis: tempo, beat grid, meter, downbeats, sections, energy envelopes.

Public entry points::

    analyze(song, *, tracker="librosa", tempo_hint=None, bpm=None, meter=None,
            first_downbeat=None, progress=None) -> Analysis
    analyze_file(path, *, cache_dir=None, **options) -> Analysis

Building blocks (function-first, numpy in / numpy out, librosa vocabulary) live in
:mod:`.features` (one chunked STFT -> all frame features), :mod:`.beats` (``tempo``,
``read_tempo``, ``track_beats``, ``beat_grid``, ``extend_grid``), :mod:`.meter` (``beat_accents``,
``downbeats``), :mod:`.sections` (``sections``), :mod:`.energy` (``envelopes``),
:mod:`.reading` (``confidence``, ``notes``) and :mod:`.beat_this` (the optional tracker);
:mod:`.plot` draws an analysis.

The analysis is plain numpy (librosa's algorithms and conventions, without importing librosa:
``librosa.beat`` alone takes ~6 s and ~280 MiB to import because it compiles a numba kernel on
every import). Features are computed in chunks in float32 and a song is decoded straight to mono
at the analysis rate, so memory grows with the song only by its small frame matrices.
:mod:`.reading` says how sure each reading is and prints the runner-up where it is close.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

from ..schema.analysis import Analysis

#: Bumped whenever a change alters results; part of the cache key.
ANALYSIS_VERSION = "songreel-analysis-3"

__all__ = ["ANALYSIS_VERSION", "analyze", "analyze_file", "cache_key", "plot_analysis"]

_OPTIONS = ("tracker", "tempo_hint", "bpm", "meter", "first_downbeat")


def analyze(song, *, tracker: str = "librosa", tempo_hint: float | None = None, bpm: float | None = None,
            meter: int | None = None, first_downbeat: float | None = None,
            progress: Callable[[float, str], None] | None = None) -> Analysis:
    """Read the tempo, beat grid, bars, sections and energy of a song.

    Parameters
    ----------
    song : Song
        Decoded audio (:func:`songreel.ingest.audio.load_song`); any object with ``samples``
        ``(channels, n)``, ``sample_rate`` and optionally ``sha256`` works.
    tracker : {"librosa", "beat_this"}
        Beat tracker. ``librosa`` is the built-in dynamic-programming tracker. ``beat_this`` is
        optional (``pip install 'songreel[beats]'``; weights fetched on first use into torch hub's
        cache); if it cannot run this raises, it never falls back silently. Its downbeats set the
        meter and bar phase unless ``meter`` / ``first_downbeat`` are given.
    tempo_hint : float, optional
        Approximate BPM; chooses the tempo octave (e.g. 90 for a song detectors read as 180).
        Without it the octave is chosen from the audio (:func:`.beats.choose_octave`: the faster
        level wins when the onsets between the slower level's beats are nearly as strong as the
        beats, in the full band and in the body of the music without the cymbals); give a hint
        when you hear the song at the other level.
    bpm : float, optional
        Known tempo in BPM; the grid is held to it (no estimate, no octave choice).
    meter : int, optional
        Beats per bar, 2..12 ("6/8" is 6); default: chosen from the audio among 3, 4 and 6.
    first_downbeat : float, optional
        Seconds; the beat nearest this time starts a bar (fixes the bar phase).
    progress : callable, optional
        Called as ``progress(fraction, message)`` with ``fraction`` in ``[0, 1]``.

    Returns
    -------
    Analysis
        ``beats`` cover ``[0, duration)`` (first beat within one period of 0 s, last within one
        period of the end); ``downbeats`` are a subset of ``beats``; ``sections`` are contiguous,
        cover the song and start on downbeats; envelopes are in ``[0, 1]`` at ``envelope_rate`` Hz.
        ``extra`` carries each reading's runner-up and margin (``tempo_alternative``,
        ``tempo_margin``, ``meter_alternative``, ``meter_margin``, ``downbeat_alternative``,
        ``downbeat_margin``; see :mod:`.reading`).

    Raises
    ------
    UnknownNameError
        ``tracker`` is not one of the accepted names.
    MissingExtraError
        The chosen tracker's package or weights are not installed.
    InputError
        A bad option value (the message names it), or a song with no samples.
    """
    import numpy as np

    from ..errors import InputError
    from . import beats as _beats
    from . import energy as _energy
    from . import meter as _meter
    from . import sections as _sections
    from .features import SR, compute_features, to_mono

    report = progress or (lambda fraction, message: None)
    _beats.check_tracker(tracker)
    _beats._check_bpm(bpm, "bpm")
    _beats._check_bpm(tempo_hint, "tempo_hint")
    samples = np.asarray(song.samples)
    if samples.size == 0:
        raise InputError(f"song: {getattr(song, 'path', '<samples>')}: has no audio samples")
    report(0.0, "mixing to mono")
    y = to_mono(samples, sr=int(song.sample_rate), target_sr=SR)
    duration = samples.shape[-1] / float(song.sample_rate)
    report(0.1, "computing spectral features")
    feats = compute_features(y, sr=SR)
    report(0.4, "tracking beats")
    extra: dict = {"analysis_version": ANALYSIS_VERSION}
    if tracker == "beat_this":
        from .beat_this import beat_this_grid, meter_from_downbeats

        tempo, beat_times, tracked_down = beat_this_grid(y, sr=SR, duration=duration)
        if bpm:
            tempo = float(bpm)
        # the model reads bars too: its meter and first downbeat, unless the storyboard says otherwise
        meter = meter or meter_from_downbeats(beat_times, tracked_down)
        if first_downbeat is None and tracked_down.size:
            first_downbeat = float(tracked_down[0])
    else:
        reading: dict = {}
        tempo, beat_times = _beats.beat_grid(onset_envelope=feats.onset, sr=SR, hop_length=feats.hop_length,
                                             tempo_hint=tempo_hint, bpm=bpm, duration=duration,
                                             body_envelope=feats.onset_body, reading=reading)
        if reading.get("alternative"):
            extra["tempo_alternative"] = round(float(reading["alternative"]) * tempo / reading["bpm"], 2)
        if np.isfinite(reading.get("margin", np.inf)):
            extra["tempo_margin"] = round(float(reading["margin"]), 4)
    report(0.6, "finding bars")
    accents = _meter.beat_accents(beats=beat_times, onset_low=feats.onset_low, chroma=feats.chroma,
                                  onset=feats.onset, frame_rate=feats.frame_rate, latency=_beats.LATENCY)
    evidence: dict = {}
    m, down, confidence = _meter.downbeats(beats=beat_times, accents=accents, meter=meter,
                                           first_downbeat=first_downbeat, evidence=evidence)
    extra["meter_confidence"] = round(confidence, 4)
    for key in ("meter_alternative", "meter_margin", "downbeat_alternative", "downbeat_margin"):
        if evidence.get(key) is not None:
            extra[key] = round(float(evidence[key]), 4) if "margin" in key or "downbeat" in key else evidence[key]
    report(0.75, "finding sections")
    secs = _sections.sections(downbeats=down, duration=duration, mfcc=feats.mfcc, chroma=feats.chroma,
                              rms=feats.rms, frame_rate=feats.frame_rate)
    report(0.9, "energy envelopes")
    rate, onset_env, rms = _energy.envelopes(onset_envelope=feats.onset, rms=feats.rms, sr=SR,
                                             hop_length=feats.hop_length)
    del feats, y  # the frame matrices and the signal are done with
    result = Analysis(
        duration=float(duration), tempo=float(tempo), meter=int(m),
        beats=tuple(float(b) for b in beat_times), downbeats=tuple(float(d) for d in down),
        sections=secs, envelope_rate=float(rate),
        onset_envelope=tuple(np.round(onset_env, 4).tolist()), rms=tuple(np.round(rms, 4).tolist()),
        audio_hash=str(getattr(song, "sha256", "") or ""), tracker=tracker, extra=extra,
    )
    from .reading import confidence as _confidence
    from .reading import notes as _notes

    # carried with the analysis, so a report or a shell can show them without importing this stage
    result = result.with_(extra={**extra, "confidence": _confidence(result), "unsure": _notes(result)})
    report(1.0, "done")
    return result


def cache_key(audio_hash: str, **options) -> str:
    """Cache key of an analysis: audio sha256 + the options that change the result + version."""
    opts = {k: options.get(k) for k in _OPTIONS}
    opts["tracker"] = opts["tracker"] or "librosa"
    blob = json.dumps({"audio": audio_hash, "options": opts, "version": ANALYSIS_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_name(audio_hash: str, **options) -> str:
    """File name, inside a cache folder, of the cached analysis of a song (by its sha256) with these
    options (see :func:`cache_key`)."""
    return f"analysis-{cache_key(audio_hash, **options)[:32]}.json"


def analyze_file(path, *, cache_dir: Path | str | None = None, **options) -> Analysis:
    """Decode ``path`` and analyse it, with an optional on-disk JSON cache.

    Parameters
    ----------
    path : str or Path
        An audio (or video) file FFmpeg decodes.
    cache_dir : Path, optional
        Folder for cached results, keyed by the file's sha256, the options and
        :data:`ANALYSIS_VERSION`. A hit skips decoding entirely. ``analysis.extra["cache"]`` is
        ``"hit"`` or ``"miss"``.
    **options
        Passed to :func:`analyze` (``tracker``, ``tempo_hint``, ``bpm``, ``meter``,
        ``first_downbeat``, ``progress``).

    Returns
    -------
    Analysis

    Raises
    ------
    MissingFileError, MediaError
        From :func:`songreel.ingest.audio.load_song`.
    """
    from ..errors import InputError, MissingFileError
    from ..ingest.audio import file_sha256, load_song

    unknown = set(options) - set(_OPTIONS) - {"progress"}
    if unknown:
        raise InputError(f"analyze_file: unknown option(s) {sorted(unknown)}; accepted: "
                         f"{', '.join(_OPTIONS + ('progress',))}")
    path = Path(path)
    cache_file = None
    if cache_dir is not None:
        if not path.is_file():
            raise MissingFileError(f"song: {path}: no such file")
        cache_file = Path(cache_dir) / cache_name(file_sha256(path), **options)
        if cache_file.is_file():
            try:
                cached = Analysis.from_json(cache_file.read_text())
            except (ValueError, KeyError, TypeError):
                cached = None  # a corrupt cache entry is recomputed
            if cached is not None:
                return cached.with_(extra={**cached.extra, "cache": "hit"})
    from .features import SR

    song = load_song(path, sample_rate=SR, mono=True)  # read at the rate and channels the features need
    result = analyze(song, **options)
    del song
    if cache_file is not None:
        # pid-named temp: a killed run's leftover is cleaned later
        from ..fileio import atomic_write_bytes

        atomic_write_bytes(cache_file, result.to_json().encode())
    return result.with_(extra={**result.extra, "cache": "miss" if cache_file is not None else "off"})


def plot_analysis(analysis: Analysis, song, path, *, title: str | None = None) -> Path:
    """Draw waveform, beats, numbered downbeats and sections to an image (see :mod:`.plot`)."""
    from .plot import plot_analysis as _plot

    return _plot(analysis, song, path, title=title)
