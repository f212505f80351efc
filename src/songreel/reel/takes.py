"""Takes: candidate clips of one shot, a contact strip to compare them, and the pick recorded in the
lock file."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import InputError, Interrupted
from ..progress import Progress
from .checks import check_inputs
from .lockfile import new_lock, picks_from_lock, read_lock, record_takes
from .project import analyze_storyboard_song, load, make_plan, project_info, store_dir


@dataclass
class TakesResult:
    """What :func:`make_takes` made."""

    shot: object                      # PlannedShot
    takes: list                       # [(take, seed, clips)] in take order
    picked: int                       # the take a render uses (0-based)
    strip: Optional[Path] = None      # contact strip PNG
    generated: int = 0
    reused: int = 0


def find_shot(plan, ref: str, sb=None):
    """The planned shot a user means by ``ref``: a 1-based number or a shot name.

    Raises
    ------
    UnknownNameError
        Naming what is accepted.
    """
    from ..errors import UnknownNameError, did_you_mean

    text = str(ref).strip()
    n = len(plan.shots)
    if text.isdigit():
        k = int(text)
        if 1 <= k <= n:
            return plan.shots[k - 1]
        raise UnknownNameError(f"shot: got {text}, expected a shot number 1..{n} or a shot name")
    for s in plan.shots:
        if s.name == text or (s.spec.name and s.spec.name.lower() == text.lower()):
            return s
    names = [s.spec.name for s in plan.shots if s.spec.name]
    accepted = f"a shot number 1..{n}" + (f" or a name ({', '.join(names[:8])})" if names else
                                         " (no shot has a name: set name: on a shot to use one)")
    raise UnknownNameError(f'shot: no shot "{text}"{did_you_mean(text, names)}; expected {accepted}')


def make_takes(storyboard, shot_ref: str, *, takes: Optional[int] = None, progress: Optional[Progress] = None,
               stop: Optional[threading.Event] = None, strip: bool = True) -> TakesResult:
    """Generate (or reuse) every candidate take of one shot and draw a contact strip of them.

    ``takes`` defaults to the shot's ``takes:`` (3 when it has none). The strip is written to
    ``.songreel/takes/<storyboard>-shot<N>.png`` (one thumbnail per take: its middle frame,
    labelled with the take number and seed).
    """
    from ..generate.runner import Backends, generate_plan, shot_seed, takes_of
    from ..generate.store import ClipStore

    sb = load(storyboard)
    check_inputs(sb)
    lock = read_lock(sb)
    analysis = analyze_storyboard_song(sb, progress=progress, lock=lock)
    backends = Backends(project_info(sb))
    try:
        plan = make_plan(sb, analysis, backends)
        if plan.look == "infinite-zoom":
            raise InputError("takes: the infinite-zoom look is one continuous shot; takes apply to the cuts look")
        shot = find_shot(plan, shot_ref, sb)
        n = takes if takes is not None else (shot.takes if shot.takes > 1 else 3)
        n = max(1, min(int(n), 16))
        plan = plan.with_shot(shot.index, takes=n)
        shot = plan.shots[shot.index]
        store = ClipStore(store_dir(sb))
        picks = picks_from_lock(plan, lock)
        if progress:
            progress.stage("generate", n * len(shot.segments))
        count = [0]

        def on_clip(s, j, ref):
            if s.index == shot.index:
                count[0] += 1
                if progress:
                    progress.advance("generate", count[0], n * len(shot.segments), f"{s.name}")
        summary = generate_plan(plan, store, backends, picks=picks, on_clip=on_clip, stop=stop, takes=n,
                                journal_name=sb.path.name if sb.path else "", only={shot.index})
    finally:
        backends.close()
    if (stop is not None and stop.is_set()) or summary.stopped:
        raise Interrupted(f"the takes made so far are kept in {store.root}")
    if summary.failed or any((shot.index, t) not in summary.takes for t in range(takes_of(shot))):
        from ..errors import GenerationError

        raise GenerationError(f"shot {shot.index + 1}: some takes failed ({summary.failed.get(shot.index, '')}); "
                              "the others are kept")
    made = [(t, shot_seed(shot, t), summary.takes[(shot.index, t)]) for t in range(n)]
    result = TakesResult(shot=shot, takes=made, picked=picks.get(shot.index, 0),
                         generated=summary.generated + summary.takes_generated,
                         reused=summary.reused + summary.takes_reused)
    record_takes(sb, plan, lock, analysis, shot, n)
    if strip:
        stem = Path(sb.path).stem if sb.path else "storyboard"
        result.strip = contact_strip(plan, shot, made, store.root / "takes" / f"{stem}-shot{shot.index + 1:02d}.png",
                                     picked=result.picked)
    return result


def pick(storyboard, shot_ref: str, take_number: int) -> tuple:
    """Choose take ``take_number`` (1-based) of a shot; recorded in the lock file.

    Returns
    -------
    (PlannedShot, Path)
        The shot and the lock file written.
    """
    from ..generate.runner import Backends, takes_of
    from ..schema.lock import ShotLock, lock_path, write_lock

    sb = load(storyboard)
    if sb.path is None:
        raise InputError("pick: the storyboard must be a file (the pick is kept beside it)")
    lock = read_lock(sb)
    analysis = analyze_storyboard_song(sb, lock=lock)
    backends = Backends(project_info(sb))
    try:
        plan = make_plan(sb, analysis, backends)
    finally:
        backends.close()
    shot = find_shot(plan, shot_ref, sb)
    entry = lock.entry_for(shot) if lock is not None else None
    available = max(takes_of(shot), entry.takes if entry else 1)
    if not 1 <= int(take_number) <= available:
        hint = "" if available > 1 else f"; make more with make_takes(storyboard, {shot.index + 1}, takes=3)"
        raise InputError(f"take: got {take_number}, expected a take number 1..{available} of shot "
                         f"{shot.index + 1} ({shot.name}){hint}")
    if lock is None:
        lock = new_lock(sb, plan)
    entries = list(lock.shots)
    new = ShotLock(index=shot.index, name=shot.name, named=bool(shot.spec.name), prompt=shot.prompt, seed=shot.seed,
                   take=int(take_number) - 1, takes=available, picked=True,
                   clips=entry.clips if entry is not None and entry.take == int(take_number) - 1 else ())
    if entry is not None:
        entries[entries.index(entry)] = new
    else:
        entries.append(new)
    path = write_lock(lock.with_(shots=tuple(entries)), lock_path(sb.path))
    return shot, path


def contact_strip(plan, shot, takes: list, out: Path, *, picked: int = 0, width: int = 320) -> Path:
    """One PNG with a thumbnail per take (the shot's middle frame), labelled "take N · seed S".

    Written atomically; returns ``out``.
    """
    from io import BytesIO

    import numpy as np
    from PIL import Image, ImageDraw

    from ..export.contact_sheet import decode_frame
    from ..fileio import atomic_write_bytes

    mid = shot.render_start + shot.head + shot.frames // 2
    seg = next((g for g in shot.segments if g.start <= mid < g.end), shot.segments[-1])
    tw = width
    th = max(2, int(round(tw * plan.height / plan.width)))
    label_h = 22
    pad = 6
    img = Image.new("RGB", (pad + len(takes) * (tw + pad), th + label_h + 2 * pad), (24, 24, 24))
    draw = ImageDraw.Draw(img)
    for k, (t, seed, clips) in enumerate(takes):
        clip = clips[seg.index] if seg.index < len(clips) else clips[-1]
        index = clip.lead + int(round(float((mid - seg.start) / plan.fps * clip.fps)))
        rgb = decode_frame(clip.path, min(max(index, 0), clip.frames - 1), clip.fps)
        thumb = Image.fromarray(np.asarray(rgb)).resize((tw, th), Image.Resampling.BILINEAR)
        x = pad + k * (tw + pad)
        img.paste(thumb, (x, pad))
        colour = (255, 214, 10) if t == picked else (230, 230, 230)
        if t == picked:
            draw.rectangle([x - 2, pad - 2, x + tw + 1, pad + th + 1], outline=colour, width=2)
        draw.text((x + 2, pad + th + 5), f"take {t + 1} · seed {seed}" + ("  (picked)" if t == picked else ""),
                  fill=colour)
    buf = BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(Path(out), buf.getvalue())
    return Path(out)
