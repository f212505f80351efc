"""The actor pool behind the Ray executor: one backend spec's actors, handed out one clip at a time,
and the proxy backend the runner calls in place of the real one (see :mod:`.ray`)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path

from ...errors import GenerationError, SongreelError
from ..base import GenerationResult
from .ray_worker import CONDITIONING, ClipWorker

log = logging.getLogger(__name__)


class Pool:
    """The actors of one backend spec, handed out one clip at a time.

    Requests and keys are built on the driver from the driver's own instance of the backend (so a
    key never depends on which machine computed it); the actors, started on the first clip that is
    not in the store, must describe the same capabilities and key context, or nothing is generated.
    """

    def __init__(self, executor, spec, field: str, driver_backend, project, planned: int, gpus: float):
        self.executor = executor
        self.spec = spec
        self.field = field
        self.driver_backend = driver_backend
        self.project = project
        self.planned = planned
        self.gpus = gpus
        self.handles: list = []
        self.started = False
        self.idle: queue.Queue = queue.Queue()
        self.retried = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self.proxy = RemoteBackend(self, driver_backend)

    @property
    def size(self) -> int:
        return len(self.handles) if self.started else self.planned

    def start(self) -> None:
        """Start the actors (each loads its model once) and check they agree with the driver."""
        from .. import registry

        with self._lock:
            if self.started:
                return
            ray = self.executor.ray
            cls = registry.backend_class(self.spec.name, field=self.field)
            actor = ray.remote(ClipWorker).options(num_gpus=self.gpus, num_cpus=0 if self.gpus > 0 else 1,
                                                   max_restarts=self.executor.restarts, max_task_retries=0)
            handles = [actor.remote(cls, self.spec, self.project, self.field, self.executor.before_clip)
                       for _ in range(self.planned)]
            try:
                descs = ray.get([h.describe.remote() for h in handles])
            except ray.exceptions.RayTaskError as e:
                for h in handles:
                    ray.kill(h, no_restart=True)
                cause = getattr(e, "cause", None)
                if isinstance(cause, SongreelError):
                    raise cause from None
                raise GenerationError(f"{self.field}: backend {self.spec.name} failed to start on a Ray worker: "
                                      f"{cause or e}") from None
            b = self.driver_backend
            here = {"capabilities": b.capabilities(), "key_context": dict(getattr(b, "key_context", dict)()),
                    "version": str(b.version), "model": str(getattr(b, "model", ""))}
            for d in descs:
                for k, v in here.items():
                    if d[k] != v:
                        for h in handles:
                            ray.kill(h, no_restart=True)
                        raise GenerationError(
                            f"{self.field}: the Ray worker on {d['where']['node']} resolves backend {self.spec.name}'s "
                            f"{k.replace('_', ' ')} to {d[k]!r}, this machine to {v!r}; clips would not match their "
                            "keys (set device and dtype explicitly, and use the same software on every node)")
            self.handles = handles
            for h in handles:
                self.idle.put(h)
            self.started = True
            log.info("ray: %d %s worker(s), %g GPU each", len(handles), self.spec.name, self.gpus)

    def call(self, request, frames: dict) -> dict:
        """Run one clip on the next idle actor; on a dead worker, the next one (bounded)."""
        self.start()
        ray = self.executor.ray
        lost = (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.ObjectLostError)
        attempts = 0
        while True:
            handle = self._acquire()
            try:
                reply = ray.get(handle.generate.remote(request, frames))
            except ray.exceptions.RayTaskError as e:   # the backend raised on the worker
                self.idle.put(handle)
                cause = getattr(e, "cause", None)
                if isinstance(cause, SongreelError):
                    raise cause from None
                raise GenerationError(f"{self.spec.name} on a Ray worker: {type(cause).__name__ if cause else ''}"
                                      f"{': ' if cause else ''}{cause or e}") from None
            except lost as e:
                attempts += 1
                with self._lock:
                    self.retried += 1
                # the actor is not handed out again until it answers: Ray restarts it (its model
                # reloads, on another node if its node is gone) or it is dropped
                threading.Thread(target=self._revive, args=(handle,), daemon=True,
                                 name="ray-revive").start()
                log.warning("ray: a %s worker died during a clip (%s); sending it again (%d/%d)", self.spec.name,
                            type(e).__name__, attempts, self.executor.retries)
                if attempts > self.executor.retries:
                    raise GenerationError(f"{self.spec.name}: Ray workers died {attempts} times making one clip "
                                          f"(last: {type(e).__name__}); finished clips are kept") from None
                continue
            self.idle.put(handle)
            return reply

    def _revive(self, handle, *, patience: float = 600.0) -> None:
        """Wait until a failed actor answers again (back to the idle queue) or is dead for good (dropped)."""
        ray = self.executor.ray
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            try:
                ray.get(handle.describe.remote(), timeout=60)
            except ray.exceptions.ActorDiedError:
                break
            except Exception:  # noqa: BLE001 - restarting (unavailable) or slow to load: ask again
                time.sleep(1.0)
                continue
            self.idle.put(handle)
            return
        with self._lock:
            self.handles = [h for h in self.handles if h is not handle]
            self.dropped += 1
        log.warning("ray: dropped a %s worker that did not come back", self.spec.name)

    def _acquire(self):
        while True:
            try:
                return self.idle.get(timeout=1.0)
            except queue.Empty:
                if not self.handles:
                    raise GenerationError(f"{self.spec.name}: every Ray worker for this backend died") from None

    def close(self) -> None:
        if not self.started:
            return
        ray = self.executor.ray
        try:
            ray.get([h.close.remote() for h in self.handles], timeout=30)
        except Exception:  # noqa: BLE001 - a worker that is gone has nothing left to free
            pass
        for h in self.handles:
            try:
                ray.kill(h, no_restart=True)
            except Exception:  # noqa: BLE001
                pass


class RemoteBackend:
    """A backend whose ``generate`` runs on a pool's actors; everything else is the driver's instance."""

    def __init__(self, pool: Pool, local):
        self.pool = pool
        self.local = local
        self.name = local.name
        self.version = local.version
        self.model = getattr(local, "model", "")

    @property
    def workers(self) -> int:
        return max(1, self.pool.size)

    def capabilities(self):
        return self.local.capabilities()

    def key_context(self) -> dict:
        return dict(getattr(self.local, "key_context", dict)())

    def generate(self, request, out: Path) -> GenerationResult:
        frames = {}
        for name in CONDITIONING:
            ref = getattr(request, name)
            if ref is not None:
                frames[name] = ref.load()
        sent = time.monotonic()
        reply = self.pool.call(request, frames)
        Path(out).write_bytes(reply["media"])
        where = dict(reply["where"], seconds=reply["seconds"],
                     overhead_s=round(time.monotonic() - sent - reply["seconds"], 4))
        return GenerationResult(path=Path(out), frames=reply["frames"], fps=Fraction(reply["fps"]),
                                width=reply["width"], height=reply["height"],
                                provenance={**reply["provenance"], "worker": where}, tail_frames=reply["tail"])

    def close(self) -> None:
        """The pool's actors are closed by the executor."""
