"""The shot-state journal: what the store made, reused and was asked for, in one SQLite (WAL) file.

``<project>/.songreel/shots.sqlite`` sits beside the clip store and is shared by every thread and
process that renders the project. It never decides whether a clip exists (only the checksummed
media + metadata in ``clips/`` do that); it records *history*, so that

- ``songreel store info`` can show hits and generations per clip,
- the kill test can prove that no finished clip was generated twice (``generations`` per key),
- a render shows each shot's last state (``pending -> generating -> done | failed``).

Tables::

    clips(key PK, backend, model, seconds, out_seconds, generations, hits, created, last_used)
        one row per clip content address; ``generations`` counts completed generations,
        ``hits`` counts reuses from the store.
    shots(storyboard, shot, take, state, keys, error, updated)   PK (storyboard, shot, take)
        ``state`` is pending | generating | done | failed | stopped; ``keys`` a JSON list.

Writes are short ``BEGIN IMMEDIATE`` transactions; a process killed mid-write leaves the journal at
its last commit (SQLite's WAL guarantees it). A journal that cannot be opened (read-only folder,
corrupt file) degrades to a no-op: it is bookkeeping, never needed to render.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Optional
from .wal import WalDatabase

PENDING, GENERATING, DONE, FAILED, STOPPED = "pending", "generating", "done", "failed", "stopped"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clips (
    key          TEXT PRIMARY KEY,
    backend      TEXT NOT NULL DEFAULT '',
    model        TEXT NOT NULL DEFAULT '',
    seconds      REAL,                -- wall time of the last generation
    out_seconds  REAL,                -- length of the clip made
    generations  INTEGER NOT NULL DEFAULT 0,
    hits         INTEGER NOT NULL DEFAULT 0,
    created      REAL,
    last_used    REAL
);
CREATE TABLE IF NOT EXISTS shots (
    storyboard   TEXT NOT NULL,
    shot         INTEGER NOT NULL,
    take         INTEGER NOT NULL,
    state        TEXT NOT NULL,
    keys         TEXT NOT NULL DEFAULT '[]',
    error        TEXT,
    updated      REAL NOT NULL,
    PRIMARY KEY (storyboard, shot, take)
)
"""


class ShotJournal:
    """Clip and shot history in ``path`` (created on first use). Safe across threads and processes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.ok = True
        try:
            self._wal = WalDatabase(self.path, schema=_SCHEMA, synchronous="NORMAL", timeout=30)
            self._db, self._tx = self._wal.db, self._wal.tx
        except (sqlite3.Error, OSError):
            self.ok = False

    def _write(self, sql: str, args: tuple) -> None:
        if not self.ok:
            return
        try:
            with self._tx() as db:
                db.execute(sql, args)
        except sqlite3.Error:
            pass  # bookkeeping only: never fail a render over it

    def close(self) -> None:
        if self.ok:
            self._wal.close()

    # -- clips -----------------------------------------------------------------------------------

    def generated(self, key: str, *, backend: str, model: str, seconds: float, out_seconds: float) -> None:
        """A clip was made and renamed into place."""
        now = time.time()
        self._write("INSERT INTO clips"
                    " (key, backend, model, seconds, out_seconds, generations, hits, created, last_used)"
                    " VALUES (?, ?, ?, ?, ?, 1, 0, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                    " generations = generations + 1, seconds = excluded.seconds,"
                    " out_seconds = excluded.out_seconds, last_used = excluded.last_used",
                    (key, backend, model, seconds, out_seconds, now, now))

    def hit(self, key: str) -> None:
        """A stored clip was reused."""
        now = time.time()
        self._write("INSERT INTO clips (key, hits, created, last_used) VALUES (?, 1, ?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET hits = hits + 1, last_used = excluded.last_used",
                    (key, now, now))

    def forget(self, keys) -> None:
        """Drop rows of clips removed by ``store gc``."""
        if not self.ok:
            return
        try:
            with self._tx() as db:
                db.executemany("DELETE FROM clips WHERE key = ?", [(k,) for k in keys])
        except sqlite3.Error:
            pass

    def clip(self, key: str) -> Optional[dict]:
        if not self.ok:
            return None
        try:
            row = self._db().execute("SELECT * FROM clips WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else dict(row)

    def clips(self) -> dict[str, dict]:
        if not self.ok:
            return {}
        try:
            return {r["key"]: dict(r) for r in self._db().execute("SELECT * FROM clips").fetchall()}
        except sqlite3.Error:
            return {}

    # -- shots -----------------------------------------------------------------------------------

    def shot(self, storyboard: str, shot: int, take: int, state: str, *, keys=(), error: Optional[str] = None) -> None:
        self._write("INSERT INTO shots (storyboard, shot, take, state, keys, error, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(storyboard, shot, take) DO UPDATE SET state = excluded.state,"
                    " keys = excluded.keys, error = excluded.error, updated = excluded.updated",
                    (storyboard, shot, take, state, json.dumps(list(keys)), error, time.time()))

    def shots(self, storyboard: Optional[str] = None) -> list[dict]:
        if not self.ok:
            return []
        try:
            if storyboard is None:
                rows = self._db().execute("SELECT * FROM shots ORDER BY storyboard, shot, take").fetchall()
            else:
                rows = self._db().execute("SELECT * FROM shots WHERE storyboard = ? ORDER BY shot, take",
                                          (storyboard,)).fetchall()
        except sqlite3.Error:
            return []
        return [{**dict(r), "keys": json.loads(r["keys"])} for r in rows]
