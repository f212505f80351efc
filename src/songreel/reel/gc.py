"""Store maintenance: which clips, film chunks, report-card measures and song analyses the storyboards
in a folder refer to, and removing the rest."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError, SongreelError
from .lockfile import picks_from_lock, read_lock
from .project import STORE_DIR, analyze_storyboard_song, load, make_plan, project_info, store_dir


def store_storyboards(folder: Path) -> list:
    """Storyboard files in ``folder`` (``*.yaml``/``*.yml`` whose first key is ``songreel:``)."""
    import re

    found = []
    for p in sorted(list(Path(folder).glob("*.yaml")) + list(Path(folder).glob("*.yml"))):
        try:
            head = p.read_bytes()[:4096].decode("utf-8", "replace")
        except OSError:
            continue
        if re.search(r"^songreel\s*:", head, re.M):
            found.append(p)
    return found


def referenced_keys(storyboard) -> set:
    """Every clip key a storyboard refers to: each shot's picked and candidate takes (as far as they
    are in the store) and the clips its lock file records."""
    from ..generate.runner import Backends, resolve_keys
    from ..generate.store import ClipStore

    sb = load(storyboard)
    lock = read_lock(sb)
    keep: set = set()
    if lock is not None:
        for e in lock.shots:
            keep.update(e.clips)
    analysis = analyze_storyboard_song(sb, lock=lock)
    backends = Backends(project_info(sb))
    try:
        plan = make_plan(sb, analysis, backends)
        if plan.look == "infinite-zoom":  # its nesting layers are keyed by generate/zoom_nesting.py
            raise InputError("uses the infinite-zoom look, whose clips gc cannot yet tell apart")
        store = ClipStore(store_dir(sb), clean=False)
        from ..generate.keyframes import attach_keyframes  # image-first shots are keyed on their keyframe

        plan = attach_keyframes(sb, plan, store_dir(sb), make=False)
        keys = resolve_keys(plan, store, backends, picks=picks_from_lock(plan, lock))
    finally:
        backends.close()
    for ks in keys.values():
        keep.update(k for k in ks if k)
    return keep


def gc_store(folder: Path, *, dry_run: bool = False) -> dict:
    """Remove from ``folder/.songreel`` what no storyboard in ``folder`` (nor its lock file) refers to:
    clips, their frames, the film chunks no storyboard's latest render used (:func:`gc_chunks`),
    the report-card measures of clips removed (:func:`gc_measures`) and the song analyses no
    storyboard reads (:func:`gc_analyses`).

    Returns the clip store's answer (``clips``, ``frames``, ``temps``, ``orphans``, ``tails``), with
    ``chunks`` (see :func:`gc_chunks`), ``measures`` (:func:`gc_measures`), ``analyses``
    (:func:`gc_analyses`), ``storyboards``, ``kept`` (clip keys kept) and ``bytes`` (all freed).

    Refuses (nothing is removed) when a storyboard there cannot be loaded and planned, since what it
    refers to cannot be known.

    Raises
    ------
    InputError
        No store, or a storyboard that fails (its message included).
    """
    from ..generate.store import ClipStore

    folder = Path(folder)
    root = folder / STORE_DIR
    if not (root / "clips").is_dir():
        raise InputError(f"{folder}: no songreel store here (expected {root}/); nothing to clean")
    keep: set = set()
    analyses: set = set()
    boards = store_storyboards(folder)
    for p in boards:
        try:
            keep |= referenced_keys(p)
            analyses |= referenced_analyses(p)
        except SongreelError as e:
            raise InputError(f"store gc: {p.name} cannot be planned, so its clips cannot be told apart; nothing "
                             f"was removed (fix it or move it away first): {e}") from None
    store = ClipStore(root)
    result = store.gc(keep, dry_run=dry_run)
    # tails: old raw .npy files become lossless PNGs; the tails of removed clips go with them
    result["tails"] = store.trim_tails(dry_run=dry_run)
    result["storyboards"] = [p.name for p in boards]
    result["kept"] = len(keep)
    result["chunks"] = gc_chunks(root / "chunks", {p.name for p in boards}, dry_run=dry_run)
    result["measures"] = gc_measures(root / "qa", keep, dry_run=dry_run)
    result["analyses"] = gc_analyses(root / "analysis", analyses, dry_run=dry_run)
    result["bytes"] += result["chunks"]["bytes"] + result["measures"]["bytes"] + result["analyses"]["bytes"]
    return result


def referenced_analyses(storyboard) -> set:
    """File names of the cached analyses a storyboard reads (its song with its analysis options)."""
    from ..analysis import cache_name
    from ..ingest.audio import file_sha256
    from .project import analysis_options

    sb = load(storyboard)
    if not Path(sb.song).is_file():
        return set()
    return {cache_name(file_sha256(sb.song), **analysis_options(sb))}


def _sweep_json(root: Path, wanted, *, dry_run: bool) -> dict:
    """Remove the ``*.json`` files under ``root`` for which ``wanted(path)`` is false, and the temps of
    writers that died; ``removed``, ``kept`` and ``bytes`` (freed, or that would be)."""
    from ..fileio import TEMP_RE, pid_alive, remove_files

    if not Path(root).is_dir():
        return {"removed": 0, "kept": 0, "bytes": 0}
    victims, kept = [], 0
    for p in Path(root).iterdir():
        if (m := TEMP_RE.match(p.name)) is not None:
            if not pid_alive(int(m.group(1))):
                victims.append(p)
        elif p.suffix == ".json":
            if wanted(p):
                kept += 1
            else:
                victims.append(p)
    return {"removed": len(victims), "kept": kept, "bytes": remove_files(victims, dry_run=dry_run)}


def gc_analyses(root: Path, keep: set, *, dry_run: bool = False) -> dict:
    """Remove the cached song analyses under ``root`` (``<project>/.songreel/analysis``) whose file name
    is not in ``keep``: no storyboard there reads them (another song, other options, an older
    analyser). Temps of writers that died go too. Analyses are caches: one removed is made again, in
    seconds, when asked for.

    Returns
    -------
    dict
        ``removed`` and ``kept`` (how many analyses), ``bytes`` (freed, or that would be).
    """
    return _sweep_json(root, lambda p: p.name in keep, dry_run=dry_run)


def gc_measures(root: Path, keep: set, *, dry_run: bool = False) -> dict:
    """Remove the report-card measures kept under ``root`` (``<project>/.songreel/qa``) that were taken
    from a clip not in ``keep``: that clip is gone from the store, so they can never be asked for again.

    Measures in an older format (they name no clips; a render measures again rather than read them)
    and temps of writers that died go too.

    Returns
    -------
    dict
        ``removed`` and ``kept`` (how many measures), ``bytes`` (freed, or that would be).
    """
    import json

    def wanted(p: Path) -> bool:
        try:
            clips = json.loads(p.read_text()).get("clips")
        except (OSError, ValueError, AttributeError):
            return False
        return isinstance(clips, list) and set(clips) <= keep

    return _sweep_json(root, wanted, dry_run=dry_run)


def gc_chunks(root: Path, storyboards: set, *, dry_run: bool = False) -> dict:
    """Remove the encoded film chunks under ``root`` that no render still in use was made from.

    Kept: the chunks of each storyboard's latest render, of its earlier renders into other files that
    are still where they were written, of renders whose storyboard is unknown while their file is
    there, and of renders running now. The records of renders not kept go too (a storyboard no longer
    in the folder keeps nothing).

    Parameters
    ----------
    root : Path
        The chunk cache (``<project>/.songreel/chunks``).
    storyboards : set of str
        File names of the storyboards in the project folder.
    dry_run : bool
        Only say what would be removed.

    Returns
    -------
    dict
        ``chunks`` (keys removed), ``records`` (outputs whose record was dropped), ``temps`` (files
        of renders that died while writing), ``kept`` (chunk keys kept), ``bytes`` (freed, or that
        would be).
    """
    from ..assemble.chunks import RENDERS_DIR, ChunkCache
    from ..fileio import TEMP_RE, pid_alive, remove_files

    if not Path(root).is_dir():
        return {"chunks": [], "records": [], "temps": [], "kept": 0, "bytes": 0}
    cache = ChunkCache(root, clean=False)
    records = cache.records()
    latest: dict = {}
    for r in records:
        name = r.get("storyboard")
        if name in storyboards and r.get("written", 0) >= latest.get(name, {}).get("written", 0):
            latest[name] = r
    keep = cache.in_flight()
    dropped = []
    for r in records:
        name = r.get("storyboard")
        there = Path(str(r.get("output", ""))).is_file()
        if latest.get(name) is r or (there and (name is None or name in storyboards)):
            keep.update(r["keys"])
        else:
            dropped.append(r)
    present = cache.keys()
    gone = [k for k in present if k not in keep]
    temps = [p for d in (cache.root, cache.root / RENDERS_DIR) if d.is_dir() for p in d.iterdir()
             if (m := TEMP_RE.match(p.name)) and not pid_alive(int(m.group(1)))]
    victims = [p for k in gone for p in (cache.media(k), cache.meta_path(k))] + [r["path"] for r in dropped] + temps
    freed = remove_files(victims, dry_run=dry_run)
    return {"chunks": gone, "records": [str(r.get("output")) for r in dropped], "temps": [p.name for p in temps],
            "kept": len(present) - len(gone), "bytes": freed}
