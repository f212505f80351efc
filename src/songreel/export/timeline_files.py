"""Timeline files: write an edit as ``.otio`` / ``.xml`` (FCP7) / ``.edl`` (CMX3600) through the
OpenTimelineIO adapters, read timelines written by any tool, and summarise them.

Writing is all-or-nothing: the timeline is serialised to a temporary file first (an adapter that
refuses the edit fails before any media is copied), then the media are placed, then the file is
renamed into place; on any failure the media this call added, and a media folder it created, are
removed again.

``opentimelineio`` is the ``otio`` extra and is imported on first use; FCP7 XML and EDL need the
``otio-fcp-adapter`` / ``otio-cmx3600-adapter`` plug-ins.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, Optional

from ..errors import InputError, MissingExtraError, MissingFileError, OutputError
from ..schema.edit import Edit
from .otio_build import edit_to_otio, otio_module, time_range
from .timeline_media import media_names, place, tmp_name

#: file suffix -> (OTIO adapter name, pip package that provides it, what it is)
FORMATS = {
    ".otio": ("otio_json", "opentimelineio", "OpenTimelineIO JSON"),
    ".xml": ("fcp_xml", "otio-fcp-adapter", "Final Cut Pro 7 XML"),
    ".edl": ("cmx_3600", "otio-cmx3600-adapter", "CMX3600 EDL"),
}
ACCEPTED = ".otio, .xml (FCP7 XML) or .edl (CMX3600)"

#: The newest OTIO release line whose files songreel writes (0.18.x reads Marker.2, not Marker.3).
TARGET_OTIO = "0.18.0"


def _adapter(suffix: str, path: Path, *, writing: bool):
    """Return the OTIO adapter name for ``suffix`` or raise a one-line error."""
    otio = otio_module()
    if suffix not in FORMATS:
        raise InputError(f"{path}: unknown timeline format {suffix or '(no suffix)'!r}, expected {ACCEPTED}")
    name, package, what = FORMATS[suffix]
    available = {a.name for a in otio.plugins.ActiveManifest().adapters}
    if name not in available:
        raise MissingExtraError("otio", package, f"{'writing' if writing else 'reading'} {what} ({path.name})")
    return name



@dataclass(frozen=True)
class TimelineExport:
    """What :func:`write_timeline` wrote."""

    path: Path
    media_dir: Optional[Path]
    media: tuple[Path, ...]
    format: str


def write_timeline(edit: Edit, out_path: Path | str, *, media: Literal["copy", "link", "absolute"] = "copy",
                   segments: Optional[Literal["nest", "split"]] = None, overwrite: bool = True) -> TimelineExport:
    """Write the edit as a timeline file, with its media beside it.

    Parameters
    ----------
    edit : Edit
    out_path : Path or str
        ``.otio`` (OpenTimelineIO JSON, readable by opentimelineio 0.18), ``.xml`` (FCP7 XML, for
        Premiere / Resolve; markers without colours) or ``.edl`` (CMX3600; video only, no markers).
    media : {"copy", "link", "absolute"}
        ``copy`` / ``link`` put every clip and the song into ``<stem>_media/`` beside the timeline
        (hard links where the filesystem allows, else copies) and reference them by relative path;
        ``absolute`` references the files where they are, by ``file://`` URL.
    segments : {"nest", "split"}, optional
        See :func:`edit_to_otio`; default ``nest`` for ``.otio``, ``split`` for ``.xml`` and ``.edl``.
    overwrite : bool
        When False, an existing ``out_path`` is an error.

    Returns
    -------
    TimelineExport

    Raises
    ------
    InputError
        Unknown suffix or media mode.
    MissingExtraError
        The adapter for the format is not installed (the message gives the pip command).
    MissingFileError
        A clip or the song does not exist.
    OutputError
        The file or media cannot be written.
    """
    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    adapter = _adapter(suffix, out_path, writing=True)
    if media not in ("copy", "link", "absolute"):
        raise InputError(f"media: got {media!r}, expected 'copy', 'link' or 'absolute'")
    if out_path.exists() and not overwrite:
        raise OutputError(f"{out_path}: already exists (pass overwrite=True to replace it)")
    if segments is None:
        # FCP7 XML nests, but the adapter cannot read nested sequences back (and editors trim plain
        # clips more easily); EDL cannot nest at all
        segments = "nest" if suffix == ".otio" else "split"

    sources = [Path(c.path) for clips in edit.clips for c in clips] + [Path(edit.song)]
    for s in sources:
        if not s.is_file():
            raise MissingFileError(f"{s}: media file does not exist (referenced by the edit)")

    media_dir = out_path.parent / f"{out_path.stem}_media" if media != "absolute" else None
    tl = edit_to_otio(edit, media_dir=Path(media_dir.name) if media_dir else None, segments=segments,
                      markers=suffix != ".edl")
    otio = otio_module()
    made_dirs = [d for d in (*reversed(out_path.parent.parents), out_path.parent) if not d.exists()]
    placed: list[Path] = []
    added: list[Path] = []
    tmp = tmp_name(out_path)
    ok = False
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        # 1. serialise first: an adapter that refuses the edit fails before any media is placed
        try:
            if adapter == "otio_json":
                text = otio.adapters.otio_json.write_to_string(
                    tl, target_schema_versions=otio.versioning.fetch_map("OTIO_CORE", TARGET_OTIO))
                tmp.write_text(text, encoding="utf-8")
            else:
                kwargs = {"rate": float(edit.plan.fps)} if adapter == "cmx_3600" else {}
                _conform_media_rates(tl, Fraction(edit.plan.fps))
                otio.adapters.write_to_file(tl, str(tmp), adapter_name=adapter, **kwargs)
        except OSError as e:
            raise OutputError(f"{out_path}: cannot write timeline ({e.strerror or e})") from None
        except Exception as e:  # adapter failures: one line, not a traceback
            raise OutputError(f"{out_path}: the {FORMATS[suffix][2]} adapter failed: {_first_line(e)}") from None
        # 2. the media beside it
        if media_dir is not None:
            if not media_dir.exists():
                made_dirs.append(media_dir)
            try:
                media_dir.mkdir(exist_ok=True)
            except OSError as e:
                raise OutputError(f"{media_dir}: cannot create the media folder ({e.strerror or e})") from None
            for src, name in media_names(edit).items():
                dst = media_dir / name
                existed = dst.exists()
                place(src, dst, media)
                placed.append(dst)
                if not existed:
                    added.append(dst)
        # 3. the timeline last: it exists only when everything it references does
        try:
            os.replace(tmp, out_path)
        except OSError as e:
            raise OutputError(f"{out_path}: cannot write timeline ({e.strerror or e})") from None
        ok = True
    finally:
        tmp.unlink(missing_ok=True)
        if not ok:
            for f in added:
                f.unlink(missing_ok=True)
            for d in reversed(made_dirs):
                try:
                    d.rmdir()
                except OSError:
                    pass
    return TimelineExport(out_path, media_dir, tuple(placed), FORMATS[suffix][2])


def _conform_media_rates(tl, rate: Fraction) -> None:
    """FCP7 XML and EDL state media time as SMPTE timecode, which has no 16 fps (Wan) or 8 fps:
    restate such a file's ``available_range`` at the project rate (whole frames, rounded down).
    The editor reads the real rate from the file itself."""
    otio = otio_module()
    for clip in tl.find_clips():
        ref = clip.media_reference
        ar = ref.available_range if ref is not None else None
        if ar is None or otio.opentime.RationalTime.is_valid_timecode_rate(ar.duration.rate):
            continue
        frames = int(ar.duration.value_rescaled_to(float(rate)) + 1e-9)
        ref.available_range = time_range(0, frames, rate)




def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


_SCHEMA_RE = re.compile(r'"OTIO_SCHEMA"\s*:\s*"([A-Za-z_][\w]*)\.(\d+)"')


def _too_new(path: Path) -> Optional[str]:
    """Name the first schema in an .otio file that this opentimelineio cannot read, if any."""
    otio = otio_module()
    known = otio.core.type_version_map()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for m in _SCHEMA_RE.finditer(text):
        name, version = m.group(1), int(m.group(2))
        if name in known and version > known[name]:
            line = text.count("\n", 0, m.start()) + 1
            return (f"{path}:{line}: {name}.{version} was written by a newer OpenTimelineIO; "
                    f"opentimelineio {otio.__version__} reads up to {name}.{known[name]} "
                    f"(re-export it with OTIO 0.18, or downgrade it with otio's target_schema_versions)")
    return None


def read_timeline(path: Path | str, *, rate: float | None = None):
    """Read a timeline file written by songreel or another tool.

    Parameters
    ----------
    path : Path or str
        ``.otio``, ``.xml`` (FCP7 XML) or ``.edl`` (CMX3600).
    rate : float, optional
        Frame rate for EDLs (they do not say; default 24).

    Returns
    -------
    opentimelineio.schema.Timeline

    Raises
    ------
    MissingFileError
        The file does not exist.
    InputError
        Unknown suffix, a file written by a newer OTIO (``Marker.3`` ...), not a timeline, or a file
        the adapter cannot parse — always one line naming the file.
    MissingExtraError
        The adapter for the format is not installed.
    """
    otio = otio_module()
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: timeline file does not exist")
    suffix = path.suffix.lower()
    adapter = _adapter(suffix, path, writing=False)
    kwargs = {}
    if adapter == "cmx_3600":
        kwargs["rate"] = float(rate) if rate else 24.0
    try:
        obj = otio.adapters.read_from_file(str(path), adapter_name=adapter, **kwargs)
    except Exception as e:
        if adapter == "otio_json":
            newer = _too_new(path)
            if newer:
                raise InputError(newer) from None
        raise InputError(f"{path}: cannot read as {FORMATS[suffix][2]}: {_first_line(e)}") from None
    if isinstance(obj, otio.schema.SerializableCollection):
        timelines = list(obj.find_children(descended_from_type=otio.schema.Timeline)) \
            if hasattr(obj, "find_children") else [c for c in obj if isinstance(c, otio.schema.Timeline)]
        if len(timelines) == 1:
            obj = timelines[0]
    if not isinstance(obj, otio.schema.Timeline):
        raise InputError(f"{path}: holds a {type(obj).__name__}, expected one Timeline")
    return obj


@dataclass(frozen=True)
class TimelineSummary:
    """Counts that say whether a timeline is the one expected.

    Attributes
    ----------
    name : str
    clips : int
        Every clip, on every track, nested ones included (``Timeline.find_clips``).
    duration : float
        Seconds.
    frames : int
        Duration in frames at ``rate``.
    rate : float
    video_tracks, audio_tracks, transitions, markers : int
    """

    name: str
    clips: int
    duration: float
    frames: int
    rate: float
    video_tracks: int
    audio_tracks: int
    transitions: int
    markers: int


def summarize(timeline) -> TimelineSummary:
    """Summarise a timeline (see :class:`TimelineSummary`)."""
    otio = otio_module()
    d = timeline.duration()
    tracks = list(timeline.tracks)
    markers = len(timeline.tracks.markers) + sum(len(t.markers) for t in tracks)
    transitions = len(list(timeline.find_children(descended_from_type=otio.schema.Transition)))
    return TimelineSummary(
        name=timeline.name, clips=len(list(timeline.find_clips())), duration=d.to_seconds(),
        frames=int(round(d.value)), rate=d.rate,
        video_tracks=sum(1 for t in tracks if t.kind == otio.schema.TrackKind.Video),
        audio_tracks=sum(1 for t in tracks if t.kind == otio.schema.TrackKind.Audio),
        transitions=transitions, markers=markers)

