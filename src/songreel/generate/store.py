"""Content-addressed clip store under ``.songreel/`` beside the storyboard.

Layout::

    .songreel/
      clips/<key>.mp4        the media, renamed into place only when complete
      clips/<key>.json       ClipRef + sha256 of the media; written last, so its presence means done
      frames/<sha>.png|.npy  lossless conditioning frames (last frame, tails, keyframes)
      analysis/<hash>.json   cached song analyses

A clip is reused only when its metadata exists and the media's checksum matches; a corrupt or
half-written file is regenerated, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import GenerationError
from ..schema.clip import ClipRef, FrameRef, GenerationRequest

TAIL_FRAMES = 9  # kept losslessly per clip: enough for an LTX 8m+1 prefix (m = 1)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


class ClipStore:
    """Clips and frames addressed by content.

    Parameters
    ----------
    root : Path
        The ``.songreel`` folder.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.clips = self.root / "clips"
        self.frames = self.root / "frames"
        self.clips.mkdir(parents=True, exist_ok=True)
        self.frames.mkdir(parents=True, exist_ok=True)

    # -- frames ------------------------------------------------------------------------------------

    def put_frame(self, pixels: np.ndarray) -> FrameRef:
        """Store one RGB frame ``(H, W, 3)`` uint8 losslessly (PNG); returns its reference."""
        pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        sha = _pixels_sha(pixels)
        path = self.frames / f"{sha}.png"
        if not path.exists():
            from io import BytesIO

            from PIL import Image

            buf = BytesIO()
            Image.fromarray(pixels).save(buf, format="PNG", compress_level=1)
            atomic_write_bytes(path, buf.getvalue())
        return FrameRef(path, sha, 1)

    def put_frames(self, pixels: np.ndarray) -> FrameRef:
        """Store a run of frames ``(k, H, W, 3)`` uint8 losslessly (``.npy``)."""
        pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        sha = _pixels_sha(pixels)
        path = self.frames / f"{sha}.npy"
        if not path.exists():
            from io import BytesIO

            buf = BytesIO()
            np.save(buf, pixels)
            atomic_write_bytes(path, buf.getvalue())
        return FrameRef(path, sha, int(pixels.shape[0]))

    # -- clips -------------------------------------------------------------------------------------

    def media_path(self, key: str) -> Path:
        return self.clips / f"{key}.mp4"

    def meta_path(self, key: str) -> Path:
        return self.clips / f"{key}.json"

    def get(self, key: str, *, verify: bool = True) -> Optional[ClipRef]:
        """The finished clip for ``key``, or None if absent, incomplete or corrupt."""
        meta = self.meta_path(key)
        media = self.media_path(key)
        if not (meta.exists() and media.exists()):
            return None
        try:
            doc = json.loads(meta.read_text())
            ref = ClipRef.from_dict(doc["clip"])
        except (ValueError, KeyError, TypeError):
            return None
        if verify:
            if media.stat().st_size != doc.get("size") or file_sha256(media) != doc.get("sha256"):
                return None
            for fr in (ref.last_frame, ref.tail):
                if fr is not None and not fr.path.exists():
                    return None
        return ref.with_(path=media, reused=True)

    def make(self, request: GenerationRequest, produce: Callable[[Path], "GenerationResult"]) -> ClipRef:  # noqa: F821
        """Return the clip for ``request``, generating it with ``produce(tmp_path)`` if not stored.

        ``produce`` writes the media to the temp path it is given; the store checks it decodes,
        keeps its tail frames losslessly, then renames it into place and writes the metadata.
        """
        key = request.key()
        found = self.get(key)
        if found is not None:
            return found
        media = self.media_path(key)
        # pid + thread: two threads making the same key must not share a temp file
        tmp = media.with_name(f".{key}.tmp-{os.getpid()}-{threading.get_ident()}.mp4")
        started = time.monotonic()
        try:
            result = produce(tmp)
            if not tmp.exists():
                raise GenerationError(f"{request.backend}: produced no file for shot clip {key}")
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            tail = result.tail_frames
            if tail is None:
                tail = _decode_tail(tmp, TAIL_FRAMES)
            tail = np.asarray(tail, dtype=np.uint8)[-TAIL_FRAMES:]
            last = self.put_frame(tail[-1])
            tail_ref = self.put_frames(tail)
            os.replace(tmp, media)
        finally:
            if tmp.exists():
                tmp.unlink()
        seconds = time.monotonic() - started
        ref = ClipRef(key=key, path=media, frames=result.frames, fps=Fraction(result.fps),
                      width=result.width, height=result.height, last_frame=last, tail=tail_ref,
                      reused=False, lead=int(request.context.get("lead", 0)),
                      provenance={**request.describe(), **result.provenance, "seconds": round(seconds, 3)})
        doc = {"schema": "songreel.Clip.1", "clip": ref.to_dict(), "sha256": file_sha256(media),
               "size": media.stat().st_size, "created": time.time()}
        atomic_write_bytes(self.meta_path(key), json.dumps(doc, indent=1).encode())
        return ref


def _pixels_sha(pixels: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(str(pixels.shape).encode())
    h.update(pixels.tobytes())
    return h.hexdigest()[:32]


def _decode_tail(path: Path, k: int) -> np.ndarray:
    """The last ``k`` frames of a media file as RGB uint8 (streamed; keeps only ``k``)."""
    from collections import deque

    import av

    keep: deque = deque(maxlen=k)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in c.decode(stream):
            keep.append(frame.to_ndarray(format="rgb24"))
    if not keep:
        raise GenerationError(f"{path}: the generated clip has no video frames")
    return np.stack(list(keep))
