"""Pictures in, clips out: conditioning images as providers want them, and checks on what comes back.

``frame_png``       a conditioning frame as PNG bytes (byte for byte when it already fits)
``reference_png``   a user's reference image (a character, a style) as PNG bytes
``data_uri``        ``data:image/png;base64,...`` for the APIs that document it (Runway, Replicate)
``probe_video``     decode every frame of a downloaded file; :class:`BadMedia` when it does not
``quantise``        the shortest allowed clip length that covers a segment
``ratio_of``        ``"16:9"`` from a size
"""

from __future__ import annotations

import base64
import math
from fractions import Fraction
from io import BytesIO
from pathlib import Path
from typing import Optional

import numpy as np

from ...errors import GenerationError, InputError
from ...schema.clip import FrameRef
from .types import BadMedia


def frame_png(ref: FrameRef, *, size: Optional[tuple] = None) -> bytes:
    """The conditioning image as PNG bytes: the stored file byte for byte when it is a PNG of the right size."""
    from PIL import Image

    if ref.path.suffix.lower() == ".png" and size is None:
        return ref.path.read_bytes()
    pixels = ref.load()
    if pixels.ndim == 4:  # a prefix: its last frame
        pixels = pixels[-1]
    im = Image.fromarray(pixels)
    if size is not None and im.size == tuple(size) and ref.path.suffix.lower() == ".png":
        return ref.path.read_bytes()
    if size is not None and im.size != tuple(size):
        from ...media import fit_frame

        im = Image.fromarray(fit_frame(np.asarray(im.convert("RGB")), int(size[0]), int(size[1]), "cover"))
    buf = BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def reference_png(path: Path) -> bytes:
    """A reference image file as PNG bytes (a PNG is sent byte for byte). Raises InputError when unreadable."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        data = path.read_bytes()
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            return data
        with Image.open(BytesIO(data)) as im:
            buf = BytesIO()
            im.convert("RGB").save(buf, format="PNG")
            return buf.getvalue()
    except FileNotFoundError:
        raise InputError(f"reference image {path}: no such file") from None
    except (UnidentifiedImageError, OSError):
        raise InputError(f"reference image {path}: not a readable image; expected PNG, JPEG or WebP") from None


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...``."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


def quantise(seconds: Fraction, allowed, *, what: str) -> int:
    """Shortest allowed duration >= ``seconds`` (a hair of rounding is forgiven)."""
    for d in sorted(allowed):
        if d + 1e-6 >= seconds:
            return int(d)
    raise GenerationError(f"{what}: a {float(seconds):.2f} s clip is longer than the longest allowed "
                          f"({max(allowed)} s); accepted: {', '.join(str(d) for d in sorted(allowed))} s")


def probe_video(path: Path) -> tuple[int, Fraction, int, int]:
    """Decode every frame of ``path``: (frames, fps, width, height). Raises BadMedia if it does not decode."""
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise BadMedia(f"{path.name}: no video stream")
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            n = 0
            width = height = 0
            for frame in c.decode(stream):
                if n == 0:
                    width, height = frame.width, frame.height
                n += 1
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    except BadMedia:
        raise
    except Exception as e:  # av.error.* and friends: a truncated or foreign file
        raise BadMedia(f"{path.name}: does not decode ({type(e).__name__}: {e})") from None
    if n == 0 or not rate:
        raise BadMedia(f"{path.name}: no decodable video frames")
    return n, Fraction(rate), width, height


def ratio_of(width: int, height: int) -> str:
    """``"16:9"`` style ratio of a size."""
    g = math.gcd(width, height)
    return f"{width // g}:{height // g}"
