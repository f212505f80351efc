"""The local executor: every shot in threads of this process (the default).

Shots run concurrently per backend up to its ``max_concurrent`` (hosted APIs); a shot whose last
frame is the next shot's first frame runs after that shot. Candidate takes follow one by one.
"""

from __future__ import annotations

import socket
from fractions import Fraction


class LocalExecutor:
    """Generate in this process."""

    name = "local"
    parallelism = 1

    def backends(self, backends, plan=None):
        """The backends as they are: models load in this process."""
        return backends

    def run_shots(self, shots, run, backends) -> None:
        """``run(shot)`` for every shot (see :func:`songreel.generate.runner._run_shots`)."""
        from ..runner import _run_shots

        _run_shots(shots, run, backends)

    def run_takes(self, pairs, run, backends) -> None:
        """``run(shot, take)`` for every candidate take, one after another (each checks the stop event)."""
        for shot, take in pairs:
            run(shot, take)

    def describe(self, plan, summary) -> dict:
        """The report's ``executor`` section: every shot made here."""
        host = socket.gethostname()
        shots = []
        for i, clips in enumerate(summary.clips or ()):
            if not clips:
                continue
            made = [c for c in clips if not c.reused]
            shots.append({"shot": i + 1, "workers": [{"node": host, "actor": "local"}] if made else [],
                          "seconds": round(sum(float(c.provenance.get("seconds", 0.0)) for c in made), 3),
                          "clip_seconds": round(float(sum(Fraction(c.frames) / c.fps for c in clips)), 3)})
        return {"name": self.name, "shots": shots}

    def close(self) -> None:
        """Nothing to release."""
