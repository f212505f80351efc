"""OpenTimelineIO export and import: the edit as a timeline a director opens in an editor to finish.

This module is the public face of timeline export; each job lives in its own module:

* :mod:`.otio_build` — the edit as an in-memory OTIO timeline (tracks, clips, nested shots);
* :mod:`.transitions` — how each planned transition is written (dissolves within real handles,
  dips as a cut plus a marker);
* :mod:`.markers` — beat, bar and section markers (pure data);
* :mod:`.timeline_media` — media names, references and copying/linking beside the timeline;
* :mod:`.timeline_files` — writing through the ``.otio`` / ``.xml`` / ``.edl`` adapters, reading
  timelines from any tool, and summaries.

``opentimelineio`` is the ``otio`` extra and is imported on first use.
"""

from __future__ import annotations

from .markers import BAR_COLOUR, BEAT_COLOUR, SECTION_COLOUR, beat_markers
from .otio_build import NAMESPACE, SCHEMA, edit_to_otio
from .timeline_files import (ACCEPTED, FORMATS, TARGET_OTIO, TimelineExport, TimelineSummary, read_timeline,
                             summarize, write_timeline)
from .timeline_media import media_names, media_path

__all__ = ["edit_to_otio", "write_timeline", "read_timeline", "summarize", "media_path", "media_names",
           "beat_markers", "TimelineExport", "TimelineSummary", "FORMATS", "SCHEMA", "NAMESPACE", "ACCEPTED",
           "TARGET_OTIO", "BEAT_COLOUR", "BAR_COLOUR", "SECTION_COLOUR"]
