"""Resolve who is in each shot and how they look: the look a shot selects (its ``age:``, else the
storyboard's ``ages:`` for the shot's section, else none), and that look's description, reference
images and seed, falling back to the character's own."""

from __future__ import annotations

import re

from ..schema.cast import CastMember
from ..schema.storyboard import ShotSpec, Storyboard, section_key


def names_in(spec: ShotSpec) -> tuple[str, ...]:
    """Characters a shot's prompt names (``{her}``), first mention first."""
    if not spec.prompt:
        return ()
    return tuple(dict.fromkeys(re.findall(r"\{([A-Za-z_][\w\-]*)\}", spec.prompt)))


def resolve_cast(spec: ShotSpec, sb: Storyboard, section: str = "") -> tuple[CastMember, ...]:
    """The cast of one shot (characters named in its prompt, in order of first mention)."""
    out = []
    for name in names_in(spec):
        c = sb.characters.get(name)
        if c is None:
            continue
        if isinstance(spec.age, dict):
            look = spec.age.get(name, "")
        else:
            look = spec.age or section_look(sb, section) or ""
        chosen = c.looks.get(look) if look else None
        if chosen is None:   # a section's look this character does not have: they keep their own
            look = ""
        description = (chosen.description if chosen and chosen.description else c.description)
        refs = tuple(chosen.ref) if chosen and chosen.ref else tuple(c.ref)
        seed = chosen.seed if chosen and chosen.seed is not None else c.seed
        out.append(CastMember(name=name, look=look, description=description, references=refs, seed=seed))
    return tuple(out)


def expand(text: str, cast, sb: Storyboard) -> str:
    """``{name}`` replaced by the cast member's description (their look's), else the character's."""
    by_name = {m.name: m.description for m in cast}

    def sub(m):
        name = m.group(1)
        if name in by_name:
            return by_name[name]
        return sb.characters[name].description if name in sb.characters else m.group(0)

    return re.sub(r"\{([A-Za-z_][\w\-]*)\}", sub, text)


def section_look(sb, section: str):
    """The look the storyboard's ``ages:`` gives a section label, or None."""
    import re

    wanted = section_key(section)
    bare = re.sub(r"\s+\d+$", "", wanted)   # "chorus 2" also matches an ages: entry for "chorus"
    by_key = {section_key(label): look for label, look in sb.ages.items()}
    return by_key.get(wanted, by_key.get(bare))
