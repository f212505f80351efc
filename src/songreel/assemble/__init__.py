"""Assembly: plan + clips + song -> one video file, streamed frame by frame.

The package reads only :mod:`songreel.schema` data (the plan carries the zoom layout, camera moves,
pulses, retiming modes and colour-match strength, resolved by the planner); it imports no other stage.

Modules, one job each:

- :mod:`.pipeline` — :func:`assemble`: the compose thread, the encoder, the chunk cache, publishing;
- :mod:`.chunks` — chunk boundaries at the cuts and their content addresses;
- :mod:`.compositor` — the frames of a cuts-look edit (retime, colour, camera, transitions, seams);
- :mod:`.reader` — a shot's clips (or footage sources, conformed on the fly) at project frames;
- :mod:`.zoom` — the frames of the infinite-zoom look;
- :mod:`.encode` — the MP4 writer and chunk joiner, the song muxed unchanged;
- :mod:`.camera`, :mod:`.color`, :mod:`.transitions`, :mod:`.retime`, :mod:`.warp`, :mod:`.overlay`
  — the per-frame effects.
"""

from __future__ import annotations

from .compositor import Compositor, compose_frames
from .pipeline import QUEUE_FRAMES, AssemblyResult, assemble

__all__ = ["AssemblyResult", "Compositor", "QUEUE_FRAMES", "assemble", "compose_frames"]
