"""The Ray actor that makes clips: one per GPU (or per CPU for CPU backends), its model loaded once.

It is a plain class (Ray wraps it with ``ray.remote`` in :mod:`songreel.generate.executors.ray`), so
this module imports nothing heavy. A clip request arrives with the pixels of its conditioning frames
(the worker may share no disk with the driver); the worker writes them into a scratch folder of its
own, calls the backend, and returns the media as bytes with the exact tail frames the backend kept.
The driver writes them into the content-addressed store: the worker never touches it.
"""

from __future__ import annotations

import inspect
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

CONDITIONING = ("first_frame", "last_frame", "prefix")


class ClipWorker:
    """Holds one backend instance (its model stays loaded between clips).

    Parameters
    ----------
    backend_cls : type
        The backend class, resolved by the driver (built-in, plug-in, or defined in the driver's script).
    spec : BackendSpec
    project : ProjectInfo
    field : str
        Where the spec sits in the storyboard, for messages.
    before_clip : callable, optional
        ``before_clip(where, request)`` is called before each clip (instrumentation, fault drills).
    """

    def __init__(self, backend_cls, spec, project, field: str = "backend",
                 before_clip: Optional[Callable] = None):
        from ..store import ClipStore

        if "field" in inspect.signature(backend_cls.__init__).parameters:
            self.backend = backend_cls(spec, project=project, field=field)
        else:
            self.backend = backend_cls(spec, project=project)
        self.before_clip = before_clip
        self.dir = Path(tempfile.mkdtemp(prefix="songreel-worker-"))
        self.scratch = ClipStore(self.dir, clean=False)
        self.where = _where()

    def describe(self) -> dict:
        """What the driver needs to build requests exactly as this worker's backend would."""
        b = self.backend
        return {"name": b.name, "version": str(b.version), "model": str(getattr(b, "model", "")),
                "capabilities": b.capabilities(), "key_context": dict(getattr(b, "key_context", dict)()),
                "max_concurrent": int(getattr(b, "max_concurrent", 1)), "where": dict(self.where)}

    def generate(self, request, frames: dict) -> dict:
        """Make one clip.

        Parameters
        ----------
        request : GenerationRequest
            As built by the driver; its frame references point at the driver's disk.
        frames : dict
            ``{"first_frame" | "last_frame" | "prefix": uint8 pixels}`` for the references it has.

        Returns
        -------
        dict
            ``media`` (bytes), ``frames``, ``fps``, ``width``, ``height``, ``provenance``, ``tail``
            (the backend's exact last frames, or None), ``where`` and ``seconds`` (work time here).
        """
        from ...errors import GenerationError
        from ...fileio import temp_path

        changes: dict[str, Any] = {}
        for name in CONDITIONING:
            ref = getattr(request, name)
            if ref is None:
                continue
            px = frames[name]
            local = self.scratch.put_frames(px) if ref.frames > 1 else self.scratch.put_frame(px)
            if local.sha256 != ref.sha256:
                raise GenerationError(f"{name}: conditioning pixels changed in transit ({ref.sha256[:12]} "
                                      f"became {local.sha256[:12]})")
            changes[name] = local
        request = request.with_(**changes) if changes else request
        if self.before_clip is not None:
            self.before_clip(dict(self.where), request)
        out = temp_path(self.scratch.media_path(request.key()))
        started = time.monotonic()
        try:
            result = self.backend.generate(request, out)
            seconds = time.monotonic() - started
            if not out.exists():
                raise GenerationError(f"{request.backend}: produced no file on worker {self.where['actor']}")
            media = out.read_bytes()
        finally:
            out.unlink(missing_ok=True)
            for ref in changes.values():   # conditioning frames are per clip; keep the scratch small
                Path(ref.path).unlink(missing_ok=True)
        tail = result.tail_frames
        return {"media": media, "frames": int(result.frames), "fps": str(result.fps), "width": int(result.width),
                "height": int(result.height), "provenance": dict(result.provenance),
                "tail": None if tail is None else __import__("numpy").asarray(tail, dtype="uint8"),
                "where": dict(self.where), "seconds": round(seconds, 3)}

    def close(self) -> None:
        """Free the model and the scratch folder."""
        close = getattr(self.backend, "close", None)
        if close:
            close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _where() -> dict:
    """This worker's node and actor, as the report shows them."""
    where = {"node": socket.gethostname(), "pid": os.getpid(), "actor": f"pid-{os.getpid()}", "gpus": []}
    try:
        import ray

        ctx = ray.get_runtime_context()
        where["node"] = f"{ray.util.get_node_ip_address()} ({socket.gethostname()})"
        where["node_id"] = ctx.get_node_id()[:12]
        actor = ctx.get_actor_id()
        if actor:
            where["actor"] = actor[:12]
        where["gpus"] = [str(g) for g in ray.get_gpu_ids()]
    except Exception:  # noqa: BLE001 - outside Ray (tests of the class itself) the fallbacks stand
        pass
    return where
