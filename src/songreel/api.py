"""The public API: everything the CLI, the studio and your programs call.

::

    import songreel

    story = songreel.load("my-video.yaml")            # a Storyboard (validated, frozen)
    plan = songreel.plan(story)                        # the shots on the song's beat grid
    result = songreel.render(story, "out.mp4")         # generate, assemble, encode, check sync
    print(result.report.sync.max_cut_error_ms, result.report.shots.generated)
    songreel.export(story, "cut.otio")                 # a timeline for an editor

Every function takes a storyboard as a path (``str`` or ``Path``) or as a loaded
:class:`~songreel.schema.storyboard.Storyboard`; relative paths inside it resolve against its folder.
Errors are :class:`~songreel.errors.SongreelError` subclasses with a one-line message that names the
file and line, or the argument, the value received and what is accepted. Long steps report through one
:class:`~songreel.progress.Progress` object. The full reference is ``docs/python-api.md``.

This module imports nothing heavy: each function imports its stages when called. It is one job, the
public surface, past 450 lines because it is mostly the numpydoc of each function: the bodies are thin
calls into :mod:`songreel.reel` after checking their arguments.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from .errors import InputError
from .progress import Progress

if TYPE_CHECKING:
    from .generate.keyframes import CharacterSheet, KeyframesResult
    from .generate.runner import SpendEstimate
    from .schema.qa import QAReport
    from .reel.render import RenderResult
    from .schema.analysis import Analysis
    from .schema.plan import Plan
    from .schema.storyboard import Storyboard

StoryboardLike = Union[str, "os.PathLike[str]", "Storyboard"]

__all__ = ["load", "loads", "analyze", "plan", "estimate_cost", "render", "export", "plot_analysis", "store_info",
           "clean_store", "prices", "review", "demo_project", "character_sheet", "keyframes", "EXPORT_SUFFIXES"]

#: What :func:`export` can write, by file suffix.
EXPORT_SUFFIXES = {".otio": "timeline", ".xml": "timeline", ".edl": "timeline", ".png": "contact sheet",
                   ".srt": "subtitles", ".vtt": "subtitles"}


def _path_arg(value, name: str, what: str) -> Path:
    if isinstance(value, (str, os.PathLike)) and str(value).strip():
        return Path(value)
    raise InputError(f"{name}: got {value!r}, expected {what}")


def _storyboard(value) -> "Storyboard":
    from .reel import load as _load
    from .schema.storyboard import Storyboard

    if isinstance(value, Storyboard):
        return value
    return _load(_path_arg(value, "storyboard", "a storyboard path (str or Path) or a loaded Storyboard"))


def load(path: Union[str, "os.PathLike[str]"]) -> "Storyboard":
    """Read and validate a storyboard file.

    Parameters
    ----------
    path : str or Path
        A storyboard YAML (``songreel: 1``).

    Returns
    -------
    Storyboard
        Frozen; paths inside it are resolved against the file's folder.

    Raises
    ------
    MissingFileError
        The file does not exist.
    StoryboardError
        A malformed field: the message starts with ``FILE:LINE: field:``.
    """
    from .ingest.storyboard import load_storyboard

    return load_storyboard(_path_arg(path, "path", "a storyboard path (str or Path)"))


def loads(text: str, path: Union[str, "os.PathLike[str]"]) -> "Storyboard":
    """Validate storyboard YAML text as if it were the file at ``path``, without reading that file.

    For editors that hold the text before saving it (the studio checks it on every keystroke):
    messages name ``path`` and the line, and relative paths inside resolve against ``path``'s folder.

    Parameters
    ----------
    text : str
        The YAML (``songreel: 1``).
    path : str or Path
        Where the file lives or will live; it need not exist.

    Returns
    -------
    Storyboard

    Raises
    ------
    StoryboardError
        A malformed field: the message starts with ``FILE:LINE: field:``.
    """
    from .ingest.storyboard import load_storyboard

    if not isinstance(text, str):
        raise InputError(f"text: got {type(text).__name__}, expected the storyboard YAML as a str")
    return load_storyboard(_path_arg(path, "path", "the storyboard's path (str or Path)"), text=text)


def analyze(song: Union[str, "os.PathLike[str]"], *, tracker: str = "librosa", tempo_hint: Optional[float] = None,
            bpm: Optional[float] = None, meter: Optional[int] = None, first_downbeat: Optional[float] = None,
            cache_dir: Union[str, "os.PathLike[str]", None] = None,
            progress: Optional[Progress] = None) -> "Analysis":
    """Read a song's tempo, beats, bars, sections and energy.

    Parameters
    ----------
    song : str or Path
        An audio file FFmpeg decodes (wav, flac, mp3, ogg, m4a/aac, opus).
    tracker : {"librosa", "beat_this"}
        The beat tracker (``beat_this`` needs ``pip install 'songreel[beats]'``).
    tempo_hint : float, optional
        Approximate BPM, to choose between double and half tempo.
    bpm : float, optional
        The known tempo; the grid is held to it.
    meter : int, optional
        Beats per bar (2..12; 6/8 is 6). Default: read from the song.
    first_downbeat : float, optional
        Seconds; the beat nearest this time starts a bar.
    cache_dir : str or Path, optional
        Keep the result here, keyed by the audio's content and these options.
    progress : Progress, optional
        Receives the ``analysis`` stage.

    Returns
    -------
    Analysis
        Times in seconds; ``beats``, ``downbeats``, ``sections``, ``tempo``, ``meter``.
    """
    from .analysis import analyze_file
    from .progress import fraction_callback

    path = _path_arg(song, "song", "an audio file path (str or Path)")
    if progress is not None:
        progress.stage("analysis", 1.0)
    return analyze_file(path, cache_dir=Path(cache_dir) if cache_dir is not None else None, tracker=tracker,
                        tempo_hint=tempo_hint, bpm=bpm, meter=meter, first_downbeat=first_downbeat,
                        progress=fraction_callback(progress, "analysis"))


def plan(storyboard: StoryboardLike, *, progress: Optional[Progress] = None) -> "Plan":
    """Place a storyboard's shots on its song's beat grid, before anything is generated.

    Runs every check that needs no generation (song, footage, images, backend options, camera and
    retiming settings), so a storyboard that plans cleanly fails a render only for reasons that come
    from generation itself.

    Parameters
    ----------
    storyboard : str, Path or Storyboard
    progress : Progress, optional
        Receives the ``analysis`` stage.

    Returns
    -------
    Plan
        Frozen: every shot's first frame, length, segments and transition in exact frames; ``warnings``
        and per-shot notes say where the planner had to stretch or snap something.
    """
    from .reel import analyze_storyboard_song, check_inputs, lockfile, project

    sb = _storyboard(storyboard)
    check_inputs(sb)
    analysis = analyze_storyboard_song(sb, progress=progress, lock=lockfile.read_lock(sb))
    return project.plan_with_backends(sb, analysis)


def estimate_cost(storyboard: StoryboardLike) -> "SpendEstimate":
    """What generating a storyboard's missing clips would cost (hosted APIs), before anything is submitted.

    Clips already in the store cost nothing; local backends (animatic, footage, diffusers) are free.

    Returns
    -------
    SpendEstimate
        ``dollars`` (None when some backend has no price), ``new_segments``, ``reused_segments``,
        ``unpriced`` (backend names without a price).
    """
    from .reel.edit import estimate_cost as _estimate

    return _estimate(_storyboard(storyboard))[1]


def render(storyboard: StoryboardLike, output: Union[str, "os.PathLike[str]"], *, force: bool = False,
           takes: Optional[int] = None, progress: Optional[Progress] = None,
           stop: Optional[threading.Event] = None, timeline: Union[str, "os.PathLike[str]", None] = None,
           burn_lyrics: bool = False, confirm: Optional[Callable] = None, locked: bool = False,
           encode: Optional[dict] = None, retake_worst: int = 0, budget: Optional[float] = None,
           executor: Union[str, Any, None] = None, ray_address: Optional[str] = None,
           preview: bool = False) -> "RenderResult":
    """Render a storyboard to a finished video with its song, and check the sync.

    Parameters
    ----------
    storyboard : str, Path or Storyboard
    output : str or Path
        The ``.mp4`` to write. It is written under a temp name and renamed when complete.
    preview : bool
        Render the director's preview instead: the whole song on the same beat grid, every generated
        shot drawn by the animatic (no GPU, nothing paid), your footage kept, at 480 lines
        (854x480 for 16:9) with a fast encode (x264 veryfast, crf 23; ``encode`` still overrides it).
        The lock file and picks are left alone, and the report has a ``preview`` section instead of
        a report card. Not with ``takes``, ``locked``, ``retake_worst`` or ``executor``.
    force : bool
        Replace an existing ``output`` (the old file stays until the new one is complete).
    takes : int, optional
        Make at least this many candidate takes of every shot (1..16); the picked one is used.
    progress : Progress, optional
        Receives the ``analysis``, ``generate`` and ``assemble`` stages and the whole render's ETA.
    stop : threading.Event, optional
        Set it to stop after the current clip; finished clips are kept and reused next time
        (raises :class:`~songreel.errors.Interrupted`).
    timeline : str or Path, optional
        Also write a timeline for an editor (``.otio``, ``.xml`` or ``.edl``).
    burn_lyrics : bool
        Draw the storyboard's lyrics into the picture.
    confirm : callable, optional
        ``confirm(estimate) -> bool``, asked before anything that costs money is generated;
        returning False stops with nothing spent. Without it paid backends run unasked.
    locked : bool
        Reproduce ``<name>.lock.json`` exactly, or refuse if the storyboard, song or plan changed.
    encode : dict, optional
        ``{codec, crf, preset, audio}`` overriding the storyboard's ``encode:`` block.
    retake_worst : int
        Make a new take of each of this many worst flagged shots (``report["qa"]["worst"]``) and keep
        the better take by score, recorded as a pick in the lock file (0..64; 0: none).
    budget : float, optional
        US dollars the retakes may spend on paid backends (without it, paid shots are not retaken).
    executor : {"local", "ray"}, optional
        Where clips are generated (default the storyboard's ``executor:``, else ``local``); ``ray``
        spreads shots over a Ray cluster (``pip install 'songreel[ray]'``, see ``docs/scale.md``).
        The film is the same frame for frame. An executor object (e.g.
        ``songreel.generate.executors.ray.RayExecutor(max_workers=4)``) is used as given and left open.
    ray_address : str, optional
        The Ray cluster to join (``ray://head:10001``); default ``executor.address``, else ``RAY_ADDRESS``,
        else a local Ray instance.

    Returns
    -------
    RenderResult
        ``output``, ``report`` (``report.sync.max_cut_error_ms``, ``report.sync.video_minus_audio_ms``,
        ``report.shots.generated``, ``report.shots.reused``), ``report_path``, ``warnings``.
    """
    from .reel import render as _render

    _check_retake(retake_worst, budget, locked)
    sb = _storyboard(storyboard)
    out = _path_arg(output, "output", "a path to the .mp4 to write (str or Path)")
    if takes is not None and (isinstance(takes, bool) or not isinstance(takes, int) or not 1 <= takes <= 16):
        raise InputError(f"takes: got {takes!r}, expected a whole number 1..16")
    if encode is not None and not isinstance(encode, dict):
        raise InputError(f"encode: got {encode!r}, expected a dict like {{'crf': 18, 'preset': 'medium'}}")
    tl = _path_arg(timeline, "timeline", "a .otio, .xml or .edl path") if timeline is not None else None
    if isinstance(executor, str) or (executor is not None and not hasattr(executor, "run_shots")):
        from .generate.executors import check_name

        executor = check_name(executor)
    if ray_address is not None and (not isinstance(ray_address, str) or not ray_address.strip()):
        raise InputError(f"ray_address: got {ray_address!r}, expected a Ray address such as 'ray://head:10001' "
                         "or 'auto'")
    if ray_address is not None and executor == "local":
        raise InputError(f"ray_address: got {ray_address!r} with the local executor; it needs executor ray")
    if ray_address is not None and executor is None:
        executor = "ray"   # an address only makes sense for the Ray executor
    if not isinstance(preview, bool):
        raise InputError(f"preview: got {preview!r}, expected True or False")
    if preview and executor is not None:
        raise InputError(f"executor: got {executor!r} with preview=True, which draws every shot here with the "
                         "animatic; leave it out")
    return _render(sb, out, force=bool(force), progress=progress, stop=stop, otio=tl, burn_lyrics=bool(burn_lyrics),
                   confirm=confirm, takes=takes, locked=bool(locked), encode=encode, retake_worst=int(retake_worst),
                   budget=None if budget is None else float(budget), executor=executor, ray_address=ray_address,
                   preview=preview)


def _check_retake(retake_worst, budget, locked) -> None:
    import math

    if isinstance(retake_worst, bool) or not isinstance(retake_worst, int) or not 0 <= retake_worst <= 64:
        raise InputError(f"retake_worst: got {retake_worst!r}, expected a whole number 0..64 (shots to retake)")
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget) or budget < 0:
            raise InputError(f"budget: got {budget!r}, expected US dollars as a number >= 0")
        if not retake_worst:
            raise InputError(f"budget: got {budget!r} without retake_worst; the budget is for retakes "
                             "(give retake_worst=N)")
    if retake_worst and locked:
        raise InputError("retake_worst: cannot retake with locked=True (a locked render reproduces the lock "
                         "file exactly); drop one of them")


def review(storyboard: StoryboardLike, *, sheet: Union[str, "os.PathLike[str]", None] = None,
           progress: Optional[Progress] = None) -> "QAReport":
    """Score every shot of a storyboard's edit: the report card, without encoding the film.

    Clips are generated (or reused from the store) as for a render; each shot is measured from its
    clips and flagged (``black``, ``frozen``, ``flicker``, ``seam``, ``colour_drift``, ``identity``,
    ``off_beat``; thresholds in ``docs/qa.md``).

    Parameters
    ----------
    storyboard : str, Path or Storyboard
    sheet : str or Path, optional
        Also draw a contact sheet (``.png``) with each shot's flags and score on it.
    progress : Progress, optional
        Receives the ``generate`` and ``qa`` stages.

    Returns
    -------
    QAReport
        ``shots`` (one :class:`~songreel.schema.qa.ShotQA` per shot: ``score`` 0..1, higher is
        better, ``flags``, ``reasons``, ``measures``), ``worst`` (flagged shot numbers, worst first),
        ``notes``; with ``sheet``, ``report.sheet`` is the PNG written.
    """
    from .reel import build_edit, check_output_file

    png = _path_arg(sheet, "sheet", "a .png path") if sheet is not None else None
    sb = _storyboard(storyboard)
    if png is not None:
        from .qa.sheet import is_review_sheet

        if png.suffix.lower() != ".png":
            raise InputError(f"sheet: {png}: got the suffix '{png.suffix or 'none'}', expected .png")
        # a sheet an earlier review wrote is replaced; any other file is the user's and is kept
        if png.exists() and not is_review_sheet(png):
            from .errors import OutputError

            raise OutputError(f"sheet: {png}: already exists and is not a review sheet songreel wrote; "
                              "choose another name")
        check_output_file(png, sb, force=True, suffixes=(".png",))
    edit = build_edit(sb, progress=progress)
    from .qa import score_edit

    report = score_edit(edit, progress=progress)
    if png is not None:
        import dataclasses

        from .qa.sheet import review_sheet

        report = dataclasses.replace(report, sheet=review_sheet(edit, report, png))
    return report


def export(storyboard: StoryboardLike, path: Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]],
           *, media: str = "copy", force: bool = False, progress: Optional[Progress] = None):
    """Write the edit for finishing, chosen by ``path``'s suffix.

    ``.otio`` / ``.xml`` (FCP7) / ``.edl`` (CMX3600): a timeline an editor opens, with the song, one
    item per shot and beat/bar/section markers; ``.png``: a contact sheet of every shot;
    ``.srt`` / ``.vtt``: the lyrics as subtitles. Clips are generated (or reused from the store) as for a
    render; nothing is encoded.

    Parameters
    ----------
    storyboard : str, Path or Storyboard
    path : str or Path, or a list of them
        The file to write; a list writes several from one pass (every path is checked first).
    media : {"copy", "link", "absolute"}
        Timelines only: copy the clips beside the timeline, hard-link them, or point at the store.
    force : bool
        Replace existing files.
    progress : Progress, optional

    Returns
    -------
    Path, or list of Path
        What was written (a list when ``path`` was a list).
    """
    from .reel import build_edit, check_output_file

    many = isinstance(path, (list, tuple))
    given: Sequence = path if isinstance(path, (list, tuple)) else [path]
    wanted = [_path_arg(p, "path", "a file path ending in " + ", ".join(EXPORT_SUFFIXES)) for p in given]
    if not wanted:
        raise InputError("path: got an empty list, expected at least one file to write")
    if media not in ("copy", "link", "absolute"):
        raise InputError(f"media: got {media!r}, expected copy, link or absolute")
    sb = _storyboard(storyboard)
    for out in wanted:  # every output is checked before anything is generated
        kind = EXPORT_SUFFIXES.get(out.suffix.lower())
        if kind is None:
            raise InputError(f"path: {out}: got the suffix '{out.suffix or 'none'}', expected one of "
                             + ", ".join(EXPORT_SUFFIXES))
        check_output_file(out, sb, force=force, suffixes=tuple(s for s, k in EXPORT_SUFFIXES.items() if k == kind))
        if kind == "subtitles" and sb.lyrics is None:
            raise InputError(f"path: {out}: the storyboard has no 'lyrics:' file (LRC or SRT) to write as subtitles")
    edit = build_edit(sb, progress=progress)
    written = [_export_one(edit, sb, out, media) for out in wanted]
    return written if many else written[0]


def _export_one(edit, sb, out: Path, media) -> Path:
    kind = EXPORT_SUFFIXES[out.suffix.lower()]
    if kind == "timeline":
        from .export.timeline import write_timeline

        return Path(write_timeline(edit, out, media=media).path)
    if kind == "contact sheet":
        from .export.contact_sheet import contact_sheet

        return Path(contact_sheet(edit, out).path)
    from .export.subtitles import write_srt, write_vtt
    from .ingest.lyrics import load_lyrics

    writer = write_srt if out.suffix.lower() == ".srt" else write_vtt
    return Path(writer(load_lyrics(sb.lyrics), out, fps=edit.plan.fps, total_frames=edit.plan.total_frames))


def plot_analysis(song: Union[str, "os.PathLike[str]"], analysis: "Analysis",
                  path: Union[str, "os.PathLike[str]"]) -> Path:
    """Draw a song's waveform with its beats, bars, sections and energy to a PNG.

    Parameters
    ----------
    song : str or Path
        The audio file the analysis was made from.
    analysis : Analysis
        From :func:`analyze`.
    path : str or Path
        The PNG to write.

    Returns
    -------
    Path
    """
    from .analysis import plot_analysis as _plot
    from .ingest.audio import load_song

    src = _path_arg(song, "song", "an audio file path (str or Path)")
    out = _path_arg(path, "path", "a .png path")
    _plot(analysis, load_song(src), out)
    return out


def store_info(folder: Union[str, "os.PathLike[str]"]) -> dict:
    """Size, clips, reuse and measured throughput of the clip store (``.songreel/``) in ``folder``.

    Parameters
    ----------
    folder : str or Path
        A project folder, or a storyboard file in it.

    Returns
    -------
    dict
        ``root``, ``clips``, ``clip_bytes``, ``hits``, ``generations``, ``frames``, ``frame_bytes``,
        ``analyses``, ``analysis_bytes``, ``temps``, ``throughput``, and ``spend`` per hosted backend
        (``jobs``, ``seconds``, ``estimated_dollars``, ``reported_dollars``).
    """
    from .generate.store import ClipStore
    from .reel import STORE_DIR

    from .generate.hosted.prices import spend_by_backend

    where = _project_folder(folder)
    root = where / STORE_DIR
    if not (root / "clips").is_dir():
        raise InputError(f"{where}: no songreel store here (expected {root}/); render a storyboard first")
    return {**ClipStore(root, clean=False).info(), "spend": spend_by_backend(root)}


def clean_store(folder: Union[str, "os.PathLike[str]"], *, dry_run: bool = False) -> dict:
    """Remove from ``folder/.songreel`` what no storyboard in ``folder`` (nor its lock file) refers to.

    Nothing is removed when a storyboard there cannot be planned (what it refers to cannot be known).

    Returns
    -------
    dict
        ``clips``, ``frames``, ``temps``, ``orphans`` (what was, or with ``dry_run`` would be, removed),
        ``chunks`` (the encoded film chunks no storyboard's latest render, nor a render whose file is
        still there, uses: ``chunks``, ``records``, ``temps``, ``kept``, ``bytes``), ``measures`` (the
        report-card measures of removed clips) and ``analyses`` (song analyses no storyboard reads),
        each ``removed``, ``kept``, ``bytes``; ``bytes`` (all of it), ``kept``, ``storyboards``.
    """
    from .reel import gc_store

    return gc_store(_project_folder(folder), dry_run=bool(dry_run))


def _project_folder(value) -> Path:
    from .errors import MissingFileError

    path = _path_arg(value, "folder", "a project folder or a storyboard in it (str or Path)")
    if not path.exists():
        raise MissingFileError(f"{path}: no such storyboard or folder")
    return path if path.is_dir() else path.resolve().parent


def prices() -> list[dict]:
    """The list prices behind every cost estimate, each with its source and the date it was read.

    Returns
    -------
    list of dict
        ``{"backend", "model", "price", "checked", "source"}`` per priced model.
    """
    from .generate.hosted.prices import rows

    return [{"backend": b, "model": m, "price": p, "checked": c, "source": s} for b, m, p, c, s in rows()]


def demo_project(folder: Union[str, "os.PathLike[str]"], *, width: int = 1280, height: int = 720,
                 look: str = "cuts") -> Path:
    """Put the demo's song and storyboard in ``folder``, ready to render with the free animatic backend.

    The song (``song.wav``, 52 s at 120 BPM) is synthesised; the storyboard (``storyboard.yaml``) tells a
    couple's life in ten shots. Nothing the user changed is replaced: an existing ``song.wav`` is kept,
    and a ``storyboard.yaml`` edited since the demo wrote it (or not written by it) is kept as it is.

    Parameters
    ----------
    folder : str or Path
        Created if missing.
    width, height : int
        The storyboard's video size (even, at least 16).
    look : {"cuts", "infinite-zoom"}

    Returns
    -------
    Path
        The storyboard file.

    Raises
    ------
    InputError
        A bad size or look.
    """
    from .demo import prepare_demo
    from .draft import LOOKS

    out = _path_arg(folder, "folder", "a folder for the demo (str or Path)")
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 16 or value % 2:
            raise InputError(f"{name}: got {value!r}, expected an even whole number of pixels, at least 16")
    if look not in LOOKS:
        raise InputError(f"look: got {look!r}, expected one of {', '.join(LOOKS)}")
    if out.exists() and not out.is_dir():
        raise InputError(f"folder: got {str(out)!r}, a file; expected a folder for the demo")
    import logging

    files = prepare_demo(out, width=width, height=height, look=look)
    for note in files.notes:
        logging.getLogger(__name__).info("%s", note)
    return files.storyboard


def character_sheet(storyboard: StoryboardLike, name: str, *, look: str = "",
                    seed: Optional[int] = None) -> "CharacterSheet":
    """Draw (once) a character sheet of ``name`` from their description with the storyboard's
    text-to-image model (``images.model``; ``animatic`` is a procedural preview).

    Stored content-addressed in the project store: asking again with the same seed returns the
    stored picture without running a model; another ``seed`` re-rolls it, like a take.

    Parameters
    ----------
    storyboard : str, Path or Storyboard
    name : str
        A character under ``characters:``.
    look : str, optional
        One of the character's ``looks:`` (e.g. ``"old"``); default their own description.
    seed : int, optional
        Default: the character's ``seed:``, else one derived from the name.

    Returns
    -------
    CharacterSheet
        ``path`` is the PNG; ``seed`` the seed used; ``made`` False when it was already stored.

    Raises
    ------
    UnknownNameError
        No such character or look.
    """
    from .generate.keyframes import make_sheet
    from .reel import store_dir

    sb = _storyboard(storyboard)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32):
        raise InputError(f"seed: got {seed!r}, expected a whole number 0..4294967295")
    return make_sheet(sb, str(name), store_dir(sb), look=look, seed=seed)


def keyframes(storyboard: StoryboardLike, *, reroll: Optional[Sequence[Union[int, str]]] = None,
              progress: Optional[Progress] = None) -> "KeyframesResult":
    """Make (or reuse) the keyframe still of every image-first shot and write their contact sheet.

    A shot is image-first with ``keyframes: true`` on it or on the storyboard. Its keyframe is its
    prompt with its characters placed from their reference pictures by ``images.edit_model`` (else
    ``images.model``). The render then animates each keyframe as that shot's first frame.

    Parameters
    ----------
    storyboard : str, Path or Storyboard
    reroll : sequence of int or str, optional
        Shots (1-based numbers or names) to move to their next keyframe take before making them.
    progress : Progress, optional
        Receives the ``keyframes`` stage.

    Returns
    -------
    KeyframesResult
        ``keyframes`` (one :class:`~songreel.generate.keyframes.Keyframe` per image-first shot) and
        ``contact_sheet``, the PNG ``<storyboard>.keyframes.png`` beside the storyboard.

    Raises
    ------
    InputError
        No shot is image-first, or a reroll names no such shot.
    """
    from .generate.keyframes import KeyframesResult, contact_sheet, make_keyframes
    from .reel import analyze_storyboard_song, check_inputs, find_shot, lockfile, project, store_dir

    sb = _storyboard(storyboard)
    check_inputs(sb)
    analysis = analyze_storyboard_song(sb, lock=lockfile.read_lock(sb))
    plan_ = project.plan_with_backends(sb, analysis)
    if not plan_.extra.get("image_first"):
        raise InputError(f"{sb.where('keyframes')}: no image-first shots; set keyframes: true on the storyboard "
                         "or on a shot")
    rolled = [find_shot(plan_, str(r), sb).index for r in (reroll or ())]
    if progress:
        progress.stage("keyframes", len(plan_.extra["image_first"]))

    def on(done, total, kf):
        if progress:
            progress.advance("keyframes", done, total, f"{kf.name} {'made' if kf.made else 'reused'}")

    made = make_keyframes(sb, plan_, store_dir(sb), reroll=rolled, progress=on)
    base = sb.path if sb.path is not None else Path.cwd() / "storyboard.yaml"
    sheet = contact_sheet(made, base.with_name(base.stem + ".keyframes.png"))
    return KeyframesResult(tuple(made), sheet, plan_)
