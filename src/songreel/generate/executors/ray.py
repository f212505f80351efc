"""The Ray executor: a plan's shots spread over the GPUs of a Ray cluster; the same clips, key for key.

How the work is split:

* The driver (this process) runs the same runner as a local render: it builds every request, computes
  every key, checks the store, chains segments and journals shot states. Only the model call moves:
  a backend that makes pixels on a GPU (diffusers, plug-ins, the animatic) is replaced by a proxy
  whose ``generate`` sends the request, with the pixels of its conditioning frames, to an idle actor.
  So a clip already in the store is never sent anywhere, and a clip's bytes come back through Ray's
  object store and are written here, atomically, into the content-addressed store (no shared disk
  is needed; the workers never write it).
* One actor per GPU (``num_gpus`` per actor = the shot's need, e.g. ``backend: {parallel: 2}``) keeps
  its model loaded for every clip it makes. A CPU backend (animatic, diffusers on ``device: cpu``)
  gets one actor per CPU. Actors start on the first clip that is not in the store (a render with
  everything stored starts none), and must describe their backend exactly as the driver does
  (capabilities, and the key context, which may depend on device and dtype), or nothing is made.
* Independent shots run in parallel, longest chain first; the segments of a shot stay in order on the
  driver (each is conditioned on the previous one's stored frames, possibly made by another actor);
  a shot ending on the next shot's first frame (``last_frame: next``) starts when that shot is done.
* Backends that pay or read local files run on the driver: hosted APIs (their no-double-pay journal
  is the driver's SQLite store, and their ``max_concurrent`` is enforced here, so it holds for the
  whole cluster) and ``footage`` (the user's files are on this machine).

Faults: an actor that dies mid-clip (process or node lost) is restarted by Ray (``max_restarts``,
possibly on another node) and the clip goes to the next idle actor, at most ``retries`` times; an
actor that keeps dying is dropped. Clips finished before the failure are in the store already. A
killed driver takes its actors with it (they are not detached); rerunning the render resumes from the
store like a local render.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from fractions import Fraction
from typing import Callable, Optional

from ...errors import InputError
from .ray_pool import Pool, RemoteBackend

log = logging.getLogger(__name__)

DRIVER_ONLY = ("footage",)
"""Backends that read the user's local files: always run on the driver."""


def runs_on_driver(backend) -> bool:
    """Hosted (paid) backends and footage stay on the driver; everything else goes to workers."""
    return getattr(backend, "billed_seconds", None) is not None or backend.name in DRIVER_ONLY


CPU_BACKENDS = ("animatic",)
"""Backends that never use a GPU: one actor per CPU."""


def gpus_per_worker(backend, spec) -> Optional[float]:
    """GPUs one clip of ``spec`` needs: the backend's ``num_gpus`` if it declares one; for diffusers
    ``parallel`` (default 1), or 0 on ``device: cpu``; 0 for CPU backends; else None (one GPU if the
    cluster has any, a CPU otherwise)."""
    declared = getattr(backend, "num_gpus", None)
    if declared is not None:
        return float(declared)
    if backend.name == "diffusers":
        if str(spec.options.get("device", "auto")).lower() == "cpu":
            return 0.0
        return float(spec.options.get("parallel", 1) or 1)
    if backend.name in CPU_BACKENDS:
        return 0.0
    return None


