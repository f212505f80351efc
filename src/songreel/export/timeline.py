"""OpenTimelineIO export: the edit as a timeline a director opens in an editor to finish the film.

Layout of the timeline (``edit_to_otio``), all at the project rate ``plan.fps``:

* ``V1`` ("Shots") — one item per shot in story order; its ``range_in_parent`` is the shot's cut
  frames ``[start, end)``. A shot made of one segment is a :class:`~opentimelineio.schema.Clip`. A
  shot made of several segments (a long shot chained from several generated clips) is, by default
  (``segments="nest"``), a nested :class:`~opentimelineio.schema.Stack` (a compound clip / nested
  sequence in the editor) whose inner track holds one clip per segment on its own frames, trimmed
  to the shot by the stack's ``source_range``; with ``segments="split"`` each segment becomes its own
  clip on ``V1`` instead, joined by hard cuts (what CMX3600 EDL needs: it cannot nest).
* Transitions between shots are :class:`~opentimelineio.schema.Transition` of type
  ``SMPTE_Dissolve`` (crossfades; dips and the stylised kinds are dissolves of the same length, with
  the planned kind in ``metadata["songreel"]``). ``in_offset`` = frames before the cut,
  ``out_offset`` = frames after it; the media for them comes from the shots' head/tail handles.
* ``A1`` ("Song") — the whole song as one clip.
* Timeline markers (on ``timeline.tracks``): one per beat inside the song — downbeats as YELLOW
  ``"bar N"``, the other beats GREEN ``"N.k"`` (bar.beat) — and one PURPLE range marker per section,
  named by its label and spanning it.

Media references are :class:`~opentimelineio.schema.ExternalReference` whose ``target_url`` is either
a path relative to the timeline's folder (media copied or hard-linked into ``<stem>_media/`` by
:func:`write_timeline`) or an absolute ``file://`` URL. Per-shot provenance (prompt, seed, backend,
model, clip keys) lives in ``metadata["songreel"]``.

``opentimelineio`` is the ``otio`` extra and is imported on first use; FCP7 XML and EDL need the
``otio-fcp-adapter`` / ``otio-cmx3600-adapter`` plug-ins.
"""

from __future__ import annotations

import bisect
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, Optional
from urllib.parse import quote, unquote, urlparse

from ..errors import InputError, MissingExtraError, MissingFileError, OutputError
from ..schema.edit import Edit

SCHEMA = "songreel.Timeline.1"
NAMESPACE = "songreel"

#: file suffix -> (OTIO adapter name, pip package that provides it, what it is)
FORMATS = {
    ".otio": ("otio_json", "opentimelineio", "OpenTimelineIO JSON"),
    ".xml": ("fcp_xml", "otio-fcp-adapter", "Final Cut Pro 7 XML"),
    ".edl": ("cmx_3600", "otio-cmx3600-adapter", "CMX3600 EDL"),
}
ACCEPTED = ".otio, .xml (FCP7 XML) or .edl (CMX3600)"

#: The newest OTIO release line whose files songreel writes (0.18.x reads Marker.2, not Marker.3).
TARGET_OTIO = "0.18.0"

BEAT_COLOUR = "GREEN"
BAR_COLOUR = "YELLOW"
SECTION_COLOUR = "PURPLE"


def _otio():
    try:
        import opentimelineio as otio
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingExtraError("otio", "opentimelineio", "timeline export") from None
    return otio


def _adapter(suffix: str, path: Path, *, writing: bool):
    """Return the OTIO adapter name for ``suffix`` or raise a one-line error."""
    otio = _otio()
    if suffix not in FORMATS:
        raise InputError(f"{path}: unknown timeline format {suffix or '(no suffix)'!r}, expected {ACCEPTED}")
    name, package, what = FORMATS[suffix]
    available = {a.name for a in otio.plugins.ActiveManifest().adapters}
    if name not in available:
        raise MissingExtraError("otio", package, f"{'writing' if writing else 'reading'} {what} ({path.name})")
    return name


