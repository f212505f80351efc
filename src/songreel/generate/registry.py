"""The backend registry: one line per built-in backend; third parties use the entry-point group
``songreel.backends`` (``name = "package.module:Class"``)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..errors import MissingExtraError, UnknownNameError, did_you_mean
from ..schema.storyboard import BackendSpec
from .base import Backend, ProjectInfo


@dataclass(frozen=True)
class Entry:
    target: str          # "module:Class", relative to songreel.generate
    extra: str           # pip extra that provides its dependencies ("" = core)
    needs: tuple         # import names that must be present
    summary: str
    lazy: bool = False   # needs are checked on first use (a plan or a price needs no network client)


BACKENDS: dict[str, Entry] = {
    "animatic": Entry("animatic:AnimaticBackend", "", (), "procedural preview of every shot; CPU, no weights"),
    "footage": Entry("footage:FootageBackend", "", (), "your own clips or stills, trimmed/looped to the shot"),
    "diffusers": Entry("diffusers_video:DiffusersBackend", "diffusers", ("torch", "diffusers"),
                       "open models on your GPU: Wan, LTX-Video, CogVideoX, HunyuanVideo"),
    "veo": Entry("hosted.veo:VeoBackend", "hosted", ("httpx",), "Google Veo via the Gemini API", lazy=True),
    "runway": Entry("hosted.runway:RunwayBackend", "hosted", ("httpx",), "Runway API", lazy=True),
    "luma": Entry("hosted.luma:LumaBackend", "hosted", ("httpx",), "Luma Dream Machine API", lazy=True),
    "openai-videos": Entry("hosted.openai_videos:OpenAIVideosBackend", "hosted", ("httpx",),
                           "your own server speaking the OpenAI videos API (vLLM-Omni, SGLang Diffusion)", lazy=True),
    "replicate": Entry("hosted.replicate:ReplicateBackend", "hosted", ("httpx",),
                       "Kling, Hailuo, Seedance, Wan and more through Replicate", lazy=True),
}


def _entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    try:
        return {ep.name: ep.value for ep in entry_points(group="songreel.backends")}
    except Exception:  # broken third-party metadata must not break songreel
        return {}


def names() -> list[str]:
    """Every backend name known: built-in and installed plug-ins."""
    return sorted(set(BACKENDS) | set(_entry_points()))


def missing_modules(name: str) -> list[str]:
    """Import names a built-in backend needs that are not installed."""
    import importlib.util

    entry = BACKENDS.get(name)
    if entry is None:
        return []
    return [m for m in entry.needs if importlib.util.find_spec(m) is None]


def backend_class(name: str, *, field: str = "backend"):
    """Import and return the class for backend ``name``.

    Raises
    ------
    UnknownNameError
        ``name`` is not registered.
    MissingExtraError
        Its extra is not installed.
    """
    entry = BACKENDS.get(name)
    if entry is None:
        plugin = _entry_points().get(name)
        if plugin is None:
            raise UnknownNameError(f'{field}: unknown backend "{name}"{did_you_mean(name, names())}; '
                                   f"accepted: {', '.join(names())}")
        module, _, attr = plugin.partition(":")
        return getattr(importlib.import_module(module), attr)
    missing = [] if entry.lazy else missing_modules(name)
    if missing:
        raise MissingExtraError(entry.extra, missing[0], f'{field}: backend "{name}"')
    module, _, attr = entry.target.partition(":")
    return getattr(importlib.import_module(f"songreel.generate.{module}"), attr)


def create(spec: BackendSpec, project: ProjectInfo, *, field: str = "backend") -> Backend:
    """Instantiate the backend a spec names, with its options."""
    import inspect

    cls = backend_class(spec.name, field=field)
    if "field" in inspect.signature(cls.__init__).parameters:  # lets option errors name shots[2].backend.x
        return cls(spec, project=project, field=field)
    return cls(spec, project=project)
