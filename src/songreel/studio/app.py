"""The studio's page: Song, Shots, Preview, Generate and Results tabs, and the named API endpoints.

Layout and wiring only: every action is a :class:`~songreel.studio.service.Studio` method, and user
errors come back as the same one-line messages the CLI prints (a red status line, or ``gr.Error``).
One page, one storyboard at a time; the render queue belongs to the project, so a reloaded page finds
the running job and the last result again (the page polls the queue once a second).

The file is long because a Gradio page is declared in one ``Blocks`` context: the components, the
small handlers that translate between them and :class:`Studio`, and the events joining the two must
see each other. It holds no logic of its own; splitting it would scatter one page over several files.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Any, Optional

from ..errors import SongreelError
from .service import Studio, to_json
from .storyboard_table import COLUMNS, HEADERS, doc_or_error, new_storyboard

log = logging.getLogger(__name__)

CSS = """
#sr-status {font-family: ui-monospace, monospace; font-size: 0.9em}
#sr-status .ok {color: #2e7d32} #sr-status .err {color: #c62828}
.sr-bar {height: 12px; background: #e0e0e0; border-radius: 6px; overflow: hidden}
.sr-bar > div {height: 100%; background: #ef6c00}
"""


def _status(error: str, ok: str = "storyboard OK") -> str:
    if error:
        return f'<div id="sr-status-line" class="err">✗ {html.escape(error)}</div>'
    return f'<div id="sr-status-line" class="ok">✓ {html.escape(ok)}</div>'


def _video_tag(url: str, start: float, end: float, elem_id: str) -> str:
    # a media fragment plays just that shot of the preview, with the song, on the real grid
    frag = f"#t={start:.3f},{end:.3f}"
    return (f'<video id="{elem_id}" controls preload="auto" style="width:100%;max-width:960px" '
            f'src="{html.escape(url + frag)}"></video>')


def build(studio: Studio):
    """The Gradio Blocks of one project's studio."""
    import gradio as gr

    def file_url(path: str) -> str:
        return "/gradio_api/file=" + str(Path(path))

    # --- storyboard text <-> table, and validation -------------------------------------------

    def validate(text: str, name: str) -> str:
        if not text.strip():
            return _status("the storyboard is empty; choose a song on the Song tab to start one")
        try:
            sb = studio.check(text, name)
        except SongreelError as e:
            return _status(str(e))
        return _status("", f"storyboard OK: {len(sb.shots)} shots, {sb.video.width}x{sb.video.height} "
                           f"@ {float(sb.video.fps):g} fps, backend {sb.backend.name}")

    def from_text(text: str, name: str):
        doc, err = doc_or_error(text, name)
        if doc is None:
            return (gr.skip(),) * 3 + (_status(err),) + (gr.skip(),) * 3
        rows = doc.rows()
        return (rows or [[""] * len(COLUMNS)], str(doc.get("style", "") or ""), doc.characters() or [["", ""]],
                validate(text, name)) + _choice_updates(rows)

    def edit_doc(text: str, name: str, change) -> tuple:
        doc, err = doc_or_error(text, name)
        if doc is None:
            raise gr.Error(f"fix the YAML first: {err}")
        change(doc)
        new = doc.text()
        rows = doc.rows()
        return (new, rows or [[""] * len(COLUMNS)], validate(new, name)) + _choice_updates(rows)

    def table_edited(rows, text, name):
        return edit_doc(text, name, lambda d: d.set_rows(_rows(rows)))

    def style_edited(style, chars, text, name):
        def change(d):
            d.set("style", style)
            d.set_characters(_rows(chars))
        out = edit_doc(text, name, change)
        return out[0], out[2]

    def add_shot(prompt, length, at, transition, text, name):
        if not str(prompt or "").strip():
            raise gr.Error("shot: got an empty prompt, expected what the shot shows")

        def change(d):
            d.set_rows(d.rows() + [[ "", prompt, length, at, transition, "", "", ""]])
        return edit_doc(text, name, change)

    def update_shot(number, prompt, length, at, transition, backend, seed, takes, text, name):
        n = _shot_number(number)

        def change(d):
            rows = d.rows()
            if not 1 <= n <= len(rows):
                raise gr.Error(f"shot: got {n}, expected a shot number 1..{len(rows)}")
            row = rows[n - 1]
            for col, value in zip(("prompt", "length", "at", "transition", "backend", "seed", "takes"),
                                  (prompt, length, at, transition, backend, seed, takes)):
                row[COLUMNS.index(col)] = "" if value is None else str(value)
            d.set_rows(rows)
        return edit_doc(text, name, change)

    def remove_shot(number, text, name):
        n = _shot_number(number)

        def change(d):
            rows = d.rows()
            if not 1 <= n <= len(rows):
                raise gr.Error(f"shot: got {n}, expected a shot number 1..{len(rows)}")
            del d.shots()[n - 1]
        return edit_doc(text, name, change)

    def shot_fields(number, text, name):
        doc, _err = doc_or_error(text, name)
        rows = doc.rows() if doc else []
        n = _shot_number(number, quiet=True)
        if not 1 <= n <= len(rows):
            return [gr.skip()] * 7
        r = dict(zip(COLUMNS, rows[n - 1]))
        return r["prompt"], r["length"], r["at"], r["transition"], r["backend"], r["seed"], r["takes"]

    def open_storyboard(name):
        try:
            text = studio.read_storyboard(name)
        except SongreelError as e:
            raise gr.Error(str(e))
        return (text,) + from_text(text, name)

    def save(text, name):
        try:
            path = studio.save_storyboard(name, text)
        except SongreelError as e:
            return _status(str(e))
        return _status("", f"saved {path.name}")

    # --- song ---------------------------------------------------------------------------------

    def song_summary(info: dict) -> str:
        secs = " · ".join(f"{s['label']} {s['start']:.1f}–{s['end']:.1f}s ({s['bars']} bars)" for s in info["sections"])
        also = info.get("also_fits") or {}
        # the other tempo octave is the reading people most often need to switch to
        also_line = (f"\n\nalso fits: {float(also['tempo']):.2f} BPM (type it as the tempo override to use it)"
                     if "tempo" in also else "")
        return (f"### {html.escape(info['song'])}\n\n**{info['tempo']:.2f} BPM**, {info['meter']} beats per bar, "
                f"{info['bars']} bars, {info['duration']:.1f} s ({info['tracker']}){also_line}\n\nsections: {secs}")

    def use_song(upload, picked, bpm, meter, text, name):
        try:
            song = studio.upload(upload, Path(upload).name, audio=True) if upload else picked
            if not song:
                raise gr.Error("song: upload an audio file or pick one from the project folder")
            info = studio.analyze(song, bpm=bpm or None, meter=int(meter) if meter else None)
        except SongreelError as e:
            raise gr.Error(str(e))
        if not text.strip():
            text = new_storyboard(info["song"], title=Path(info["song"]).stem)
        else:
            doc, err = doc_or_error(text, name)
            if doc is None:
                raise gr.Error(f"fix the YAML first: {err}")
            doc.set("song", info["song"])
            text = doc.text()
        return ((text,) + from_text(text, name) +
                (info["plot"], song_summary(info), gr.update(choices=studio.project.songs(), value=info["song"]),
                 str(studio.root / info["song"]), None))

    def song_of_storyboard(text, name):
        # a storyboard that already names a song in the project: show its grid when the page opens
        doc, _err = doc_or_error(text, name)
        song = doc.get("song") if doc is not None else None
        try:
            if not isinstance(song, str) or not studio.song_path(song).is_file():
                return [gr.skip()] * 4
            info = studio.analyze(song)
        except SongreelError:
            return [gr.skip()] * 4
        return (info["plot"], song_summary(info), gr.update(choices=studio.project.songs(), value=info["song"]),
                str(studio.root / info["song"]))

    def apply_tempo(bpm, meter, text, name):
        def change(d):
            d.set("bpm", float(bpm) if bpm else None)
            d.set("meter", int(meter) if meter else None)
        out = edit_doc(text, name, change)
        return out[0], out[2]

    # --- preview ------------------------------------------------------------------------------

    def preview(number, text, name):
        n = _shot_number(number, quiet=True)
        try:
            p = studio.preview(text, name, shot=n if n > 0 else None)
        except SongreelError as e:
            raise gr.Error(str(e))
        what = f"shot {n}: {p['start']:.2f}–{p['end']:.2f} s" if n > 0 else "the whole song"
        return _video_tag(file_url(p["video"]), p["start"], p["end"], "sr-preview-video"), \
            f"animatic preview of {what} (480 px wide, on the song's beat grid)"

    # --- generate -----------------------------------------------------------------------------

    def estimate(text, name):
        try:
            est = studio.estimate(text, name)
        except SongreelError as e:
            raise gr.Error(str(e))
        return est["text"] + ("" if not est["paid"] else " — tick the box to confirm the spend"), \
            gr.update(visible=est["paid"], value=False), est["dollars"] if est["paid"] else None

    def render_all(text, name, confirmed, dollars):
        try:
            est = studio.estimate(text, name)
            if est["paid"] and not confirmed:
                raise gr.Error(f"{est['text']}: press Estimate and tick the box to confirm the spend first")
            studio.submit_render(text, name, approved=dollars if confirmed else None,
                                 approve_unknown=bool(confirmed and est["dollars"] is None))
        except SongreelError as e:
            raise gr.Error(str(e))
        return queue_html()

    def make_takes(number, count, text, name, confirmed):
        try:
            studio.submit_takes(text, name, _shot_number(number), int(count or 3), paid_ok=bool(confirmed))
        except SongreelError as e:
            raise gr.Error(str(e))
        return queue_html()

    def pick(number, take, name):
        if not take:
            raise gr.Error("take: choose a take first")
        try:
            return studio.pick(name, _shot_number(number), int(str(take).split()[-1]))
        except SongreelError as e:
            raise gr.Error(str(e))

    def stop_job():
        job = studio.queue.active()
        if job is None:
            return "nothing is running"
        studio.queue.stop(job["id"])
        return f"stopping {job['title']} after the current clip"

    def queue_html() -> str:
        jobs = studio.queue.snapshot()
        if not jobs:
            return '<div id="sr-queue">no renders yet</div>'
        parts = []
        for j in reversed(jobs[-5:]):
            frac = (j["done"] / j["total"]) if j.get("total") else 0.0
            frac = 1.0 if j["status"] == "done" else min(max(frac, 0.0), 1.0)
            eta = j.get("eta")
            eta_txt = f", about {eta:.0f} s left" if (j["status"] == "running" and eta) else ""
            detail = j.get("error") if j["status"] in ("failed", "stopped", "interrupted") else \
                f"{j.get('stage') or ''} {j.get('note') or ''}".strip()
            parts.append(f'<div class="sr-job" data-status="{j["status"]}" data-kind="{j["kind"]}" '
                         f'data-title="{html.escape(j["title"])}">'
                         f'<b>{html.escape(j["title"])}</b> — <span class="sr-job-status">{j["status"]}</span>'
                         f'{eta_txt} <small>{html.escape(detail or "")}</small>'
                         f'<div class="sr-bar"><div style="width:{100 * frac:.0f}%"></div></div></div>')
        return '<div id="sr-queue">' + "".join(parts) + "</div>"

    def poll(shown_render, shown_takes):
        jobs = studio.queue.snapshot()
        render = next((j for j in reversed(jobs) if j["kind"] == "render" and j["status"] == "done"), None)
        takes = next((j for j in reversed(jobs) if j["kind"] == "takes" and j["status"] == "done"), None)
        out: list[Any] = [queue_html()]
        if render is not None and render["id"] != shown_render:
            out += list(_result_outputs(render["result"])) + [render["id"]]
        else:
            out += [gr.skip()] * 5 + [shown_render]
        if takes is not None and takes["id"] != shown_takes:
            r = takes["result"]
            out += [r["strip"], gr.update(choices=[f"take {t['take']}" for t in r["takes"]],
                                          value=f"take {r['picked']}"),
                    f"shot {r['shot']}: {len(r['takes'])} takes ({r['generated']} generated, {r['reused']} reused)",
                    takes["id"]]
        else:
            out += [gr.skip()] * 3 + [shown_takes]
        return out

    # --- named API endpoints ----------------------------------------------------------------

    def api_analyze(song_file):
        """Song file -> analysis summary JSON (tempo, meter, beats, bars, sections)."""
        if not song_file:
            raise gr.Error("song: expected an audio file")
        try:
            info = studio.analyze(studio.upload(song_file, Path(song_file).name, audio=True))
        except SongreelError as e:
            raise gr.Error(str(e))
        info.pop("plot", None)
        return info

    def api_plan(yaml_text):
        """Storyboard YAML text -> the shot list JSON (``songreel plan --json``)."""
        try:
            return studio.plan(str(yaml_text or ""))
        except SongreelError as e:
            raise gr.Error(str(e))

    def api_render(yaml_text):
        """Storyboard YAML text -> the rendered video file and the report JSON."""
        try:
            result = studio.render_text(str(yaml_text or ""))
        except SongreelError as e:
            raise gr.Error(str(e))
        return result["video"], result["report"]

    # --- layout -------------------------------------------------------------------------------

    names = studio.project.storyboards() or ["storyboard.yaml"]
    first = studio.project.default_storyboard().name
    private = {"api_visibility": "private"}

    with gr.Blocks(title="songreel studio") as demo:
        gr.Markdown(f"## songreel studio\nproject folder: `{html.escape(str(studio.root))}`")
        with gr.Row():
            sb_name = gr.Dropdown(names, value=first, label="storyboard", allow_custom_value=True, scale=2,
                                  elem_id="sr-storyboard")
            save_btn = gr.Button("Save storyboard", scale=1, elem_id="sr-save")
        status = gr.HTML(_status("open a storyboard or choose a song"), elem_id="sr-status")
        yaml_code = gr.Code(value="", language="yaml", label="storyboard YAML (kept in step with the table)",
                            interactive=True, lines=14, elem_id="sr-yaml", render=False)
        with gr.Tabs():
            with gr.Tab("Song", id="song"):
                with gr.Row():
                    with gr.Column(scale=1):
                        song_upload = gr.File(label="upload a song", file_types=["audio"], type="filepath",
                                              elem_id="sr-song-upload")
                        song_pick = gr.Dropdown(studio.project.songs(), label="or pick one from the project folder",
                                                elem_id="sr-song-pick")
                        with gr.Row():
                            bpm = gr.Number(label="tempo override (BPM, 0 = as detected)", value=None, minimum=0,
                                            elem_id="sr-bpm")
                            meter = gr.Dropdown(["", "2", "3", "4", "5", "6", "7", "9", "12"], value="",
                                                label="beats per bar override", elem_id="sr-meter")
                        with gr.Row():
                            analyze_btn = gr.Button("Use this song", variant="primary", elem_id="sr-analyze")
                            tempo_btn = gr.Button("Write tempo/meter into the storyboard", elem_id="sr-tempo")
                    with gr.Column(scale=2):
                        song_info = gr.Markdown("no song yet", elem_id="sr-song-info")
                        song_audio = gr.Audio(label="the song", interactive=False, elem_id="sr-song-audio")
                grid = gr.Image(label="beat grid: bars, sections, energy", interactive=False, elem_id="sr-grid")
            with gr.Tab("Shots", id="shots"):
                with gr.Row():
                    with gr.Column(scale=3):
                        table = gr.Dataframe(headers=list(HEADERS), datatype="str", type="array",
                                             interactive=True, wrap=True, label="shots (edit a cell, press Enter)",
                                             column_count=len(COLUMNS), elem_id="sr-table")
                        with gr.Accordion("add or edit a shot", open=True):
                            with gr.Row():
                                shot_no = gr.Dropdown([], label="shot", allow_custom_value=True, scale=1,
                                                      elem_id="sr-shot-no")
                                f_prompt = gr.Textbox(label="prompt", scale=4, elem_id="sr-f-prompt")
                                f_length = gr.Textbox(label="length", placeholder="2 bars / 8 beats / 4 s", scale=1,
                                                      elem_id="sr-f-length")
                            with gr.Row():
                                f_at = gr.Textbox(label="anchor (at)", placeholder="chorus / bar 17 / 1:02",
                                                  elem_id="sr-f-at")
                                f_transition = gr.Textbox(label="transition", placeholder="cut / crossfade 1 beat",
                                                          elem_id="sr-f-transition")
                                f_backend = gr.Textbox(label="backend", placeholder="(project's)",
                                                       elem_id="sr-f-backend")
                                f_seed = gr.Textbox(label="seed", elem_id="sr-f-seed")
                                f_takes = gr.Textbox(label="takes", elem_id="sr-f-takes")
                            with gr.Row():
                                add_btn = gr.Button("Add shot", variant="primary", elem_id="sr-add")
                                upd_btn = gr.Button("Update shot", elem_id="sr-update")
                                del_btn = gr.Button("Remove shot", variant="stop", elem_id="sr-remove")
                    with gr.Column(scale=1):
                        style = gr.Textbox(label="style (added to every prompt)", lines=2, elem_id="sr-style")
                        chars = gr.Dataframe(headers=["name", "description"], datatype="str", type="array",
                                             interactive=True, label="characters ({name} in a prompt)",
                                             column_count=2, elem_id="sr-chars")
                yaml_code.render()
            with gr.Tab("Preview", id="preview"):
                with gr.Row():
                    prev_shot = gr.Dropdown(["whole song"], value="whole song", label="preview",
                                            allow_custom_value=True, elem_id="sr-prev-shot")
                    prev_btn = gr.Button("Preview animatic", variant="primary", elem_id="sr-preview")
                prev_note = gr.Markdown("", elem_id="sr-prev-note")
                prev_video = gr.HTML("", elem_id="sr-prev-html")
            with gr.Tab("Generate", id="generate"):
                with gr.Row():
                    est_btn = gr.Button("Estimate cost", elem_id="sr-estimate")
                    render_btn = gr.Button("Render the whole video", variant="primary", elem_id="sr-render")
                    stop_btn = gr.Button("Stop after the current clip", elem_id="sr-stop")
                est_text = gr.Markdown("", elem_id="sr-est-text")
                confirm = gr.Checkbox(label="I accept this cost", value=False, visible=False, elem_id="sr-confirm")
                est_dollars = gr.State(None)
                queue_box = gr.HTML(queue_html(), elem_id="sr-queue-box")
                with gr.Accordion("takes of one shot", open=True):
                    with gr.Row():
                        takes_shot = gr.Dropdown([], label="shot", allow_custom_value=True, elem_id="sr-takes-shot")
                        takes_n = gr.Number(value=3, label="takes", minimum=1, maximum=16, precision=0)
                        takes_btn = gr.Button("Make takes", elem_id="sr-make-takes")
                    takes_note = gr.Markdown("")
                    strip = gr.Image(label="takes", interactive=False, elem_id="sr-strip")
                    with gr.Row():
                        take_pick = gr.Radio([], label="use take", elem_id="sr-take")
                        pick_btn = gr.Button("Pick this take", elem_id="sr-pick")
                    pick_note = gr.Markdown("")
            with gr.Tab("Results", id="results"):
                res_video = gr.Video(label="the video", interactive=False, height=420, elem_id="sr-result-video")
                res_sync = gr.Markdown("no render yet", elem_id="sr-sync")
                res_sheet = gr.Image(label="contact sheet", interactive=False, elem_id="sr-sheet")
                res_files = gr.File(label="downloads: MP4, timeline (OTIO/EDL), subtitles, report",
                                    file_count="multiple",
                                    interactive=False, elem_id="sr-downloads")
                res_report = gr.JSON(label="sync report", elem_id="sr-report")
        shown_render = gr.State(None)
        shown_takes = gr.State(None)
        timer = gr.Timer(1.0)

        # the named API endpoints (gradio_client): hidden components, public names
        with gr.Row(visible=False):
            api_song = gr.File(type="filepath")
            api_yaml = gr.Textbox()
            api_json = gr.JSON()
            api_video = gr.File()
            api_report = gr.JSON()
            api_btn = gr.Button()
        api_btn.click(api_analyze, api_song, api_json, api_name="analyze")
        api_btn.click(api_plan, api_yaml, api_json, api_name="plan")
        api_btn.click(api_render, api_yaml, [api_video, api_report], api_name="render")

        shot_choices = [table, style, chars, status, shot_no, prev_shot, takes_shot]
        doc_outputs = [yaml_code, table, status, shot_no, prev_shot, takes_shot]
        yaml_code.input(from_text, [yaml_code, sb_name], shot_choices, **private)
        table.input(table_edited, [table, yaml_code, sb_name], doc_outputs, **private)
        style.input(style_edited, [style, chars, yaml_code, sb_name], [yaml_code, status], **private)
        chars.input(style_edited, [style, chars, yaml_code, sb_name], [yaml_code, status], **private)
        add_btn.click(add_shot, [f_prompt, f_length, f_at, f_transition, yaml_code, sb_name], doc_outputs, **private)
        upd_btn.click(update_shot, [shot_no, f_prompt, f_length, f_at, f_transition, f_backend, f_seed, f_takes,
                                    yaml_code, sb_name], doc_outputs, **private)
        del_btn.click(remove_shot, [shot_no, yaml_code, sb_name], doc_outputs, **private)
        shot_no.change(shot_fields, [shot_no, yaml_code, sb_name],
                       [f_prompt, f_length, f_at, f_transition, f_backend, f_seed, f_takes], **private)
        sb_name.change(open_storyboard, [sb_name], [yaml_code] + shot_choices, **private)
        save_btn.click(save, [yaml_code, sb_name], [status], **private)
        analyze_btn.click(use_song, [song_upload, song_pick, bpm, meter, yaml_code, sb_name],
                          [yaml_code] + shot_choices + [grid, song_info, song_pick, song_audio, song_upload],
                          **private)
        tempo_btn.click(apply_tempo, [bpm, meter, yaml_code, sb_name], [yaml_code, status], **private)
        prev_btn.click(preview, [prev_shot, yaml_code, sb_name], [prev_video, prev_note], **private)
        est_btn.click(estimate, [yaml_code, sb_name], [est_text, confirm, est_dollars], **private)
        render_btn.click(render_all, [yaml_code, sb_name, confirm, est_dollars], [queue_box], **private)
        stop_btn.click(stop_job, None, [est_text], **private)
        takes_btn.click(make_takes, [takes_shot, takes_n, yaml_code, sb_name, confirm], [queue_box], **private)
        pick_btn.click(pick, [takes_shot, take_pick, sb_name], [pick_note], **private)
        timer.tick(poll, [shown_render, shown_takes],
                   [queue_box, res_video, res_sync, res_sheet, res_files, res_report, shown_render,
                    strip, take_pick, takes_note, shown_takes], show_progress="hidden", **private)
        demo.load(open_storyboard, [sb_name], [yaml_code] + shot_choices, **private).then(
            song_of_storyboard, [yaml_code, sb_name], [grid, song_info, song_pick, song_audio], **private)
    return demo


def _choice_updates(rows: list) -> tuple:
    """New choices for the three shot pickers (edit, preview, takes) after the shot list changed."""
    import gradio as gr

    shots = [f"shot {i + 1}" for i in range(len(rows))]
    return gr.update(choices=shots), gr.update(choices=["whole song"] + shots), gr.update(choices=shots)


def _shot_number(value: Any, *, quiet: bool = False) -> int:
    text = str(value or "").strip().lower().replace("shot", "").strip()
    if text.isdigit():
        return int(text)
    if quiet:
        return 0
    from ..errors import InputError

    raise InputError(f"shot: got {value!r}, expected a shot number (1, 2, ...)")


def _rows(value: Any) -> list[list]:
    if value is None:
        return []
    if hasattr(value, "values") and hasattr(value, "columns"):  # a DataFrame
        return value.values.tolist()
    if isinstance(value, dict) and "data" in value:
        return list(value["data"])
    return [list(r) for r in value]


def _result_outputs(result: dict):
    s = result["sync"]
    sh = result["shots"]
    verdict = "on the beat" if s["on_beat"] else "OFF the beat"
    lines = [f"**sync:** largest cut error {s['max_cut_error_ms']:.1f} ms "
             f"(half a frame is {s['half_frame_ms']:.1f} ms): "
             f"{verdict}; video − audio {s['video_minus_audio_ms']:+.1f} ms; {s['video_frames']} frames "
             f"(planned {s['expected_frames']})",
             f"**shots:** {sh['generated']} generated, {sh['reused']} reused"]
    lines += [f"note: {w}" for w in result.get("warnings", [])]
    return (result["video"], "\n\n".join(lines), result.get("contact_sheet"), result["downloads"],
            json.loads(to_json(result["report"])))


def launch(root, *, host: str = "127.0.0.1", port: int = 7860, browser: bool = True,
           block: bool = True, max_upload: Optional[str] = None):
    """Start the studio server for ``root``; returns the Gradio app (when ``block`` is False)."""
    from .project import MAX_UPLOAD_BYTES

    studio = Studio(root)
    demo = build(studio)
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, share=False, inbrowser=browser,
                prevent_thread_lock=not block, allowed_paths=[str(studio.root)], ssr_mode=False,
                max_file_size=max_upload or MAX_UPLOAD_BYTES, css=CSS, quiet=True, footer_links=["api"])
    return demo
