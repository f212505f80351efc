"""How sure the analysis is of its tempo, meter and bar phase, in numbers and in words.

:func:`songreel.analysis.analyze` records, in ``Analysis.extra``, each reading's runner-up and
its margin: ``tempo_alternative`` / ``tempo_margin`` (the other tempo octave; margin in the
evidence units of :func:`.beats.choose_octave`), ``meter_alternative`` / ``meter_margin`` and
``downbeat_alternative`` / ``downbeat_margin`` (standard errors of the accent contrast,
:func:`.meter.downbeats`). A reading the user fixed (``analysis: {bpm, meter, first_downbeat}``)
has no runner-up. This module turns those into a confidence per reading and into the lines
``analyze`` and ``plan`` print where two readings are close.
"""

from __future__ import annotations

from ..schema.analysis import Analysis
from .beats import UNSURE_MARGIN as TEMPO_UNSURE

#: Margins below these are "unsure": the runner-up is printed with the setting that selects it.
#: Tempo (``TEMPO_UNSURE``): choose_octave's evidence units, defined with that evidence in
#: :mod:`.beats`; meter and bar phase: standard errors of the accent contrast.
METER_UNSURE = 1.5
DOWNBEAT_UNSURE = 1.0


def confidence(analysis: Analysis) -> dict:
    """Confidence of each reading in ``[0, 1]`` (0.5 at the "unsure" line), ``None`` where the user set it.

    Returns
    -------
    dict
        ``{"tempo": float | None, "meter": float | None, "downbeat": float | None}``.
    """
    x = analysis.extra or {}

    def level(margin, unsure):
        if margin is None:
            return None
        return round(max(0.0, min(1.0, 0.5 * float(margin) / unsure)), 3)

    return {"tempo": level(x.get("tempo_margin"), TEMPO_UNSURE),
            "meter": level(x.get("meter_margin"), METER_UNSURE),
            "downbeat": level(x.get("downbeat_margin"), DOWNBEAT_UNSURE)}


def notes(analysis: Analysis) -> list[str]:
    """One line per reading that has a close runner-up, saying how to choose it.

    Examples
    --------
    ``read as 136 BPM; 68 BPM also fits — set analysis: {bpm: 68}``

    Returns
    -------
    list of str
        Empty when every reading is clear (or was set by the user).
    """
    x = analysis.extra or {}
    out = []
    alt, margin = x.get("tempo_alternative"), x.get("tempo_margin")
    if alt and margin is not None and margin < TEMPO_UNSURE:
        out.append(f"read as {_bpm(analysis.tempo)} BPM; {_bpm(alt)} BPM also fits — "
                   f"set analysis: {{bpm: {_bpm(alt)}}}")
    alt, margin = x.get("meter_alternative"), x.get("meter_margin")
    if alt and margin is not None and margin < METER_UNSURE:
        out.append(f"read in bars of {analysis.meter} beats; bars of {int(alt)} also fit — "
                   f"set analysis: {{meter: {int(alt)}}}")
    alt, margin = x.get("downbeat_alternative"), x.get("downbeat_margin")
    if alt is not None and margin is not None and margin < DOWNBEAT_UNSURE and analysis.downbeats:
        out.append(f"bars read as starting at {analysis.downbeats[0]:.2f} s; {float(alt):.2f} s also fits — "
                   f"set analysis: {{first_downbeat: {float(alt):.2f}}}")
    return out


def _bpm(x) -> str:
    """BPM to 2 decimals, no trailing zeros: a fixed ``bpm`` holds the grid, so keep its precision."""
    return f"{float(x):.2f}".rstrip("0").rstrip(".")
