"""How each planned transition is written into a timeline an editor accepts. Pure: no OTIO, no media.

An editor's dissolve overlaps the two shots: over ``in_offset`` frames before the cut it shows the
incoming clip's media from *before* its first frame on screen (its head handle), and over
``out_offset`` frames after the cut the outgoing clip's media from *after* its last frame (its tail
handle). An offset larger than the media there is an impossible transition (the CMX3600 adapter
refuses it, editors show it as a red or "insufficient media" transition). So:

* ``crossfade``, ``zoom``, ``whip``, ``slide`` are written as a dissolve whose offsets are the
  planned ones, each limited to the handle the media really has (the planner asks the backends for
  those handles, so normally nothing is cut short). A side with no media left is zero; with no
  media on either side the transition is written as a cut. A shortened or dropped transition says
  so in its ``metadata["songreel"]["fitted"]``.
* ``dip`` and ``dip-white`` fade each shot to / from a colour over its *own* frames and need no
  handles, but no interchange format (OTIO, FCP7 XML, CMX3600) has a portable dip-to-colour: they
  are written as a **cut** at the planned cut frame plus a marker spanning the dip (named
  ``dip to black`` / ``dip to white``, with the frames in its metadata), where the editor applies
  its own "Dip to Colour". The rendered film has the dip itself.

The stylised kinds (zoom, whip, slide) are dissolves of the same length, with the planned kind in
the metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Sequence

#: kinds written as a cut plus a marker (they fade each shot over its own frames)
DIPS = {"dip": "black", "dip-white": "white"}


@dataclass(frozen=True)
class TimelineTransition:
    """What goes into the timeline at one cut.

    Attributes
    ----------
    kind : str
        The planned kind (``crossfade``, ``dip`` ...).
    cut : int
        Project frame of the cut.
    in_offset, out_offset : int
        Frames of the written dissolve before / after the cut (both 0: a cut).
    metadata : dict
        ``metadata["songreel"]`` of the transition or marker.
    marker : tuple of (start, frames), optional
        The span of a marker to write instead of a dissolve (dips).
    """

    kind: str
    cut: int
    in_offset: int
    out_offset: int
    metadata: dict
    marker: Optional[tuple[int, int]] = None

    @property
    def is_dissolve(self) -> bool:
        return self.marker is None and (self.in_offset > 0 or self.out_offset > 0)


def _project_frames(clip, rate: Fraction) -> int:
    """Whole project frames a clip file holds after its skipped ``lead`` frames."""
    fps = Fraction(clip.fps) if clip.fps else rate
    usable = max(0, clip.frames - int(getattr(clip, "lead", 0) or 0))
    return int(Fraction(usable) * rate / fps)


def available_handles(shot, pieces: Sequence[tuple[int, int, object]], rate: Fraction,
                      segments: str) -> tuple[int, int]:
    """Frames of media before ``shot.start`` and after ``shot.end`` in the item the timeline holds.

    Parameters
    ----------
    shot : PlannedShot
    pieces : sequence of (segment start frame, frames, ClipRef)
        The shot's pieces, as the timeline builder lays them out.
    rate : Fraction
        Project frame rate.
    segments : {"nest", "split"}
        A nested stack is limited to its segments' frames; a plain clip (one piece, or ``split``)
        to what its file holds.

    Returns
    -------
    head, tail : int
    """
    if len(pieces) > 1 and segments == "nest":
        return (max(0, shot.start - pieces[0][0]),
                max(0, pieces[-1][0] + pieces[-1][1] - shot.end))
    first = next((p for p in pieces if p[0] <= shot.start < p[0] + p[1]), pieces[0])
    last = next((p for p in reversed(pieces) if p[0] < shot.end <= p[0] + p[1]), pieces[-1])
    head = max(0, shot.start - first[0])
    tail = max(0, _project_frames(last[2], rate) - (shot.end - last[0]))
    return head, tail


def plan_transition(tr, *, incoming_head: int, outgoing_tail: int) -> Optional[TimelineTransition]:
    """Decide how the planned transition ``tr`` (a ``PlannedTransition``) is written.

    Parameters
    ----------
    tr : PlannedTransition or None
    incoming_head : int
        Media frames the next shot has before its first frame on screen.
    outgoing_tail : int
        Media frames this shot has after its last frame on screen.

    Returns
    -------
    TimelineTransition or None
        None for a plain cut.
    """
    if tr is None or tr.kind == "cut" or tr.frames <= 0:
        return None
    cut = tr.cut
    want_in, want_out = cut - tr.start, tr.end - cut
    meta = {"kind": tr.kind, "frames": tr.frames, "start_frame": tr.start, "cut_frame": cut}
    if tr.kind in DIPS:
        meta["colour"] = DIPS[tr.kind]
        meta["written_as"] = "cut + marker"
        return TimelineTransition(tr.kind, cut, 0, 0, meta, marker=(tr.start, tr.frames))
    got_in, got_out = min(want_in, max(0, incoming_head)), min(want_out, max(0, outgoing_tail))
    if (got_in, got_out) != (want_in, want_out):
        meta["fitted"] = {"planned_in_offset": want_in, "planned_out_offset": want_out,
                          "reason": "limited to the media's handles"}
    return TimelineTransition(tr.kind, cut, got_in, got_out, meta)
