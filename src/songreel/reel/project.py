"""A storyboard's project: where its store lives, its song's analysis (locked or cached), its plan.

These are the steps every command shares before generation: load the storyboard, analyse its song
(overrides applied, a lock file's analysis preferred so a newer analyser cannot move the cuts) and
place its shots on the beat grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from ..errors import InputError, MissingFileError
from ..progress import Progress, fraction_callback
from .checks import check_song

if TYPE_CHECKING:
    from ..schema.plan import Plan

STORE_DIR = ".songreel"


def load(storyboard):
    """Load a storyboard (path or already-loaded object)."""
    from ..ingest.storyboard import load_storyboard
    from ..schema.storyboard import Storyboard

    return storyboard if isinstance(storyboard, Storyboard) else load_storyboard(storyboard)


def store_dir(sb) -> Path:
    """``.songreel/`` beside the storyboard."""
    return sb.base_dir / STORE_DIR


def analysis_options(sb) -> dict:
    """The storyboard fields that change the song analysis (part of the lock's check)."""
    a = sb.analysis  # analysis: {bpm, meter, first_downbeat}, or the same keys at the top level
    fd = a.first_downbeat if a.first_downbeat is not None else sb.first_downbeat
    return dict(tracker=a.tracker, tempo_hint=a.tempo_hint, bpm=a.bpm or sb.bpm, meter=a.meter or sb.meter,
                first_downbeat=float(fd) if fd is not None else None)


def analyze_storyboard_song(sb, *, progress: Optional[Progress] = None, lock=None, raw: Optional[list] = None):
    """Analyse the storyboard's song (cached by content hash) and apply the storyboard's overrides.

    With ``lock`` (a :class:`~songreel.schema.lock.Lock`) whose song hash and analysis options
    match, the locked analysis is used instead, so a newer analyser cannot move the cuts.
    ``raw``, when given, receives the analysis before overrides (what a lock stores).

    Returns
    -------
    Analysis
    """
    from ..analysis import analyze_file
    from ..plan.planner import apply_overrides

    opts = analysis_options(sb)
    analysis = _locked_analysis(sb, lock, opts)
    if analysis is None:
        if progress:
            progress.stage("analysis", 1.0)
            opts["progress"] = fraction_callback(progress, "analysis")
        check_song(sb)
        try:
            analysis = analyze_file(sb.song, cache_dir=store_dir(sb) / "analysis", **opts)
        except (InputError, MissingFileError) as e:
            text = str(e)
            if not text.startswith("song: "):
                raise
            raise type(e)(f"{sb.where('song')}: {text[len('song: '):]}") from None
        if progress:
            progress.advance("analysis", 1.0, 1.0, "done")
    if raw is not None:
        raw.append(analysis)
    return apply_overrides(analysis, sb)


def _locked_analysis(sb, lock, opts: dict):
    if lock is None or not lock.analysis:
        return None
    from ..ingest.audio import file_sha256
    from ..schema.analysis import Analysis

    song = Path(sb.song)
    check_song(sb)
    if lock.analysis_options != {k: v for k, v in opts.items() if k != "progress"}:
        return None
    if file_sha256(song) != lock.song_sha256:
        return None
    try:
        a = Analysis.from_dict(lock.analysis)
    except (KeyError, TypeError, ValueError):
        return None
    return a.with_(extra={**a.extra, "cache": "lock"})


def project_info(sb):
    from ..generate.base import ProjectInfo

    return ProjectInfo(sb.video.width, sb.video.height, sb.video.fps, sb.base_dir, store_dir(sb))


def make_plan(sb, analysis, backends=None) -> Plan:
    """Plan the storyboard on the analysed song, splitting shots at each backend's longest clip."""
    from ..generate.base import max_project_frames
    from ..generate.runner import Backends
    from ..plan.planner import make_plan as _make_plan

    backends = backends or Backends(project_info(sb))
    fields: dict[int, str] = {}  # hash of a backend spec -> where the storyboard first names it
    for i, shot in enumerate(sb.shots):
        fields.setdefault(hash(sb.backend_for(shot)), sb.where(f"shots[{i}].backend") if shot.backend else
                          sb.where("backend") if "backend" in sb._lines else "backend")

    def limit(spec):
        caps = backends.get(spec, field=fields.get(hash(spec), "backend")).capabilities()
        return max_project_frames(caps, sb.video.fps)

    lyrics = None
    if sb.lyrics is not None:
        from ..ingest.lyrics import load_lyrics

        lyrics = load_lyrics(sb.lyrics)
    from ..analysis.reading import notes

    plan = _make_plan(sb, analysis, segment_limit=limit, lyrics=lyrics)
    unsure = tuple(f"the song is {line}" for line in notes(analysis))
    return plan.with_(warnings=unsure + tuple(plan.warnings)) if unsure else plan




def full_plan(sb, analysis, backends):
    """The plan a render uses: :func:`make_plan`, then the infinite-zoom layout when the storyboard has
    that look (its levels, pre-rolled, must still fit in one backend call)."""
    from ..generate.base import max_project_frames
    from ..generate.references import check_references

    plan = make_plan(sb, analysis, backends)
    check_references(sb, plan, backends)
    if plan.look == "infinite-zoom":
        from ..plan.zoom import plan_zoom

        plan = plan_zoom(plan, sb, analysis, segment_limit=lambda spec: max_project_frames(
            backends.get(spec).capabilities(), sb.video.fps))
    return plan


def plan_with_backends(sb, analysis):
    """:func:`full_plan` with the storyboard's backends opened (options checked) and closed again."""
    from ..generate.runner import Backends

    backends = Backends(project_info(sb))
    try:
        return full_plan(sb, analysis, backends)
    finally:
        backends.close()
