"""Executors: where a plan's clips are generated. One module per executor, one line each in :data:`EXECUTORS`.

An executor is handed the shot graph by :func:`songreel.generate.runner.generate_plan` and decides
where each shot's clips are made; the runner keeps everything else (requests, keys, chaining, the
content-addressed store, the shot journal), so every executor produces the same clips, key for key::

    class MyExecutor:
        name = "mine"

        def backends(self, backends, plan): ...     # what the runner asks for a shot's backend
        def run_shots(self, shots, run, backends): ...  # call run(shot) for every shot, in any order
                                                    # that lets a last_frame: next shot follow its next
        def run_takes(self, pairs, run, backends): ...  # call run(shot, take) for candidate takes
        def describe(self, plan, summary) -> dict: ...  # the report's ``executor`` section
        def close(self): ...

``local`` (the default) runs shots in threads of this process, concurrently per hosted backend up to
its ``max_concurrent``. ``ray`` spreads them over a Ray cluster: an actor per GPU keeps its model
loaded; clips come back through Ray's object store and are written here, into the store.
"""

from __future__ import annotations

import os
from typing import Optional

from ...errors import InputError, MissingExtraError, did_you_mean

EXECUTORS: dict[str, tuple[str, str, tuple]] = {
    # name: ("module:Class" relative to this package, pip extra, import names it needs)
    "local": ("local:LocalExecutor", "", ()),
    "ray": ("ray:RayExecutor", "ray", ("ray",)),
}


def names() -> list[str]:
    """Every executor name."""
    return list(EXECUTORS)


def check_name(name, *, field: str = "executor") -> str:
    """``name`` if it is an executor, else an :class:`InputError` naming the accepted ones."""
    if not isinstance(name, str) or name.strip() not in EXECUTORS:
        shown = f'"{name}"' if isinstance(name, str) else repr(name)
        hint = did_you_mean(name.strip(), EXECUTORS) if isinstance(name, str) else ""
        raise InputError(f"{field}: got {shown}{hint}; accepted: {', '.join(EXECUTORS)}")
    return name.strip()


def create(name: str = "local", *, address: Optional[str] = None, field: str = "executor", **options):
    """The executor called ``name``.

    Parameters
    ----------
    name : {"local", "ray"}
    address : str, optional
        Ray only: the cluster to join (``ray://head:10001``, ``auto``); default ``RAY_ADDRESS``, else
        a Ray instance already started in this process, else a new local one.
    options
        Passed to the executor's constructor.

    Raises
    ------
    InputError
        An unknown name, or an address given to the local executor.
    MissingExtraError
        ``ray`` is not installed (``pip install 'songreel[ray]'``).
    """
    import importlib.util

    name = check_name(name, field=field)
    target, extra, needs = EXECUTORS[name]
    for mod in needs:
        if importlib.util.find_spec(mod) is None:
            raise MissingExtraError(extra, mod, f'{field}: executor "{name}"')
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    if name == "local":
        if address:
            raise InputError(f"ray_address: got {address!r} with the local executor; it needs executor ray")
        return cls(**options)
    return cls(address=address or os.environ.get("RAY_ADDRESS") or None, **options)
