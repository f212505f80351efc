"""The image-first workflow: a keyframe still per shot, a contact sheet to approve or re-roll, then
each approved keyframe animated by the shot's backend as its first frame.

A keyframe is the shot's prompt with its characters placed in the scene from their reference
pictures by the storyboard's image model (``images.edit_model``, else ``images.model``). It is
stored content-addressed (:mod:`songreel.generate.images`), so it is made once; re-rolling a shot
moves it to its next keyframe take (a new seed), recorded in ``<store>/keyframes/<storyboard>.json``.
The render reads the approved (current) take of each image-first shot and hands it to the runner as
the shot's first frame (``plan.extra["keyframes"]``).

Character sheets (a character with no pictures drawn once from their description by the text-to-
image model) live here too: the same store, the same seeds-as-takes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

from ..errors import InputError, UnknownNameError, did_you_mean
from ..schema.cast import shot_references
from .images import ImageRequest, ImageStore, make_image, open_image_model

TAKE_STEP = 7919
"""Seed step between takes (as clip takes)."""


@dataclass(frozen=True)
class Keyframe:
    """One shot's keyframe.

    Attributes
    ----------
    shot : int
        0-based shot index.
    name : str
        The shot's name.
    path : Path
        The stored PNG.
    key : str
        Its content address.
    take : int
        0-based keyframe take (each re-roll adds one).
    seed : int
    references : tuple of Path
        The reference pictures it was made from.
    made : bool
        False when it was already stored.
    """

    shot: int
    name: str
    path: Path
    key: str
    take: int
    seed: int
    references: tuple[Path, ...] = ()
    made: bool = False


@dataclass(frozen=True)
class KeyframesResult:
    """What :func:`songreel.keyframes` made: ``keyframes`` (in shot order), the ``contact_sheet`` PNG,
    and the ``plan`` they belong to."""

    keyframes: tuple
    contact_sheet: Path
    plan: object = None


@dataclass(frozen=True)
class CharacterSheet:
    """A character's generated sheet: ``path`` (PNG in the store), ``key``, ``seed``, ``look``."""

    name: str
    look: str
    path: Path
    key: str
    seed: int
    made: bool = False


def takes_file(store_dir: Path, sb) -> Path:
    name = sb.path.name if sb.path is not None else "storyboard"
    return Path(store_dir) / "keyframes" / f"{name}.json"


