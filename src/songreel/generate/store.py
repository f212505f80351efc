"""Content-addressed clip store under ``.songreel/`` beside the storyboard.

Layout::

    .songreel/
      clips/<key>.mp4        the media, renamed into place only when complete
      clips/<key>.json       ClipRef + sha256 of the media; written last, so its presence means done
      frames/<sha>.png       lossless conditioning frames (last frame, keyframes) and tails (a clip's
                             final frames stacked top to bottom in one PNG; older stores: .npy)
      analysis/<hash>.json   cached song analyses
      qa/<key>.json          report-card measures of a shot, naming the clips they were taken from
      chunks/                encoded film chunks and the renders made from them (assemble/chunks.py)
      shots.sqlite           the shot-state journal (WAL): generations and hits per clip, shot states
      throughput.json        measured seconds of work per second of clip, per backend (for the ETA)

A clip is reused only when its metadata exists and the media's checksum matches; a corrupt or
half-written file is regenerated, never used. Every file is written to a temp name
(``.<name>.tmp-<pid>-<thread>``), fsynced and renamed, so a final name only ever holds a complete
file. Temp files left by a killed process are removed the next time the store is opened, once
their process id is no longer alive on this machine (a store shared between machines over a network
folder keeps them until ``songreel store gc``, which removes temps older than a day).

One job, the store's files and their integrity; it passes 450 lines only by the footage references and
tail trimming that keep what it holds small.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, overload

import numpy as np

from ..errors import GenerationError
from ..fileio import TEMP_RE, atomic_write_bytes, pid_alive, remove_stale_temps, temp_path  # noqa: F401
from ..schema.clip import ClipRef, FrameRef, GenerationRequest
from .base import TAIL_FRAMES

if TYPE_CHECKING:
    from .base import GenerationResult



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

    def __init__(self, root: Path, *, clean: bool = True):
        from .journal import ShotJournal

        self.root = Path(root).absolute()
        self.clips = self.root / "clips"
        self.frames = self.root / "frames"
        try:
            self.clips.mkdir(parents=True, exist_ok=True)
            self.frames.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            from ..errors import OutputError

            raise OutputError(f"{self.root}: cannot create the clip store here ({e.strerror or e}); "
                              "the storyboard's folder must be writable") from None
        self.journal = ShotJournal(self.root / "shots.sqlite")
        if clean:
            for folder in (self.clips, self.frames, self.root / "analysis"):
                remove_stale_temps(folder)

    # -- frames ------------------------------------------------------------------------------------

    def put_frame(self, pixels: np.ndarray) -> FrameRef:
        """Store one RGB frame ``(H, W, 3)`` uint8 losslessly (PNG); returns its reference."""
        def png(px, buf):
            from PIL import Image

            Image.fromarray(px).save(buf, format="PNG", compress_level=1)

        return self._put(pixels, ".png", png, frames=1)

    def put_frames(self, pixels: np.ndarray) -> FrameRef:
        """Store a run of frames ``(k, H, W, 3)`` uint8 losslessly: one PNG, frames stacked top to bottom.

        Measured on 9 frames at 1280x720 (``benchmarks/store_tails.py``): 24.9 MB as raw ``.npy``,
        0.9 MB for an animatic, 4.8–11.2 MB for real footage.
        """
        k = int(np.shape(pixels)[0])

        def stacked_png(px, buf):
            from PIL import Image

            Image.fromarray(px.reshape(k * px.shape[1], *px.shape[2:])).save(buf, format="PNG", compress_level=1)

        return self._put(pixels, ".png", stacked_png, frames=k)

    def _put(self, pixels, suffix: str, encode, *, frames: int) -> FrameRef:
        """Write ``pixels`` under their content hash once (atomic); later puts of the same pixels are free."""
        from io import BytesIO

        pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        sha = _pixels_sha(pixels)
        path = self.frames / f"{sha}{suffix}"
        if not path.exists():
            buf = BytesIO()
            encode(pixels, buf)
            atomic_write_bytes(path, buf.getvalue())
        return FrameRef(path, sha, frames)

    # -- clips -------------------------------------------------------------------------------------

    def media_path(self, key: str) -> Path:
        return self.clips / f"{key}.mp4"

    def meta_path(self, key: str) -> Path:
        return self.clips / f"{key}.json"

    def get(self, key: str, *, verify: bool = True, source: Optional[Path] = None) -> Optional[ClipRef]:
        """The finished clip for ``key``, or None if absent, incomplete or corrupt.

        ``source``: where the request now finds its footage file. A footage reference records the path it
        was made from; when the project folder has moved, the same file (same key, so same content) is
        found at ``source`` instead, and the reference follows it.
        """
        meta = self.meta_path(key)
        media = self.media_path(key)
        if not meta.exists():
            return None
        try:
            doc = json.loads(meta.read_text())
            ref = ClipRef.from_dict(doc["clip"])
        except (ValueError, KeyError, TypeError, OSError):
            return None
        # frames live in this store whatever folder (or working directory) the clip was made from
        ref = ref.with_(last_frame=self._here(ref.last_frame), tail=self._here(ref.tail))
        if ref.conform is not None:  # footage read from the user's file: nothing of it is stored here
            found = next((p for p in (Path(ref.conform.source), source) if p is not None and p.is_file()
                          and p.stat().st_size == doc.get("size")), None)
            if found is None or any(fr is not None and not fr.path.exists() for fr in (ref.last_frame, ref.tail)):
                return None
            if str(found) != ref.conform.source:
                moved = str(Path(found).resolve())
                ref = ref.with_(path=Path(moved), conform=dataclasses.replace(ref.conform, source=moved))
            return ref.with_(reused=True)
        if not media.exists():
            return None
        if verify:
            if media.stat().st_size != doc.get("size") or file_sha256(media) != doc.get("sha256"):
                return None  # corrupt: make() regenerates it under the same name
            for fr in (ref.last_frame, ref.tail):
                if fr is not None and not fr.path.exists():
                    return None
        return ref.with_(path=media, reused=True)

    @overload
    def _here(self, fr: FrameRef) -> FrameRef: ...
    @overload
    def _here(self, fr: None) -> None: ...
    def _here(self, fr: Optional[FrameRef]) -> Optional[FrameRef]:
        return None if fr is None else FrameRef(self.frames / Path(fr.path).name, fr.sha256, fr.frames)

    def make(self, request: GenerationRequest, produce: Callable[[Path], "GenerationResult"], *,
             tail_frames: int = TAIL_FRAMES) -> ClipRef:
        """Return the clip for ``request``, generating it with ``produce(tmp_path)`` if not stored.

        ``produce`` writes the media to the temp path it is given; the store checks it decodes,
        keeps its last ``tail_frames`` frames losslessly, then renames it into place and writes the
        metadata. Only a successor continuing from a video prefix needs more than the last frame:
        pass ``tail_frames=max(1, capabilities.video_prefix)`` to keep no more than that.
        """
        key = request.key()
        found = self.get(key, source=request.source)
        if found is not None:
            self.journal.hit(key)
            return found
        media = self.media_path(key)
        # metadata first: from here until the new metadata is written the key reads as absent
        self.meta_path(key).unlink(missing_ok=True)
        # pid + thread: two threads making the same key must not share a temp file
        tmp = temp_path(media)
        started = time.monotonic()
        try:
            result = produce(tmp)
            if getattr(result, "conform", None) is not None:
                return self._reference(key, request, result, started)
            if not tmp.exists():
                raise GenerationError(f"{request.backend}: produced no file for shot clip {key}")
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            k = max(1, int(tail_frames))
            tail = result.tail_frames
            if tail is None:
                tail = _decode_tail(tmp, k)
            tail = np.asarray(tail, dtype=np.uint8)
            tail = (tail[None] if tail.ndim == 3 else tail)[-k:]
            last = self.put_frame(tail[-1])
            tail_ref = self.put_frames(tail) if len(tail) > 1 else last
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
        self.journal.generated(key, backend=request.backend, model=request.model, seconds=seconds,
                               out_seconds=float(Fraction(result.frames) / Fraction(result.fps)))
        return ref

    def _reference(self, key: str, request: GenerationRequest, result, started: float) -> ClipRef:
        """Record a clip that is the user's own file conformed on the fly (no media written)."""
        last = tail_ref = None  # its frames are made from the source when asked for (sampling.clip_frame_rgb)
        if result.tail_frames is not None:
            tail = np.asarray(result.tail_frames, dtype=np.uint8)[-TAIL_FRAMES:]
            last, tail_ref = self.put_frame(tail[-1]), self.put_frames(tail)
        seconds = time.monotonic() - started
        src = Path(result.conform.source)
        ref = ClipRef(key=key, path=src, frames=result.frames, fps=Fraction(result.fps), width=result.width,
                      height=result.height, last_frame=last, tail=tail_ref, reused=False,
                      lead=int(request.context.get("lead", 0)), conform=result.conform,
                      provenance={**request.describe(), **result.provenance, "seconds": round(seconds, 3)})
        doc = {"schema": "songreel.Clip.1", "clip": ref.to_dict(), "sha256": result.conform.sha256,
               "size": src.stat().st_size, "created": time.time()}
        atomic_write_bytes(self.meta_path(key), json.dumps(doc, indent=1).encode())
        self.journal.generated(key, backend=request.backend, model=request.model, seconds=seconds,
                               out_seconds=float(Fraction(result.frames) / Fraction(result.fps)))
        return ref

    # -- bookkeeping -------------------------------------------------------------------------------

    def keys(self) -> list[str]:
        """Keys with metadata (finished clips, not verified)."""
        return sorted(p.stem for p in self.clips.glob("*.json") if not p.name.startswith("."))

    def meta(self, key: str) -> Optional[dict]:
        """The metadata document of a finished clip, or None."""
        try:
            return json.loads(self.meta_path(key).read_text())
        except (OSError, ValueError):
            return None

    def info(self) -> dict:
        """Sizes, counts, hits and generations: what ``songreel store info`` shows."""
        def size(paths):
            total = 0
            for p in paths:
                try:
                    total += p.stat().st_size
                except OSError:
                    pass
            return total

        keys = self.keys()
        history = self.journal.clips()
        temps = [p for d in (self.clips, self.frames) for p in d.iterdir() if TEMP_RE.match(p.name)]
        analysis = list((self.root / "analysis").glob("*.json")) if (self.root / "analysis").is_dir() else []
        return {
            "root": str(self.root),
            "clips": len(keys),
            "clip_bytes": size(p for p in self.clips.iterdir() if not TEMP_RE.match(p.name)),
            "frames": sum(1 for p in self.frames.iterdir() if not TEMP_RE.match(p.name)),
            "frame_bytes": size(p for p in self.frames.iterdir() if not TEMP_RE.match(p.name)),
            "analyses": len(analysis),
            "analysis_bytes": size(analysis),
            "hits": sum(int(history.get(k, {}).get("hits") or 0) for k in keys),
            "generations": sum(int(history.get(k, {}).get("generations") or 0) for k in keys),
            "temps": len(temps),
            "throughput": self.throughput(),
        }

    def gc(self, keep: set, *, dry_run: bool = False) -> dict:
        """Remove clips whose key is not in ``keep``, frames no kept clip refers to, and stale temps.

        Returns ``{"clips": [keys], "frames": [names], "temps": [names], "bytes": n}`` (what was, or
        with ``dry_run`` would be, removed).
        """
        gone_keys = [k for k in self.keys() if k not in keep]
        orphans = [p for p in self.clips.glob("*.mp4") if not p.name.startswith(".") and p.stem not in
                   set(self.keys())]
        wanted_frames: set = set()
        for k in self.keys():
            if k not in keep:
                continue
            doc = self.meta(k) or {}
            clip = doc.get("clip", {})
            for name in ("last_frame", "tail"):
                if clip.get(name):
                    wanted_frames.add(Path(clip[name]["path"]).name)
            prov = clip.get("provenance", {})
            for name in ("first_frame", "last_frame", "prefix"):
                if prov.get(name):
                    wanted_frames.update({f"{prov[name]}.png", f"{prov[name]}.npy"})
        frames = [p for p in self.frames.iterdir() if not TEMP_RE.match(p.name) and p.name not in wanted_frames]
        temps: list[Path] = []
        for d in (self.clips, self.frames):
            for p in d.iterdir():
                m = TEMP_RE.match(p.name)
                if not m:
                    continue
                if not pid_alive(int(m.group(1))):
                    temps.append(p)
                    continue
                try:   # a live writer's temp: stale after a day; it may be renamed into place meanwhile
                    stale = time.time() - p.stat().st_mtime > 86400
                except OSError:
                    stale = False
                if stale:
                    temps.append(p)
        victims = [self.meta_path(k) for k in gone_keys] + [self.media_path(k) for k in gone_keys] + \
            orphans + frames + temps
        from ..fileio import remove_files

        freed = remove_files(victims, dry_run=dry_run)
        if not dry_run:
            self.journal.forget(gone_keys)
        return {"clips": gone_keys, "frames": [p.name for p in frames], "temps": [p.name for p in temps],
                "orphans": [p.name for p in orphans], "bytes": freed}

    def trim_tails(self, *, keep: Optional[set] = None, frames: Optional[int] = None,
                   dry_run: bool = False) -> dict:
        """Shrink the lossless tails of finished clips; what ``songreel store gc`` calls.

        Every tail still kept as a raw ``.npy`` (stores written before tails were compressed, ~25 MB
        a clip at 720p) is rewritten as one lossless PNG (same pixels, same ``sha256``, so no clip
        key changes and nothing is regenerated). With ``frames``, tails longer than that are cut to
        their last ``frames`` frames — except, when ``keep`` is given, the tails of clips in
        ``keep`` (e.g. those a storyboard's video-prefix chaining continues from). A tail file is
        removed once no clip refers to it.

        Parameters
        ----------
        keep : set of str, optional
            Clip keys whose tails stay whole.
        frames : int, optional
            Longest tail to keep for the other clips (>= 1; 1 keeps only the last frame).
        dry_run : bool
            Report without changing anything.

        Returns
        -------
        dict
            ``{"clips": [keys changed], "removed": [file names], "bytes": bytes freed}``.
        """
        if frames is not None and frames < 1:
            raise ValueError(f"frames: got {frames}, expected 1 or more")
        changed: list[str] = []
        old_files: set[Path] = set()
        added = 0
        for key in self.keys():
            doc = self.meta(key)
            if not doc or not doc.get("clip", {}).get("tail"):
                continue
            tail = ClipRef.from_dict(doc["clip"]).tail
            if tail is None:   # a non-empty "tail" entry always reads back as a FrameRef
                continue
            ref = self._here(tail)
            keep_whole = keep is not None and key in keep
            want = ref.frames if frames is None or keep_whole else min(ref.frames, frames)
            if not ref.path.exists() or (ref.path.suffix == ".png" and want == ref.frames):
                continue
            changed.append(key)
            old_files.add(ref.path)
            if dry_run:
                continue
            px = np.asarray(ref.load())
            px = (px[None] if px.ndim == 3 else px)[-want:]
            target = np.ascontiguousarray(px if len(px) > 1 else px[-1], dtype=np.uint8)
            existed = (self.frames / f"{_pixels_sha(target)}.png").exists()
            new = self.put_frames(px) if len(px) > 1 else self.put_frame(px[-1])
            if not existed:
                added += new.path.stat().st_size
            doc["clip"]["tail"] = {"path": str(new.path), "sha256": new.sha256, "frames": new.frames}
            atomic_write_bytes(self.meta_path(key), json.dumps(doc, indent=1).encode())
        # a tail file goes once no clip refers to it any more
        still: set[str] = set()
        for key in self.keys():
            clip = (self.meta(key) or {}).get("clip", {})
            still.update(Path(clip[n]["path"]).name for n in ("last_frame", "tail") if clip.get(n))
        removed, freed = [], 0
        for p in sorted(old_files):
            if p.name in still and not dry_run:
                continue
            try:
                freed += p.stat().st_size
            except OSError:
                continue
            removed.append(p.name)
            if not dry_run:
                p.unlink(missing_ok=True)
        return {"clips": changed, "removed": removed, "bytes": max(0, freed - added)}

    # -- throughput (for the ETA) ------------------------------------------------------------------

    @property
    def throughput_path(self) -> Path:
        return self.root / "throughput.json"

    def throughput(self) -> dict:
        """``{backend: seconds of work per second of clip}`` measured on earlier runs."""
        try:
            doc = json.loads(self.throughput_path.read_text())
            return {str(k): float(v) for k, v in doc.get("rates", {}).items() if float(v) > 0}
        except (OSError, ValueError, AttributeError, TypeError):
            return {}

    def record_throughput(self, measured: dict) -> None:
        """Fold ``{backend: (work_seconds, clip_seconds)}`` into the remembered rates (even weights)."""
        rates = self.throughput()
        for name, (work, out) in measured.items():
            if out <= 0 or work <= 0:
                continue
            rate = work / out
            rates[name] = rate if name not in rates else 0.5 * rates[name] + 0.5 * rate
        try:
            atomic_write_bytes(self.throughput_path,
                               json.dumps({"schema": "songreel.Throughput.1", "rates": rates}, indent=1).encode())
        except OSError:
            pass


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
