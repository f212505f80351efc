"""Quality checks: a report card for every render — find the bad shots before the audience does.

One job per module:

============  ========================================================================================
``frames``    a shot's stored clips streamed as small frames placed on the project timeline
``measures``  model-free measures in one pass: black, stillness, flicker, seams, colour drift, motion
``identity``  an image-embedding model (CLIP/SigLIP through transformers) against a character's image
``flags``     thresholds, flags, reasons, the score
``score``     measure and judge every shot of an edit; the worst first
``sheet``     the review contact sheet with the flags drawn on it
============  ========================================================================================

The data objects (:class:`~songreel.schema.qa.QAReport`, :class:`~songreel.schema.qa.ShotQA`) live in
``schema/qa.py``. Thresholds and what they mean: ``docs/qa.md``.
"""

from __future__ import annotations

from ..schema.qa import QAReport, ShotQA
from .flags import FLAGS, judge
from .score import score_edit, score_shot

__all__ = ["FLAGS", "QAReport", "ShotQA", "judge", "score_edit", "score_shot"]
