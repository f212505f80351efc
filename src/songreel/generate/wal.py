"""One SQLite file in WAL mode shared by threads and processes: the journals' storage.

Each thread gets its own connection; writes run in ``BEGIN IMMEDIATE`` transactions, so two
processes writing the same row serialise on SQLite's write lock instead of interleaving.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class WalDatabase:
    """A WAL-mode SQLite database at ``path``, created with ``schema`` on first use.

    Parameters
    ----------
    path : Path
    schema : str
        ``;``-separated ``CREATE ... IF NOT EXISTS`` statements.
    synchronous : {"NORMAL", "FULL"}
        ``FULL`` makes each commit survive a power cut (paid-job intents); ``NORMAL`` a crash.
    timeout : float
        Seconds to wait for another writer's lock.
    """

    def __init__(self, path: Path, *, schema: str = "", synchronous: str = "NORMAL", timeout: float = 30.0):
        self.path = Path(path)
        self.synchronous = synchronous
        self.timeout = timeout
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if schema:
            with self.tx() as db:
                for statement in schema.split(";"):
                    if statement.strip():
                        db.execute(statement)

    def db(self) -> sqlite3.Connection:
        """This thread's connection."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        db = self.db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
