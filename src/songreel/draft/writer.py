"""Write a draft as a commented storyboard YAML, and publish it without ever replacing a user's file.

The storyboard is laid out so that it survives editing: a section's first shot starts at its first
bar (``at: bar N``), the other shots carry a ``length:``, and a section's last shot has none, so it
runs to the next section's first bar (the song's last shot runs to the song's end). Above each shot a
comment gives its number, section, bar.beat position, time and length as the planner places them.
Strings are written as JSON strings, which YAML reads back unchanged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional

from ..errors import OutputError
from ..timebase import format_time
from .answer import DraftAnswer, length_beats
from .check import length_text
from .structure import SongStructure, bars_text

ZOOM_DEFAULT = "{per: 1 bar, factor: 2}"


@dataclass(frozen=True)
class WriteOptions:
    """What goes into the storyboard besides the shots."""

    song: str
    concept: str
    look: str = "cuts"
    width: int = 1280
    height: int = 720
    fps: Fraction = Fraction(24)
    lyrics: Optional[str] = None
    source: str = "offline"


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(str(text).split())


def storyboard_yaml(answer: DraftAnswer, structure: SongStructure, opts: WriteOptions, plan=None) -> str:
    """The storyboard text of a fitted draft.

    Parameters
    ----------
    answer : DraftAnswer
        Passed through :func:`songreel.draft.check.fit`.
    structure : SongStructure
    opts : WriteOptions
    plan : Plan, optional
        The plan of this same storyboard; when given, every shot's comment carries its exact time.

    Returns
    -------
    str
    """
    s = structure
    m = s.meter
    fps_text = str(opts.fps.numerator) if opts.fps.denominator == 1 else f"{opts.fps.numerator}/{opts.fps.denominator}"
    out = [
        "# songreel storyboard, drafted by `songreel draft` (" + _comment(opts.source) + ")",
        "# concept: " + _comment(opts.concept),
        f"# song: {format_time(s.duration)}, {s.tempo:.1f} BPM, {m} beats a bar, {bars_text(s.bars)}; sections: "
        + ", ".join(f"{sec.name} (bars {sec.first_bar}-{sec.last_bar})" for sec in s.sections),
        "# A section's first shot starts at its first bar (at: bar N); its last shot has no length and runs",
        "# to the next section, so lengths can be edited without breaking the sync. Render it with:",
        "#   songreel render THIS.yaml -o video.mp4",
        "songreel: 1",
    ]
    if answer.title:
        out.append(f"title: {q(answer.title)}")
    out.append(f"song: {q(opts.song)}")
    if opts.lyrics:
        out.append(f"lyrics: {q(opts.lyrics)}")
    out.append(f"video: {{width: {opts.width}, height: {opts.height}, fps: {fps_text}}}")
    out.append("backend: animatic    # a preview any machine renders; "
               "change it to a video model when the story reads right")
    if opts.look == "infinite-zoom":
        out.append("look: infinite-zoom  # every shot nested in the one before; the zoom is the transition")
        out.append(f"zoom: {ZOOM_DEFAULT}")
    if answer.style:
        out.append(f"style: {q(answer.style)}")
    if answer.characters:
        out.append("characters:")
        for c in answer.characters:
            out.append(f"  {c.name}: {q(c.description)}")
            for look in c.looks:
                out.append(f"  {look.name}: {q(c.description.rstrip(' .,') + ', ' + look.description)}"
                           f"    # {c.name}, another time")
    out.append("shots:")
    n = len(answer.shots)
    lyrics = {ly.number: ly for ly in s.lyrics}
    for i, shot in enumerate(answer.shots):
        sec = s.span(shot.section)
        opener = i == 0 or answer.shots[i - 1].section != shot.section
        closer = i == n - 1 or answer.shots[i + 1].section != shot.section
        beats = length_beats(shot, m)
        if opener:
            start = plan.shots[i].start / float(plan.fps) if plan is not None else sec.start_s
            out.append(f"  # --- {sec.name}: bars {sec.first_bar}-{sec.last_bar} ({bars_text(sec.bars)}), "
                       f"from {format_time(start)}")
        where = f"  # {i + 1} · {sec.name}"
        if plan is not None:
            p = plan.shots[i]
            f = float(plan.fps)
            where += (f" · bar {p.position} · {format_time(p.start / f)}-{format_time(p.end / f)} "
                      f"({p.frames / f:.2f} s)")
        where += f" · {length_text(beats, m)}" + (" (to the end of the song)" if i == n - 1 else
                                                    " (to the next section)" if closer else "")
        out.append(where)
        if shot.lyric is not None and shot.lyric in lyrics:
            out.append(f"  # sung: {_comment(q(lyrics[shot.lyric].text))} (lyric {shot.lyric})")
        first = True

        def field(key: str, value: str) -> None:
            nonlocal first
            out.append(("  - " if first else "    ") + f"{key}: {value}")
            first = False

        if shot.name:
            field("name", q(shot.name))
        field("prompt", q(shot.prompt))
        if opener and i > 0:
            field("at", f"bar {sec.first_bar}")
        if not closer:
            field("length", length_text(beats, m))
        if opts.look != "infinite-zoom" and shot.transition != "cut" and i < n - 1:
            field("transition", shot.transition)
    return "\n".join(out) + "\n"


def publish(path: Path, text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically; an existing file is replaced only with ``force``.

    Without ``force`` the finished temp file is hard-linked to the final name, which fails if a file
    appeared there meanwhile: a user's storyboard is never overwritten.

    Raises
    ------
    OutputError
        The path exists (without ``force``), is a folder, or its folder is missing or read-only.
    """
    from ..fileio import atomic_write_bytes, fsync_dir, temp_path, write_synced

    path = Path(path)
    parent = path.resolve().parent
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; expected a path for the storyboard .yaml to write")
    if not parent.is_dir():
        raise OutputError(f"{path}: the folder {parent} does not exist; create it or choose another output")
    if path.exists() and not force:
        raise OutputError(f"{path}: already exists; use --force to replace it")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: the folder {parent} is not writable")
    data = text.encode("utf-8")
    if force:
        atomic_write_bytes(path, data)
        return path
    tmp = temp_path(path)
    try:
        write_synced(tmp, data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise OutputError(f"{path}: already exists; use --force to replace it") from None
        except OSError:  # a filesystem without hard links: last check, then rename
            if path.exists():
                raise OutputError(f"{path}: already exists; use --force to replace it") from None
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(parent)
    return path
