"""Render: a storyboard to a finished MP4 with its song, the sync report beside it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..errors import InputError, Interrupted, OutputError, SongreelError
from ..progress import Progress
from ..schema.edit import Edit
from ..schema.report import Report
from .checks import check_output, check_output_file, remove_stale_output_temps
from .edit import generate_edit
from .project import load, store_dir


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render` made.

    Attributes
    ----------
    output : Path
        The video written.
    report : Report
        Its report (``report.sync.max_cut_error_ms``, ``report.shots.generated`` ...).
    report_path : Path
        ``OUT.report.json`` beside the video.
    warnings : tuple of str
        Notes for the director (also in the report).
    edit : Edit
        The edit that was assembled: plan, clips and analysis.
    """

    output: Path
    report: Report
    report_path: Path
    warnings: tuple[str, ...] = ()
    edit: Optional[Edit] = field(default=None, repr=False, compare=False)

    @property
    def video(self) -> Path:
        """Same as :attr:`output`."""
        return self.output


def render(storyboard, out, *, force: bool = False, progress: Optional[Progress] = None,
           stop: Optional[threading.Event] = None, otio: Optional[Path] = None,
           burn_lyrics: bool = False, confirm: Optional[Callable] = None, takes: Optional[int] = None,
           locked: bool = False, encode: Optional[dict] = None, retake_worst: int = 0,
           budget: Optional[float] = None, executor=None, ray_address: Optional[str] = None,
           preview: bool = False) -> RenderResult:
    """Render a storyboard to a finished MP4 with its song, and write the sync report beside it.

    Parameters
    ----------
    storyboard : str, Path or Storyboard
    out : str or Path
        The ``.mp4`` to write (temp name, then renamed).
    force : bool
        Replace an existing output.
    progress : Progress, optional
    stop : threading.Event, optional
        Set to stop between clips; finished clips stay in the store.
    otio : Path, optional
        Also write an OpenTimelineIO timeline (media hard-linked beside it where possible).
    encode : dict, optional
        ``{codec, crf, preset, audio}`` overriding the storyboard's ``encode:`` (None values are ignored).
    burn_lyrics : bool
        Draw the storyboard's lyrics into the picture.
    confirm : callable, optional
        Asked with a :class:`~songreel.generate.runner.SpendEstimate` before paid generation.
    takes : int, optional
        Make at least this many candidate takes of every shot (``songreel takes`` shows them).
    locked : bool
        Reproduce the lock file exactly or refuse (see :func:`build_edit`).
    retake_worst : int
        Retake this many of the worst flagged shots and keep the better take by score
        (:mod:`.retake`); paid backends only within ``budget`` US dollars.
    executor, ray_address : optional
        Where clips are generated (see :func:`generate_edit`); the film is the same frame for frame.
    preview : bool
        Render the director's preview instead (:func:`~songreel.reel.preview.preview_storyboard`):
        every generated shot drawn by the animatic at 480 lines, footage kept, a fast encode, nothing
        paid, the lock file left alone and no report card. ``encode`` still overrides its encoder.

    Returns
    -------
    RenderResult

    Raises
    ------
    SongreelError
        Any user-facing problem, with a one-line message.
    """
    from ..assemble import assemble
    from ..assemble.encode import probe_output
    from ..export.report import build_report, report_path, write_report

    from ..memory import return_large_blocks

    return_large_blocks()  # a render's memory stays flat from the song to the file
    t0 = time.monotonic()
    sb = load(storyboard)
    if preview:
        for name, value, ok in (("locked", locked, False), ("takes", takes, None), ("retake_worst", retake_worst, 0)):
            if value != ok:
                raise InputError(f"{name}: got {value!r} with preview=True, which draws one animatic take per shot "
                                 "and leaves the lock file alone; leave it out")
        from .preview import preview_storyboard

        sb = preview_storyboard(sb)
    if encode:  # CLI flags override the storyboard's encode: block (validated like the storyboard)
        from pydantic import ValidationError

        from ..schema.storyboard import EncodeSpec

        try:
            merged = EncodeSpec.model_validate({**sb.encode.model_dump(), **{k: v for k, v in encode.items()
                                                                              if v is not None}})
        except ValidationError as e:
            first = e.errors()[0]
            raise InputError(f"encode.{first['loc'][-1]}: got {first.get('input')!r}; expected "
                             f"{first['msg'].removeprefix('Input should be ').rstrip('.')}") from None
        sb = sb.with_(encode=merged)
    out = check_output(Path(out), sb, force=force)
    if otio is not None:
        check_output_file(Path(otio), sb, force=force, suffixes=(".otio", ".xml", ".edl"))
    timing: dict = {}
    remove_stale_output_temps(out)
    edit, eta = generate_edit(sb, progress=progress, stop=stop, timing=timing, confirm=confirm, takes=takes,
                              locked=locked, executor="local" if preview else executor, ray_address=ray_address,
                              write_lock=not preview)
    from .retake import score_and_retake

    qa_sections: dict = {}
    taps = None
    if preview:  # the animatic's frames have nothing for the report card to find
        qa_sections["preview"] = {"size": [sb.video.width, sb.video.height], "encode": sb.encode.model_dump()}
    elif retake_worst:  # retakes change the clips, so the card comes before the film is encoded
        t_qa = time.monotonic()
        edit, qa_sections = score_and_retake(sb, edit, retake_worst=retake_worst, budget=budget, progress=progress,
                                             stop=stop)
        timing["qa_s"] = time.monotonic() - t_qa
    else:  # the card is measured from the frames the assembly decodes
        from ..qa.tap import CardTaps

        taps = CardTaps(edit, cache_dir=store_dir(sb) / "qa")
    plan = edit.plan
    check_output(out, sb, force=force)  # again: the file may have appeared while clips were made
    lyrics = None
    overlay = None
    if sb.lyrics is not None:
        from ..ingest.lyrics import load_lyrics

        lyrics = load_lyrics(sb.lyrics)
        if burn_lyrics:
            from ..export.subtitles import LyricBurnIn

            overlay = LyricBurnIn.for_plan(lyrics, plan)
    elif burn_lyrics:
        raise InputError("burn_lyrics=True: the storyboard has no 'lyrics:' file (LRC or SRT) to burn in")
    t2 = time.monotonic()

    def report_frame(d, n):
        if progress is not None:  # only handed to assemble when there is a progress
            progress.advance("assemble", d, n)
        if eta is not None and d % 24 == 0:
            spent = time.monotonic() - t2
            eta.report(d / n, rate=spent / (eta.assembly_units * d / n) if d and eta.assembly_units else None)

    if progress:
        progress.stage("assemble", plan.total_frames)
    try:
        result = assemble(edit, out, overlay=overlay, on_frame=report_frame if progress else None, replace=force,
                          chunk_dir=store_dir(sb) / "chunks", tap=taps)
    except KeyboardInterrupt:
        raise Interrupted(f"while assembling; {out} was not written (finished clips are kept and will "
                          "be reused)") from None
    timing["assembly_s"] = time.monotonic() - t2
    if taps is not None:
        t_qa = time.monotonic()
        try:  # the film is written: a card that cannot be made must not cost the user its report
            _, qa_sections = score_and_retake(sb, edit, progress=progress, stop=stop, taken=taps.measures())
        except SongreelError as e:
            from ..schema.qa import QAReport

            qa_sections = {"qa": QAReport(shots=(), notes=(f"no report card: {e}",)).to_dict()}
        timing["qa_s"] = time.monotonic() - t_qa
    if eta is not None:
        eta.assembled(timing["assembly_s"])
        if progress:
            progress.eta(0.0, "done")
    probe = probe_output(out)
    output: dict = {"path": str(out), "audio": result.audio_mode, "size": [plan.width, plan.height],
                    "fps": str(plan.fps)}
    extra = {"output": output, "seams": list(result.seams), "assembly": dict(result.stats),
             "executor": edit.extra.get("executor")}
    edit = edit.with_(video=out)
    if lyrics is not None:
        from ..export.subtitles import write_srt

        srt = write_srt(lyrics, out.with_suffix(".srt"), fps=plan.fps, total_frames=plan.total_frames)
        output["srt"] = str(srt)
    timeline_error: Optional[SongreelError] = None
    if otio is not None:
        from ..export.timeline import write_timeline

        try:  # the video is finished: a timeline that fails must not cost the user its report
            exported = write_timeline(edit, Path(otio), media="link")
            output["otio"] = str(exported.path)
        except SongreelError as e:
            timeline_error = e
            output["otio_error"] = str(e)
    timing["total_s"] = time.monotonic() - t0
    doc = build_report(plan, edit.analysis, probe, generated=edit.extra["generated"],
                       reused=edit.extra["reused"], timing=timing, extra={**extra, **qa_sections})
    if edit.analysis is not None:
        from ..analysis.reading import confidence

        doc["song"]["confidence"] = confidence(edit.analysis)
    if edit.extra.get("takes_generated"):
        doc.setdefault("takes", {})["generated"] = edit.extra["takes_generated"]
    if edit.extra.get("picks"):
        doc.setdefault("takes", {})["picked"] = {str(k + 1): v + 1 for k, v in edit.extra["picks"].items()}
    rp = write_report(doc, report_path(out))
    if timeline_error is not None:
        raise OutputError(f"{timeline_error} (the video {out} and its report {rp} were written)") from None
    return RenderResult(output=out, report=Report.from_dict(doc), report_path=rp, edit=edit,
                        warnings=tuple(plan.warnings) + tuple(edit.extra.get("notes", ())) + tuple(result.warnings))