# ---------------------------------------------------------------------------------------------------
# Edit -> Timeline


def _rt(frames, rate: Fraction):
    otio = _otio()
    return otio.opentime.RationalTime(frames, float(rate))


def _tr(start, duration, rate: Fraction):
    otio = _otio()
    return otio.opentime.TimeRange(_rt(start, rate), _rt(duration, rate))


def _url(path: Path, media_dir: Optional[Path], names: dict) -> str:
    """``target_url`` for ``path``: relative POSIX path under ``media_dir``, or an absolute file URL."""
    if media_dir is None:
        return Path(os.path.abspath(path)).as_uri()
    target = media_dir / names[Path(path)]
    if target.is_absolute():
        return target.as_uri()
    return quote(target.as_posix())


def _slug(text: str, limit: int = 32) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return s[:limit].strip("-") or "shot"


def media_names(edit: Edit) -> dict[Path, str]:
    """File names the media get inside the media folder (each source file once).

    Shots are named ``shot003-<name>[-partN]<ext>`` in story order, the song keeps its own name. A clip
    used by several shots keeps the name of its first use.
    """
    names: dict[Path, str] = {}
    used: set[str] = set()

    def claim(src: Path, name: str):
        if src in names:
            return
        stem, ext = os.path.splitext(name)
        candidate, n = name, 2
        while candidate.lower() in used:
            candidate, n = f"{stem}-{n}{ext}", n + 1
        used.add(candidate.lower())
        names[src] = candidate

    for shot, clips in zip(edit.plan.shots, edit.clips):
        for j, clip in enumerate(clips):
            part = f"-part{j + 1}" if len(clips) > 1 else ""
            claim(Path(clip.path), f"shot{shot.index + 1:03d}-{_slug(shot.name)}{part}{Path(clip.path).suffix}")
    claim(Path(edit.song), Path(edit.song).name)
    if edit.plan.look == "infinite-zoom" and edit.video is not None:
        claim(Path(edit.video), Path(edit.video).name)
    return names


def _shot_metadata(shot, clips) -> dict:
    model = ""
    for c in clips:
        model = c.provenance.get("model") or c.provenance.get("request", {}).get("model", "") or model
        if model:
            break
    tr = shot.transition
    return {
        "shot": shot.index + 1,
        "index": shot.index,
        "name": shot.name,
        "prompt": shot.prompt,
        "negative": shot.negative,
        "seed": shot.seed,
        "backend": shot.backend.name,
        "backend_options": {k: v for k, v in shot.backend.options.items()
                            if isinstance(v, (str, int, float, bool)) or v is None},
        "model": model,
        "keys": [c.key for c in clips],
        "position": shot.position,
        "section": shot.section,
        "start_frame": shot.start,
        "end_frame": shot.end,
        "head": shot.head,
        "tail": shot.tail,
        "segments": [{"start_frame": g.start, "frames": g.frames} for g in shot.segments],
        "characters": list(shot.characters),
        "transition": None if tr is None else
        {"kind": tr.kind, "start_frame": tr.start, "frames": tr.frames, "cut_frame": tr.cut},
    }


def _available(clip, rate: Fraction):
    """``available_range`` of a clip file, at the file's own rate."""
    r = Fraction(clip.fps) if clip.fps else rate
    return _tr(0, clip.frames, r)


def _check(edit: Edit) -> None:
    plan = edit.plan
    if len(edit.clips) != len(plan.shots):
        raise InputError(f"edit.clips: got {len(edit.clips)} shots of clips, expected one per planned shot "
                         f"({len(plan.shots)})")
    for shot, clips in zip(plan.shots, edit.clips):
        segs = shot.segments
        if not clips:
            raise InputError(f"edit.clips[{shot.index}]: shot {shot.index + 1} ({shot.name!r}) has no clip")
        if segs and len(segs) != len(clips):
            raise InputError(f"edit.clips[{shot.index}]: got {len(clips)} clips, expected one per segment "
                             f"({len(segs)})")


