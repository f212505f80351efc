"""The studio page's handlers: each turns the page's component values into a :class:`Studio` call and
its answer back into component updates (and user errors into the CLI's one-line messages).

:func:`handlers` returns them as one namespace, made per page so they share the project's
:class:`~songreel.studio.service.Studio`; :mod:`.app` lays the page out and wires them to it.
This module is imported only when the page is built, so it imports gradio at the top.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr

from ..errors import SongreelError
from .service import Studio, to_json
from .storyboard_table import COLUMNS, doc_or_error, new_storyboard

log = logging.getLogger(__name__)


def _status(error: str, ok: str = "storyboard OK") -> str:
    if error:
        return f'<div id="sr-status-line" class="err">✗ {html.escape(error)}</div>'
    return f'<div id="sr-status-line" class="ok">✓ {html.escape(ok)}</div>'


def _video_tag(url: str, start: float, end: float, elem_id: str) -> str:
    # a media fragment plays just that shot of the preview, with the song, on the real grid
    frag = f"#t={start:.3f},{end:.3f}"
    return (f'<video id="{elem_id}" controls preload="auto" style="width:100%;max-width:960px" '
            f'src="{html.escape(url + frag)}"></video>')



def handlers(studio: Studio) -> SimpleNamespace:
    """The page's handlers over ``studio``, by name (``validate``, ``from_text``, ``use_song``, ``poll`` ...)."""

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

    # --- characters: sheets per look, reference pictures ----------------------------------------

    def character_gallery(chars: list) -> tuple:
        # the gallery: each look's sheet ("name · look"), then the reference pictures it adds; and the
        # re-roll choices
        items, choices = [], []
        for c in chars:
            for lk in c["looks"]:
                items.append((lk["sheet"], lk["caption"]))
                choices.append((lk["caption"], json.dumps([c["name"], lk["look"]])))   # label, value
                own = lk["refs"] if lk["look"] == "" else [r for r in lk["refs"] if r not in c["refs"]]
                items += [(ref, f"{lk['caption']} · reference {Path(ref).name}") for ref in own]
        return items, choices

    def show_characters(text, name, picked=None):
        try:
            chars = studio.characters(text, name)
        except SongreelError as e:
            raise gr.Error(str(e))
        items, choices = character_gallery(chars)
        seeds = ", ".join(f"{lk['caption']} seed {lk['seed']}" for c in chars for lk in c["looks"])
        note = (f"{len(chars)} characters, {len(choices)} sheets ({seeds})" if chars else
                "no characters yet: add them beside the table (name, description) or under characters:")
        values = [v for _label, v in choices]
        return items, gr.update(choices=choices, value=picked if picked in values else
                                (values[0] if values else None)), note

    def reroll_sheet(picked, text, name):
        try:
            who, look = json.loads(picked)
        except (TypeError, ValueError):
            raise gr.Error("sheet: choose a character's look to re-roll first")
        try:
            r = studio.reroll(text, name, str(who), str(look))
        except SongreelError as e:
            raise gr.Error(str(e))
        items, choices, _note = show_characters(text, name, picked)
        return items, choices, f"re-rolled {who} · {look or 'base'}: seed {r['previous']} → {r['seed']}"

    # --- preview ------------------------------------------------------------------------------

    def preview(number, text, name):
        n = _shot_number(number, quiet=True)
        try:
            p = studio.preview(text, name, shot=n if n > 0 else None)
        except SongreelError as e:
            raise gr.Error(str(e))
        what = f"shot {n}: {p['start']:.2f}–{p['end']:.2f} s" if n > 0 else "the whole song"
        return _video_tag(file_url(p["video"]), p["start"], p["end"], "sr-preview-video"), \
            f"animatic preview of {what} (480 lines, on the song's beat grid)"

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

    # --- starting points: a draft from a sentence, the demo --------------------------------------

    def _loaded(res: dict, song: str, note: str) -> tuple:
        # the new storyboard becomes the open one: its name, text, table, its song's grid, and a note
        info = studio.analyze(song)
        names = studio.project.storyboards()
        return ((gr.update(choices=names, value=res["name"]), res["text"]) + from_text(res["text"], res["name"]) +
                (info["plot"], song_summary(info), gr.update(choices=studio.project.songs(), value=info["song"]),
                 str(studio.root / info["song"]), None, note))

    def draft(upload, picked, concept, look, cut_every, llm, model, key_env, text, name):
        doc, _err = doc_or_error(text, name)
        video = doc.get("video") if doc is not None else None
        size = {k: video.get(k) for k in ("width", "height", "fps") if video.get(k) is not None} \
            if hasattr(video, "get") else {}
        try:
            song = studio.upload(upload, Path(upload).name, audio=True) if upload else picked
            if not song:
                song = doc.get("song") if doc is not None else None
            if not song:
                raise gr.Error("song: upload an audio file or pick one from the project folder, then draft")
            res = studio.draft(song, concept, look=look or None, cut_every=cut_every or None, llm=llm,
                               model=model, key_env=key_env, video=size)
            song = studio.song_path(song).relative_to(studio.root).as_posix()
            how = "offline" if res["source"] == "offline" else f"by {model} at {res['source']}"
            line = f"drafted {res['name']} ({how}): {res['shots']} shots"
            if res["notes"]:
                line += "; " + "; ".join(res["notes"])
            return _loaded(res, song, line)
        except SongreelError as e:
            raise gr.Error(str(e))

    def demo():
        try:
            res = studio.demo()
            return _loaded(res, res["song"], f"the demo is in the project folder: {res['name']} and {res['song']}; "
                                             "render it on the Generate tab (animatic: free, on this machine)")
        except SongreelError as e:
            raise gr.Error(str(e))

    return SimpleNamespace(**{k: v for k, v in locals().items() if callable(v) and k != "studio"})


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