def read_takes(store_dir: Path, sb) -> dict:
    p = takes_file(store_dir, sb)
    try:
        return {int(k): int(v) for k, v in json.loads(p.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _write_takes(store_dir: Path, sb, takes: dict) -> None:
    from ..fileio import atomic_write_bytes

    p = takes_file(store_dir, sb)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(p, json.dumps({str(k): v for k, v in sorted(takes.items())}, indent=1).encode())


def keyframe_request(shot, plan, take: int = 0) -> ImageRequest:
    """The still request of ``shot``'s keyframe take ``take``: its full prompt, its seed (plus the take),
    the project size and every reference picture of its cast."""
    return ImageRequest(kind="keyframe", prompt=shot.prompt, seed=(shot.seed + TAKE_STEP * take) % 2**32,
                        width=plan.width, height=plan.height, references=shot_references(shot.cast),
                        negative=shot.negative)


def make_keyframes(sb, plan, store_dir: Path, *, reroll: Iterable[int] = (), model=None,
                   progress: Optional[Callable] = None) -> list:
    """Make (or reuse) the keyframe of every image-first shot of ``plan``.

    Parameters
    ----------
    sb : Storyboard
    plan : Plan
    store_dir : Path
        The project's store folder.
    reroll : iterable of int
        Shot indices to move to their next keyframe take first.
    model : optional
        An image model (default: the storyboard's ``images:``); opened once for all shots.
    progress : callable, optional
        ``progress(done, total, Keyframe)`` after each keyframe.

    Returns
    -------
    list of Keyframe
        In shot order.
    """
    shots = [plan.shots[i] for i in plan.extra.get("image_first", ())]
    takes = read_takes(store_dir, sb)
    rolled = set(reroll)
    if rolled:
        for i in rolled:
            takes[i] = takes.get(i, 0) + 1
        _write_takes(store_dir, sb, takes)
    images = ImageStore(store_dir)
    model = model or open_image_model(sb.images, which="keyframe", base_dir=sb.base_dir)
    out = []
    try:
        for n, shot in enumerate(shots):
            take = takes.get(shot.index, 0)
            req = keyframe_request(shot, plan, take)
            path, key, made = make_image(model, req, images)
            kf = Keyframe(shot.index, shot.name, path, key, take, req.seed, req.references, made)
            out.append(kf)
            if progress:
                progress(n + 1, len(shots), kf)
    finally:
        close = getattr(model, "close", None)
        if close:
            close()
    return out


def attach_keyframes(sb, plan, store_dir: Path, *, make: bool = True):
    """``plan`` with its image-first shots' approved keyframes in ``extra["keyframes"]``, for the
    runner to use as first frames: made when missing, or with ``make=False`` only those already stored
    (to find clip keys without running an image model). A plan with no image-first shot is returned as is."""
    if not plan.extra.get("image_first"):
        return plan
    if make:
        frames = {k.shot: str(k.path) for k in make_keyframes(sb, plan, store_dir)}
    else:
        from .images import image_key

        model = open_image_model(sb.images, which="keyframe", base_dir=sb.base_dir)
        takes, images = read_takes(store_dir, sb), ImageStore(store_dir)
        frames = {}
        for i in plan.extra["image_first"]:
            found = images.get(image_key(keyframe_request(plan.shots[i], plan, takes.get(i, 0)), model)[0])
            if found is not None:
                frames[i] = str(found)
    return plan.with_(extra={**plan.extra, "keyframes": frames})


def contact_sheet(keyframes: list, out: Path, *, width: int = 320, columns: int = 4) -> Path:
    """Write ``out`` (PNG or JPEG): every keyframe as a tile with ``N name · take T`` under it.

    Returns
    -------
    Path
    """
    import io

    from PIL import Image, ImageDraw

    from ..fileio import atomic_write_bytes
    from .animatic import font

    if not keyframes:
        raise InputError("no image-first shots: set keyframes: true on the storyboard or on a shot")
    tiles = []
    for kf in keyframes:
        with Image.open(kf.path) as src:
            rgb = src.convert("RGB")
        tiles.append(rgb.resize((width, max(2, round(rgb.height * width / rgb.width))), Image.Resampling.LANCZOS))
    th = max(t.height for t in tiles)
    label_h = max(14, width // 14)
    cols = min(columns, len(tiles))
    rows = -(-len(tiles) // cols)
    pad = 6
    sheet = Image.new("RGB", (cols * (width + pad) + pad, rows * (th + label_h + pad) + pad), (24, 24, 24))
    d = ImageDraw.Draw(sheet)
    f = font(max(9, label_h * 2 // 3))
    for k, (kf, tile) in enumerate(zip(keyframes, tiles)):
        x = pad + (k % cols) * (width + pad)
        y = pad + (k // cols) * (th + label_h + pad)
        sheet.paste(tile, (x, y))
        d.text((x + 2, y + th + 1), f"{kf.shot + 1} {kf.name} · take {kf.take + 1}", font=f, fill=(235, 235, 235))
    buf = io.BytesIO()
    fmt = "JPEG" if Path(out).suffix.lower() in (".jpg", ".jpeg") else "PNG"
    sheet.save(buf, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    atomic_write_bytes(Path(out), buf.getvalue())
    return Path(out)


def sheet_request(sb, name: str, *, look: str = "", seed: Optional[int] = None,
                  width: int = 768, height: int = 512) -> ImageRequest:
    """The text-to-image request of ``name``'s character sheet (of ``look``, if given)."""
    if name not in sb.characters:
        raise UnknownNameError(f'character: got "{name}"{did_you_mean(name, sb.characters)}; known: '
                               f"{', '.join(sorted(sb.characters)) or 'none (add characters: to the storyboard)'}")
    c = sb.characters[name]
    description = c.description
    if look:
        if look not in c.looks:
            raise UnknownNameError(f'look: got "{look}"{did_you_mean(look, c.looks)}; {name} has: '
                                   f"{', '.join(sorted(c.looks)) or 'none'}")
        description = c.looks[look].description or description
    if seed is None:
        seed = c.seed if c.seed is not None else int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    prompt = f"character sheet of {description}, front view, three-quarter view, side view, plain background"
    if sb.style:
        prompt += f", {sb.style}"
    scale = min(1.0, sb.images.max_side / max(width, height))   # a 3:2 sheet within images.max_side
    width, height = (max(16, int(round(v * scale / 16)) * 16) for v in (width, height))
    return ImageRequest(kind="sheet", prompt=prompt, seed=int(seed) % 2**32, width=width, height=height)


def make_sheet(sb, name: str, store_dir: Path, *, look: str = "", seed: Optional[int] = None,
               model=None) -> CharacterSheet:
    """Make (or reuse) ``name``'s character sheet with the storyboard's text-to-image model.

    A new ``seed`` re-rolls it; the same seed gives back the stored picture without running a model.
    """
    req = sheet_request(sb, name, look=look, seed=seed)
    model = model or open_image_model(sb.images, which="sheet", base_dir=sb.base_dir)
    path, key, made = make_image(model, req, ImageStore(store_dir))
    return CharacterSheet(name, look, path, key, req.seed, made)
