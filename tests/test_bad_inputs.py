"""The bad-input corpus: every case in tests/bad_inputs/ through the real CLI.

Each case is ``NN-name.yaml`` (the storyboard, copied as ``video.yaml`` into a fresh folder with the
shared synthetic ``song.wav``) and ``NN-name.expected``::

    # kind: plan                 how to run it (see KINDS)
    # exit: 2                    expected exit code (default 2)
    error: video.yaml:7: ...     the one line expected on stderr ({dir} = the case folder)

Checks per case: the exit code; exactly one line on stderr, equal to the expected one; no traceback;
every file that was there before is byte-identical afterwards, and nothing new appears beside the
storyboard except the render's own outputs (success cases) and the ``.songreel/`` store.

Most cases run in-process through Typer's CliRunner (fast); SUBPROCESS ones, and the permission
cases, run ``python -m songreel.cli.main`` in a real subprocess. Binary fixtures (audio, video,
images) are generated here, never committed. Set ``SONGREEL_BLESS=1`` to (re)write the expected
lines from what the CLI prints (then review the diff).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent / "bad_inputs"
CASES = sorted(p.stem for p in HERE.glob("*.yaml"))
BLESS = os.environ.get("SONGREEL_BLESS") == "1"
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# cases run as a real subprocess (proves: no traceback, one line, exit code from the actual process)
SUBPROCESS = {"01-malformed-yaml", "10-length-past-song-end", "16-text-file-named-mp3",
              "20-footage-without-video-stream", "24-output-folder-missing", "28-emoji-prompt",
              "31-unknown-backend", "44-output-exists-without-force", "26-non-utf8-storyboard"}
# cases about permissions: a subprocess; as root, one without the capabilities to bypass permissions
PERMISSION = {"21-unreadable-storyboard", "22-unreadable-song", "25-output-folder-read-only"}

KINDS = {
    "plan": ["plan", "video.yaml"],
    "plan-hide-httpx": ["plan", "video.yaml"],
    "plan-cost-hide-httpx": ["plan", "video.yaml", "--cost"],
    "render": ["render", "video.yaml", "-o", "out.mp4"],
    "render-ok": ["render", "video.yaml", "-o", "out.mp4"],
    "render-clip": ["render", "video.yaml", "-o", "clip.mp4"],
    "render-missing-dir": ["render", "video.yaml", "-o", "nowhere/out.mp4"],
    "render-readonly-dir": ["render", "video.yaml", "-o", "locked/out.mp4"],
    "render-avi": ["render", "video.yaml", "-o", "out.avi"],
    "render-exists": ["render", "video.yaml", "-o", "out.mp4"],
    "render-corrupt-lock": ["render", "video.yaml", "-o", "out.mp4"],
    "pick": ["pick", "1", "5", "video.yaml"],
    "takes": ["takes", "7", "video.yaml"],
    "studio-on-a-file": ["studio", "video.yaml", "--no-browser"],
    "draft": None,  # the command line is the case's "# args:" line
    "render-budget-only": ["render", "video.yaml", "-o", "out.mp4", "--budget", "5"],
    "render-retake-locked": ["render", "video.yaml", "-o", "out.mp4", "--retake-worst", "2", "--locked"],
    "render-retake-negative-budget": ["render", "video.yaml", "-o", "out.mp4", "--retake-worst", "1", "--budget", "-1"],
    "render-retake-too-many": ["render", "video.yaml", "-o", "out.mp4", "--retake-worst", "99"],
    "review-sheet-jpg": ["review", "video.yaml", "--sheet", "sheet.jpg"],
    "review-sheet-taken": ["review", "video.yaml", "--sheet", "photo.png"],
}
OUTPUTS_OK = {"out.mp4", "out.report.json", "video.lock.json"}


def read_expected(name: str) -> dict:
    path = HERE / f"{name}.expected"
    spec = {"kind": "plan", "exit": 2, "line": None}
    if not path.exists():
        return spec
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("# ") and ":" in raw:
            k, _, v = raw[2:].partition(":")
            spec[k.strip()] = int(v.strip()) if k.strip() == "exit" else v.strip()
        elif raw.strip():
            spec["line"] = raw
    return spec


def write_expected(name: str, spec: dict, line: str) -> None:
    body = f"# kind: {spec['kind']}\n"
    if spec["exit"] != 2:
        body += f"# exit: {spec['exit']}\n"
    if spec.get("args"):
        body += f"# args: {spec['args']}\n"
    if spec["exit"] == 2:
        body += line + "\n"
    (HERE / f"{name}.expected").write_text(body, encoding="utf-8")


# ---------------------------------------------------------------------------------------------------
# fixtures: generated media


def _wav_header_only(path: Path) -> None:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(b"")


def _corrupt_wav(path: Path) -> None:
    rng = np.random.default_rng(3)
    body = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    path.write_bytes(b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WAVE" + body)


def _audio_only(path: Path) -> None:
    import av

    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=22050)
        s.layout = "mono"
        t = np.arange(22050 // 2) / 22050
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        for k in range(0, samples.shape[1], 1024):
            fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, k:k + 1024]), format="fltp",
                                            layout="mono")
            fr.sample_rate = 22050
            fr.pts = k
            for p in s.encode(fr):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)


def _tiny_video(path: Path) -> None:
    from fractions import Fraction

    from songreel.media import ClipWriter

    with ClipWriter(path, 64, 36, Fraction(24), preset="ultrafast") as w:
        for i in range(12):
            w.write(np.full((36, 64, 3), 20 * i, dtype=np.uint8))


def _still_png(path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.full((36, 64, 3), 128, dtype=np.uint8)).save(path)


SETUP = {
    "16-text-file-named-mp3": lambda d: (d / "song.mp3").write_text("ID3? no: these are my lyrics, not audio\n"),
    "17-empty-audio-file": lambda d: (d / "empty.wav").write_bytes(b""),
    "18-audio-with-no-samples": lambda d: _wav_header_only(d / "silent.wav"),
    "19-corrupt-audio": lambda d: _corrupt_wav(d / "corrupt.wav"),
    "20-footage-without-video-stream": lambda d: _audio_only(d / "sound.m4a"),
    "21-unreadable-storyboard": lambda d: os.chmod(d / "video.yaml", 0o000),
    "22-unreadable-song": lambda d: os.chmod(d / "song.wav", 0o000),
    "23-output-equals-input": lambda d: _tiny_video(d / "clip.mp4"),
    "25-output-folder-read-only": lambda d: ((d / "locked").mkdir(), os.chmod(d / "locked", 0o555)),
    "44-output-exists-without-force": lambda d: (d / "out.mp4").write_bytes(b"my precious earlier render"),
    "49-corrupt-lock-file": lambda d: (d / "video.lock.json").write_text('{"schema": "songreel.Lock.1", "shots": [\n'),
    "51-song-is-a-folder": lambda d: (d / "music").mkdir(),
    "52-first-frame-not-an-image": lambda d: (d / "still.png").write_text("not a picture\n"),
    "58-footage-option-typo-on-a-shot": lambda d: _still_png(d / "still.png"),
    "60-plan-checks-an-audio-only-clip": lambda d: _audio_only(d / "sound.m4a"),
    "59-footage-option-out-of-range": lambda d: _still_png(d / "still.png"),
    "195-review-sheet-is-my-photo": lambda d: _tiny_png(d / "photo.png"),
    "210-character-reference-missing": lambda d: _still_png(d / "her-front.png"),
    "211-character-reference-not-an-image": lambda d: (d / "her.png").write_text("not a picture\n"),
    "213-more-references-than-the-backend-takes": lambda d: [_still_png(d / f"{c}.png") for c in "abcde"],
}


def _tiny_png(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (4, 4), (200, 100, 50)).save(path)


@pytest.fixture(scope="module")
def seeded_store(song_120, tmp_path_factory):
    """A folder with the song and its cached analysis, copied into every case (skips librosa)."""
    from songreel import reel

    d = tmp_path_factory.mktemp("bad-inputs-seed")
    shutil.copy(song_120, d / "song.wav")
    (d / "video.yaml").write_text('songreel: 1\nsong: song.wav\nshots:\n  - prompt: "x"\n', encoding="utf-8")
    reel.analyze_storyboard_song(reel.load(d / "video.yaml"))
    (d / "video.yaml").unlink()
    return d


def make_case(name: str, seeded: Path, parent: Path) -> Path:
    d = parent / name
    shutil.copytree(seeded, d)
    shutil.copy(HERE / f"{name}.yaml", d / "video.yaml")
    if name in SETUP:
        SETUP[name](d)
    return d


def snapshot(d: Path) -> dict:
    """sha256 of every file outside .songreel (read as root if needed: chmod'ed files included)."""
    out = {}
    for p in sorted(d.rglob("*")):
        rel = p.relative_to(d)
        if rel.parts[0] == ".songreel" or p.is_dir():
            continue
        mode = p.stat().st_mode
        try:
            if not os.access(p, os.R_OK):
                os.chmod(p, mode | 0o400)
            out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
        finally:
            os.chmod(p, mode)
    return out


def run_subprocess(d: Path, args: list, *, unprivileged: bool = False) -> tuple[int, str, str]:
    """``python -m songreel.cli.main ARGS`` in ``d``. ``unprivileged``: as root, without the
    capabilities that let root read and write every file (so permission bits apply)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1", COLUMNS="200")
    src = Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--inh-caps=-all", "--"] \
        if unprivileged else []
    p = subprocess.run([*prefix, sys.executable, "-m", "songreel.cli.main", *args], cwd=d, env=env,
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def run_inprocess(d: Path, args: list, monkeypatch) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from songreel.cli.main import app

    monkeypatch.chdir(d)
    r = CliRunner().invoke(app, args, catch_exceptions=True)
    err = r.stderr
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        import traceback

        err += "Traceback (in-process):\n" + "".join(traceback.format_exception(r.exception))
    return r.exit_code, r.stdout, err


@pytest.mark.parametrize("name", CASES)
def test_bad_input(name, seeded_store, tmp_path, monkeypatch):
    spec = read_expected(name)
    kind = spec["kind"]
    args = shlex.split(spec["args"]) if spec.get("args") else KINDS[kind]
    unprivileged = name in PERMISSION and ROOT
    if unprivileged and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop the right to read every file")
    d = make_case(name, seeded_store, tmp_path)
    before = snapshot(d)
    if name in SUBPROCESS or name in PERMISSION:
        code, out, err = run_subprocess(d, args, unprivileged=unprivileged)
    else:
        if kind.endswith("hide-httpx"):
            from songreel.generate import registry

            real = registry.missing_modules
            monkeypatch.setattr(registry, "missing_modules",
                                lambda n: ["httpx"] if registry.BACKENDS.get(n) and "httpx" in
                                registry.BACKENDS[n].needs else real(n))
        code, out, err = run_inprocess(d, args, monkeypatch)
    lines = [line for line in err.splitlines() if line.strip()]
    if BLESS and spec["exit"] == 2 and code == 2 and len(lines) == 1:
        write_expected(name, spec, lines[0].replace(str(d.resolve()), "{dir}").replace(str(d), "{dir}"))
        spec = read_expected(name)
    assert "Traceback" not in err, err
    assert code == spec["exit"], (code, err, out)
    after = snapshot(d)
    changed = {k for k in before if before[k] != after.get(k)}
    assert not changed, f"inputs touched: {changed}"
    new = set(after) - set(before)
    if spec["exit"] == 0:
        assert new <= OUTPUTS_OK, new
        assert not kind.startswith("render") or (d / "out.mp4").stat().st_size > 0
        assert err.strip() == "", err
        return
    assert not new, f"files appeared: {new}"
    assert len(lines) == 1, err
    want = spec["line"].replace("{dir}", str(d.resolve()))
    assert lines[0] == want, f"\n got: {lines[0]}\nwant: {want}"


def test_the_corpus_is_big_enough_and_complete():
    assert len(CASES) >= 30
    for name in CASES:
        spec = read_expected(name)
        assert spec["kind"] in KINDS, name
        assert spec["exit"] == 0 or spec["line"], f"{name}: no expected line"
    succeed = [n for n in CASES if read_expected(n)["exit"] == 0]
    assert {"27-prompt-10000-characters", "28-emoji-prompt", "29-right-to-left-prompt"} <= set(succeed)
