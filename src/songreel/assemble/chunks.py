"""The film encoded in closed-GOP chunks aligned to its cuts, each kept in the store by content.

A chunk is a span of output frames ``[start, end)`` whose boundaries are the film's seams: a hard cut,
and both edges of a transition (so a crossfade is a chunk of its own and editing one shot touches its
own stretch and the transitions either side, nothing else). Each chunk is encoded by its own encoder,
so it starts on an IDR frame and no frame refers outside it; the film is the chunks' packets in order
with their timestamps offset by the chunk's start, and the song muxed once.

A chunk's key is a hash of everything that decides its pixels (see :func:`chunk_keys`): the frame
span, the clips and placement of every shot that can show in it, transitions, camera moves, pulses,
colour tables, the overlay, and the encoder settings. Re-rendering after an edit encodes only the
chunks whose key changed and joins the rest by stream copy, so the result is the same file, frame for
frame and timestamp for timestamp, as a render from scratch.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional

#: bump when the way chunk pixels are made changes
CHUNK_VERSION = "1"

#: where the records of which chunks made each output live, under the cache root
RENDERS_DIR = "renders"


@dataclass(frozen=True)
class Chunk:
    """Frames ``[start, end)`` of the film and the content address of their encoded form."""

    start: int
    end: int
    key: str

    @property
    def frames(self) -> int:
        return self.end - self.start


def chunk_bounds(plan) -> list[tuple[int, int]]:
    """``[start, end)`` spans covering ``0 .. total_frames``, split at every seam.

    The infinite-zoom look is one continuous picture (every level shows inside the one around it):
    one chunk.
    """
    total = plan.total_frames
    cuts = {0, total}
    if plan.look != "infinite-zoom":
        for s in plan.shots[:-1]:
            t = s.transition
            if t is not None and t.frames:
                cuts.update((t.start, t.end))
            else:
                cuts.add(t.cut if t is not None else s.end)
    edges = sorted(c for c in cuts if 0 <= c <= total)
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _clip_doc(c) -> dict:
    return {"key": c.key, "frames": c.frames, "fps": str(c.fps), "size": [c.width, c.height], "lead": c.lead,
            "conform": c.conform.to_dict() if getattr(c, "conform", None) is not None else None}


def _shot_doc(edit, i: int, lut) -> dict:
    s = edit.plan.shots[i]
    t = s.transition
    prev = edit.plan.shots[i - 1].transition if i > 0 else None
    cam = s.camera
    doc = {"span": [s.start, s.end, s.head, s.tail], "fit": s.spec.conform,
           "segments": [[g.start, g.frames] for g in s.segments],
           "clips": [_clip_doc(c) for c in edit.clips[i]],
           "camera": None if cam is None else [cam.kind, cam.amount, cam.direction],
           "pulse": s.pulse, "interpolate": s.interpolate,
           "out": None if t is None else [t.kind, t.start, t.frames, t.cut],
           "in": None if prev is None else [prev.kind, prev.start, prev.frames, prev.cut],
           "lut": None if lut is None else hashlib.sha256(b"".join(x.tobytes() for x in lut.luts)).hexdigest()}
    if s.pulse and edit.analysis is not None:
        env = getattr(edit.analysis, "onset_envelope", None) or ()
        doc["envelope"] = [_digest([round(float(x), 7) for x in env]), float(edit.analysis.envelope_rate)]
    return doc


def chunk_keys(edit, bounds, *, encode, threads: int, luts=None, overlay_key=None) -> list[Chunk]:
    """Content addresses of the chunks ``bounds`` of ``edit``.

    Parameters
    ----------
    edit : Edit
    bounds : list of (start, end)
    encode : EncodeSpec
    threads : int
        Encoder threads asked for (0 = auto: the core count decides, so it is part of the key; x264's
        output depends on its thread count).
    luts : list, optional
        Per-shot colour tables (None entries: no change).
    overlay_key : str, optional
        What the overlay draws, when there is one.
    """
    plan = edit.plan
    common = {"v": CHUNK_VERSION, "size": [plan.width, plan.height], "fps": str(plan.fps),
              "encode": [encode.codec, encode.crf, encode.preset],
              "threads": threads or os.cpu_count(), "overlay": overlay_key}
    luts = luts or [None] * len(plan.shots)
    if plan.look == "infinite-zoom":
        lay = plan.layout
        zoom = {"levels": [repr(lv) for lv in lay.levels], "lam": _digest([round(x, 12) for x in lay.lam]),
                "feather": lay.feather, "direction": lay.direction,
                "clips": [[_clip_doc(c) | {"ctx": (c.provenance or {}).get("context", {})} for c in cs]
                          for cs in edit.clips]}
        return [Chunk(a, b, _digest({**common, "span": [a, b], "zoom": zoom})[:32]) for a, b in bounds]
    shot_docs: dict = {}
    out = []
    for a, b in bounds:
        shots = []
        for s in plan.shots:
            lo, hi = s.render_start, s.end + s.tail
            if lo < b and hi > a:
                if s.index not in shot_docs:
                    shot_docs[s.index] = _shot_doc(edit, s.index, luts[s.index])
                shots.append([s.index, shot_docs[s.index]])
        out.append(Chunk(a, b, _digest({**common, "span": [a, b], "shots": shots})[:32]))
    return out


class ChunkCache:
    """``<root>/<key>.mp4`` (video only) and ``<key>.json`` (frames, seam statistics, stats).

    ``<root>/renders/`` remembers which chunks made each output: one record per output file (its
    latest render), and a temp-named record per render in progress, so ``store gc`` can tell the
    chunks still in use from those an edit left behind.
    """

    def __init__(self, root: Path, *, clean: bool = True):
        from ..fileio import remove_stale_temps

        self.root = Path(root)
        if clean and self.root.is_dir():  # chunks a killed render was writing, and its in-flight record
            remove_stale_temps(self.root)
            remove_stale_temps(self.root / RENDERS_DIR)

    def media(self, key: str) -> Path:
        return self.root / f"{key}.mp4"

    def meta_path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, chunk: Chunk) -> Optional[dict]:
        """The chunk's metadata when its file is there and whole, else None."""
        try:
            doc = json.loads(self.meta_path(chunk.key).read_text())
            media = self.media(chunk.key)
            if doc.get("frames") != chunk.frames or media.stat().st_size != doc.get("size"):
                return None
        except (OSError, ValueError):
            return None
        return doc

    def temp(self, key: str) -> Path:
        from ..fileio import temp_path

        self.root.mkdir(parents=True, exist_ok=True)
        return temp_path(self.media(key))

    def put(self, chunk: Chunk, tmp: Path, doc: dict) -> None:
        """Move a finished chunk file into place, then its metadata (the key reads as absent until then)."""
        from ..fileio import atomic_write_bytes

        media = self.media(chunk.key)
        os.replace(tmp, media)
        doc = {**doc, "schema": "songreel.Chunk.1", "frames": chunk.frames, "size": media.stat().st_size}
        atomic_write_bytes(self.meta_path(chunk.key), json.dumps(doc).encode())

    def _record_path(self, out: Path) -> Path:
        name = hashlib.sha256(str(Path(out).resolve()).encode()).hexdigest()[:16]
        return self.root / RENDERS_DIR / f"{name}.json"

    def claim(self, chunks: list[Chunk]) -> Path:
        """Note that this process is rendering from ``chunks`` (a temp-named record: it goes stale
        with the process); remove the path returned when done."""
        from ..fileio import atomic_write_bytes

        path = self.root / RENDERS_DIR / f".inflight.tmp-{os.getpid()}-{threading.get_ident()}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps({"keys": [c.key for c in chunks]}).encode())
        return path

    def record(self, out: Path, keys: list[str], *, storyboard: Optional[str] = None) -> None:
        """Remember that ``out`` was just made from the chunks ``keys`` (replacing its earlier record)."""
        from ..fileio import atomic_write_bytes

        path = self._record_path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"schema": "songreel.ChunkRender.1", "output": str(Path(out).resolve()), "storyboard": storyboard,
               "written": time.time(), "keys": list(keys)}
        atomic_write_bytes(path, json.dumps(doc).encode())

    def records(self) -> list[dict]:
        """The finished renders' records (``output``, ``storyboard``, ``written``, ``keys``, ``path``)."""
        out = []
        for p in sorted((self.root / RENDERS_DIR).glob("[!.]*.json")):
            try:
                doc = json.loads(p.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict) and isinstance(doc.get("keys"), list):
                written = doc.get("written")
                out.append({**doc, "written": written if isinstance(written, (int, float)) else 0.0, "path": p})
        return out

    def in_flight(self) -> set:
        """Chunk keys claimed by renders still running."""
        from ..fileio import TEMP_RE, pid_alive

        keys: set = set()
        for p in (self.root / RENDERS_DIR).glob(".inflight*.json"):
            m = TEMP_RE.match(p.name)
            if m is None or not pid_alive(int(m.group(1))):
                continue
            try:
                keys.update(json.loads(p.read_text()).get("keys", ()))
            except (OSError, ValueError, AttributeError):
                continue
        return keys

    def keys(self) -> list[str]:
        """Keys of the chunks in the cache (media or metadata present)."""
        return sorted({p.stem for p in self.root.glob("*.mp4") if not p.name.startswith(".")}
                      | {p.stem for p in self.root.glob("*.json") if not p.name.startswith(".")})


def frame_offset(start: int, fps: Fraction, time_base: Fraction) -> int:
    """``start`` frames in ``time_base`` ticks (exact, or ValueError)."""
    ticks = Fraction(start) / Fraction(fps) / Fraction(time_base)
    if ticks.denominator != 1:
        raise ValueError(f"frame {start} at {fps} fps is not a whole number of {time_base} ticks")
    return int(ticks)
