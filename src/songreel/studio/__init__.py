"""The studio: direct a whole video in a browser (``songreel studio``, ``pip install 'songreel[studio]'``).

A Gradio app over the public API, one project folder at a time:

- :mod:`.project` — the project folder, its path rule (nothing outside is read or written), uploads;
- :mod:`.storyboard_table` — the storyboard YAML and the shot table in step, comments kept;
- :mod:`.queue` — one render queue per project, owned by the server, state in the project folder;
- :mod:`.service` — every action (analyse, check, plan, draft, demo, preview, estimate, render, takes, pick);
- :mod:`.app` — the page's layout and wiring; :mod:`.callbacks` — its handlers;
- :mod:`.endpoints` — the named API endpoints (``/analyze``, ``/plan``, ``/render``).

Importing this package imports nothing heavy; :func:`launch` imports gradio.
"""

from __future__ import annotations

from typing import Any


def launch(root, **kwargs: Any):
    """Start the studio for project folder ``root`` (see :func:`songreel.studio.app.launch`)."""
    from .app import launch as _launch

    return _launch(root, **kwargs)


__all__ = ["launch"]
