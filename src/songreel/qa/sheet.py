"""The review contact sheet: the export contact sheet with every shot's score and flags drawn on it.

Flagged shots get a red frame, their score and their flags in a band across the thumbnail, and a
rank ("worst #1") so the eye goes where the report points. The PNG carries a ``Software`` text chunk
naming songreel's review, so a later review may replace a sheet it wrote, and nothing else.
"""

from __future__ import annotations

import tempfile
from io import BytesIO
from pathlib import Path

from ..errors import OutputError

MARK = "songreel review"
RED = (214, 40, 40)
GREEN = (46, 160, 67)


def is_review_sheet(path: Path) -> bool:
    """Was ``path`` written by :func:`review_sheet`?"""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.format == "PNG" and im.info.get("Software") == MARK
    except (OSError, UnidentifiedImageError):
        return False


def review_sheet(edit, qa, out: Path, *, thumb_width: int = 320, columns: int = 4) -> Path:
    """Draw the review sheet of ``edit`` scored as ``qa`` to ``out`` (PNG, written atomically).

    Raises
    ------
    OutputError
        ``out`` exists and is not a review sheet songreel wrote, or cannot be written.
    """
    from PIL import Image, ImageDraw, PngImagePlugin

    from ..export.contact_sheet import contact_sheet, font
    from ..fileio import atomic_write_bytes

    out = Path(out)
    if out.exists() and not is_review_sheet(out):
        raise OutputError(f"{out}: already exists and is not a review sheet songreel wrote; choose another name")
    with tempfile.TemporaryDirectory(prefix="songreel-review-") as tmp:
        drawn = contact_sheet(edit, Path(tmp) / "sheet.png", thumb_width=thumb_width, columns=columns)
        with Image.open(drawn.path) as im:
            img = im.convert("RGB")
    draw = ImageDraw.Draw(img)
    f_badge, f_flag = font(14, bold=True), font(12, bold=True)
    rank = {n: k + 1 for k, n in enumerate(qa.worst)}
    for card, box in zip(qa.shots, drawn.boxes):
        x0, y0, x1, y1 = box
        colour = RED if card.flags else GREEN
        draw.rectangle((x0 - 3, y0 - 3, x1 + 2, y1 + 2), outline=colour, width=3)
        badge = f"{card.score:.2f}" + (f"  worst #{rank[card.shot]}" if card.shot in rank else "")
        bw = int(draw.textlength(badge, font=f_badge)) + 10
        draw.rectangle((x0, y0, x0 + bw, y0 + 20), fill=colour)
        draw.text((x0 + 5, y0 + 2), badge, font=f_badge, fill=(255, 255, 255))
        if card.flags:
            lines = list(card.flags)
            band = 4 + 16 * len(lines)
            draw.rectangle((x0, y1 - band, x1 - 1, y1 - 1), fill=(0, 0, 0))
            for k, flag in enumerate(lines):
                draw.text((x0 + 6, y1 - band + 2 + 16 * k), flag.replace("_", " "), font=f_flag, fill=(255, 120, 120))
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", MARK)
    buf = BytesIO()
    img.save(buf, format="PNG", pnginfo=info)
    try:
        atomic_write_bytes(out, buf.getvalue())
    except OSError as e:
        raise OutputError(f"{out}: cannot write the review sheet ({e.strerror or e})") from None
    return out