def _segments(shot, clips):
    """(segment start frame, frames, clip) for each piece of the shot."""
    if shot.segments:
        return [(g.start, g.frames, c) for g, c in zip(shot.segments, clips)]
    # no segmentation recorded: one clip whose frame 0 is the first handle frame
    return [(shot.render_start, shot.render_frames, clips[0])]


def _clip(otio, name, clip, rate, src_start, frames, url, link, metadata):
    facts = {"key": clip.key, "fps": str(clip.fps), "frames": clip.frames, "width": clip.width,
             "height": clip.height}
    if link:
        ref = otio.schema.ExternalReference(target_url=url, available_range=_available(clip, rate),
                                            metadata={NAMESPACE: facts})
    else:
        ref = otio.schema.MissingReference(name=Path(clip.path).name, available_range=_available(clip, rate),
                                           metadata={NAMESPACE: dict(facts, path=str(clip.path))})
    if getattr(clip, "lead", 0):
        # frames that repeat the previous segment (image chaining) are skipped, as in the render
        src_start = src_start + float(Fraction(clip.lead) * Fraction(rate) / Fraction(clip.fps))
    return otio.schema.Clip(name=name, media_reference=ref, source_range=_tr(src_start, frames, rate),
                            metadata=metadata)


def _bar_beat(plan) -> list[tuple[int, int, int]]:
    """(frame, bar, beat-in-bar) for every beat inside ``[0, total_frames)``; bar 1 starts at the first
    downbeat at or after frame 0, beats before it (a pickup) are in bar 0."""
    downs = sorted(d for d in set(plan.downbeat_beats)
                   if 0 <= d < len(plan.beat_frames) and plan.beat_frames[d] >= 0)
    first = downs[0] if downs else None
    out = []
    for i, f in enumerate(plan.beat_frames):
        if not 0 <= f < plan.total_frames:
            continue
        n = bisect.bisect_right(downs, i)
        if n:
            bar, beat = n, i - downs[n - 1] + 1
        else:
            bar = 0
            beat = max(1, plan.meter - (first - i) + 1) if first is not None else i + 1
        out.append((f, bar, beat))
    return out


def beat_markers(plan) -> list[tuple[str, int, int, str, dict]]:
    """Markers for the plan: ``(name, frame, duration_frames, colour, metadata)``.

    Beats inside the song (downbeats as ``"bar N"``, others as ``"N.k"``) and one range marker per
    section. Pure: used by :func:`edit_to_otio` and by the contact sheet's beat strip.
    """
    out = []
    for f, bar, beat in _bar_beat(plan):
        if bar >= 1 and beat == 1:
            out.append((f"bar {bar}", f, 0, BAR_COLOUR, {"kind": "bar", "bar": bar, "frame": f}))
        else:
            out.append((f"{bar}.{beat}", f, 0, BEAT_COLOUR, {"kind": "beat", "bar": bar, "beat": beat, "frame": f}))
    seen: dict[str, int] = {}
    for label, a, b in plan.sections:
        a, b = max(0, a), min(plan.total_frames, b)
        if b <= a:
            continue
        seen[label] = seen.get(label, 0) + 1
        out.append((label, a, b - a, SECTION_COLOUR,
                    {"kind": "section", "label": label, "occurrence": seen[label],
                     "start_frame": a, "end_frame": b}))
    return out


