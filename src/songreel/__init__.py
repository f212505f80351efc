"""songreel: a song and a story in, a finished beat-synced music video out.

::

    import songreel

    result = songreel.render("my-video.yaml", "out.mp4")
    print(result.report.sync.max_cut_error_ms)

The public API (``docs/python-api.md``): :func:`load`, :func:`analyze`, :func:`plan`, :func:`render`,
:func:`export`, :func:`make_takes`, :func:`pick`, the :class:`Progress` protocol, the result types and
the error tree rooted at :class:`SongreelError`.

``import songreel`` stays light: each name is imported on first use, and stages and heavy extras
(librosa, torch, diffusers, gradio, ray) only when a function needs them.
"""

from __future__ import annotations

import importlib
import logging
import sys
import types
from typing import TYPE_CHECKING, Any

from .errors import (
    GenerationError,
    InputError,
    Interrupted,
    MediaError,
    MissingExtraError,
    MissingFileError,
    OutputError,
    PlanError,
    SongreelError,
    StoryboardError,
    UnknownNameError,
)
from .progress import Progress

__version__ = "0.1.0"

# a library adds no handler of its own: the application (or the CLI's -v / --log-file) decides
logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> module that defines it, imported on first use (one line each)
_LAZY = {
    "load": ".api",
    "loads": ".api",
    "analyze": ".api",
    "plan": ".api",
    "estimate_cost": ".api",
    "render": ".api",
    "export": ".api",
    "review": ".api",
    "plot_analysis": ".api",
    "store_info": ".api",
    "clean_store": ".api",
    "prices": ".api",
    "demo_project": ".api",
    "character_sheet": ".api",
    "keyframes": ".api",
    "CharacterSheet": ".generate.keyframes",
    "KeyframesResult": ".generate.keyframes",
    "draft": ".draft",
    "DraftResult": ".draft",
    "make_takes": ".reel.takes",
    "pick": ".reel.takes",
    "TakesResult": ".reel.takes",
    "RenderResult": ".reel.render",
    "Report": ".schema.report",
    "SyncReport": ".schema.report",
    "ShotCounts": ".schema.report",
    "QAReport": ".schema.qa",
    "Storyboard": ".schema.storyboard",
    "Plan": ".schema.plan",
    "Analysis": ".schema.analysis",
}

__all__ = [
    "__version__",
    "Analysis",
    "analyze",
    "character_sheet",
    "CharacterSheet",
    "clean_store",
    "demo_project",
    "draft",
    "DraftResult",
    "estimate_cost",
    "export",
    "GenerationError",
    "InputError",
    "Interrupted",
    "keyframes",
    "KeyframesResult",
    "load",
    "loads",
    "make_takes",
    "MediaError",
    "MissingExtraError",
    "MissingFileError",
    "OutputError",
    "pick",
    "plan",
    "Plan",
    "PlanError",
    "plot_analysis",
    "prices",
    "Progress",
    "QAReport",
    "render",
    "RenderResult",
    "Report",
    "review",
    "ShotCounts",
    "SongreelError",
    "store_info",
    "Storyboard",
    "StoryboardError",
    "SyncReport",
    "TakesResult",
    "UnknownNameError",
]

if TYPE_CHECKING:
    from .api import (
        analyze,
        character_sheet,
        clean_store,
        demo_project,
        estimate_cost,
        export,
        keyframes,
        load,
        loads,
        plan,
        plot_analysis,
        prices,
        render,
        review,
        store_info,
    )
    from .draft import (
        draft,
        DraftResult,
    )
    from .generate.keyframes import (
        CharacterSheet,
        KeyframesResult,
    )
    from .reel.render import (
        RenderResult,
    )
    from .reel.takes import (
        make_takes,
        pick,
        TakesResult,
    )
    from .schema.analysis import (
        Analysis,
    )
    from .schema.plan import (
        Plan,
    )
    from .schema.qa import (
        QAReport,
    )
    from .schema.report import (
        Report,
        ShotCounts,
        SyncReport,
    )
    from .schema.storyboard import (
        Storyboard,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'songreel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """``songreel.plan``, ``songreel.export`` and ``songreel.draft`` name API functions and also packages
    (``songreel/plan/``, ``songreel/export/``, ``songreel/draft/``). Importing such a package sets it as an
    attribute of its parent; here that is skipped for those names, so the function stays what
    ``songreel.plan`` means while ``import songreel.plan.planner`` keeps working through ``sys.modules``."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("plan", "export", "draft") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
