"""The studio's page: its layout (Song, Shots, Preview, Generate, Results tabs) and the events wiring it.

Layout and wiring only: the handlers are in :mod:`.callbacks` (each a :class:`~songreel.studio.service.Studio`
call), the named API endpoints in :mod:`.endpoints`. User errors come back as the same one-line messages
the CLI prints (a red status line, or ``gr.Error``). One page, one storyboard at a time; the render queue
belongs to the project, so a reloaded page finds the running job and the last result again (the page
polls the queue once a second).
"""

from __future__ import annotations

import html
import logging
from typing import Optional

from .service import Studio
from .storyboard_table import COLUMNS, HEADERS

log = logging.getLogger(__name__)

CSS = """
#sr-status {font-family: ui-monospace, monospace; font-size: 0.9em}
#sr-status .ok {color: #2e7d32} #sr-status .err {color: #c62828}
.sr-bar {height: 12px; background: #e0e0e0; border-radius: 6px; overflow: hidden}
.sr-bar > div {height: 100%; background: #ef6c00}
"""


def build(studio: Studio):
    """The Gradio Blocks of one project's studio."""
    import gradio as gr

    from . import endpoints
    from .callbacks import _status, handlers

    h = handlers(studio)

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
                with gr.Accordion("start from a sentence, or from the demo", open=True):
                    with gr.Row():
                        d_concept = gr.Textbox(label="concept: the story in a sentence", scale=4,
                                               elem_id="sr-d-concept",
                                               placeholder="a couple's life, high school to old age")
                        d_look = gr.Dropdown(["cuts", "infinite-zoom"], value="cuts", label="look", scale=1,
                                             elem_id="sr-d-look")
                        d_every = gr.Textbox(label="cut every (optional)", placeholder="2 bars / 4 beats", scale=1,
                                             elem_id="sr-d-every")
                    with gr.Accordion("a language model writes the prompts (optional; offline without)", open=False):
                        with gr.Row():
                            d_llm = gr.Textbox(label="chat server URL (OpenAI-compatible)",
                                               placeholder="http://localhost:11434/v1", elem_id="sr-d-llm")
                            d_model = gr.Textbox(label="model", placeholder="llama3.1", elem_id="sr-d-model")
                            # the key stays in the server's environment: the page only names the variable
                            d_key_env = gr.Textbox(label="name of the environment variable holding the key",
                                                   value="OPENAI_API_KEY", elem_id="sr-d-key-env")
                    with gr.Row():
                        draft_btn = gr.Button("Draft a storyboard for this song", variant="primary",
                                              elem_id="sr-draft")
                        demo_btn = gr.Button("Start from the demo", elem_id="sr-demo")
                    d_note = gr.Markdown("", elem_id="sr-d-note")
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
                        # each look's character sheet and the reference pictures, "name · look"
                        char_gallery = gr.Gallery(label="character sheets and references", columns=2,
                                                  height="auto", object_fit="contain", interactive=False,
                                                  elem_id="sr-char-gallery")
                        with gr.Row():
                            show_chars_btn = gr.Button("Show sheets", elem_id="sr-show-sheets")
                            sheet_pick = gr.Dropdown([], label="sheet", elem_id="sr-sheet-pick")
                            reroll_btn = gr.Button("Re-roll sheet", elem_id="sr-reroll-sheet")
                        sheet_note = gr.Markdown("", elem_id="sr-sheet-note")
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
                queue_box = gr.HTML(h.queue_html(), elem_id="sr-queue-box")
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
        endpoints.mount(studio)

        shot_choices = [table, style, chars, status, shot_no, prev_shot, takes_shot]
        doc_outputs = [yaml_code, table, status, shot_no, prev_shot, takes_shot]
        yaml_code.input(h.from_text, [yaml_code, sb_name], shot_choices, **private)
        table.input(h.table_edited, [table, yaml_code, sb_name], doc_outputs, **private)
        style.input(h.style_edited, [style, chars, yaml_code, sb_name], [yaml_code, status], **private)
        chars.input(h.style_edited, [style, chars, yaml_code, sb_name], [yaml_code, status], **private)
        add_btn.click(h.add_shot, [f_prompt, f_length, f_at, f_transition, yaml_code, sb_name], doc_outputs, **private)
        upd_btn.click(h.update_shot, [shot_no, f_prompt, f_length, f_at, f_transition, f_backend, f_seed, f_takes,
                                      yaml_code, sb_name], doc_outputs, **private)
        del_btn.click(h.remove_shot, [shot_no, yaml_code, sb_name], doc_outputs, **private)
        shot_no.change(h.shot_fields, [shot_no, yaml_code, sb_name],
                       [f_prompt, f_length, f_at, f_transition, f_backend, f_seed, f_takes], **private)
        sb_name.change(h.open_storyboard, [sb_name], [yaml_code] + shot_choices, **private)
        save_btn.click(h.save, [yaml_code, sb_name], [status], **private)
        analyze_btn.click(h.use_song, [song_upload, song_pick, bpm, meter, yaml_code, sb_name],
                          [yaml_code] + shot_choices + [grid, song_info, song_pick, song_audio, song_upload],
                          **private)
        started = [sb_name, yaml_code] + shot_choices + [grid, song_info, song_pick, song_audio, song_upload,
                                                     d_note]
        draft_btn.click(h.draft, [song_upload, song_pick, d_concept, d_look, d_every, d_llm, d_model, d_key_env,
                                  yaml_code, sb_name], started, **private)
        demo_btn.click(h.demo, None, started, **private)
        tempo_btn.click(h.apply_tempo, [bpm, meter, yaml_code, sb_name], [yaml_code, status], **private)
        prev_btn.click(h.preview, [prev_shot, yaml_code, sb_name], [prev_video, prev_note], **private)
        est_btn.click(h.estimate, [yaml_code, sb_name], [est_text, confirm, est_dollars], **private)
        render_btn.click(h.render_all, [yaml_code, sb_name, confirm, est_dollars], [queue_box], **private)
        stop_btn.click(h.stop_job, None, [est_text], **private)
        takes_btn.click(h.make_takes, [takes_shot, takes_n, yaml_code, sb_name, confirm], [queue_box], **private)
        show_chars_btn.click(h.show_characters, [yaml_code, sb_name], [char_gallery, sheet_pick, sheet_note],
                             **private)
        reroll_btn.click(h.reroll_sheet, [sheet_pick, yaml_code, sb_name], [char_gallery, sheet_pick, sheet_note],
                         **private)
        pick_btn.click(h.pick, [takes_shot, take_pick, sb_name], [pick_note], **private)
        timer.tick(h.poll, [shown_render, shown_takes],
                   [queue_box, res_video, res_sync, res_sheet, res_files, res_report, shown_render,
                    strip, take_pick, takes_note, shown_takes], show_progress="hidden", **private)
        demo.load(h.open_storyboard, [sb_name], [yaml_code] + shot_choices, **private).then(
            h.song_of_storyboard, [yaml_code, sb_name], [grid, song_info, song_pick, song_audio], **private)
    return demo


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
