"""songreel.export: an :class:`~songreel.schema.edit.Edit` described as files for finishing.

* :mod:`.timeline` — OpenTimelineIO timeline (``.otio``; ``.xml`` FCP7 and ``.edl`` CMX3600 through
  the OTIO adapter plug-ins), and reading timelines written by other tools.
* :mod:`.contact_sheet` — one captioned thumbnail per shot over a beat-grid strip (PNG).
* :mod:`.subtitles` — lyrics as frame-aligned SRT / WebVTT, and a burn-in overlay.
* :mod:`.report` — the sync report.

Submodules are imported on use: ``opentimelineio`` is an optional extra.
"""
