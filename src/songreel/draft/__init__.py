"""From a sentence to a storyboard: ``draft`` writes the shot list on the song's own bars and sections.

::

    song ─► analysis ─► SongStructure ─┬─ offline_draft ───────────────┬─► fit ─► storyboard YAML ─► plan (check)
                                       └─ language model (chat API) ──┘    (repair / re-ask once)

Modules: :mod:`.structure` (the bar grid and sections; the text a model reads), :mod:`.answer` (the
draft's data and its JSON schema), :mod:`.check` (fits a draft to the song), :mod:`.offline` (the
draft without a model), :mod:`.llm` (the chat completions call), :mod:`.writer` (the commented YAML).

Only text ever leaves the machine: the concept, the lyrics and the song's structure, never audio.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional

log = logging.getLogger(__name__)

LOOKS = ("cuts", "infinite-zoom")
CUT_EVERY_ACCEPTED = '"N bars" or "N beats" (e.g. 2bars, "4 beats")'

__all__ = ["DraftResult", "draft", "parse_cut_every"]


@dataclass(frozen=True)
class DraftResult:
    """What :func:`draft` made.

    Attributes
    ----------
    yaml : str
        The storyboard text (also written to ``path`` when one was given).
    storyboard : Storyboard
        The same storyboard, loaded and validated.
    plan : Plan
        Its plan on the song (every shot on exact frames).
    answer : DraftAnswer
        The shot list as data (title, style, characters, shots with section and bars).
    structure : SongStructure
        The song's bars and sections the draft was made on.
    path : Path or None
    endpoint : str or None
        The chat completions URL that was called (None: drafted offline).
    calls : int
        Requests made to the model (0 offline; 2 when it was asked again).
    notes : tuple of str
        Repairs and re-asks, one line each.
    """

    yaml: str
    storyboard: object
    plan: object
    answer: object
    structure: object
    path: Optional[Path] = None
    endpoint: Optional[str] = None
    calls: int = 0
    notes: tuple[str, ...] = ()


def parse_cut_every(value):
    """Parse ``--cut-every``: ``"2bars"``, ``"2 bars"``, ``"4 beats"`` -> a whole-number
    :class:`~songreel.schema.storyboard.Length` in bars or beats (bars become beats once the meter is known).

    Raises
    ------
    InputError
        Not a whole number of bars or beats.
    """
    from ..errors import InputError
    from ..schema.storyboard import parse_length

    try:
        length = parse_length(str(value))
    except ValueError:
        raise InputError(f"--cut-every: got {str(value)!r}, expected {CUT_EVERY_ACCEPTED}") from None
    if length.unit == "s" or length.amount.denominator != 1:
        raise InputError(f"--cut-every: got {str(value)!r}, expected whole {CUT_EVERY_ACCEPTED}: "
                         "cuts land on the beat grid")
    return length


def draft(song, *, concept: str, lyrics=None, look: Optional[str] = None, shots: Optional[int] = None,
          cut_every=None, style: Optional[str] = None, llm: Optional[str] = None, model: Optional[str] = None,
          api_key: Optional[str] = None, key_env: str = "OPENAI_API_KEY", out=None, force: bool = False,
          width: int = 1280, height: int = 720, fps=24, title: Optional[str] = None, cache_dir=None,
          progress: Optional[Callable[[float, str], None]] = None) -> DraftResult:
    """Draft a storyboard for ``song`` from a one-sentence concept.

    Parameters
    ----------
    song : str or Path
        The audio file.
    concept : str
        The story in a sentence or two.
    lyrics : str or Path, optional
        ``.lrc`` / ``.srt`` (timed: written into the storyboard, each shot knows the line sung over it)
        or ``.txt`` (one line per line, untimed: only the model reads it).
    look : {"cuts", "infinite-zoom"}, optional
    shots : int, optional
        Exactly this many shots (at least one per section).
    cut_every : str or Length, optional
        Phrase length, ``"2 bars"`` or ``"4 beats"``. Exclusive with ``shots``.
    style : str, optional
        The visual style shared by every shot (the model chooses one when not given).
    llm : str, optional
        Base URL of an OpenAI-compatible chat completions server; None drafts offline.
    model : str, optional
        Model name; required with ``llm``.
    api_key : str, optional
        Bearer key for ``llm`` (local servers need none). Never logged or written.
    key_env : str
        Where the key came from, named in error messages.
    out : str or Path, optional
        Write the storyboard here (atomically; never over an existing file unless ``force``). Also
        decides the relative song path and where the analysis is cached (``.songreel/`` beside it).
    force : bool
    width, height, fps
        The storyboard's ``video:`` block.
    title : str, optional
    cache_dir : Path, optional
        Analysis cache (default: ``.songreel/analysis`` beside ``out``).
    progress : callable, optional
        ``progress(fraction, message)``; the analysis's own steps start with ``"analysis: "``; the
        message before a model is called names its endpoint.

    Returns
    -------
    DraftResult

    Raises
    ------
    InputError, MissingFileError, OutputError
        Bad arguments, a missing song or lyrics file, an output that exists (without ``force``).
    DraftError
        The model's server failed, or two answers did not fit the song.
    """
    from ..errors import InputError, MissingFileError
    from ..schema.storyboard import VideoSpec

    say = progress or (lambda fraction, message: None)
    # -- arguments, all checked before anything runs
    if not isinstance(concept, str) or not concept.strip():
        raise InputError(f"--concept: got {concept!r}, expected a sentence describing the story")
    look = look or "cuts"
    if look not in LOOKS:
        from ..errors import did_you_mean

        raise InputError(f"--look: got {look!r}{did_you_mean(look, LOOKS)}, expected cuts or infinite-zoom")
    if shots is not None and cut_every is not None:
        raise InputError("--shots and --cut-every: got both, expected one of them (a number of shots, or a phrase "
                         "length)")
    if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 1):
        raise InputError(f"--shots: got {shots!r}, expected a whole number of shots from 1")
    every = parse_cut_every(cut_every) if cut_every is not None else None
    if llm is not None and not (model and str(model).strip()):
        raise InputError("--model: missing; --llm needs the model's name (e.g. --model llama3.1 or gpt-4.1-mini)")
    if model is not None and llm is None:
        raise InputError(f"--model: got {model!r} without --llm; give the server's URL with --llm, or leave both "
                         "out to draft offline")
    from pydantic import ValidationError

    try:
        video = VideoSpec(width=width, height=height, fps=fps)
    except ValidationError as e:
        first = e.errors()[0]
        raise InputError(f"--{first['loc'][-1]}: {first['msg'].removeprefix('Value error, ')}") from None
    client = None
    if llm is not None:
        from .llm import ChatClient

        client = ChatClient(llm, api_key=api_key, key_env=key_env)
    song = Path(song)
    if song.is_dir():
        raise InputError(f"SONG: {song}: is a folder; expected the song's audio file")
    if not song.is_file():
        raise MissingFileError(f"SONG: {song}: no such file; expected the song's audio file")
    out = Path(out) if out is not None else None
    if out is not None:
        if out.suffix.lower() not in (".yaml", ".yml"):
            from ..errors import OutputError

            raise OutputError(f"{out}: a storyboard is a .yaml file (got '{out.suffix or 'no extension'}')")
        if out.exists() and not force:
            from ..errors import OutputError

            raise OutputError(f"{out}: already exists; use --force to replace it")
    lyric_lines, lyrics_ref = _read_lyrics(lyrics, out)

    # -- the song
    from ..analysis import analyze_file
    from .structure import song_structure

    if cache_dir is None and out is not None:
        cache_dir = out.resolve().parent / ".songreel" / "analysis"
    say(0.0, f"analysing {song.name}")
    analysis = analyze_file(song, cache_dir=cache_dir,
                            progress=lambda f, m: say(0.5 * f, f"analysis: {m}"))
    structure = song_structure(analysis, video.fps, lyric_lines)
    m = structure.meter
    if shots is not None:
        beats = round(structure.sections[-1].end - structure.sections[0].start)
        if shots < len(structure.sections):
            names = ", ".join(s.name for s in structure.sections)
            raise InputError(f"--shots: got {shots}, but the song has {len(structure.sections)} sections ({names}); "
                             f"expected at least {len(structure.sections)} (one shot per section), or use --cut-every")
        if shots > beats:
            raise InputError(f"--shots: got {shots}, but the song has only {beats} beats; expected at most {beats}")
    every_beats = None
    if every is not None:
        every_beats = int(every.amount) * (m if every.unit == "bars" else 1)

    # -- the shot list
    from .check import fit
    from .offline import offline_draft, phrase_beats

    notes: tuple[str, ...] = ()
    calls = 0
    if client is None:
        answer = offline_draft(structure, concept=concept, shots=shots, cut_every=every_beats, style=style,
                               title=title or "")
        fitted, problems, repaired = fit(answer, structure, shots=shots)
        if fitted is None:  # the offline draft is built to fit; anything else is a bug here
            raise RuntimeError("offline draft does not fit the song: " + "; ".join(problems))
        answer, notes = fitted, tuple(repaired)
        source = "offline, without a language model"
    else:
        from .llm import ask_for_draft

        say(0.6, f"asking {model} at {client.shown} (sending the concept, lyrics and the song's structure as "
                 "text; never audio)")
        asked = ask_for_draft(client, str(model), structure, concept=concept, look=look, style=style, shots=shots,
                              phrase=None if (shots or every_beats) else phrase_beats(structure),
                              cut_every=every_beats, report=lambda text: say(0.7, text))
        answer, notes, calls = asked.answer, asked.notes, asked.calls
        if style:
            answer = answer.model_copy(update={"style": style})
        if title:
            answer = answer.model_copy(update={"title": title})
        source = f"by {model} at {client.shown}"

    # -- the storyboard, checked by planning it
    say(0.9, "writing the storyboard")
    yaml_text, sb, plan = _storyboard(answer, structure, analysis, song=song, out=out, concept=concept, look=look,
                                      video=video, lyrics_ref=lyrics_ref, source=source)
    path = None
    if out is not None:
        from .writer import publish

        path = publish(out, yaml_text, force=force)
    say(1.0, "done")
    return DraftResult(yaml=yaml_text, storyboard=sb, plan=plan, answer=answer, structure=structure, path=path,
                       endpoint=client.shown if client else None, calls=calls, notes=notes)


def _read_lyrics(lyrics, out: Optional[Path]):
    """Lyric lines (timed LyricLine or plain strings) and the path the storyboard should carry."""
    if lyrics is None:
        return (), None
    from ..errors import InputError, MissingFileError

    path = Path(lyrics)
    if not path.is_file():
        raise MissingFileError(f"--lyrics: {path}: no such file; expected an .lrc, .srt or .txt file")
    if path.suffix.lower() in (".lrc", ".srt"):
        from ..ingest.lyrics import load_lyrics

        return load_lyrics(path), _rel(path, out)
    if path.suffix.lower() not in (".txt", ""):
        raise InputError(f"--lyrics: {path}: unknown lyrics format {path.suffix!r}; expected .lrc or .srt (timed) "
                         "or .txt (untimed, one line per line)")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"--lyrics: {path}: not UTF-8 text; expected a UTF-8 lyrics file") from None
    return tuple(" ".join(x.split()) for x in text.splitlines() if x.strip()), None


def _rel(path: Path, out: Optional[Path]) -> str:
    """``path`` as the storyboard should name it: relative to its folder when it can be, else absolute."""
    import os

    if out is None:
        return str(Path(path).resolve())
    try:
        return Path(os.path.relpath(Path(path).resolve(), out.resolve().parent)).as_posix()
    except ValueError:  # another drive (Windows)
        return str(Path(path).resolve())


def _storyboard(answer, structure, analysis, *, song: Path, out: Optional[Path], concept: str, look: str,
                video, lyrics_ref: Optional[str], source: str):
    """Write the YAML, load it back through the storyboard loader and plan it on the song (twice: the
    second text carries each shot's planned time in its comment and must plan the same)."""
    from .. import reel
    from ..ingest.storyboard import load_storyboard
    from .writer import WriteOptions, storyboard_yaml

    opts = WriteOptions(song=_rel(song, out), concept=concept, look=look, width=video.width,
                        height=video.height, fps=Fraction(video.fps), lyrics=lyrics_ref, source=source)
    where = out if out is not None else Path.cwd() / "draft.yaml"
    plain = storyboard_yaml(answer, structure, opts)
    sb = load_storyboard(where, text=plain)
    plan = reel.make_plan(sb, analysis)
    text = storyboard_yaml(answer, structure, opts, plan=plan)
    sb = load_storyboard(where, text=text)
    again = reel.make_plan(sb, analysis)
    if [(s.start, s.end) for s in again.shots] != [(s.start, s.end) for s in plan.shots]:
        raise RuntimeError("the commented storyboard plans differently from the plain one")
    _check_cuts(answer, structure, again)
    return text, sb, again


def _check_cuts(answer, structure, plan) -> None:
    """Every section change is a cut on that section's first downbeat (the draft's promise)."""
    grid = structure.grid
    for i, shot in enumerate(plan.shots[1:], 1):
        if answer.shots[i].section != answer.shots[i - 1].section:
            sec = structure.span(answer.shots[i].section)
            want = grid.frame_of(sec.start)
            if shot.start != want:
                raise RuntimeError(f"shot {i + 1} starts at frame {shot.start}, not on {sec.name}'s first bar "
                                   f"(frame {want})")
