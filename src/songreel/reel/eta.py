"""The whole render's time left: per-backend seconds of work per second of clip (remembered in the
store's ``throughput.json`` and refined by this run's own clips) plus the assembly rate."""

from __future__ import annotations

from typing import Optional

from ..errors import SongreelError


class RenderEta:
    """Whole-render time left, from per-backend seconds of work per second of clip (remembered in
    the store's ``throughput.json`` and refined by this run's own clips) plus the assembly rate."""

    def __init__(self, plan, store, backends, progress, *, picks, takes, candidates) -> None:
        self.progress = progress
        self.store = store
        self.rates = store.throughput() if progress is not None else {}
        self.todo: dict[str, float] = {}  # backend -> seconds of clip still to make
        self.live: dict[str, list[float]] = {}  # backend -> [seconds of work, seconds of clip] this run
        self.parallel = 1   # clips made at once (an executor's workers): generation time left divides by it
        mpx = plan.width * plan.height / 1e6
        self.assembly_units = plan.total_frames * mpx
        if progress is None:
            return
        if plan.look != "infinite-zoom":
            from ..generate.runner import pending_work

            try:
                for name, secs in pending_work(plan, store, backends, picks=picks, takes=takes,
                                               candidates=candidates):
                    self.todo[name] = self.todo.get(name, 0.0) + secs
            except SongreelError:
                self.todo = {}
        self.report()

    def rate(self, name: str) -> Optional[float]:
        live = self.live.get(name)
        live_rate = live[0] / live[1] if live and live[1] > 0 else None
        known = self.rates.get(name)
        if live_rate is not None and known is not None:
            return 0.5 * live_rate + 0.5 * known
        return live_rate if live_rate is not None else known

    def left(self, assembled: float = 0.0) -> Optional[float]:
        total = 0.0
        for name, secs in self.todo.items():
            if secs <= 0:
                continue
            r = self.rate(name)
            if r is None:
                return None
            total += secs * r
        total /= max(1, self.parallel)
        a = self.rates.get("assemble")
        if a is None:
            return total if not self.todo else None
        return total + max(0.0, 1.0 - assembled) * self.assembly_units * a

    def clip(self, shot, ref) -> None:
        if self.progress is None or ref.reused:
            return
        from fractions import Fraction

        name = shot.backend.name
        secs = float(Fraction(ref.frames) / ref.fps)
        live = self.live.setdefault(name, [0.0, 0.0])
        live[0] += float(ref.provenance.get("seconds", 0.0))
        live[1] += secs
        self.todo[name] = max(0.0, self.todo.get(name, 0.0) - secs)
        self.report()

    def report(self, assembled: float = 0.0, rate: Optional[float] = None) -> None:
        if self.progress is None:
            return
        if rate is not None:
            self.rates["assemble"] = rate
        left = self.left(assembled)
        self.progress.eta(left, "measured" if left is not None else "measuring")

    def assembled(self, seconds: float) -> None:
        """Remember the assembly rate (seconds per frame-megapixel)."""
        if self.assembly_units > 0 and seconds > 0:
            try:
                self.store.record_throughput({"assemble": (seconds, self.assembly_units)})
            except Exception:  # noqa: BLE001
                pass


