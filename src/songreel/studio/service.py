"""What the studio does, without the web page: every action the page and the named API endpoints call.

Each action speaks the public API only (``songreel.loads / analyze / plan / estimate_cost / render /
export / make_takes / pick / plot_analysis / draft / demo_project / character_sheet``) and the project
folder's path rule (:class:`~songreel.studio.project.Project`). Long work (renders, takes) goes through the project's
:class:`~songreel.studio.queue.RenderQueue`; previews are small and run in the request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any, Optional

import songreel

from ..errors import InputError, SongreelError
from .characters import SheetSeeds, reroll_sheet
from .characters import characters as character_pictures
from .project import AUDIO_SUFFIXES, MEDIA_SUFFIXES, Project, store_upload
from .queue import RenderQueue
from .storyboard_table import Document

log = logging.getLogger(__name__)

#: Bump when the preview is made differently: previews kept under another version are made again.
PREVIEW_VERSION = "2"
#: Backends that run on this machine and cost nothing.
LOCAL_BACKENDS = ("animatic", "footage", "diffusers")
# where a storyboard that arrives as text (an API request, a preview) is anchored: relative paths resolve
# in the project folder, and its lock file stays hidden there; named by content, so two requests at once
# never share a file
API_STORYBOARD = ".studio-api.yaml"
PREVIEW_STORYBOARD = ".studio-preview.yaml"


def _by_content(name: str, text: str) -> str:
    stem, suffix = name.rsplit(".", 1)
    return f"{stem}-{hashlib.sha256(text.encode()).hexdigest()[:10]}.{suffix}"


class Studio:
    """One project folder's studio: its path rule, render queue and actions.

    Parameters
    ----------
    root : str or Path
        The project folder (created if missing).
    """

    def __init__(self, root) -> None:
        self.project = Project(root)
        self.queue = RenderQueue(self.project.state_dir / "jobs.json")
        self._save_lock = threading.Lock()
        self.sheet_seeds = SheetSeeds(self.project.state_dir / "sheets.json")

    @property
    def root(self) -> Path:
        return self.project.root

    # storyboards

    def storyboard_path(self, name: str) -> Path:
        """The storyboard file ``name`` in the project folder (``.yaml``)."""
        path = self.project.inside(name, "storyboard")
        if path.suffix.lower() not in (".yaml", ".yml"):
            raise InputError(f"storyboard: got {name!r}, expected a .yaml file name")
        return path

    def read_storyboard(self, name: str) -> str:
        path = self.storyboard_path(name)
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def save_storyboard(self, name: str, text: str) -> Path:
        """Write the storyboard text (atomically) after checking it; returns its path."""
        from ..fileio import atomic_write_bytes

        path = self.storyboard_path(name)
        self.check(text, name)
        if text and not text.endswith("\n"):  # the browser's editor drops the final newline
            text += "\n"
        with self._save_lock:
            atomic_write_bytes(path, text.encode("utf-8"))
        return path

    def check(self, text: str, name: str = "storyboard.yaml"):
        """Validate storyboard text: the YAML, the path rule, then songreel's own checks.

        Returns
        -------
        Storyboard

        Raises
        ------
        SongreelError
            One line, as the CLI prints it.
        """
        doc = Document(text, name)
        self.project.check_storyboard_data(doc.data, name)
        path = self.project.root / Path(name).name
        sb = songreel.loads(text, path)
        self.project.check_storyboard(sb)
        return sb

    def plan(self, text: str, name: str = API_STORYBOARD) -> dict:
        """The shot list of storyboard text (``songreel plan --json``'s document)."""
        return songreel.plan(self.check(text, name)).to_dict()

    # the song

    def song_path(self, name: str) -> Path:
        path = self.project.inside(name, "song")
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            raise InputError(f"song: got {name!r}, expected an audio file ({', '.join(AUDIO_SUFFIXES)})")
        if not path.is_file():
            raise InputError(f"song: {name!r} is not a file in the project folder {self.root}")
        return path

    def upload(self, src, name: Optional[str] = None, *, audio: bool = False) -> str:
        """Copy an uploaded file into the project folder; returns its name there."""
        allowed = AUDIO_SUFFIXES if audio else MEDIA_SUFFIXES
        return store_upload(self.project, src, name, allowed=allowed).relative_to(self.root).as_posix()

    def analyze(self, song: str, *, bpm: Optional[float] = None, meter: Optional[int] = None) -> dict:
        """Analysis summary of a song in the project, and a beat-grid picture of it.

        Returns
        -------
        dict
            ``song``, ``duration``, ``tempo``, ``meter``, ``beats``, ``bars``, ``sections``
            (label, start, end, bars), ``downbeats``, ``also_fits`` (the runner-up ``tempo`` /
            ``meter`` / ``downbeat`` readings, where the analysis offers them), ``plot`` (PNG path).
        """
        path = self.song_path(song)
        a = songreel.analyze(path, bpm=bpm, meter=meter, cache_dir=self.root / ".songreel" / "analysis")
        key = hashlib.sha256(f"{a.audio_hash}:{a.tempo}:{a.meter}:{len(a.beats)}".encode()).hexdigest()[:16]
        plot = self.project.state_dir / "grids" / f"{path.stem}-{key}.png"
        if not plot.exists():
            plot.parent.mkdir(parents=True, exist_ok=True)
            songreel.plot_analysis(path, a, plot)
        sections = []
        for s in a.sections:
            bars = sum(1 for d in a.downbeats if s.start - 1e-6 <= d < s.end - 1e-6)
            sections.append({"label": s.label, "start": round(s.start, 3), "end": round(s.end, 3), "bars": bars})
        # the analysis's runner-up readings (Analysis.extra), when it offers them
        x = a.extra or {}
        also = {k: float(x[f"{k}_alternative"]) for k in ("tempo", "meter", "downbeat") if x.get(f"{k}_alternative")}
        return {"song": path.relative_to(self.root).as_posix(), "duration": round(a.duration, 3),
                "tempo": round(a.tempo, 3), "meter": a.meter, "beats": len(a.beats), "bars": len(a.downbeats),
                "downbeats": [round(d, 3) for d in a.downbeats], "sections": sections,
                "also_fits": also, "tracker": a.tracker, "plot": str(plot)}

    # starting points: a draft from a sentence, or the demo

    def draft(self, song: str, concept: str, *, look: Optional[str] = None, cut_every: Optional[str] = None,
              llm: Optional[str] = None, model: Optional[str] = None, key_env: Optional[str] = None,
              video: Optional[dict] = None) -> dict:
        """Draft a storyboard for a song in the project (:func:`songreel.draft`) and write it beside it.

        The file is new, named after the song (``draft-SONG.yaml``, then ``-2``, ``-3``...), written
        atomically; nothing in the folder is replaced.

        Parameters
        ----------
        song : str
            A song in the project folder (the path rule applies).
        concept, look, cut_every
            As :func:`songreel.draft` (empty strings mean "not given").
        llm, model : str, optional
            An OpenAI-compatible chat server and model; without them the draft is made offline.
        key_env : str, optional
            The name of the environment variable holding the server's key (the key itself is read here,
            from the server's environment, and goes only into the request header).
        video : dict, optional
            ``width``, ``height``, ``fps`` of the storyboard (default 1280x720 at 24).

        Returns
        -------
        dict
            ``name`` (the file written), ``text``, ``shots`` (count), ``source`` (offline or the endpoint),
            ``notes``.
        """
        from ..errors import OutputError

        path = self.song_path(song)
        llm = (llm or "").strip() or None
        model = (model or "").strip() or None
        key_env = (key_env or "").strip() or "OPENAI_API_KEY"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key_env):
            raise InputError(f"key variable: got {key_env!r}, expected the NAME of an environment variable "
                             "(letters, digits, _), never the key itself")
        api_key = os.environ.get(key_env) if llm else None
        video = video or {}
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem).strip("_-") or "song"
        for n in range(1, 1000):
            out = self.root / (f"draft-{stem}.yaml" if n == 1 else f"draft-{stem}-{n}.yaml")
            if out.exists():
                continue
            try:
                res = songreel.draft(path, concept=concept, look=(look or None), cut_every=(cut_every or None),
                                     llm=llm, model=model, api_key=api_key, key_env=key_env, out=out,
                                     width=int(video.get("width", 1280)), height=int(video.get("height", 720)),
                                     fps=video.get("fps", 24), cache_dir=self.root / ".songreel" / "analysis")
            except OutputError:
                if out.exists():  # another draft took the name meanwhile: the next one
                    continue
                raise
            text = out.read_text(encoding="utf-8")
            sb = self.check(text, out.name)
            return {"name": out.name, "text": text, "shots": len(sb.shots),
                    "source": res.endpoint or "offline", "notes": list(res.notes)}
        raise InputError(f"draft: too many drafts of {path.name} in {self.root}")

    def demo(self, *, width: int = 1280, height: int = 720, look: str = "cuts") -> dict:
        """The demo's song and storyboard in the project folder (:func:`songreel.demo_project`).

        Returns
        -------
        dict
            ``name`` (the storyboard), ``text``, ``song``.
        """
        path = songreel.demo_project(self.root, width=width, height=height, look=look)
        text = path.read_text(encoding="utf-8")
        sb = self.check(text, path.name)
        return {"name": path.name, "text": text, "song": sb.song.relative_to(self.root).as_posix()}

    # preview

    def preview(self, text: str, name: str, shot: Optional[int] = None) -> dict:
        """The director's preview of the whole song (``songreel render --preview``): every generated shot
        drawn by the animatic at 480 lines on the storyboard's real beat grid, footage kept, nothing
        paid, the lock file left alone.

        Parameters
        ----------
        shot : int, optional
            1-based: also say where that shot starts and ends in the preview (seconds).

        Returns
        -------
        dict
            ``video`` (path), ``start``, ``end`` (seconds of the shot, or the whole song),
            ``shots`` (the plan's shot times).
        """
        from ..reel.preview import preview_storyboard

        self.check(text, name)
        psb = self._studio_storyboard(_by_content(PREVIEW_STORYBOARD, text), text)
        digest = hashlib.sha256(f"{PREVIEW_VERSION}\n{text}".encode()).hexdigest()[:16]
        out = self.project.state_dir / "previews" / f"preview-{digest}.mp4"
        plan_doc = songreel.plan(preview_storyboard(psb)).to_dict()
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            songreel.render(psb, out, force=True, preview=True)
        shots = [{"shot": s["index"] + 1, "start": s["start"], "end": s["end"], "prompt": s["prompt"]}
                 for s in plan_doc["shots"]]
        start, end = 0.0, float(plan_doc["duration"])
        if shot is not None:
            if not 1 <= int(shot) <= len(shots):
                raise InputError(f"shot: got {shot}, expected a shot number 1..{len(shots)}")
            start, end = shots[int(shot) - 1]["start"], shots[int(shot) - 1]["end"]
        return {"video": str(out), "start": start, "end": end, "shots": shots}

    # money

    def estimate(self, text: str, name: str) -> dict:
        """What rendering would cost: ``dollars`` (None: unknown), ``new_clips``, ``reused_clips``,
        ``unpriced``, ``paid`` (whether anything would be charged) and a one-line ``text``."""
        est = songreel.estimate_cost(self.check(text, name))
        paid = bool(est.new_segments) and (est.dollars is None or est.dollars > 0)
        if not paid:
            line = f"free: {est.new_segments} new clips, {est.reused_segments} reused"
        elif est.dollars is None:
            line = (f"{est.new_segments} new clips on a backend without a known price "
                    f"({', '.join(est.unpriced)}): the cost is unknown")
        else:
            line = f"about ${est.dollars:.2f} for {est.new_segments} new clips ({est.reused_segments} reused)"
        return {"dollars": est.dollars, "new_clips": est.new_segments, "reused_clips": est.reused_segments,
                "unpriced": list(est.unpriced), "paid": paid, "text": line}

    # characters: their looks, reference pictures and character sheets

    def characters(self, text: str, name: str) -> list[dict]:
        """The storyboard's characters with their reference pictures and a sheet per look (base, then each
        of ``looks:``), as :func:`.characters.characters`; a reference outside the project is refused."""
        return character_pictures(self.project, self.check(text, name), self.sheet_seeds.of(name))

    def reroll(self, text: str, name: str, character: str, look: str = "") -> dict:
        """Re-roll one character sheet (``look`` ``""``: the base look) with a new seed, which the studio
        keeps for it; returns ``name``, ``look``, ``sheet`` (the new PNG), ``seed``, ``previous``."""
        return reroll_sheet(self.check(text, name), name, str(character), look or "", self.sheet_seeds)

    # the render queue

    def submit_render(self, text: str, name: str, *, approved: Optional[float] = None,
                      approve_unknown: bool = False) -> str:
        """Save the storyboard and queue its render; returns the job id.

        Parameters
        ----------
        approved : float, optional
            Dollars the person confirmed. Nothing paid runs without it; a render whose estimate has grown
            past it by the time it runs stops with nothing spent.
        approve_unknown : bool
            The person confirmed a render whose price is unknown.
        """
        if name == API_STORYBOARD:
            name = _by_content(API_STORYBOARD, text)
            sb = self._studio_storyboard(name, text)
        else:
            sb = self.save_and_load(text, name)
        est = self.estimate(text, name)
        if est["paid"] and not _covered(est, approved, approve_unknown):
            raise InputError(f"render: {est['text']}; confirm the spend first")
        stem = "api" if name.startswith(".studio-api") else (Path(name).stem.lstrip(".") or "render")

        def work(progress, stop):
            out = self._next_output(stem)
            res = songreel.render(sb, out, progress=progress, stop=stop,
                                  confirm=lambda e: _covered_estimate(e, approved, approve_unknown))
            return self._result(sb, res, progress)

        title = "render (API request)" if stem == "api" else f"render {name}"
        return self.queue.submit("render", title, work)

    def _studio_storyboard(self, name: str, text: str):
        # a storyboard the studio made (preview, API request) is written as a hidden file in the project:
        # a render hashes its storyboard file into the lock, and relative paths must resolve here
        from ..fileio import atomic_write_bytes

        self.check(text, name)
        path = self.root / name
        with self._save_lock:
            self._sweep()
            atomic_write_bytes(path, text.encode("utf-8"))
        sb = songreel.load(path)
        self.project.check_storyboard(sb)
        return sb

    def _sweep(self, age: float = 600.0) -> None:
        # the studio's own hidden storyboards (and their locks) from earlier previews and requests; only
        # names the studio makes (_by_content), so nothing of the user's is ever touched
        import re
        import time

        made = re.compile(r"\.studio-(api|preview)-[0-9a-f]{10}\.(yaml|lock\.json)")
        for old in self.root.glob(".studio-*"):
            try:
                if made.fullmatch(old.name) and old.is_file() and time.time() - old.stat().st_mtime > age:
                    old.unlink()
            except OSError:
                pass

    def save_and_load(self, text: str, name: str):
        self.save_storyboard(name, text)
        return songreel.load(self.storyboard_path(name))

    def _next_output(self, stem: str) -> Path:
        folder = self.root / "renders"
        folder.mkdir(exist_ok=True)
        n = 1
        while any((folder / f"{stem}-{n:03d}{s}").exists() for s in (".mp4", ".report.json")):
            n += 1
        return folder / f"{stem}-{n:03d}.mp4"

    def _result(self, sb, res, progress) -> dict:
        downloads = [str(res.output)]
        sheet = None
        wanted = [res.output.with_suffix(".png"), res.output.with_suffix(".otio"), res.output.with_suffix(".edl")]
        if sb.lyrics is not None:
            wanted += [res.output.with_suffix(".srt")]
        for target in wanted:
            try:
                written = Path(songreel.export(sb, target, progress=progress))
            except SongreelError as e:  # a missing extra for a timeline format: say so, keep the video
                progress.message(str(e))
                continue
            if written.suffix == ".png":
                sheet = str(written)
            downloads.append(str(written))
        downloads.append(str(res.report_path))
        s = res.report.sync
        return {"video": str(res.output), "report_path": str(res.report_path), "report": res.report.data,
                "sync": {"max_cut_error_ms": s.max_cut_error_ms, "half_frame_ms": s.half_frame_ms,
                         "on_beat": s.on_beat, "video_minus_audio_ms": s.video_minus_audio_ms,
                         "video_frames": s.video_frames, "expected_frames": s.expected_frames},
                "shots": {"generated": res.report.shots.generated, "reused": res.report.shots.reused},
                "warnings": list(res.warnings), "contact_sheet": sheet, "downloads": downloads}

    def submit_takes(self, text: str, name: str, shot: int, takes: int, *, paid_ok: bool = False) -> str:
        """Save the storyboard and queue the takes of one shot; returns the job id."""
        sb = self.save_and_load(text, name)
        if not isinstance(shot, int) or not 1 <= shot <= len(sb.shots):
            raise InputError(f"shot: got {shot!r}, expected a shot number 1..{len(sb.shots)}")
        backend = sb.backend_for(sb.shots[shot - 1]).name
        if backend not in LOCAL_BACKENDS and not paid_ok:
            raise InputError(f"takes: shot {shot} uses {backend}, a paid backend; confirm the spend first")
        path = self.storyboard_path(name)

        def work(progress, stop):
            r = songreel.make_takes(path, str(shot), takes=int(takes), progress=progress)
            return {"shot": shot, "strip": str(r.strip) if r.strip else None, "picked": r.picked + 1,
                    "takes": [{"take": t + 1, "seed": seed, "clip": str(clips[0].path)} for t, seed, clips in r.takes],
                    "generated": r.generated, "reused": r.reused}

        return self.queue.submit("takes", f"takes of shot {shot}", work)

    def pick(self, name: str, shot: int, take: int) -> str:
        planned, lock = songreel.pick(self.storyboard_path(name), str(shot), int(take))
        return f"picked take {take} of shot {planned.index + 1}; recorded in {Path(lock).name}"

    def render_text(self, text: str, timeout: Optional[float] = None) -> dict:
        """Render storyboard text through the queue and wait (the ``/render`` endpoint)."""
        job_id = self.submit_render(text, API_STORYBOARD)
        job = self.queue.wait(job_id, timeout)
        if job["status"] != "done":
            raise InputError(f"render: {job['status']}: {job.get('error') or 'not finished'}")
        return job["result"]


def _covered(est: dict, approved: Optional[float], approve_unknown: bool) -> bool:
    if est["dollars"] is None:
        return approve_unknown
    return approved is not None and est["dollars"] <= approved + 1e-9


def _covered_estimate(est, approved: Optional[float], approve_unknown: bool) -> bool:
    return _covered({"dollars": est.dollars}, approved, approve_unknown)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)
