"""Song analysis accuracy against human annotations, with plain librosa as the baseline (issue 3).

Run from the repository root::

    .venv/bin/python benchmarks/analysis_accuracy.py [--data ../shared/data] [--no-timing]

Scores (mir_eval): beat F-measure (MIREX convention, the first 5 s ignored; and on all beats),
downbeat F-measure, tempo (estimate vs reference; "ok" = within 4 % of the annotated octave),
section boundary hit-rate F-measure at 3 s; the evidence behind each tempo octave
(:func:`songreel.analysis.beats.choose_octave`). The baseline is ``librosa.beat.beat_track`` with its
defaults on ``librosa.load`` defaults (22050 Hz mono), run in the same process. Then it times
``analyze`` on a 240 s synthesised song: cold (fresh process: librosa import and numba load
included) and warm. Last, the tempo octave sweep: synthetic songs (``render_song``, 4/4 and 3/4)
and plain click tracks at 60..174 BPM, no hint; "ok" = within 2 % of the true tempo.
"""

from __future__ import annotations

import argparse
import os
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TARGETS = "beat F >= 0.85 (GTZAN, Ballroom) and >= baseline; downbeat F >= 0.6; tempo within 4% on all; " \
          "Sargon boundary F@3s >= 0.5; 240 s song <= 10 s warm on 2 cores; octave sweep all within 2%"
SWEEP_BPMS = (60, 70, 80, 90, 100, 110, 120, 128, 140, 150, 160, 174)


