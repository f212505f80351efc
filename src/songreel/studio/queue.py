"""One render queue per project: jobs run on a worker thread owned by the server, not by a browser tab.

Closing or reloading the page does not touch a job; the page polls :meth:`RenderQueue.snapshot` and
shows it again. The queue's state is written to ``.songreel/studio/jobs.json`` in the project folder
(atomically) as jobs advance, so a restarted server shows what the last one finished; a job that was
running when a server stopped is marked ``interrupted`` (its finished clips are in the store and are
reused by the next render).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Optional

from ..progress import Progress

log = logging.getLogger(__name__)

FINISHED = ("done", "failed", "stopped", "interrupted")


class _JobProgress(Progress):
    """songreel's progress events written into a job's state."""

    def __init__(self, queue: "RenderQueue", job: dict) -> None:
        self.queue, self.job = queue, job

    def stage(self, name, total=None):
        self.queue._update(self.job, stage=name, done=0.0, total=total, note="")

    def advance(self, name, done, total=None, note=""):
        self.queue._update(self.job, stage=name, done=float(done), total=None if total is None else float(total),
                           note=note or self.job.get("note", ""))

    def message(self, text):
        self.queue._update(self.job, messages=(self.job.get("messages", []) + [str(text)])[-20:])

    def eta(self, seconds, note=""):
        self.queue._update(self.job, eta=None if seconds is None else float(seconds))


class RenderQueue:
    """Jobs of one project, run one at a time in submission order.

    Parameters
    ----------
    state_file : Path
        Where the queue's state is kept (``.songreel/studio/jobs.json``).
    """

    def __init__(self, state_file: Path) -> None:
        self.state_file = Path(state_file)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._jobs: list[dict] = self._read()
        self._work: dict[str, Callable] = {}
        self._stops: dict[str, threading.Event] = {}
        self._last_write = 0.0
        for job in self._jobs:
            if job.get("status") in ("queued", "running"):
                job["status"] = "interrupted"
                job["error"] = "the studio stopped while this job was waiting or running; finished clips are kept"
        self._write(force=True)
        self._thread = threading.Thread(target=self._run, name="songreel-studio-queue", daemon=True)
        self._thread.start()

    def submit(self, kind: str, title: str, work: Callable[[Progress, threading.Event], dict]) -> str:
        """Queue ``work(progress, stop) -> result dict``; returns the job id."""
        with self._lock:
            job_id = f"{int(time.time() * 1000):x}-{len(self._jobs) + 1}"
            self._jobs.append({"id": job_id, "kind": kind, "title": title, "status": "queued",
                               "submitted": time.time(), "stage": "", "done": 0.0, "total": None, "note": "",
                               "eta": None, "result": None, "error": ""})
            self._work[job_id] = work
            self._stops[job_id] = threading.Event()
            self._jobs = self._jobs[-50:]
            self._write(force=True)
            self._wake.notify_all()
        return job_id

    def stop(self, job_id: str) -> bool:
        """Ask a queued or running job to stop (after the clip being made)."""
        ev = self._stops.get(job_id)
        if ev is None:
            return False
        ev.set()
        return True

    def snapshot(self) -> list[dict]:
        """Every job, oldest first, as plain JSON-ready dicts."""
        with self._lock:
            return json.loads(json.dumps(self._jobs, default=str))

    def job(self, job_id: str) -> Optional[dict]:
        return next((j for j in self.snapshot() if j["id"] == job_id), None)

    def active(self) -> Optional[dict]:
        """The running job, else the oldest queued one, else None."""
        jobs = self.snapshot()
        return next((j for j in jobs if j["status"] == "running"), None) or \
            next((j for j in jobs if j["status"] == "queued"), None)

    def wait(self, job_id: str, timeout: Optional[float] = None) -> dict:
        """Block until job ``job_id`` has finished; returns its state."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                job = next((j for j in self._jobs if j["id"] == job_id), None)
                if job is None or job["status"] in FINISHED:
                    return json.loads(json.dumps(job, default=str))
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return json.loads(json.dumps(job, default=str))
                self._wake.wait(timeout=min(left, 1.0) if left is not None else 1.0)

    # the worker

    def _run(self) -> None:
        while True:
            with self._lock:
                job = next((j for j in self._jobs if j["status"] == "queued"), None)
                if job is None:
                    self._wake.wait(timeout=5.0)
                    continue
                job["status"] = "running"
                job["started"] = time.time()
                work = self._work.pop(job["id"])
                stop = self._stops[job["id"]]
                self._write(force=True)
            self._execute(job, work, stop)

    def _execute(self, job: dict, work: Callable, stop: threading.Event) -> None:
        from ..errors import Interrupted, SongreelError

        try:
            if stop.is_set():
                raise Interrupted("stopped before it started")
            result = work(_JobProgress(self, job), stop)
            self._finish(job, "done", result=result)
        except Interrupted as e:
            self._finish(job, "stopped", error=str(e) or "stopped; finished clips are kept")
        except SongreelError as e:
            self._finish(job, "failed", error=str(e))
        except Exception as e:  # a bug, not a user error: keep the traceback in the log
            log.error("studio job %s failed:\n%s", job["id"], traceback.format_exc())
            self._finish(job, "failed", error=f"{type(e).__name__}: {e}")

    def _finish(self, job: dict, status: str, *, result: Any = None, error: str = "") -> None:
        with self._lock:
            job.update(status=status, result=result, error=error, finished=time.time(),
                       eta=0.0 if status == "done" else job.get("eta"))
            self._stops.pop(job["id"], None)
            self._write(force=True)
            self._wake.notify_all()

    def _update(self, job: dict, **changes) -> None:
        with self._lock:
            job.update(changes)
            self._write()

    # state on disk

    def _read(self) -> list[dict]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            return [j for j in data.get("jobs", []) if isinstance(j, dict) and "id" in j]
        except (OSError, ValueError, AttributeError):
            return []

    def _write(self, force: bool = False) -> None:
        # called with the lock held; progress events come many times a second, the file needs a few
        now = time.monotonic()
        if not force and now - self._last_write < 0.5:
            return
        self._last_write = now
        from ..fileio import atomic_write_bytes

        try:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.state_file, json.dumps({"jobs": self._jobs}, default=str, indent=1).encode())
        except OSError as e:
            log.warning("studio: could not write %s: %s", self.state_file, e)
