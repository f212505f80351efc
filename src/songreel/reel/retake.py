"""The report card inside a render: score every shot, and retake the worst within a budget.

With retakes asked for, it runs between generation and assembly, on the stored clips, so the film is
encoded once with the takes kept; without, after the assembly, from the frames it decoded. A retake
is one new take (a new seed) of a flagged shot; the better of the old and new take by score is used
and recorded in the lock file as a pick (as ``songreel pick`` does).
"""

from __future__ import annotations

import logging
import threading

from ..progress import Progress

log = logging.getLogger(__name__)


def score_and_retake(sb, edit, *, retake_worst: int = 0, budget: float | None = None,
                     progress: Progress | None = None, stop: threading.Event | None = None, taken=None):
    """Score ``edit``'s shots; with ``retake_worst``, retake that many of the worst first.

    ``taken``: measures already taken while assembling (see :func:`songreel.qa.score_edit`).

    Returns
    -------
    edit : Edit
        With the kept takes' clips (and ``extra["picks"]`` updated).
    sections : dict
        ``{"qa": ...}`` and, when retakes were asked for, ``{"retake": ...}`` for the report.
    """
    from ..qa import score_edit

    from .project import store_dir

    qa = score_edit(edit, progress=progress, cache_dir=store_dir(sb) / "qa", taken=taken)
    if not retake_worst:
        return edit, {"qa": qa.to_dict()}
    edit, qa, retake = retake_shots(sb, edit, qa, int(retake_worst), budget=budget, progress=progress, stop=stop)
    return edit, {"qa": qa.to_dict(), "retake": retake}


