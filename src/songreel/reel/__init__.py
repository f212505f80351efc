"""The orchestration behind the public API: storyboard -> analysis -> plan -> clips -> video -> report.

One job per module:

==============  ==================================================================================
``project``     a storyboard's store folder, its song's analysis (cached, locked), its plan
``checks``      what is checked before anything runs: inputs a storyboard names, outputs to write
``lockfile``    ``<name>.lock.json``: analysis, plan, picks and clip keys of the last render
``eta``         the whole render's time left, from measured throughput
``edit``        generation: every clip made or reused (everything a render needs but the encode)
``render``      the encode, side outputs and the report
``takes``       candidate takes of one shot, their contact strip, the pick
``gc``          which clips a folder's storyboards refer to; removing the rest
==============  ==================================================================================

Programs use :mod:`songreel` (``songreel.render(...)``; see ``docs/python-api.md``); the CLI and the
studio call the same functions.
"""

from __future__ import annotations

from ..errors import Interrupted
from ..progress import Progress
from .checks import check_inputs, check_output, check_output_file, check_song, remove_stale_output_temps
from .edit import build_edit, generate_edit
from .eta import RenderEta
from .gc import gc_store, referenced_keys, store_storyboards
from .lockfile import picks_from_lock, read_lock
from .project import STORE_DIR, analysis_options, analyze_storyboard_song, load, make_plan, project_info, store_dir
from .render import RenderResult, render
from .takes import TakesResult, contact_strip, find_shot, make_takes, pick

__all__ = [
    "STORE_DIR", "Interrupted", "Progress", "RenderEta", "RenderResult", "TakesResult", "analysis_options",
    "analyze_storyboard_song", "build_edit", "check_inputs", "check_output", "check_output_file", "check_song",
    "contact_strip", "find_shot", "gc_store", "generate_edit", "load", "make_plan", "make_takes", "pick",
    "picks_from_lock", "project_info", "read_lock", "referenced_keys", "remove_stale_output_temps", "render",
    "store_dir", "store_storyboards",
]
