"""Build the OpenTimelineIO timeline of an edit: pure, reads no media and writes nothing.

Layout of the timeline (:func:`edit_to_otio`), all at the project rate ``plan.fps``:

* ``V1`` ("Shots") — one item per shot in story order; its ``range_in_parent`` is the shot's cut
  frames ``[start, end)``. A shot made of one segment is a :class:`~opentimelineio.schema.Clip`. A
  shot made of several segments (a long shot chained from several generated clips) is, by default
  (``segments="nest"``), a nested :class:`~opentimelineio.schema.Stack` (a compound clip / nested
  sequence in the editor) whose inner track holds one clip per segment on its own frames, trimmed
  to the shot by the stack's ``source_range``; with ``segments="split"`` each segment becomes its own
  clip on ``V1`` instead, joined by hard cuts (what CMX3600 EDL needs: it cannot nest).
* Transitions: see :mod:`.transitions` (dissolves within the media's real handles; a dip is a cut
  plus a marker, since no interchange format has a portable dip).
* ``A1`` ("Song") — the whole song as one clip.
* Timeline markers (on ``timeline.tracks``): one per beat inside the song and one range marker per
  section (:mod:`.markers`); on ``V1``, one range marker per dip.

Media references are :class:`~opentimelineio.schema.ExternalReference` whose ``target_url`` is either
a path relative to the timeline's folder (see :mod:`.timeline_media`) or an absolute ``file://`` URL.
Per-shot provenance (prompt, seed, backend, model, clip keys) lives in ``metadata["songreel"]``.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Literal

from ..errors import InputError, MissingExtraError
from ..schema.edit import Edit
from .markers import beat_markers
from .timeline_media import media_names, media_url
from .transitions import available_handles, plan_transition

SCHEMA = "songreel.Timeline.1"
NAMESPACE = "songreel"


def otio_module():
    try:
        import opentimelineio as otio
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingExtraError("otio", "opentimelineio", "timeline export") from None
    return otio



def rational_time(frames, rate: Fraction):
    otio = otio_module()
    return otio.opentime.RationalTime(frames, float(rate))


def time_range(start, duration, rate: Fraction):
    otio = otio_module()
    return otio.opentime.TimeRange(rational_time(start, rate), rational_time(duration, rate))


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
    return time_range(0, clip.frames, r)


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
    return otio.schema.Clip(name=name, media_reference=ref, source_range=time_range(src_start, frames, rate),
                            metadata=metadata)


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
        Add beat, bar and section markers, and the dip markers on ``V1``.

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
    otio = otio_module()
    plan = edit.plan
    rate = Fraction(plan.fps)
    _check(edit)
    if segments not in ("nest", "split"):
        raise InputError(f"segments: got {segments!r}, expected 'nest' or 'split'")
    media_dir = Path(media_dir) if media_dir is not None else None
    names = media_names(edit)

    tl = otio.schema.Timeline(name=plan.title or Path(edit.song).stem)
    tl.global_start_time = rational_time(0, rate)
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
        ref = otio.schema.ExternalReference(target_url=media_url(film, media_dir, names),
                                            available_range=time_range(0, plan.total_frames, rate)) if link else \
            otio.schema.MissingReference(name=film.name, metadata={NAMESPACE: {"path": str(film)}})
        video.append(otio.schema.Clip(name=film.stem, media_reference=ref,
                                      source_range=time_range(0, plan.total_frames, rate),
                                      metadata={NAMESPACE: {"role": "film", "look": plan.look}}))
        for shot in plan.shots:
            video.markers.append(otio.schema.Marker(
                name=f"{shot.index + 1:02d} {shot.name}", marked_range=time_range(shot.start, 0, rate),
                color=otio.schema.MarkerColor.RED, metadata={NAMESPACE: _shot_metadata(shot, edit.clips[shot.index])}))
        position = plan.total_frames
    cut_shots = plan.shots if plan.look != "infinite-zoom" else ()
    all_pieces = [_segments(shot, clips) for shot, clips in zip(cut_shots, edit.clips)]
    handles = [available_handles(shot, pieces, rate, segments) for shot, pieces in zip(cut_shots, all_pieces)]
    for k, (shot, clips, pieces) in enumerate(zip(cut_shots, edit.clips, all_pieces)):
        if shot.start > position:
            video.append(otio.schema.Gap(source_range=time_range(0, shot.start - position, rate)))
        elif shot.start < position:
            raise InputError(f"plan.shots[{shot.index}]: starts at frame {shot.start}, before the previous "
                             f"shot ends (frame {position}); expected shots in order without overlap")
        meta = {NAMESPACE: _shot_metadata(shot, clips)}
        label = f"{shot.index + 1:02d} {shot.name}".strip()

        def url(c):
            return media_url(Path(c.path), media_dir, names)

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
                                      source_range=time_range(shot.start - pieces[0][0], shot.frames, rate),
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
        if k + 1 >= len(cut_shots):
            continue
        out = plan_transition(shot.transition, incoming_head=handles[k + 1][0], outgoing_tail=handles[k][1])
        if out is not None and out.is_dissolve:
            video.append(otio.schema.Transition(
                name=out.kind, transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                in_offset=rational_time(out.in_offset, rate), out_offset=rational_time(out.out_offset, rate),
                metadata={NAMESPACE: out.metadata}))
        elif out is not None and out.marker is not None and markers:
            start, frames = out.marker
            colour = otio.schema.MarkerColor.WHITE if out.metadata.get("colour") == "white" else \
                otio.schema.MarkerColor.BLACK
            video.markers.append(otio.schema.Marker(
                name=f"{out.kind.replace('-white', '')} to {out.metadata.get('colour', 'black')}",
                marked_range=time_range(start, frames, rate), color=colour, metadata={NAMESPACE: out.metadata}))
    if position < plan.total_frames:
        video.append(otio.schema.Gap(source_range=time_range(0, plan.total_frames - position, rate)))
    tl.tracks.append(video)

    # the song, whole, unchanged
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    audio.metadata[NAMESPACE] = {"role": "song"}
    song_frames = _song_frames(edit)
    song_url = media_url(Path(edit.song), media_dir, names)
    if link:
        song_ref = otio.schema.ExternalReference(
            target_url=song_url, available_range=time_range(0, max(song_frames, plan.total_frames), rate))
    else:
        song_ref = otio.schema.MissingReference(name=Path(edit.song).name,
                                                metadata={NAMESPACE: {"path": str(edit.song)}})
    audio.append(otio.schema.Clip(name=Path(edit.song).name, media_reference=song_ref,
                                  source_range=time_range(0, plan.total_frames, rate),
                                  metadata={NAMESPACE: {"role": "song", "path": str(edit.song)}}))
    tl.tracks.append(audio)

    if markers:
        colours = otio.schema.MarkerColor
        for name, frame, dur, colour, meta in beat_markers(plan):
            tl.tracks.markers.append(otio.schema.Marker(
                name=name, marked_range=time_range(frame, dur, rate), color=getattr(colours, colour),
                metadata={NAMESPACE: meta}))
    return tl


def _song_frames(edit: Edit) -> int:
    """Song length in project frames (from the analysis when present, else the plan)."""
    plan = edit.plan
    if edit.analysis is not None and edit.analysis.duration:
        from ..timebase import frames_in

        return frames_in(edit.analysis.duration, Fraction(plan.fps))
    return plan.total_frames

