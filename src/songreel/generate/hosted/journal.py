"""The hosted-job journal: every paid job is written down before it is sent, so a restart never pays twice.

One SQLite file (WAL mode) at ``<project>/.songreel/jobs.sqlite``, shared by every thread and process
that renders the project. One row per clip request (the request's content address is the key)::

    submitting ──► submitted ──► done            (the usual path)
        │              │
        │              └──► failed                the provider refused or failed the job (not retried
        │                                         automatically; a new run submits a fresh job)
        └──► unknown                              a crash or a lost reply between send and answer that
                                                  could not be resolved by looking the job up

``submitting`` is written (and committed) *before* the request leaves the machine; the provider's job
id is committed the moment the reply arrives. A row with a job id is only ever polled, never sent
again. A ``submitting`` row found by a later run means the outcome is unknown: the backend resolves
it (looks the job up where the provider allows) before anything is sent.

The journal never holds an API key: rows carry the request key, provider, model, a digest of the
request body, the provider's job id, states, times, the provider's error text, and the job's cost in
US dollars: ``est_cost`` (songreel's estimate, written with the intent) and ``cost`` (what the
provider reported, where it reports one). :meth:`Journal.spend` sums them per provider.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..wal import WalDatabase

SUBMITTING, SUBMITTED, DONE, FAILED, UNKNOWN = "submitting", "submitted", "done", "failed", "unknown"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    key          TEXT PRIMARY KEY,   -- GenerationRequest.key(): the clip's content address
    provider     TEXT NOT NULL,
    model        TEXT NOT NULL,
    digest       TEXT NOT NULL,      -- sha256 of the provider request (without images' bytes)
    state        TEXT NOT NULL,
    provider_id  TEXT,
    owner        TEXT NOT NULL,      -- host:pid of the process that wrote the intent
    seconds      REAL,               -- billed clip length
    created      REAL NOT NULL,      -- intent written (unix time)
    updated      REAL NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 1,
    error        TEXT,
    est_cost     REAL,               -- estimated US dollars, written with the intent
    cost         REAL                -- US dollars the provider reported (NULL where it reports none)
);
CREATE INDEX IF NOT EXISTS jobs_provider_id ON jobs (provider, provider_id);
"""


