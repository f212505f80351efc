"""The song's sections as anchors name them: occurrences (``chorus 2``), positions (``section 3``),
labels compared whatever their case, and how the planner describes them in messages. Pure."""

from __future__ import annotations

from ..errors import PlanError
from ..schema.analysis import Section
from ..schema.storyboard import Anchor, section_key
from ..timebase import format_time


def section_occurrences(sections) -> list[tuple[str, int, Section]]:
    """``(label, occurrence, section)`` for each section; occurrences count from 1 per label."""
    seen: dict[str, int] = {}
    out = []
    for s in sections:
        seen[s.label] = seen.get(s.label, 0) + 1
        out.append((s.label, seen[s.label], s))
    return out


def section_name_at(seconds: float, sections) -> str:
    """``"chorus 2"``-style name of the section holding ``seconds``."""
    occ = section_occurrences(sections)
    counts: dict[str, int] = {}
    for label, k, _ in occ:
        counts[label] = max(counts.get(label, 0), k)
    for label, k, s in occ:
        if s.start <= seconds + 1e-6 < s.end or s is occ[-1][2]:
            return label if counts[label] == 1 else f"{label} {k}"
    return ""


def describe_sections(sections) -> str:
    """``"intro at 0:00, verse ×2 at 0:08 and 0:40, chorus ×2 at 0:24 and 0:56"``."""
    groups: dict[str, list[float]] = {}
    for s in sections:
        groups.setdefault(s.label, []).append(s.start)
    parts = []
    for label, starts in groups.items():
        when = " and ".join(format_time(t).rsplit(".", 1)[0] for t in starts) if len(starts) <= 3 else \
            ", ".join(format_time(t).rsplit(".", 1)[0] for t in starts[:-1]) + " and " + \
            format_time(starts[-1]).rsplit(".", 1)[0]
        parts.append(f"{label} ×{len(starts)} at {when}" if len(starts) > 1 else f"{label} at {when}")
    return ", ".join(parts)


def find_section(anchor: Anchor, sections, where: str) -> Section:
    """The section an ``at:`` / ``until:`` section anchor names.

    Labels match whatever their case (``A``, ``a``, ``"A 1"``, ``Verse``, ``verse``); ``"chorus 2"`` is
    the second section labelled chorus; ``"section 3"`` is the third section in song order. A label
    written out in full (``"Verse 2"`` when a section is labelled so) wins over reading its last
    number as an occurrence.

    Raises
    ------
    PlanError
        No such section; the message lists the song's sections and how to name them.
    """
    sections = tuple(sections)
    if not anchor.name and anchor.number:
        if anchor.number > len(sections):
            raise PlanError(f"{where}: no section {anchor.number}: the song has {len(sections)} "
                            f"section{'s' if len(sections) != 1 else ''} ({_numbered(sections)})")
        return sections[anchor.number - 1]
    occ = section_occurrences(sections)
    whole = section_key(anchor.raw)
    exact = [s for label, _, s in occ if section_key(label) == whole]
    if exact:
        return exact[0]
    mine = [s for label, _, s in occ if section_key(label) == anchor.name]
    if len(mine) >= anchor.occurrence:
        return mine[anchor.occurrence - 1]
    have = describe_sections(sections)
    what = f"section '{anchor.raw}'"
    if mine:
        raise PlanError(f"{where}: no {what}: the song has {have}")
    import difflib

    labels = {section_key(s.label): s.label for s in sections}
    best = difflib.get_close_matches(anchor.name, list(labels), n=1, cutoff=0.6)
    hint = f' (did you mean "{labels[best[0]]}"?)' if best else ""
    raise PlanError(f"{where}: no {what}{hint}: the song has {have} "
                    f'(or name one by position: "section 1" to "section {len(sections)}")')


def _numbered(sections) -> str:
    return ", ".join(f"{k}: {s.label} at {format_time(s.start).rsplit('.', 1)[0]}"
                     for k, s in enumerate(sections, 1))
