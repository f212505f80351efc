"""What hosted clips cost: one price table (each price with its source and the date it was read), the
estimate ``songreel plan --cost`` and the render confirmation show, and the spend the job journal records.

Importable without the hosted extra (no httpx here or in what it imports), so a plan can be priced on
a machine that cannot render it.

Prices are list prices per second of generated video in US dollars. Providers change them; the
estimate is a guide, not a quote. Override with the backend option ``price_per_second`` (a negotiated
rate, a gateway model songreel has no price for, or your own server's cost). Providers bill the clip
length they make, so every segment is charged at its *quantised* length (a 3.2 s segment on Veo is
billed as a 4 s clip: the shortest allowed length that covers it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Optional, Union


@dataclass(frozen=True)
class Price:
    """A list price.

    Attributes
    ----------
    per_second : float, optional
        Dollars per second of video.
    per_megapixel : float, optional
        Dollars per million output pixels (width × height × frames), Luma's unit.
    by_size : dict
        ``{(width, height): dollars per second}`` where the price depends on the size.
    by_resolution : dict
        ``{"4k": dollars per second}`` where it depends on the ``resolution`` option.
    source, checked : str
        Where the figure was read and the date it was read (YYYY-MM-DD).
    """

    per_second: Optional[float] = None
    per_megapixel: Optional[float] = None
    by_size: dict = field(default_factory=dict)
    by_resolution: dict = field(default_factory=dict)
    source: str = ""
    checked: str = ""

    def dollars_per_second(self, width: Optional[int] = None, height: Optional[int] = None, fps: float = 24.0,
                           resolution: Optional[str] = None) -> float:
        if resolution and resolution in self.by_resolution:
            return self.by_resolution[resolution]
        if width and height and (width, height) in self.by_size:
            return self.by_size[(width, height)]
        if self.per_megapixel is not None:
            w, h = (width or 1280), (height or 720)
            return self.per_megapixel * w * h * fps / 1e6
        return float(self.per_second or 0.0)

    def describe(self) -> str:
        """The price as one short phrase (``$0.15/s``, ``$0.0064 per million pixels``...)."""
        if self.per_megapixel is not None:
            text = f"${self.per_megapixel:g} per million pixels"
        else:
            text = f"${self.per_second:g}/s"
        extra = [f"{r}: ${v:g}/s" for r, v in self.by_resolution.items()]
        extra += [f"{w}x{h}: ${v:g}/s" for (w, h), v in self.by_size.items()]
        return text + (f" ({', '.join(extra)})" if extra else "")


_GEMINI = ("https://ai.google.dev/gemini-api/docs/pricing (Veo 3.1, with audio; as quoted with a March 2026 "
           "check by aifreeapi.com's Veo 3.1 rate-limit guide)")
_RUNWAY = "https://docs.dev.runwayml.com/guides/pricing (credits at $0.01; not re-read since)"
_LUMA = "https://lumalabs.ai/api/pricing (per million pixels; not re-read since)"
_OPENAI = "https://platform.openai.com/docs/pricing (Sora video; the service closed 2026-09-24)"

PRICES: dict[tuple[str, str], Price] = {
    ("veo", "veo-3.1-generate-001"): Price(0.40, by_resolution={"4k": 0.60}, source=_GEMINI, checked="2026-12-02"),
    ("veo", "veo-3.1-fast-generate-001"): Price(0.15, source=_GEMINI, checked="2026-12-02"),
    ("veo", "veo-3.1-generate-preview"): Price(0.40, by_resolution={"4k": 0.60}, source=_GEMINI,
                                               checked="2026-12-02"),
    ("veo", "veo-3.1-fast-generate-preview"): Price(0.15, source=_GEMINI, checked="2026-12-02"),
    ("runway", "gen4.5"): Price(0.12, source=_RUNWAY + ": 12 credits/s", checked="2025-12-01"),
    ("runway", "gen4_turbo"): Price(0.05, source=_RUNWAY + ": 5 credits/s", checked="2025-12-01"),
    ("runway", "veo3.1"): Price(0.40, source=_RUNWAY + ": 40 credits/s", checked="2025-12-01"),
    ("runway", "veo3.1_fast"): Price(0.15, source=_RUNWAY + ": 15 credits/s", checked="2025-12-01"),
    ("runway", "veo3"): Price(0.40, source=_RUNWAY + ": 40 credits/s", checked="2025-12-01"),
    ("luma", "ray-2"): Price(per_megapixel=0.0064, source=_LUMA, checked="2025-06-01"),
    ("luma", "ray-flash-2"): Price(per_megapixel=0.0022, source=_LUMA, checked="2025-06-01"),
    ("openai-videos", "sora-2"): Price(0.10, source=_OPENAI, checked="2025-10-06"),
    ("openai-videos", "sora-2-pro"): Price(0.30, by_size={(1024, 1792): 0.50, (1792, 1024): 0.50},
                                           source=_OPENAI, checked="2025-10-06"),
}


def price(backend_name: str, model: str) -> Optional[Price]:
    """The list price of ``model`` on ``backend_name``, or None when songreel has none."""
    return PRICES.get((backend_name, model))


def rows() -> list[tuple[str, str, str, str, str]]:
    """``(backend, model, price, read on, source)`` for every price, for ``songreel prices`` and the docs."""
    return [(b, m, p.describe(), p.checked, p.source) for (b, m), p in sorted(PRICES.items())]


def estimate(backend_name: str, model: str, seconds: float, *, width: Optional[int] = None,
             height: Optional[int] = None, fps: float = 24.0, price_per_second: Optional[float] = None,
             resolution: Optional[str] = None) -> Optional[float]:
    """Dollars for ``seconds`` of billed video, or None when the price is unknown.

    Parameters
    ----------
    backend_name, model : str
    seconds : float
        Billed seconds (already quantised to the provider's clip lengths).
    width, height, fps : optional
        Output size and rate, for size- or pixel-priced models.
    price_per_second : float, optional
        The user's override; wins over the table.
    resolution : str, optional
        The backend's ``resolution`` option, for resolution-priced models.

    >>> estimate("veo", "veo-3.1-fast-generate-001", 8)
    1.2
    """
    if price_per_second is not None:
        return round(float(price_per_second) * float(seconds), 4)
    p = price(backend_name, model)
    if p is None:
        return None
    return round(p.dollars_per_second(width, height, fps, resolution) * float(seconds), 4)


Item = Union[float, int, Fraction, object]


def estimate_cost(items: Iterable[Item], backend) -> Optional[float]:
    """Dollars for making ``items`` with ``backend`` (a hosted backend instance), or None if unpriced.

    Parameters
    ----------
    items : iterable
        ``GenerationRequest`` objects, or segment lengths in seconds (numbers); each is charged at the
        backend's quantised clip length.
    backend : HostedBackend
        Supplies allowed durations, size and ``dollars(seconds, width, height)``.

    Returns
    -------
    float or None
        Total in US dollars; None when neither the table nor the option prices this model. Backends
        that are not hosted (no ``billed_seconds``) cost 0.
    """
    billed = getattr(backend, "billed_seconds", None)
    if billed is None:
        return 0.0
    total = 0.0
    caps = backend.capabilities()
    default_size = caps.sizes[0] if caps.sizes else (None, None)
    for item in items:
        if isinstance(item, (int, float, Fraction)):
            durs = sorted(int(d) for d in caps.durations)
            fitting = [d for d in durs if d + 1e-6 >= float(item)]
            secs = fitting[0] if fitting else durs[-1] * math.ceil(float(item) / durs[-1])
            w, h = default_size
        else:
            secs, w, h = billed(item), getattr(item, "width", None), getattr(item, "height", None)
        dollars = backend.dollars(secs, w, h)
        if dollars is None:
            return None
        total += dollars
    return round(total, 4)


def largest_shots(by_shot: dict, *, n: int = 3) -> str:
    """``"largest: chorus $4.80, intro $2.40"`` from ``{shot name: dollars}`` (empty when there is nothing)."""
    top = sorted(((d, s) for s, d in by_shot.items() if d), reverse=True)[:n]
    return ("largest: " + ", ".join(f"{s} ${d:.2f}" for d, s in top)) if top else ""


def spend_by_backend(store_dir: Path) -> dict[str, dict]:
    """What the hosted jobs journaled in a project's store cost, per backend.

    Parameters
    ----------
    store_dir : Path
        The project's ``.songreel/`` folder.

    Returns
    -------
    dict
        ``{backend: {"jobs", "estimated_dollars", "unpriced_jobs", "reported_dollars", "reported_jobs",
        "seconds"}}``; empty when nothing was ever sent.
    """
    path = Path(store_dir) / "jobs.sqlite"
    if not path.exists():
        return {}
    from .journal import Journal

    j = Journal(path)
    try:
        return j.spend()
    finally:
        j.close()