def retake_shots(sb, edit, qa, count: int, *, budget: float | None = None, progress: Progress | None = None,
                 stop: threading.Event | None = None):
    """Make a new take of each of the ``count`` worst flagged shots and keep the better take by score.

    Paid backends are retaken only within ``budget`` (US dollars, priced like
    :func:`~songreel.generate.runner.estimate_spend` before anything is submitted); with no budget,
    a paid shot is not retaken.

    Returns
    -------
    edit : Edit
        With the kept takes' clips and picks.
    qa : QAReport
        The card with the kept takes' scores.
    section : dict
        The report's ``retake`` section: ``asked``, ``budget``, ``spent``, ``shots`` (before/after per
        retaken shot), ``notes``.

    Raises
    ------
    Interrupted
        ``stop`` was set; finished takes stay in the store.
    """
    import dataclasses

    from ..generate.runner import (
        Backends,
        estimate_spend,
        generate_plan,
        shot_seed,
        takes_of,
    )
    from ..generate.store import ClipStore
    from ..qa.identity import load_embedder
    from ..qa.score import needs_identity, score_shot
    from ..schema.qa import worst_first
    from .lockfile import read_lock
    from .project import project_info, store_dir

    plan = edit.plan
    picks = dict((edit.extra or {}).get("picks", {}) or {})
    clips = list(edit.clips)
    cards = {s.shot: s for s in qa.shots}
    notes: list = []
    rows: list = []
    spent = 0.0
    targets = list(qa.worst[:count])
    if plan.look == "infinite-zoom":
        notes.append("the infinite-zoom look is one continuous shot: nothing retaken")
        targets = []
    elif len(qa.worst) < count:
        notes.append(f"{len(qa.worst)} shot{'s' if len(qa.worst) != 1 else ''} flagged; "
                     f"{count} asked for, so only the flagged ones are retaken")
    embedder = load_embedder()[0] if needs_identity(plan) else None
    lock = read_lock(sb)
    backends = Backends(project_info(sb))
    store = ClipStore(store_dir(sb))
    if progress and targets:
        progress.stage("retake", len(targets))
    try:
        for k, number in enumerate(targets):
            if stop is not None and stop.is_set():
                notes.append("stopped: the remaining shots were not retaken")
                break
            i = number - 1
            shot = plan.shots[i]
            if i > 0 and plan.shots[i - 1].spec.last_frame == "next":
                notes.append(f"shot {number}: not retaken: shot {number - 1} ends on its first frame "
                             "(last_frame: next)")
                continue
            entry = lock.entry_for(shot) if lock is not None else None
            take = max(takes_of(shot), entry.takes if entry is not None else 1, picks.get(i, 0) + 1)
            backend = backends.get(shot.backend, field=f"shots[{i}].backend")
            dollars = 0.0
            if getattr(backend, "billed_seconds", None) is not None:
                # a new take has a new seed, so every one of its segments is new: price them all
                probe = plan.with_(shots=(shot.with_(seed=shot_seed(shot, take)),))
                est = estimate_spend(probe, store, backends)
                if est.dollars is None:
                    notes.append(f"shot {number}: not retaken: no price is known for {shot.backend.name}")
                    continue
                if budget is None:
                    notes.append(f"shot {number}: not retaken: a take costs about ${est.dollars:.2f} on "
                                 f"{shot.backend.name}; give a budget to allow it")
                    continue
                if spent + est.dollars > budget + 1e-9:
                    notes.append(f"shot {number}: not retaken: about ${est.dollars:.2f} would pass the "
                                 f"${budget:.2f} budget (${spent:.2f} spent)")
                    continue
                dollars = est.dollars
            summary = generate_plan(plan.with_shot(i, takes=take + 1), store, backends, picks={**picks, i: take},
                                    stop=stop, candidates=False, only={i},
                                    journal_name=sb.path.name if sb.path else "")
            if summary.failed.get(i) or not summary.clips[i]:
                notes.append(f"shot {number}: the new take failed ({summary.failed.get(i, 'stopped')}); kept take "
                             f"{picks.get(i, 0) + 1}")
                continue
            spent += dollars
            nxt = clips[i + 1] if i + 1 < len(clips) else None
            new = score_shot(plan, shot, summary.clips[i], take=take, embedder=embedder, next_clips=nxt)
            old = cards[number]
            keep = new.score > old.score
            rows.append({"shot": number, "dollars": round(dollars, 2), "kept": "new" if keep else "old",
                         "before": {"take": old.take + 1, "score": old.score, "flags": list(old.flags)},
                         "after": {"take": take + 1, "score": new.score, "flags": list(new.flags)}})
            if keep:
                cards[number] = new
                clips[i] = summary.clips[i]
                picks[i] = take
            lock = _record(sb, plan, lock, shot, take + 1, picks.get(i, 0), clips[i], picked=keep)
            if progress:
                progress.advance("retake", k + 1, len(targets), f"shot {number}: {'new' if keep else 'old'} take kept")
    finally:
        backends.close()
    if stop is not None and stop.is_set():
        from ..errors import Interrupted

        raise Interrupted("while retaking; the takes made so far are kept in the store and will be reused")
    shots = tuple(cards[s.shot] for s in qa.shots)
    qa = dataclasses.replace(qa, shots=shots, worst=worst_first(shots))
    extra = dict(edit.extra or {})
    extra["picks"] = picks
    section = {"asked": count, "budget": budget, "spent": round(spent, 2), "shots": rows, "notes": notes}
    return edit.with_(clips=tuple(clips), extra=extra), qa, section


def _record(sb, plan, lock, shot, takes: int, take: int, clips, *, picked: bool):
    """Remember the new take count, and the pick when the new take won, in the lock file."""
    import dataclasses

    from ..schema.lock import ShotLock, lock_path, write_lock
    from .lockfile import new_lock

    if sb.path is None:
        return lock
    if lock is None:
        lock = new_lock(sb, plan)
    entries = list(lock.shots)
    entry = lock.entry_for(shot)
    if entry is None:
        entry = ShotLock(index=shot.index, name=shot.name, named=bool(shot.spec.name), prompt=shot.prompt,
                         seed=shot.seed)
        entries.append(entry)
    new = dataclasses.replace(entry, takes=max(entry.takes, takes))
    if picked:
        new = dataclasses.replace(new, take=take, picked=True, clips=tuple(c.key for c in clips))
    entries[entries.index(entry)] = new
    lock = lock.with_(shots=tuple(entries))
    write_lock(lock, lock_path(sb.path))
    return lock