@dataclass(frozen=True)
class JobRow:
    key: str
    provider: str
    model: str
    digest: str
    state: str
    provider_id: Optional[str]
    owner: str
    seconds: Optional[float]
    created: float
    updated: float
    attempts: int
    error: Optional[str]
    est_cost: Optional[float] = None
    cost: Optional[float] = None

    @property
    def owner_alive(self) -> bool:
        """True when the owning process is alive on this host (and is not this process)."""
        host, _, pid = self.owner.rpartition(":")
        if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def owner_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Journal:
    """Job rows in ``path`` (created on first use). Safe across threads and processes.

    Every method opens its own short transaction; writes use ``BEGIN IMMEDIATE`` so two processes
    claiming the same key serialise on SQLite's write lock.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        # FULL: an intent must survive a power cut before anything is paid for
        self._wal = WalDatabase(self.path, schema=_SCHEMA, synchronous="FULL", timeout=60)
        self._db, self._tx, self.close = self._wal.db, self._wal.tx, self._wal.close
        self._add_cost_columns()

    def _add_cost_columns(self) -> None:
        """Journals written before costs were recorded lack the two cost columns: add them."""
        have = {r[1] for r in self._db().execute("PRAGMA table_info(jobs)").fetchall()}
        for col in ("est_cost", "cost"):
            if col not in have:
                with self._tx() as db:
                    cols = {r[1] for r in db.execute("PRAGMA table_info(jobs)").fetchall()}
                    if col not in cols:
                        db.execute(f"ALTER TABLE jobs ADD COLUMN {col} REAL")

    # -- reads -----------------------------------------------------------------------------------

    def get(self, key: str) -> Optional[JobRow]:
        row = self._db().execute("SELECT * FROM jobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else JobRow(**dict(row))

    def known_ids(self, provider: str) -> set[str]:
        """Provider job ids already claimed by some row (so a lookup never adopts another clip's job)."""
        rows = self._db().execute("SELECT provider_id FROM jobs WHERE provider = ? AND provider_id IS NOT NULL",
                                  (provider,)).fetchall()
        return {r[0] for r in rows}

    def rows(self) -> list[JobRow]:
        return [JobRow(**dict(r)) for r in self._db().execute("SELECT * FROM jobs ORDER BY created").fetchall()]

    def spend(self) -> dict[str, dict]:
        """Per provider: jobs sent, estimated and reported dollars of the jobs that were (or may have been) paid.

        A job counts once it left the machine (submitted, done, or unknown outcome); refused and failed
        submissions count as 0 jobs because providers do not bill them.
        """
        out: dict[str, dict] = {}
        sql = ("SELECT provider, COUNT(*), SUM(COALESCE(est_cost, 0)), SUM(est_cost IS NULL), SUM(cost),"
               " COUNT(cost), SUM(seconds) FROM jobs WHERE state IN (?, ?, ?) GROUP BY provider ORDER BY provider")
        for prov, n, est, unpriced, cost, reported, secs in self._db().execute(sql, (SUBMITTED, DONE, UNKNOWN)):
            out[prov] = {"jobs": n, "estimated_dollars": round(est or 0.0, 4), "unpriced_jobs": unpriced,
                         "reported_dollars": None if not reported else round(cost, 4), "reported_jobs": reported,
                         "seconds": secs or 0.0}
        return out

    # -- writes ----------------------------------------------------------------------------------

    def claim(self, key: str, *, provider: str, model: str, digest: str, seconds: float,
              dollars: Optional[float] = None) -> tuple[str, JobRow]:
        """Write the intent to submit ``key``, unless a row already exists.

        Returns
        -------
        outcome : str
            ``"new"`` when this call wrote a ``submitting`` row (the caller may now send the request),
            ``"existing"`` when a row was already there (returned unchanged; the caller must poll,
            resolve or report it, never blindly send).
        row : JobRow
        """
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT * FROM jobs WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return "existing", JobRow(**dict(row))
            db.execute("INSERT INTO jobs (key, provider, model, digest, state, provider_id, owner, seconds, created,"
                       " updated, attempts, error, est_cost) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, 1, NULL, ?)",
                       (key, provider, model, digest, SUBMITTING, owner_token(), seconds, now, now, dollars))
        row = self.get(key)
        assert row is not None  # written in the transaction above
        return "new", row

    def reclaim(self, key: str, *, expect_state: str, digest: str, seconds: float,
                dollars: Optional[float] = None) -> bool:
        """Turn an existing row (failed / unknown / not-found ``submitting``) back into a fresh intent.

        Compare-and-set on ``expect_state``, so two processes cannot both resubmit. Returns True when
        this call won.
        """
        now = time.time()
        with self._tx() as db:
            cur = db.execute("UPDATE jobs SET state = ?, provider_id = NULL, owner = ?, digest = ?, seconds = ?,"
                             " created = ?, updated = ?, attempts = attempts + 1, error = NULL, est_cost = ?,"
                             " cost = NULL WHERE key = ? AND state = ?",
                             (SUBMITTING, owner_token(), digest, seconds, now, now, dollars, key, expect_state))
            return cur.rowcount == 1

    def submitted(self, key: str, provider_id: str) -> None:
        """Record the provider's job id: from now on this job is only ever polled."""
        with self._tx() as db:
            db.execute("UPDATE jobs SET state = ?, provider_id = ?, updated = ?, error = NULL WHERE key = ?",
                       (SUBMITTED, provider_id, time.time(), key))

    def cost(self, key: str, dollars: float) -> None:
        """Record the cost the provider reported for ``key``'s job."""
        with self._tx() as db:
            db.execute("UPDATE jobs SET cost = ?, updated = ? WHERE key = ?", (float(dollars), time.time(), key))

    def mark(self, key: str, state: str, *, error: Optional[str] = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET state = ?, updated = ?, error = ? WHERE key = ?",
                       (state, time.time(), error, key))
