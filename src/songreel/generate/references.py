"""Which reference images reach which backend, checked before anything runs.

A shot's cast (resolved by the planner) carries each character's reference pictures; a backend
declares how many one request takes (:attr:`Capabilities.max_references`). The runner puts them in
``GenerationRequest.references``, where their content hashes join the clip's key.
"""

from __future__ import annotations

from ..errors import InputError
from ..schema.cast import shot_references


def check_references(sb, plan, backends) -> None:
    """Refuse, before any generation, a shot with more reference images than its backend takes.

    Image-first shots are exempt: their keyframe already carries the characters.

    Raises
    ------
    InputError
        ``FILE:LINE: shots[i]: N reference images (her: 2, him: 1), but backend "x" takes M; ...``
    """
    image_first = set(plan.extra.get("image_first", ()))
    for shot in plan.shots:
        refs = shot_references(shot.cast)
        if not refs or shot.index in image_first:
            continue
        backend = backends.get(shot.backend, field=f"shots[{shot.index}].backend")
        limit = int(getattr(backend.capabilities(), "max_references", 0))
        if len(refs) > limit:
            who = ", ".join(f"{m.name}{' (' + m.look + ')' if m.look else ''}: {len(m.references)}"
                            for m in shot.cast if m.references)
            raise InputError(f"{sb.where(f'shots[{shot.index}]')}: {len(refs)} reference images ({who}), but "
                             f"backend {backend.name!r} takes {limit or 'none'}; give the characters fewer "
                             "ref: images, or set keyframes: true to place them with an image model first")