def edit_to_otio(edit: Edit, *, media_dir: Path | str | None = None, link: bool = True,
                 segments: Literal["nest", "split"] = "nest", markers: bool = True):
    """Describe an edit as an OpenTimelineIO timeline at the project rate.

    Pure: reads no media and writes nothing (the clip facts come from the ``ClipRef`` objects).

    Parameters
    ----------
    edit : Edit
    media_dir : Path or str, optional
        Where the media will be, relative to the timeline file's folder (``"film_media"``) or absolute.
        Each file is referenced as ``media_dir/<name>`` (names from :func:`media_names`). ``None``
        references every clip and the song where they are now, as absolute ``file://`` URLs.
    link : bool
        ``False`` writes :class:`~opentimelineio.schema.MissingReference` (an offline edit) instead of
        external references; the original path stays in the reference's metadata.
    segments : {"nest", "split"}
        How a shot made of several segments appears on ``V1``: one nested stack (default) or one clip
        per segment.
    markers : bool
        Add beat, bar and section markers.

    Returns
    -------
    opentimelineio.schema.Timeline
        Tracks ``V1`` (shots and transitions) and ``A1`` (the song); duration = ``plan.total_frames``.

    Raises
    ------
    InputError
        If ``edit.clips`` does not match the plan's shots and segments.
    MissingExtraError
        If opentimelineio is not installed.
    """
    otio = _otio()
    plan = edit.plan
    rate = Fraction(plan.fps)
    _check(edit)
    if segments not in ("nest", "split"):
        raise InputError(f"segments: got {segments!r}, expected 'nest' or 'split'")
    media_dir = Path(media_dir) if media_dir is not None else None
    names = media_names(edit)

    tl = otio.schema.Timeline(name=plan.title or Path(edit.song).stem)
    tl.global_start_time = _rt(0, rate)
    tl.metadata[NAMESPACE] = {
        "schema": SCHEMA, "title": plan.title, "fps": str(rate), "width": plan.width, "height": plan.height,
        "total_frames": plan.total_frames, "duration": plan.duration, "tempo": plan.tempo,
        "meter": plan.meter, "look": plan.look, "song": str(edit.song), "warnings": list(plan.warnings),
    }

    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    video.metadata[NAMESPACE] = {"role": "shots"}
    position = 0
    if plan.look == "infinite-zoom":
        # one continuous composite of nested, overlapping layers: no cut list can express it, so the
        # rendered film goes on V1 whole; shot boundaries stay findable as markers
        if edit.video is None:
            raise InputError("look: infinite-zoom is one continuous composite of nested layers, which a cut "
                             "timeline cannot express; render it with `songreel render ... --otio out.otio` to "
                             "get a timeline with the rendered film on V1")
        film = Path(edit.video)
        ref = otio.schema.ExternalReference(target_url=_url(film, media_dir, names),
                                            available_range=_tr(0, plan.total_frames, rate)) if link else \
            otio.schema.MissingReference(name=film.name, metadata={NAMESPACE: {"path": str(film)}})
        video.append(otio.schema.Clip(name=film.stem, media_reference=ref, source_range=_tr(0, plan.total_frames, rate),
                                      metadata={NAMESPACE: {"role": "film", "look": plan.look}}))
        for shot in plan.shots:
            video.markers.append(otio.schema.Marker(
                name=f"{shot.index + 1:02d} {shot.name}", marked_range=_tr(shot.start, 0, rate),
                color=otio.schema.MarkerColor.RED, metadata={NAMESPACE: _shot_metadata(shot, edit.clips[shot.index])}))
        position = plan.total_frames
    for shot, clips in zip(plan.shots if plan.look != "infinite-zoom" else (), edit.clips):
        if shot.start > position:
            video.append(otio.schema.Gap(source_range=_tr(0, shot.start - position, rate)))
        elif shot.start < position:
            raise InputError(f"plan.shots[{shot.index}]: starts at frame {shot.start}, before the previous "
                             f"shot ends (frame {position}); expected shots in order without overlap")
        meta = {NAMESPACE: _shot_metadata(shot, clips)}
        label = f"{shot.index + 1:02d} {shot.name}".strip()
        pieces = _segments(shot, clips)

        def url(c):
            return _url(Path(c.path), media_dir, names)

        if len(pieces) == 1:
            g0, _, c = pieces[0]
            video.append(_clip(otio, label, c, rate, shot.start - g0, shot.frames, url(c), link, meta))
        elif segments == "nest":
            inner = otio.schema.Track(name=label, kind=otio.schema.TrackKind.Video)
            for j, (g0, gn, c) in enumerate(pieces):
                part_meta = {NAMESPACE: {"shot": shot.index + 1, "segment": j, "key": c.key,
                                         "start_frame": g0, "frames": gn}}
                inner.append(_clip(otio, f"{label} · {j + 1}/{len(pieces)}", c, rate, 0, gn, url(c), link,
                                   part_meta))
            stack = otio.schema.Stack(name=label, children=[inner],
                                      source_range=_tr(shot.start - pieces[0][0], shot.frames, rate),
                                      metadata=meta)
            video.append(stack)
        else:
            for j, (g0, gn, c) in enumerate(pieces):
                a, b = max(g0, shot.start), min(g0 + gn, shot.end)
                if b <= a:
                    continue  # a segment that only holds handle frames
                m = {NAMESPACE: dict(meta[NAMESPACE], segment=j)}
                video.append(_clip(otio, f"{label} · {j + 1}/{len(pieces)}", c, rate, a - g0, b - a, url(c),
                                   link, m))
        position = shot.end
        tr = shot.transition
        if tr is not None and tr.kind != "cut" and tr.frames > 0 and shot is not plan.shots[-1]:
            cut = shot.end
            kind_meta = {"kind": tr.kind, "frames": tr.frames, "start_frame": tr.start, "cut_frame": tr.cut}
            if tr.kind.startswith("dip"):
                kind_meta["colour"] = "white" if tr.kind == "dip-white" else "black"
            video.append(otio.schema.Transition(
                name=tr.kind, transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                in_offset=_rt(cut - tr.start, rate), out_offset=_rt(tr.start + tr.frames - cut, rate),
                metadata={NAMESPACE: kind_meta}))
    if position < plan.total_frames:
        video.append(otio.schema.Gap(source_range=_tr(0, plan.total_frames - position, rate)))
    tl.tracks.append(video)

    # the song, whole, unchanged
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    audio.metadata[NAMESPACE] = {"role": "song"}
    song_frames = _song_frames(edit)
    song_url = _url(Path(edit.song), media_dir, names)
    if link:
        song_ref = otio.schema.ExternalReference(target_url=song_url,
                                                 available_range=_tr(0, max(song_frames, plan.total_frames), rate))
    else:
        song_ref = otio.schema.MissingReference(name=Path(edit.song).name,
                                                metadata={NAMESPACE: {"path": str(edit.song)}})
    audio.append(otio.schema.Clip(name=Path(edit.song).name, media_reference=song_ref,
                                  source_range=_tr(0, plan.total_frames, rate),
                                  metadata={NAMESPACE: {"role": "song", "path": str(edit.song)}}))
    tl.tracks.append(audio)

    if markers:
        colours = otio.schema.MarkerColor
        for name, frame, dur, colour, meta in beat_markers(plan):
            tl.tracks.markers.append(otio.schema.Marker(
                name=name, marked_range=_tr(frame, dur, rate), color=getattr(colours, colour),
                metadata={NAMESPACE: meta}))
    return tl


