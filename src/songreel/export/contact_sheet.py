"""The contact sheet: one captioned thumbnail per shot in story order, over a beat-grid strip.

What a director pins to the wall: each shot's middle frame with its number and name, start time,
bar.beat, section and prompt; under the grid, the whole song as a strip with sections coloured, bars
and beats ticked, transitions shaded and the shot boundaries drawn.

Frames are read by seeking in each clip and decoding only up to the wanted frame.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import InputError, MediaError, MissingFileError, OutputError
from ..fileio import temp_path
from ..schema.edit import Edit
from ..timebase import format_time

BG = (246, 245, 241)
INK = (30, 30, 30)
MUTED = (110, 110, 110)
SECTION_PALETTE = [(231, 111, 81), (42, 157, 143), (233, 196, 106), (38, 70, 83), (244, 162, 97),
                   (131, 56, 236), (58, 134, 255), (255, 0, 110), (106, 153, 78), (188, 108, 37)]


@dataclass(frozen=True)
class ContactSheet:
    """What :func:`contact_sheet` drew.

    Attributes
    ----------
    path : Path
    size : (int, int)
        Width, height in pixels.
    boxes : tuple of (x0, y0, x1, y1)
        The thumbnail of each shot, in story order (``x1``/``y1`` exclusive).
    strip : (x0, y0, x1, y1)
        The beat-grid strip.
    frames : tuple of int
        The project frame shown for each shot.
    """

    path: Path
    size: tuple[int, int]
    boxes: tuple[tuple[int, int, int, int], ...]
    strip: tuple[int, int, int, int]
    frames: tuple[int, ...]


def font(size: int, *, bold: bool = False):
    """DejaVu Sans from matplotlib's bundled fonts (wide Unicode cover), else Pillow's default font."""
    from PIL import ImageFont

    try:
        import matplotlib

        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        return ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts", "ttf", name), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size)


def decode_frame(path: Path | str, index: int, fps: Fraction | None = None) -> np.ndarray:
    """Decode one frame of a video file by seeking, not by reading it from the start.

    Parameters
    ----------
    path : Path or str
    index : int
        0-based frame number at ``fps``.
    fps : Fraction, optional
        The clip's frame rate (``ClipRef.fps``); default the stream's average rate.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` uint8 RGB: the frame showing at ``index / fps`` (the last one if the file is
        shorter).

    Raises
    ------
    MissingFileError, MediaError
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: clip file does not exist")
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise MediaError(f"{path}: no video stream, expected a video clip")
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            rate = Fraction(fps) if fps else Fraction(s.average_rate or 24)
            tb = s.time_base
            origin = Fraction(s.start_time * tb) if s.start_time is not None else Fraction(0)
            want = origin + Fraction(max(0, index)) / rate
            eps = Fraction(1, 2) / rate
            if want > origin:
                c.seek(int(want / tb), stream=s, backward=True, any_frame=False)
            best = None
            for frame in c.decode(s):
                if frame.pts is None:
                    t = want
                else:
                    t = Fraction(frame.pts) * tb
                if best is not None and t > want + eps:
                    break
                best = frame
                if abs(t - want) < eps:
                    break
            if best is None:
                raise MediaError(f"{path}: no decodable frame at frame {index}")
            return best.to_ndarray(format="rgb24")
    except av.FFmpegError as e:
        raise MediaError(f"{path}: cannot decode ({e})") from None


def middle_frame(edit: Edit, shot_index: int) -> tuple[int, np.ndarray]:
    """The project frame at the middle of a shot and its pixels, decoded from the clip holding it."""
    plan = edit.plan
    shot = plan.shots[shot_index]
    clips = edit.clips[shot_index]
    mid = (shot.start + shot.end - 1) // 2
    segs = shot.segments or ()
    j = 0
    seg_start = shot.render_start
    for k, g in enumerate(segs):
        if g.start <= mid < g.end:
            j, seg_start = k, g.start
            break
    clip = clips[min(j, len(clips) - 1)]
    # clip frame showing at project frame ``mid`` (clips may run at their own fps)
    t = Fraction(mid - seg_start) / Fraction(plan.fps)
    cfps = Fraction(clip.fps) if clip.fps else Fraction(plan.fps)
    idx = min(getattr(clip, "lead", 0) + int(t * cfps), max(0, clip.frames - 1))
    return mid, decode_frame(clip.path, idx, cfps)


def section_colour(label: str) -> tuple[int, int, int]:
    """A stable colour per section label."""
    h = int(hashlib.sha1(label.encode("utf-8")).hexdigest(), 16)
    return SECTION_PALETTE[h % len(SECTION_PALETTE)]


def _wrap(draw, text: str, fnt, width: int, max_lines: int) -> list[str]:
    words = " ".join(str(text).split()).split(" ")
    lines: list[str] = []
    cur = ""
    for w in words:
        trial = f"{cur} {w}".strip()
        if draw.textlength(trial, font=fnt) <= width:
            cur = trial
            continue
        if cur:
            lines.append(cur)
        # a word longer than the line: break it
        while draw.textlength(w, font=fnt) > width and len(w) > 1:
            n = len(w)
            while n > 1 and draw.textlength(w[:n], font=fnt) > width:
                n -= 1
            lines.append(w[:n])
            w = w[n:]
        cur = w
    if cur:
        lines.append(cur)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and draw.textlength(last + "…", font=fnt) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def _fit(draw, text: str, fnt, width: int) -> str:
    return _wrap(draw, text, fnt, width, 1)[0] if text else ""


def contact_sheet(edit: Edit, out_png: Path | str, *, thumb_width: int = 320, columns: int = 4,
                  strip_height: int = 110) -> ContactSheet:
    """Draw the contact sheet of an edit.

    Parameters
    ----------
    edit : Edit
    out_png : Path or str
        Written atomically (temp name + rename).
    thumb_width : int
        Thumbnail width in pixels (height follows the project aspect).
    columns : int
        Thumbnails per row.
    strip_height : int
        Height of the beat-grid strip.

    Returns
    -------
    ContactSheet
        Geometry of what was drawn (thumbnail boxes per shot).

    Raises
    ------
    InputError
        Bad sizes.
    MissingFileError, MediaError
        A clip cannot be read.
    OutputError
        The PNG cannot be written.
    """
    from PIL import Image, ImageDraw, ImageOps

    if thumb_width < 32 or columns < 1:
        raise InputError(f"contact sheet: got thumb_width={thumb_width}, columns={columns}; "
                         f"expected thumb_width >= 32 and columns >= 1")
    plan = edit.plan
    n = len(plan.shots)
    columns = min(columns, max(1, n))
    tw = int(thumb_width)
    th = max(8, int(round(tw * plan.height / plan.width)))
    pad, gap = 20, 14
    f_title, f_head, f_body, f_small = font(22, bold=True), font(14, bold=True), font(12), font(10)
    lh = 16
    caption_h = 2 * lh + 3 * 15 + 10
    cell_h = th + caption_h
    rows = -(-n // columns)
    header_h = 56
    width = 2 * pad + columns * tw + (columns - 1) * gap
    grid_top = pad + header_h
    strip_top = grid_top + rows * cell_h + (rows - 1) * gap + 24
    height = strip_top + strip_height + 40 + pad

    img = Image.new("RGB", (width, height), BG)
    draw = ImageDraw.Draw(img)

    # header
    fps = Fraction(plan.fps)
    fps_text = f"{float(fps):.3f}".rstrip("0").rstrip(".")
    draw.text((pad, pad), _fit(draw, plan.title or Path(edit.song).stem, f_title, width - 2 * pad),
              font=f_title, fill=INK)
    info = (f"{n} shot{'s' if n != 1 else ''} · {format_time(plan.total_frames / fps)} · {plan.tempo:.1f} BPM · "
            f"{plan.meter}/4 · {plan.width}×{plan.height} @ {fps_text} fps · {Path(edit.song).name}")
    draw.text((pad, pad + 30), _fit(draw, info, f_body, width - 2 * pad), font=f_body, fill=MUTED)

    boxes, frames = [], []
    for i, shot in enumerate(plan.shots):
        r, c = divmod(i, columns)
        x = pad + c * (tw + gap)
        y = grid_top + r * (cell_h + gap)
        mid, pixels = middle_frame(edit, i)
        thumb = ImageOps.fit(Image.fromarray(pixels), (tw, th), method=Image.Resampling.BILINEAR)
        img.paste(thumb, (x, y))
        boxes.append((x, y, x + tw, y + th))
        frames.append(mid)
        # caption
        cy = y + th + 6
        draw.text((x, cy), _fit(draw, f"{shot.index + 1:02d}  {shot.name}", f_head, tw), font=f_head, fill=INK)
        cy += lh + 2
        where = f"{format_time(shot.start / fps)} · bar {shot.position or '?'}"
        if shot.section:
            where += f" · {shot.section}"
        where += f" · {float(shot.frames / fps):.2f} s"
        if shot.section:
            sw = 8
            draw.rectangle((x, cy + 3, x + sw, cy + 3 + sw), fill=section_colour(shot.section))
            draw.text((x + sw + 4, cy), _fit(draw, where, f_body, tw - sw - 4), font=f_body, fill=MUTED)
        else:
            draw.text((x, cy), _fit(draw, where, f_body, tw), font=f_body, fill=MUTED)
        cy += lh + 2
        for line in _wrap(draw, shot.prompt, f_body, tw, 3):
            draw.text((x, cy), line, font=f_body, fill=INK)
            cy += 15

    strip = (pad, strip_top, width - pad, strip_top + strip_height)
    _beat_strip(draw, plan, strip, f_small)

    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(out_png)
    try:
        img.save(tmp, format="PNG")
        os.replace(tmp, out_png)
    except OSError as e:
        raise OutputError(f"{out_png}: cannot write the contact sheet ({e.strerror or e})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return ContactSheet(out_png, (width, height), tuple(boxes), strip, tuple(frames))


def _beat_strip(draw, plan, box, fnt) -> None:
    """The song as a strip: sections, transitions, beats, bars, shot boundaries."""
    from .markers import _bar_beat

    x0, y0, x1, y1 = box
    total = max(1, plan.total_frames)
    w = x1 - x0

    def X(frame) -> int:
        return x0 + int(round(w * min(max(frame, 0), total) / total))

    sec_h = 18
    # sections
    for label, a, b in plan.sections:
        if b <= 0 or a >= total:
            continue
        col = section_colour(label)
        draw.rectangle((X(a), y0, max(X(a), X(b) - 1), y0 + sec_h), fill=col)
        light = sum(col) / 3 > 150
        txt = _fit(draw, label, fnt, max(0, X(b) - X(a) - 6)) if X(b) - X(a) > 14 else ""
        if txt:
            draw.text((X(a) + 3, y0 + 3), txt, font=fnt, fill=INK if light else (255, 255, 255))
    # the track
    ty0, ty1 = y0 + sec_h + 4, y1 - 16
    draw.rectangle((x0, ty0, x1, ty1), fill=(255, 255, 255), outline=(200, 200, 200))
    # transitions shaded
    for s in plan.shots:
        t = s.transition
        if t is not None and t.frames > 0:
            draw.rectangle((X(t.start), ty0 + 1, max(X(t.start), X(t.end)), ty1 - 1), fill=(215, 215, 230))
    # beats and bars
    for f, bar, beat in _bar_beat(plan):
        if bar >= 1 and beat == 1:
            draw.line((X(f), ty0, X(f), ty1), fill=(120, 120, 120), width=1)
        else:
            draw.line((X(f), ty1 - (ty1 - ty0) // 3, X(f), ty1), fill=(190, 190, 190), width=1)
    # bar numbers, thinned to fit
    bars = [(f, bar) for f, bar, beat in _bar_beat(plan) if bar >= 1 and beat == 1]
    if bars:
        every = 1
        while every < len(bars) and (w / max(1, len(bars))) * every < 28:
            every *= 2
        for f, bar in bars:
            if (bar - 1) % every == 0:
                draw.text((X(f) + 2, y1 - 14), str(bar), font=fnt, fill=MUTED)
    # shot boundaries
    for s in plan.shots:
        draw.line((X(s.start), ty0 - 2, X(s.start), ty1 + 2), fill=INK, width=2)
        label = f"{s.index + 1}"
        if X(s.end) - X(s.start) > 12:
            draw.text((X(s.start) + 3, ty0 + 2), label, font=fnt, fill=INK)
    draw.line((X(total) - 1, ty0 - 2, X(total) - 1, ty1 + 2), fill=INK, width=2)


__all__ = ["contact_sheet", "ContactSheet", "decode_frame", "middle_frame", "section_colour", "font"]
