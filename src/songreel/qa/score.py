"""Score a render's shots: measure each from its clips, judge, rank the worst.

Cost is kept small by measuring the clips (not the encoded film) at :data:`~.frames.WIDTH` pixels
wide: in a render, from the frames the assembly decodes anyway (:mod:`.tap`), else by decoding each
clip once; and by running the identity model on three frames of a shot only when one of its
characters has a reference image.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..progress import Progress
from ..schema.qa import QAReport, ShotQA, worst_first
from .flags import judge
from .frames import WIDTH, shot_frames
from .measures import STILL_LAG, ShotMeter

#: shots measured at once (each holds one clip decoder and a few small frames)
MAX_WORKERS = 4

#: bump when the measures change meaning: kept measures of another version are measured again
MEASURES_VERSION = "2"

#: where in a shot the identity model looks (fractions of its length)
IDENTITY_POINTS = (0.25, 0.5, 0.75)


def shot_meter(plan, shot, flow: bool = True) -> ShotMeter:
    """An empty meter for ``shot``'s on-screen frames, judged against the plan's beat grid."""
    beats = plan.beat_frames
    downbeats = [beats[k] for k in plan.downbeat_beats if 0 <= k < len(beats)]
    lag = max(4, min(STILL_LAG, shot.frames // 3))
    return ShotMeter(beats=beats, downbeats=downbeats, span=(shot.start, shot.end), flow=flow, lag=lag)


def _zoom_levels(plan, shot, clips, *, flow: bool, width: int) -> dict:
    """Infinite zoom: a shot's segments are nested levels playing at once, not a chain. Each level is
    measured as a picture of its own; the shot shows its worst level's measures (``zoom_level``).
    Stillness is not judged: the push moves every level, and a level may be a still by design."""
    worst = None
    for j, (seg, clip) in enumerate(zip(shot.segments, clips)):
        meter = shot_meter(plan, shot, flow)
        for f in shot_frames(plan, shot.with_(segments=(seg,)), (clip,), width=width, on_screen=False):
            meter.add(f)
        m = {**meter.finish(), "zoom_level": j, "still_fraction": None}
        if worst is None or judge(m)[0] < judge(worst)[0]:
            worst = m
    return worst or {"frames": 0}


def measure_shot(plan, shot, clips, *, flow: bool = True, width: int = WIDTH, next_clips=None) -> dict:
    """The model-free measures of one shot from its clips (one decode pass, small frames).

    ``next_clips`` (the next shot's clips) is read for its first frame when this shot is meant to
    run into the next without a visible cut (``last_frame: next``): a jump there is a seam too.
    """
    if plan.look == "infinite-zoom":
        return _zoom_levels(plan, shot, clips, flow=flow, width=width)
    meter = shot_meter(plan, shot, flow)
    for f in shot_frames(plan, shot, clips, width=width):
        meter.add(f)
    return with_next_seam(plan, shot, meter.finish(), meter.last_y, next_clips=next_clips, width=width)


def with_next_seam(plan, shot, m: dict, last_y, *, next_clips=None, width: int = WIDTH) -> dict:
    """A shot's measures ``m`` (its meter's, ``last_y`` the luma of its last frame) with the jump into
    the next shot's first frame where the shot runs into it (``last_frame: next``)."""
    m = dict(m)
    if next_clips and shot.spec.last_frame == "next" and shot.index + 1 < len(plan.shots) and last_y is not None:
        nxt = plan.shots[shot.index + 1]
        first = next(iter(shot_frames(plan, nxt, next_clips, width=width)), None)
        if first is not None and first.y.shape == last_y.shape:
            jump = float(np.abs(first.y - last_y).mean())
            base = max(float(m.get("change_p90") or 0.0), 1.0)
            m["cut_jump"] = round(jump, 2)
            if m.get("seam_jump") is None or jump > m["seam_jump"]:
                m.update(seam_jump=round(jump, 2), seam_ratio=round(jump / base, 2), seam_ssim=None,
                         seam_frame=int(shot.end))
    return m


