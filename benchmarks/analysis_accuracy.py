"""Song analysis accuracy: real annotated excerpts and a synthetic sweep, songreel vs plain librosa.

Run from the repository root::

    .venv/bin/python benchmarks/analysis_accuracy.py [--data ../shared/data] [--quick] [--no-real]

Per file and tracker: beat F-measure (mir_eval, 70 ms window; real excerpts with the MIREX
convention of ignoring the first 5 s, and on all beats), downbeat F, tempo error (% against the
annotated tempo), meter, and the median / 95th percentile of |detected - true| beat time in ms
over the true beats matched within 70 ms. Trackers: ``songreel`` (the default, built-in),
``librosa`` (``librosa.beat.beat_track`` with its defaults on ``librosa.load`` at 22050 Hz mono:
what a user would otherwise run; it reports no meter or downbeats) and ``beat_this`` (the
optional extra) where its package and weights can be loaded; where not, the line says why.

The synthetic sweep renders songs with exactly known beats (:func:`songreel.synth.render_song`)
at 55..180 BPM: 4/4 with the default arrangement, straight eighth-note and sixteenth-note hats,
swung eighths, a half-time feel, 3/4 and 6/8 with eighth-note hats and lead-ins, and short
songs (15-30 s) starting on a downbeat at 0 or after a lead-in — including the three readings
that used to fail (68 BPM 4/4 eighth hats, 84 BPM 3/4 with a 0.8 s lead-in, a 3-bar 96 BPM song).

Targets: beat F >= 0.90 and tempo within 4 % on every real excerpt and every synthetic case;
meter right on every synthetic case; median beat error 2.5-3.5 ms and p95 <= 8 ms on the synthetic
songs (pooled).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SR = 22050
TARGETS = ("beat F >= 0.90 and tempo within 4% on every real excerpt and synthetic case; meter right on "
           "every synthetic case; pooled synthetic beat error median 2.5-3.5 ms, p95 <= 8 ms")
SWEEP_BPMS = (55, 60, 68, 76, 84, 92, 100, 110, 120, 128, 140, 150, 160, 174, 180)
FULL = (("verse", 4), ("chorus", 4), ("verse", 4))


def read_beats(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``time position`` rows (tab or space; ``#`` comments) -> beats, downbeats (position 1)."""
    rows = [ln.split() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    t = np.array([float(r[0]) for r in rows])
    pos = np.array([int(float(r[1])) if len(r) > 1 else 0 for r in rows])
    return t, t[pos == 1]


def real_cases(data: Path) -> list[dict]:
    """The annotated excerpts of ``../shared/data`` that carry audio and beats (see its SOURCES.md)."""
    a = data / "audio"
    out = []
    g_beats, g_down = read_beats(a / "gtzan/gtzan_country_00000.beats")
    out.append(dict(name="GTZAN country.00000 (4/4)", audio=a / "gtzan/country.00000.wav", beats=g_beats,
                    downbeats=g_down, bpm=float((a / "gtzan/gtzan_country_00000.bpm").read_text().split()[0]),
                    meter=4, trim=True))
    b_beats, b_down = read_beats(a / "ballroom/Media-105901.beats")
    out.append(dict(name="Ballroom waltz Media-105901 (3/4)", audio=a / "ballroom/Media-105901.wav",
                    beats=b_beats, downbeats=b_down,
                    bpm=float((a / "ballroom/Media-105901.bpm").read_text().split()[0]), meter=3, trim=True))
    m_beats, m_down = read_beats(a / "madmom/sample.beats")
    tempo_line = [ln for ln in (a / "madmom/sample.tempo").read_text().splitlines()
                  if ln.strip() and not ln.startswith("#")][0]
    out.append(dict(name="madmom sample (2.8 s)", audio=a / "madmom/sample.wav", beats=m_beats,
                    downbeats=m_down, bpm=float(tempo_line.split()[0]), meter=None, trim=False))
    out.append(dict(name="BeatNet 808 loop (tempo only)", audio=a / "beatnet/808kick120bpm.mp3", beats=None,
                    downbeats=None, bpm=120.0, meter=None, trim=False))
    return out


def synthetic_cases(*, quick: bool = False) -> list[dict]:
    """Render specs (kwargs of ``render_song``) with a name; truth comes from the rendered song."""
    bpms = (55, 68, 84, 100, 128, 160, 180) if quick else SWEEP_BPMS
    cases = [
        dict(name="68 BPM 4/4 eighth hats (was 136)", bpm=68, meter=4, hats="eighths", sections=FULL),
        dict(name="84 BPM 3/4 lead-in 0.8 s (was 168 in 6)", bpm=84, meter=3, hats="eighths", lead_in=0.8,
             sections=FULL),
        dict(name="96 BPM 3 bars from 0 (downbeats were a beat early)", bpm=96, meter=4, sections=(("verse", 3),)),
    ]
    for bpm in bpms:
        cases += [
            dict(name=f"{bpm} 4/4", bpm=bpm, meter=4, sections=FULL, lead_in=0.31),
            dict(name=f"{bpm} 4/4 eighth hats", bpm=bpm, meter=4, hats="eighths", sections=FULL),
            dict(name=f"{bpm} 4/4 sixteenth hats", bpm=bpm, meter=4, hats="sixteenths", sections=FULL,
                 lead_in=0.5),
            dict(name=f"{bpm} 4/4 swung eighths", bpm=bpm, meter=4, hats="eighths", swing=0.33, sections=FULL),
            dict(name=f"{bpm} 3/4 eighth hats", bpm=bpm, meter=3, hats="eighths", sections=FULL, lead_in=0.8),
            dict(name=f"{bpm} 6/8", bpm=bpm, meter=6, sections=FULL, lead_in=0.2),
        ]
        if bpm >= 110:
            cases.append(dict(name=f"{bpm} 4/4 half-time feel", bpm=bpm, meter=4, hats="quarters", half_time=True,
                              sections=FULL))
        bars = max(2, int(round(20.0 / (60.0 / bpm * 4))))  # a ~20 s social clip
        cases.append(dict(name=f"{bpm} 4/4 short ({bars} bars) from 0", bpm=bpm, meter=4, hats="eighths",
                          sections=(("chorus", bars),)))
    return cases


def beat_f(ref, est, *, trim: bool = False) -> float:
    import mir_eval

    ref, est = np.asarray(ref, float), np.asarray(est, float)
    if trim:
        ref, est = mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(est)
    if ref.size == 0:
        return float("nan")
    return float(mir_eval.beat.f_measure(ref, est))


def beat_errors_ms(ref, est, *, window: float = 0.07) -> np.ndarray:
    """|detected - true| in ms for each true beat with a detection within ``window`` s."""
    ref, est = np.asarray(ref, float), np.asarray(est, float)
    if est.size == 0 or ref.size == 0:
        return np.zeros(0)
    d = np.abs(est[None, :] - ref[:, None]).min(axis=1)
    return 1000.0 * d[d <= window]


def score(*, ref_beats, ref_down, ref_bpm, ref_meter, tempo, beats, downbeats, meter, trim) -> dict:
    row = dict(tempo=tempo, tempo_err=abs(tempo / ref_bpm - 1.0) * 100 if ref_bpm else float("nan"),
               meter=meter, meter_ok=None if ref_meter is None or meter is None else meter == ref_meter)
    if ref_beats is not None:
        err = beat_errors_ms(ref_beats, beats)
        row.update(f=beat_f(ref_beats, beats, trim=trim), f_all=beat_f(ref_beats, beats),
                   fd=beat_f(ref_down, downbeats, trim=trim) if downbeats is not None and len(ref_down) else None,
                   err=err)
    return row


def run_trackers(y: np.ndarray, song, truth: dict, *, trackers) -> dict:
    """Each tracker's scores on one song (``y``: mono at :data:`SR`; ``song`` for songreel)."""
    out = {}
    for name in trackers:
        t0 = time.perf_counter()
        if name == "songreel":
            from songreel.analysis import analyze

            a = analyze(song)
            res = dict(tempo=a.tempo, beats=np.array(a.beats), downbeats=np.array(a.downbeats), meter=a.meter,
                       extra=a.extra)
        elif name == "librosa":
            import librosa

            bpm, b = librosa.beat.beat_track(y=y, sr=SR, units="time")
            res = dict(tempo=float(np.atleast_1d(bpm)[0]), beats=np.asarray(b), downbeats=None, meter=None)
        else:
            from songreel.analysis import analyze

            a = analyze(song, tracker=name)
            res = dict(tempo=a.tempo, beats=np.array(a.beats), downbeats=np.array(a.downbeats), meter=a.meter,
                       extra=a.extra)
        row = score(ref_beats=truth["beats"], ref_down=truth["downbeats"], ref_bpm=truth["bpm"],
                    ref_meter=truth["meter"], tempo=res["tempo"], beats=res["beats"], downbeats=res["downbeats"],
                    meter=res["meter"], trim=truth.get("trim", False))
        row["seconds"] = time.perf_counter() - t0
        row["extra"] = res.get("extra", {})
        out[name] = row
    return out


def extra_trackers() -> tuple[list[str], list[str]]:
    """Optional trackers that can run here, and a line for each that cannot, saying why."""
    from songreel.analysis.beat_this import beat_this_status

    ok, why = beat_this_status()
    return (["beat_this"], []) if ok else ([], [f"beat_this: not run here — {why}"])


def fmt(x, spec=".3f"):
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    return format(x, spec)


def print_rows(title: str, rows: list[tuple[str, dict]], trackers) -> dict:
    print(f"\n### {title}\n")
    head = "| case | " + " | ".join(f"{t}: beat F / F all / downbeat F / tempo (err %) / meter / err ms med, p95"
                                   for t in trackers) + " |"
    print(head)
    print("|---|" + "---|" * len(trackers))
    fails = {t: [] for t in trackers}
    for name, res in rows:
        cells = []
        for t in trackers:
            r = res[t]
            err = r.get("err", np.zeros(0))
            e = f"{np.median(err):.1f}, {np.percentile(err, 95):.1f}" if err.size else "—"
            meter = "—" if r["meter"] is None else (
                f"{r['meter']}" + ("" if r["meter_ok"] in (None, True) else " **NO**"))
            ok_f = r.get("f") is None or np.isnan(r.get("f", np.nan)) or r["f"] >= 0.90
            ok_t = np.isnan(r["tempo_err"]) or r["tempo_err"] <= 4.0
            if not (ok_f and ok_t and r["meter_ok"] in (None, True)):
                fails[t].append(name)
            cells.append(f"{fmt(r.get('f'))}{'' if ok_f else ' **NO**'} / {fmt(r.get('f_all'))} / {fmt(r.get('fd'))} / "
                         f"{r['tempo']:.2f} ({r['tempo_err']:.1f}{'' if ok_t else ' **NO**'}) / {meter} / {e}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    for t in trackers:
        errs = np.concatenate([res[t].get("err", np.zeros(0)) for _, res in rows])
        pooled = f"pooled beat error {np.median(errs):.2f} ms median, {np.percentile(errs, 95):.2f} ms p95" \
            if errs.size else "no beat errors"
        print(f"\n{t}: {len(rows) - len(fails[t])} of {len(rows)} meet the targets; {pooled}"
              + (f"; misses: {', '.join(fails[t])}" if fails[t] else ""))
    return fails


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = next((p for p in (ROOT.parent / "shared" / "data", ROOT.parents[1] / "shared" / "data")
                    if p.is_dir()), ROOT.parent / "shared" / "data")  # a clone, or a worktree beside it
    ap.add_argument("--data", type=Path, default=default)
    ap.add_argument("--quick", action="store_true", help="fewer sweep tempos")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--no-sweep", action="store_true")
    args = ap.parse_args(argv)
    import librosa

    from songreel.analysis import ANALYSIS_VERSION
    from songreel.analysis.features import to_mono
    from songreel.ingest.audio import load_song
    from songreel.synth import render_song

    extra, why_not = extra_trackers()
    trackers = ["songreel", "librosa", *extra]
    print(f"{ANALYSIS_VERSION}; librosa {librosa.__version__}; cores available: {len(os.sched_getaffinity(0))}")
    print(f"targets: {TARGETS}")
    for line in why_not:
        print(line)
    if not args.no_real:
        if not (args.data / "audio").is_dir():
            print(f"no annotated audio at {args.data / 'audio'}; real excerpts skipped (pass --data)")
        else:
            rows = []
            for c in real_cases(args.data):
                song = load_song(c["audio"])
                y = to_mono(song.samples, sr=song.sample_rate, target_sr=SR)
                rows.append((c["name"], run_trackers(y, song, c, trackers=trackers)))
            print_rows("Real annotated excerpts", rows, trackers)
    if not args.no_sweep:
        rows = []
        for spec in synthetic_cases(quick=args.quick):
            kw = {k: v for k, v in spec.items() if k != "name"}
            s = render_song(sample_rate=SR, **kw)
            truth = dict(beats=s.beats, downbeats=s.downbeats, bpm=s.bpm, meter=s.meter, trim=False)
            rows.append((spec["name"], run_trackers(s.mono(), s, truth, trackers=trackers)))
        print_rows("Synthetic sweep (render_song at 22.05 kHz; F on all beats)", rows, trackers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
