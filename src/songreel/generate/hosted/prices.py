"""What hosted clips cost: a price table with sources and dates, and the estimate ``songreel plan --cost`` shows.

Prices are list prices per second of generated video in US dollars, copied from each provider's public
pricing page on the date given. Providers change them; the estimate is a guide, not a quote. Override
with the backend option ``price_per_second`` (e.g. a negotiated rate, or a compatible server's price).

Providers bill the clip length they make, so every segment is charged at its *quantised* length (a 3.2 s
segment on Veo is billed as a 4 s clip: the shortest allowed length that covers it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
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
    source, checked : str
        Where the figure comes from and the date it was read.
    """

    per_second: Optional[float] = None
    per_megapixel: Optional[float] = None
    by_size: dict = field(default_factory=dict)
    source: str = ""
    checked: str = ""

    def dollars_per_second(self, width: Optional[int] = None, height: Optional[int] = None, fps: float = 24.0) -> float:
        if width and height and (width, height) in self.by_size:
            return self.by_size[(width, height)]
        if self.per_megapixel is not None:
            w, h = (width or 1280), (height or 720)
            return self.per_megapixel * w * h * fps / 1e6
        return float(self.per_second or 0.0)


_GEMINI = "https://ai.google.dev/gemini-api/docs/pricing (Veo, video with audio)"
_RUNWAY = "https://docs.dev.runwayml.com/guides/pricing (credits at $0.01)"
_LUMA = "https://lumalabs.ai/api/pricing (per million pixels)"
_OPENAI = "https://platform.openai.com/docs/pricing (Sora video)"

PRICES: dict[tuple[str, str], Price] = {
    ("veo", "veo-3.1-generate-preview"): Price(0.40, source=_GEMINI, checked="2025-10-15"),
    ("veo", "veo-3.1-fast-generate-preview"): Price(0.15, source=_GEMINI, checked="2025-10-15"),
    ("veo", "veo-3.0-generate-001"): Price(0.40, source=_GEMINI, checked="2025-10-15"),
    ("veo", "veo-3.0-fast-generate-001"): Price(0.15, source=_GEMINI, checked="2025-10-15"),
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


def estimate(backend_name: str, model: str, seconds: float, *, width: Optional[int] = None,
             height: Optional[int] = None, fps: float = 24.0,
             price_per_second: Optional[float] = None) -> Optional[float]:
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

    >>> estimate("veo", "veo-3.1-fast-generate-preview", 8)
    1.2
    """
    if price_per_second is not None:
        return round(float(price_per_second) * float(seconds), 4)
    p = price(backend_name, model)
    if p is None:
        return None
    return round(p.dollars_per_second(width, height, fps) * float(seconds), 4)


Item = Union[float, int, Fraction, object]


def estimate_cost(items: Iterable[Item], backend) -> Optional[float]:
    """Dollars for making ``items`` with ``backend`` (a hosted backend instance), or None if unpriced.

    Parameters
    ----------
    items : iterable
        ``GenerationRequest`` objects, or segment lengths in seconds (numbers); each is charged at the
        backend's quantised clip length.
    backend : HostedBackend
        Supplies name, model, allowed durations, size and the ``price_per_second`` option.

    Returns
    -------
    float or None
        Total in US dollars; None when neither the table nor the option prices this model. Backends
        that are not hosted (no ``billed_seconds``) cost 0.
    """
    billed = getattr(backend, "billed_seconds", None)
    if billed is None:
        return 0.0
    opts = getattr(backend, "options", {}) or {}
    override = opts.get("price_per_second")
    fps = float(getattr(backend, "fps", 24))
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
        dollars = estimate(backend.name, backend.model, secs, width=w, height=h, fps=fps,
                           price_per_second=override)
        if dollars is None:
            return None
        total += dollars
    return round(total, 4)