def measures_key(plan, shot, clips, *, flow: bool = True, width: int = WIDTH, next_clips=None) -> str:
    """Content address of :func:`measure_shot`'s result: the clips (by key), where the shot sits on
    the timeline, the beat grid it is judged against, how motion is measured and the frame width."""
    import hashlib
    import json

    from .measures import _cv2

    doc = {"v": MEASURES_VERSION, "look": plan.look, "fps": str(plan.fps), "width": width,
           "motion": "farneback" if flow and _cv2() is not None else "difference",
           "span": [shot.start, shot.end, shot.render_start, shot.end + shot.tail],
           "segments": [[g.start, g.end] for g in shot.segments],
           "clips": [[c.key, c.frames, str(c.fps), c.lead] for c in clips],
           "beats": hashlib.sha256(repr((tuple(plan.beat_frames), tuple(plan.downbeat_beats))).encode()).hexdigest(),
           "next": [c.key for c in next_clips or ()] if shot.spec.last_frame == "next" else None}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


def _kept_measures(cache_dir, key: str):
    import json

    try:
        doc = json.loads((cache_dir / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    m = doc.get("measures") if isinstance(doc, dict) else None
    return m if isinstance(m, dict) else None


def measured_clips(shot, clips, next_clips=None) -> list:
    """The clip keys a shot's measures were taken from (the next shot's too where it runs into it):
    once any of them is gone from the store, the measures can never be asked for again."""
    keys = [c.key for c in clips]
    if shot.spec.last_frame == "next":
        keys += [c.key for c in next_clips or ()]
    return sorted(set(keys))


def _keep_measures(cache_dir, key: str, m: dict, clip_keys) -> None:
    import json

    from ..fileio import atomic_write_bytes

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cache_dir / f"{key}.json", json.dumps({"clips": list(clip_keys), "measures": m}).encode())
    except OSError:  # a read-only store only costs measuring again next time
        pass


def shot_frame(plan, shot, clips, at: float):
    """Full-size RGB of the clip frame showing ``at`` of the way through the shot (0..1)."""
    from ..export.contact_sheet import decode_frame

    f = shot.start + min(max(int(at * shot.frames), 0), shot.frames - 1)
    j = next((k for k, g in enumerate(shot.segments) if g.start <= f < g.end), len(shot.segments) - 1)
    clip = clips[min(j, len(clips) - 1)]
    seg = shot.segments[j]
    idx = min(clip.lead + int(Fraction(f - seg.start) / Fraction(plan.fps) * Fraction(clip.fps)),
              max(0, clip.frames - 1))
    if clip.conform is not None:  # footage: the frame the film shows, made from the source
        from ..sampling import clip_frame_rgb

        return clip_frame_rgb(clip, idx)
    return decode_frame(clip.path, idx, Fraction(clip.fps))


def identity_measure(plan, shot, clips, embedder) -> dict:
    """``identity`` (best cosine similarity to the reference, worst character) for a shot naming
    characters with reference images; empty when it names none."""
    from ..generate.runner import _load_image

    images = plan.extra.get("character_images", {}) if plan.extra else {}
    named = [c for c in shot.characters if images.get(c)]
    if not named:
        return {}
    frames = [shot_frame(plan, shot, clips, p) for p in IDENTITY_POINTS]
    from .identity import identity_similarity

    sims = {c: identity_similarity(embedder, _load_image(images[c], f"characters.{c}.image"), frames) for c in named}
    who = min(sims, key=lambda c: sims[c])
    return {"identity": round(sims[who], 4), "identity_character": who, "identity_model": embedder.name}


def score_shot(plan, shot, clips, *, take: int = 0, embedder=None, flow: bool = True, width: int = WIDTH,
               next_clips=None, measures: dict | None = None) -> ShotQA:
    """Measure, flag and score one shot (``measures``: those of :func:`measure_shot`, already taken)."""
    m = dict(measures) if measures is not None else measure_shot(plan, shot, clips, flow=flow, width=width,
                                                                 next_clips=next_clips)
    if embedder is not None:
        m.update(identity_measure(plan, shot, clips, embedder))
    score, flags, reasons = judge(m)
    return ShotQA(shot=shot.index + 1, score=score, flags=tuple(flags), reasons=reasons, measures=m, take=take)


def needs_identity(plan) -> bool:
    """Does any shot name a character with a reference image?"""
    images = plan.extra.get("character_images", {}) if plan.extra else {}
    return any(images.get(c) for s in plan.shots for c in s.characters)


def score_edit(edit, *, identity: bool = True, progress: Progress | None = None, flow: bool = True,
               width: int = WIDTH, cache_dir=None, taken=None) -> QAReport:
    """The report card of an edit: every shot scored from its stored clips.

    Parameters
    ----------
    edit : Edit
        Plan and clips (``Edit.clips[i]`` per shot); ``extra["picks"]`` tells which take each is.
    identity : bool
        Run the identity model where a shot has a character reference (skipped, with a note, when
        the model is not installed or cannot be loaded).
    progress : Progress, optional
        Receives the ``qa`` stage (one step per shot).
    flow : bool
        Optical flow for motion energy (when OpenCV is installed).
    cache_dir : Path, optional
        Keep each shot's measures there by :func:`measures_key` and reuse those already there, so a
        re-render decodes only the shots whose clips or place changed.
    taken : mapping of int to dict, optional
        Measures already taken while assembling, by 0-based shot (:class:`~.tap.CardTaps`, measured
        with the same ``flow`` and ``width``); only the other shots decode their clips.

    Returns
    -------
    QAReport
    """
    t0 = time.monotonic()
    plan = edit.plan
    notes: list = []
    embedder = None
    if identity and needs_identity(plan):
        from .identity import load_embedder

        embedder, note = load_embedder()
        if note:
            notes.append(note)
    if flow:
        from .measures import _cv2

        if _cv2() is None:
            notes.append("motion measured from frame differences: optical flow needs pip install 'songreel[flow]'")
    picks = (edit.extra or {}).get("picks", {}) or {}
    if progress:
        progress.stage("qa", len(plan.shots))

    def measure(shot):
        nxt = edit.clips[shot.index + 1] if shot.index + 1 < len(edit.clips) else None
        clips = edit.clips[shot.index]
        key = measures_key(plan, shot, clips, flow=flow, width=width, next_clips=nxt) if cache_dir else None
        m = _kept_measures(Path(cache_dir), key) if cache_dir and key else None
        if m is None:
            m = (taken or {}).get(shot.index)
            if m is not None:
                from_assembly.append(shot.index)
            else:
                m = measure_shot(plan, shot, clips, flow=flow, width=width, next_clips=nxt)
            if cache_dir and key:
                _keep_measures(Path(cache_dir), key, m, measured_clips(shot, clips, nxt))
        return m

    from_assembly: list = []

    shots = []
    # shots are measured independently, each decoding its own clips (decoding and numpy release the
    # GIL), so they run a few at a time; the identity model and the verdicts stay on this thread
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, os.cpu_count() or 1)),
                            thread_name_prefix="songreel-qa") as pool:
        for shot, m in zip(plan.shots, pool.map(measure, plan.shots)):
            shots.append(score_shot(plan, shot, edit.clips[shot.index], take=picks.get(shot.index, 0),
                                    embedder=embedder, flow=flow, width=width, measures=m))
            if progress:
                progress.advance("qa", shot.index + 1, len(plan.shots), shot.name)
    return QAReport(shots=tuple(shots), worst=worst_first(shots), notes=tuple(notes), seconds=time.monotonic() - t0,
                    measured_while_assembling=len(from_assembly))