def _song_frames(edit: Edit) -> int:
    """Song length in project frames (from the analysis when present, else the plan)."""
    plan = edit.plan
    if edit.analysis is not None and edit.analysis.duration:
        from ..timebase import frames_in

        return frames_in(edit.analysis.duration, Fraction(plan.fps))
    return plan.total_frames


# ---------------------------------------------------------------------------------------------------
# files


def _tmp(path: Path) -> Path:
    # keep the suffix: OTIO picks the adapter from it
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


def _place(src: Path, dst: Path, mode: str) -> None:
    """Copy or hard-link ``src`` to ``dst`` atomically (temp name + rename); skip if already there."""
    if dst.exists():
        try:
            if os.path.samefile(src, dst):
                return
            if mode == "copy" and dst.stat().st_size == src.stat().st_size and \
                    dst.stat().st_mtime >= src.stat().st_mtime:
                return
        except OSError:
            pass
    tmp = _tmp(dst)
    try:
        if mode == "link":
            try:
                os.link(src, tmp)
            except OSError:  # other filesystem, or links not allowed: copy instead
                shutil.copy2(src, tmp)
        else:
            shutil.copy2(src, tmp)
        os.replace(tmp, dst)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{dst}: cannot write media ({e.strerror or e})") from None


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

    out_path.parent.mkdir(parents=True, exist_ok=True)
    placed: list[Path] = []
    media_dir = None
    if media != "absolute":
        media_dir = out_path.parent / f"{out_path.stem}_media"
        media_dir.mkdir(exist_ok=True)
        names = media_names(edit)
        for src, name in names.items():
            _place(src, media_dir / name, media)
            placed.append(media_dir / name)

    tl = edit_to_otio(edit, media_dir=Path(media_dir.name) if media_dir else None, segments=segments,
                      markers=suffix != ".edl")
    otio = _otio()
    tmp = _tmp(out_path)
    try:
        if adapter == "otio_json":
            text = otio.adapters.otio_json.write_to_string(
                tl, target_schema_versions=otio.versioning.fetch_map("OTIO_CORE", TARGET_OTIO))
            tmp.write_text(text, encoding="utf-8")
        else:
            kwargs = {"rate": float(edit.plan.fps)} if adapter == "cmx_3600" else {}
            _conform_media_rates(tl, Fraction(edit.plan.fps))
            otio.adapters.write_to_file(tl, str(tmp), adapter_name=adapter, **kwargs)
        os.replace(tmp, out_path)
    except OSError as e:
        raise OutputError(f"{out_path}: cannot write timeline ({e.strerror or e})") from None
    except Exception as e:  # adapter failures: one line, not a traceback
        raise OutputError(f"{out_path}: the {FORMATS[suffix][2]} adapter failed: {_first_line(e)}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return TimelineExport(out_path, media_dir, tuple(placed), FORMATS[suffix][2])


def _conform_media_rates(tl, rate: Fraction) -> None:
    """FCP7 XML and EDL state media time as SMPTE timecode, which has no 16 fps (Wan) or 8 fps:
    restate such a file's ``available_range`` at the project rate (whole frames, rounded down).
    The editor reads the real rate from the file itself."""
    otio = _otio()
    for clip in tl.find_clips():
        ref = clip.media_reference
        ar = ref.available_range if ref is not None else None
        if ar is None or otio.opentime.RationalTime.is_valid_timecode_rate(ar.duration.rate):
            continue
        frames = int(ar.duration.value_rescaled_to(float(rate)) + 1e-9)
        ref.available_range = _tr(0, frames, rate)


# ---------------------------------------------------------------------------------------------------
# reading


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


_SCHEMA_RE = re.compile(r'"OTIO_SCHEMA"\s*:\s*"([A-Za-z_][\w]*)\.(\d+)"')


def _too_new(path: Path) -> Optional[str]:
    """Name the first schema in an .otio file that this opentimelineio cannot read, if any."""
    otio = _otio()
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
    otio = _otio()
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
    otio = _otio()
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


def media_path(timeline_path: Path | str, target_url: str) -> Path:
    """Resolve a media reference's ``target_url`` (relative path or ``file://`` URL) to a local path."""
    parsed = urlparse(target_url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:
        raise InputError(f"{timeline_path}: media URL {target_url!r} is not a local file")
    p = Path(unquote(target_url))
    return p if p.is_absolute() else Path(timeline_path).resolve().parent / p


__all__ = ["edit_to_otio", "write_timeline", "read_timeline", "summarize", "media_path", "media_names",
           "beat_markers", "TimelineExport", "TimelineSummary", "FORMATS", "SCHEMA"]