def read_beats(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``time position`` rows (tab or space; ``#`` comments) -> beats, downbeats (position 1)."""
    rows = [ln.split() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    t = np.array([float(r[0]) for r in rows])
    pos = np.array([int(float(r[1])) if len(r) > 1 else 0 for r in rows])
    return t, t[pos == 1]


def read_jams_segments(path: Path) -> tuple[np.ndarray, list[str]]:
    data = json.loads(path.read_text())
    ann = next(a for a in data["annotations"] if a["namespace"].startswith("segment"))
    iv = np.array([[d["time"], d["time"] + d["duration"]] for d in ann["data"]])
    return iv, [d["value"] for d in ann["data"]]


def cases(data: Path) -> list[dict]:
    a = data / "audio"
    out = []
    g_beats, g_down = read_beats(a / "gtzan/gtzan_country_00000.beats")
    out.append(dict(name="GTZAN country.00000 (4/4)", audio=a / "gtzan/country.00000.wav", beats=g_beats,
                    downbeats=g_down, tempo=float((a / "gtzan/gtzan_country_00000.bpm").read_text().split()[0]),
                    meter=4))
    b_beats, b_down = read_beats(a / "ballroom/Media-105901.beats")
    out.append(dict(name="Ballroom waltz Media-105901 (3/4)", audio=a / "ballroom/Media-105901.wav",
                    beats=b_beats, downbeats=b_down,
                    tempo=float((a / "ballroom/Media-105901.bpm").read_text().split()[0]), meter=3))
    m_beats, m_down = read_beats(a / "madmom/sample.beats")
    tempo_line = [ln for ln in (a / "madmom/sample.tempo").read_text().splitlines()
                  if ln.strip() and not ln.startswith("#")][0]
    out.append(dict(name="madmom sample (2.8 s)", audio=a / "madmom/sample.wav", beats=m_beats,
                    downbeats=m_down, tempo=float(tempo_line.split()[0]), alt_tempo=float(tempo_line.split()[1]),
                    meter=None, untrimmed=True))
    out.append(dict(name="BeatNet 808 loop", audio=a / "beatnet/808kick120bpm.mp3", beats=None, downbeats=None,
                    tempo=120.0, meter=None))
    iv, labels = read_jams_segments(a / "sargon/Mindless_cut.jams")
    out.append(dict(name="Sargon Mindless_cut (sections)", audio=a / "sargon/Mindless_cut.mp3", beats=None,
                    downbeats=None, tempo=None, meter=None, sections=(iv, labels)))
    return out


def beat_f(ref, est, *, trim: bool) -> float:
    import mir_eval

    ref, est = np.asarray(ref, float), np.asarray(est, float)
    if trim:
        ref, est = mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(est)
    if ref.size == 0:
        return float("nan")
    return float(mir_eval.beat.f_measure(ref, est))


def tempo_ok(est: float, ref: float) -> bool:
    return abs(est / ref - 1.0) <= 0.04


def run_accuracy(data: Path) -> list[dict]:
    import librosa
    import mir_eval

    from songreel.analysis import analyze
    from songreel.analysis.beats import choose_octave
    from songreel.analysis.features import SR, compute_features, to_mono
    from songreel.ingest.audio import load_song

    rows = []
    for c in cases(data):
        song = load_song(c["audio"])
        t0 = time.perf_counter()
        an = analyze(song)
        elapsed = time.perf_counter() - t0
        steps: list = []
        feats = compute_features(to_mono(song.samples, sr=int(song.sample_rate), target_sr=SR), sr=SR)
        choose_octave(onset_envelope=feats.onset, bpm=an.tempo, sr=SR, hop_length=feats.hop_length, steps=steps)
        y, sr = librosa.load(c["audio"])
        base_tempo, base_beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
        base_tempo = float(np.atleast_1d(base_tempo)[0])
        row = dict(name=c["name"], seconds=round(song.duration, 2), time=elapsed, tempo=an.tempo,
                   base_tempo=base_tempo, ref_tempo=c["tempo"], alt_tempo=c.get("alt_tempo"), meter=an.meter,
                   ref_meter=c.get("meter"), octave_steps=steps)
        if c["beats"] is not None:
            trim = not c.get("untrimmed")
            row.update(f=beat_f(c["beats"], an.beats, trim=trim), base_f=beat_f(c["beats"], base_beats, trim=trim),
                       f_all=beat_f(c["beats"], an.beats, trim=False),
                       base_f_all=beat_f(c["beats"], base_beats, trim=False),
                       fd=beat_f(c["downbeats"], an.downbeats, trim=trim) if len(c["downbeats"]) else None)
        if "sections" in c:
            iv, _ = c["sections"]
            iv = np.clip(iv, 0, an.duration)
            iv = iv[iv[:, 1] > iv[:, 0]]
            est = np.array([[s.start, s.end] for s in an.sections])
            p, r, f = mir_eval.segment.detection(iv, est, window=3.0, trim=False)
            pt, rt, ft = mir_eval.segment.detection(iv, est, window=3.0, trim=True)
            row.update(sec_f=f, sec_f_inner=ft, n_sections=len(an.sections),
                       sections=" ".join(f"{s.label}@{s.start:.1f}" for s in an.sections),
                       ref_sections=" ".join(f"{lab}@{a:.1f}" for (a, _), lab in zip(*c["sections"])))
        rows.append(row)
    return rows


def fmt(x, spec=".3f"):
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def print_table(rows: list[dict]) -> None:
    print("| excerpt | beat F songreel | beat F librosa | beat F all (s / l) | downbeat F | meter (est/ref) "
          "| tempo songreel | tempo librosa | ref tempo | within 4% (s / l) | boundary F@3s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ok = lambda t: "—" if r["ref_tempo"] is None else ("yes" if tempo_ok(t, r["ref_tempo"]) else "NO")  # noqa: E731
        sec = "—"
        if "sec_f" in r:
            sec = f"{r['sec_f']:.3f} (inner only {r['sec_f_inner']:.3f})"
        ref = fmt(r["ref_tempo"], ".2f") + (f" (also {r['alt_tempo']:g})" if r.get("alt_tempo") else "")
        print(f"| {r['name']} | {fmt(r.get('f'))} | {fmt(r.get('base_f'))} | "
              f"{fmt(r.get('f_all'))} / {fmt(r.get('base_f_all'))} | {fmt(r.get('fd'))} | "
              f"{r['meter']}/{r['ref_meter'] or '—'} | {r['tempo']:.2f} | {r['base_tempo']:.2f} | "
              f"{ref} | {ok(r['tempo'])} / {ok(r['base_tempo'])} | {sec} |")
    for r in rows:
        if "sections" in r:
            print(f"\nSargon sections, songreel: {r['sections']}\nSargon sections, reference: {r['ref_sections']}")
    print("\nTempo octave evidence (choose_octave: from level T to 2T while even + support * sub >= needed):\n")
    print("| excerpt | T -> 2T: even, sub, support, needed, faster? |")
    print("|---|---|")
    for r in rows:
        steps = [s for s in r["octave_steps"] if s["slow"] >= 40]  # lower rungs always move up
        cells = "; ".join(f"{s['slow']:.1f} -> {s['fast']:.1f}: {s['even']:.2f}, {s['sub']:.2f}, "
                          f"{s['support']:+.2f}, {s['needed']:.2f}, {'yes' if s['faster'] else 'no'}" for s in steps)
        print(f"| {r['name']} | {cells} |")


def run_sweep() -> list[tuple]:
    """Tempo (no hint) of synthetic songs in 4/4 and 3/4 and of click tracks at :data:`SWEEP_BPMS`."""
    from songreel.analysis import analyze
    from songreel.synth import render_song

    sr = 22050
    rows = []
    for bpm in SWEEP_BPMS:
        out = [bpm]
        for meter in (4, 3):
            song = render_song(bpm=float(bpm), meter=meter, sections=(("verse", 4), ("chorus", 4), ("verse", 4)),
                               sample_rate=sr, lead_in=0.31)
            a = analyze(song)
            out += [a.tempo, a.meter]
        y = np.zeros(int(12.0 * sr), np.float32)
        burst = (np.random.default_rng(0).standard_normal(int(0.02 * sr))
                 * np.exp(-np.arange(int(0.02 * sr)) / (0.003 * sr))).astype(np.float32)
        for t in np.arange(0.3, 12.0 - 0.05, 60.0 / bpm):
            i = int(round(t * sr))
            y[i:i + burst.size] += burst[: y.size - i]

        class Clicks:
            samples, sample_rate, sha256 = y[None], sr, ""

        out.append(analyze(Clicks).tempo)
        rows.append(tuple(out))
    return rows


def print_sweep(rows: list[tuple]) -> int:
    ok = lambda t, b: "ok" if abs(t / b - 1.0) <= 0.02 else "**NO**"  # noqa: E731
    print("\nTempo octave sweep (no hint; synthetic songs of 12 bars at 22.05 kHz, 12 s click tracks):\n")
    print("| true BPM | 4/4 song | meter | 3/4 song | meter | clicks |")
    print("|---|---|---|---|---|---|")
    bad = 0
    for bpm, t4, m4, t3, m3, tc in rows:
        bad += sum(abs(t / bpm - 1.0) > 0.02 for t in (t4, t3, tc))
        print(f"| {bpm} | {t4:.2f} {ok(t4, bpm)} | {m4} | {t3:.2f} {ok(t3, bpm)} | {m3} | {tc:.2f} {ok(tc, bpm)} |")
    print(f"\n{3 * len(rows) - bad} of {3 * len(rows)} within 2 % at the right octave")
    return bad


_TIMING = r"""
import os, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {src!r})
from songreel.synth import render_song
song = render_song(bpm=120.0, meter=4, sections=[("intro", 8), ("verse", 16), ("chorus", 16), ("verse", 16),
                   ("chorus", 16), ("bridge", 16), ("chorus", 16), ("outro", 16)], sample_rate=44100, seed=1)
t1 = time.perf_counter()
from songreel.analysis import analyze
a = analyze(song)
t2 = time.perf_counter()
a = analyze(song)
t3 = time.perf_counter()
print(f"{{song.duration:.1f}} {{t1 - t0:.2f}} {{t2 - t1:.2f}} {{t3 - t2:.2f}}")
"""


def run_timing() -> tuple[float, float, float, float]:
    out = subprocess.run([sys.executable, "-c", _TIMING.format(src=str(ROOT / "src"))], check=True,
                         capture_output=True, text=True).stdout.split()
    return tuple(float(x) for x in out)  # duration, synth, cold, warm


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--no-timing", action="store_true")
    args = ap.parse_args(argv)
    if not (args.data / "audio").is_dir():
        print(f"no annotated audio at {args.data / 'audio'}; pass --data", file=sys.stderr)
        return 2
    import librosa

    print(f"librosa {librosa.__version__}; cores available: {len(os.sched_getaffinity(0))}")
    print(f"targets: {TARGETS}\n")
    rows = run_accuracy(args.data)
    print_table(rows)
    print_sweep(run_sweep())
    if not args.no_timing:
        dur, synth, cold, warm = run_timing()
        print(f"\n240 s song (render_song, 44.1 kHz stereo, {dur:.1f} s): synthesis {synth:.2f} s; analyze cold "
              f"(fresh process: librosa import + numba cache load + run) {cold:.2f} s; warm {warm:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
