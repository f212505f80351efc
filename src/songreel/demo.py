"""``songreel demo``: synthesise a song with a known tempo, write a storyboard about a couple's life,
render it with the animatic backend. No network, no GPU."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEMO_BPM = 120.0
DEMO_SECTIONS = (("intro", 2), ("verse", 6), ("chorus", 6), ("bridge", 4), ("chorus", 6), ("outro", 2))

DEMO_STORYBOARD = """\
songreel: 1
title: The Hardest Part (animatic demo)
song: song.wav
video: {{width: {width}, height: {height}, fps: 24}}
backend: animatic
look: {look}
encode: {{preset: veryfast}}
zoom: {{per: 1 bar, factor: 2}}
style: "dreamy 35mm film, soft golden light"
negative: "text, watermark"
characters:
  her: "a young woman with curly auburn hair"
  him: "a young man with a denim jacket"
shots:
  - prompt: "{{her}} and {{him}} meet at a school locker, 1990s"
    length: 2 bars
  - prompt: "{{her}} and {{him}} share headphones on the school bus"
    length: 3 bars
  - prompt: "prom night, {{her}} and {{him}} slow dance under paper stars"
    length: 3 bars
    transition: crossfade 1 beat
  - prompt: "a road trip in an old car, windows down, summer"
    length: 3 bars
  - prompt: "{{her}} and {{him}} marry in a small garden, confetti"
    length: 3 bars
  - prompt: "a first apartment, boxes everywhere, laughing"
    length: 4 bars
    transition: dip
  - prompt: "a newborn asleep on {{him}}'s chest"
    length: 2 bars
  - prompt: "{{her}} teaches a child to ride a bike"
    length: 2 bars
  - prompt: "an argument in a dark kitchen, rain on the window"
    length: 2 bars
    transition: crossfade 2 beats
  - prompt: "an old couple on a porch swing at dusk, holding hands"
"""


@dataclass(frozen=True)
class DemoFiles:
    """What :func:`prepare_demo` left in the demo folder."""

    storyboard: Path
    notes: tuple[str, ...] = ()


def write_demo(out_dir: Path, *, width: int = 1280, height: int = 720, look: str = "cuts", seed: int = 0) -> Path:
    """Write ``song.wav`` and ``storyboard.yaml`` into ``out_dir`` (replacing them); returns the storyboard path."""
    from .fileio import atomic_write_bytes

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_song(out_dir / "song.wav", seed)
    sb = out_dir / "storyboard.yaml"
    atomic_write_bytes(sb, DEMO_STORYBOARD.format(width=width, height=height, look=look).encode())
    return sb


def prepare_demo(out_dir: Path, *, width: int = 1280, height: int = 720, look: str = "cuts",
                 seed: int = 0) -> DemoFiles:
    """Set up the demo folder without ever replacing a file the user changed.

    A storyboard the demo wrote and nobody edited since (its hash is remembered in
    ``.songreel/demo.json``) is rewritten for the options asked; an edited one is kept and rendered as
    it is. A ``song.wav`` already there is kept (it may be the user's own song).
    """
    import hashlib
    import json

    from .fileio import atomic_write_bytes

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    notes = []
    song = out_dir / "song.wav"
    if not song.exists():
        _write_song(song, seed)
    sb = out_dir / "storyboard.yaml"
    memo = out_dir / ".songreel" / "demo.json"
    text = DEMO_STORYBOARD.format(width=width, height=height, look=look).encode()
    try:
        written = json.loads(memo.read_text(encoding="utf-8")).get("storyboard_sha256")
    except (OSError, ValueError, AttributeError):
        written = None
    if sb.exists():
        current = hashlib.sha256(sb.read_bytes()).hexdigest()
        if current != hashlib.sha256(text).hexdigest() and current != written:
            notes.append(f"{sb} has your edits; rendering it as it is (delete it to start again from the demo's)")
            return DemoFiles(sb, tuple(notes))
    atomic_write_bytes(sb, text)
    memo.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(memo, json.dumps({"storyboard_sha256": hashlib.sha256(text).hexdigest()}).encode())
    return DemoFiles(sb, tuple(notes))


def _write_song(path: Path, seed: int) -> None:
    from .synth import render_song, write_wav

    song = render_song(bpm=DEMO_BPM, meter=4, sections=DEMO_SECTIONS, sample_rate=44100, seed=seed)
    write_wav(path, song.samples, song.sample_rate)
