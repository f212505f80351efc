"""The studio's named API endpoints (``/analyze``, ``/plan``, ``/render``) for gradio_client and scripts.

Each is a hidden button's event with a public ``api_name``; every other event on the page is private.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SongreelError
from .service import Studio


def mount(studio: Studio) -> None:
    """Add the endpoints to the ``gr.Blocks`` being built (call inside its ``with`` block)."""
    import gradio as gr

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