class RayExecutor:
    """Generate on a Ray cluster.

    Parameters
    ----------
    address : str, optional
        The cluster (``ray://head:10001``, ``auto``, ``host:6379``); None joins the Ray instance already
        started in this process, or starts a local one.
    retries : int
        Times a clip is sent again after its worker died (each time to the next idle actor).
    restarts : int
        Times Ray restarts a dead actor (its model reloads) before it is dropped.
    max_workers : int, optional
        At most this many actors per backend (default: as many as the cluster's GPUs/CPUs allow).
    before_clip : callable, optional
        Run in the worker before each clip: ``before_clip(where, request)`` (instrumentation, fault drills).
    init : dict, optional
        Extra ``ray.init`` arguments when this executor starts or joins the cluster.
    """

    name = "ray"

    def __init__(self, address: Optional[str] = None, *, retries: int = 3, restarts: int = 3,
                 max_workers: Optional[int] = None, before_clip: Optional[Callable] = None,
                 init: Optional[dict] = None):
        import ray

        self.ray = ray
        self.address = address
        self.retries = int(retries)
        self.restarts = int(restarts)
        self.max_workers = max_workers
        self.before_clip = before_clip
        self._pools: dict = {}
        self._started = False
        if not ray.is_initialized():
            try:
                ray.init(address=address, log_to_driver=False, **(init or {}))
            except (ConnectionError, ValueError, RuntimeError) as e:
                where = address or "a new local instance"
                raise InputError(f"ray_address: cannot connect to the Ray cluster at {where}: "
                                 f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
            self._started = True
        self.parallelism = 1

    # -- backends -------------------------------------------------------------------------------------

    def backends(self, backends, plan=None):
        """Wrap ``backends`` so GPU backends become proxies to actor pools (started here, once)."""
        wrapped = _RayBackends(self, backends)
        if plan is not None:
            specs: dict = {}
            for s in plan.shots:
                specs.setdefault(hash(s.backend), (s.backend, f"shots[{s.index}].backend", []))[2].append(s)
            remote = []
            for spec, field, shots in specs.values():
                b = backends.get(spec, field=field)
                if not runs_on_driver(b):
                    remote.append((spec, field, b, len(shots)))
            for spec, field, b, n in remote:
                wrapped.pool(spec, field, b, shots=n, share=len(remote))
            sizes = [p.planned for p in self._pools.values()]
            self.parallelism = max(sizes) if sizes else 1
        return wrapped

    def _make_pool(self, spec, field: str, driver_backend, project, *, shots: int, share: int) -> "Pool":
        """A pool sized for the cluster; its actors start when the first clip that is not stored needs one."""
        ray = self.ray
        gpus = gpus_per_worker(driver_backend, spec)
        res = ray.cluster_resources()
        if gpus is None:
            gpus = 1.0 if float(res.get("GPU", 0)) >= 1 else 0.0
        if gpus > 0:
            have = float(res.get("GPU", 0))
            if have < gpus:
                raise InputError(f"{field}: backend {spec.name} needs {gpus:g} GPU(s) per worker; the Ray cluster "
                                 f"has {have:g} (check `ray status`, or set device: cpu)")
            n = int(have // gpus) // max(1, share)
        else:
            n = int(res.get("CPU", 1)) // max(1, share)
        n = max(1, min(n, shots, self.max_workers or n))
        return Pool(self, spec, field, driver_backend, project, n, gpus)

    # -- scheduling -----------------------------------------------------------------------------------

    def run_shots(self, shots, run, backends) -> None:
        """``run(shot)`` for every shot: in parallel across the pools, a ``last_frame: next`` shot after
        its next shot, longest chain first."""
        self._schedule([(s, None) for s in shots], run, backends, follow_next=True)

    def run_takes(self, pairs, run, backends) -> None:
        """``run(shot, take)`` for every candidate take, in parallel across the pools."""
        self._schedule(list(pairs), run, backends, follow_next=False)

    def _schedule(self, tasks, run, backends, *, follow_next: bool) -> None:
        if not tasks:
            return
        index = {s.index for s, _ in tasks}
        after: dict = {}   # shot index -> the shot index it waits for
        if follow_next:
            for s, _ in tasks:
                if s.spec.last_frame == "next" and s.index + 1 in index:
                    after[s.index] = s.index + 1
        weight: dict = {}

        def chain(i: int) -> int:   # clips on the longest path that starts at shot i
            if i not in weight:
                s = next(t for t, _ in tasks if t.index == i)
                waiting = [j for j, k in after.items() if k == i]
                weight[i] = len(s.segments) + max((chain(j) for j in waiting), default=0)
            return weight[i]

        slots: dict = {}
        for s, _ in tasks:
            g = hash(s.backend)
            if g not in slots:
                b = backends.get(s.backend, field=f"shots[{s.index}].backend")
                slots[g] = b.workers if isinstance(b, RemoteBackend) else max(1, int(getattr(b, "max_concurrent", 1)))
        busy = dict.fromkeys(slots, 0)
        pending = sorted(tasks, key=lambda t: (-chain(t[0].index), t[0].index, t[1] or 0))
        done: set = set()
        running: dict = {}
        error: Optional[BaseException] = None
        with ThreadPoolExecutor(max_workers=sum(slots.values()), thread_name_prefix="ray-driver") as pool:
            while (pending and error is None) or running:
                if error is None:
                    for t in list(pending):
                        s, take = t
                        g = hash(s.backend)
                        if busy[g] >= slots[g] or (s.index in after and after[s.index] not in done):
                            continue
                        busy[g] += 1
                        pending.remove(t)
                        running[pool.submit(run, s) if take is None else pool.submit(run, s, take)] = t
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for f in finished:
                    s, take = running.pop(f)
                    busy[hash(s.backend)] -= 1
                    done.add(s.index)
                    if f.exception() is not None and error is None:
                        error = f.exception()   # an input error: let the running shots finish, start no more
        if error is not None:
            raise error

    # -- report ---------------------------------------------------------------------------------------

    def describe(self, plan, summary) -> dict:
        """The report's ``executor`` section: the cluster, the pools, and per shot where its clips were made."""
        pools = [{"backend": p.spec.name, "workers": len(p.handles), "planned": p.planned, "gpus_per_worker": p.gpus,
                  "retried": p.retried, "dropped": p.dropped} for p in self._pools.values()]
        shots = []
        for i, clips in enumerate(getattr(summary, "clips", None) or ()):
            if not clips:
                continue
            workers = []
            seconds = 0.0
            for c in clips:
                if c.reused:
                    continue
                w = c.provenance.get("worker")
                if w:
                    workers.append({"node": w.get("node"), "actor": w.get("actor"), "seconds": w.get("seconds")})
                    seconds += float(w.get("seconds") or 0.0)
                else:   # made on the driver (hosted, footage)
                    workers.append({"node": "driver", "actor": "driver",
                                    "seconds": c.provenance.get("seconds")})
                    seconds += float(c.provenance.get("seconds") or 0.0)
            shots.append({"shot": i + 1, "workers": workers, "seconds": round(seconds, 3),
                          "clip_seconds": round(float(sum(Fraction(c.frames) / c.fps for c in clips)), 3)})
        try:
            nodes = len([n for n in self.ray.nodes() if n.get("Alive")])
            resources = {k: v for k, v in self.ray.cluster_resources().items() if k in ("CPU", "GPU")}
        except Exception:  # noqa: BLE001 - the report must not fail on a cluster that went away
            nodes, resources = None, {}
        return {"name": self.name, "address": self.address, "nodes": nodes, "resources": resources,
                "pools": pools, "shots": shots}

    def close(self) -> None:
        """Free the actors (their models and scratch folders); shut down a Ray instance started here."""
        ray = self.ray
        for p in self._pools.values():
            p.close()
        self._pools.clear()
        if self._started and ray.is_initialized():
            ray.shutdown()


class _RayBackends:
    """What the runner sees as ``backends``: remote proxies for GPU backends, the driver's own otherwise."""

    def __init__(self, executor: RayExecutor, backends):
        self.executor = executor
        self.inner = backends
        self.project = backends.project
        self._lock = threading.Lock()

    def pool(self, spec, field: str, driver_backend, *, shots: int = 1, share: int = 1) -> "Pool":
        key = hash(spec)
        with self._lock:
            pools = self.executor._pools
            if key not in pools:
                pools[key] = self.executor._make_pool(spec, field, driver_backend, self.project, shots=shots,
                                                      share=share)
            return pools[key]

    def get(self, spec, *, field: str = "backend"):
        b = self.inner.get(spec, field=field)
        if runs_on_driver(b):
            return b
        return self.pool(spec, field, b).proxy

    def close(self) -> None:
        self.inner.close()
