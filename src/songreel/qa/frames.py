"""Stream a shot's stored clips as small frames placed on the project timeline.

Scoring reads the clips a render used (not the encoded film), decodes each once, and keeps only a
small copy of every frame (``width`` pixels wide) for as long as the measure that reads it needs it:
nothing here holds a clip, let alone a video, in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import MediaError, MissingFileError

#: width in pixels of the frames the measures see (height follows the clip's aspect)
WIDTH = 96


@dataclass(frozen=True)
class SmallFrame:
    """One clip frame, downscaled.

    Attributes
    ----------
    time : float
        Project frame (fractional when the clip runs at its own rate) at which it shows.
    segment : int
        0-based segment of the shot it belongs to.
    first : bool
        The first frame shown from its segment (a chained boundary lies just before it when
        ``segment > 0``).
    rgb : numpy.ndarray
        ``(h, w, 3)`` uint8.
    """

    time: float
    segment: int
    first: bool
    rgb: np.ndarray

    @property
    def gray(self) -> np.ndarray:
        """Rec. 601 luma, ``(h, w)`` float32 on 0..255."""
        r, g, b = (self.rgb[..., k].astype(np.float32) for k in range(3))
        return 0.299 * r + 0.587 * g + 0.114 * b


def small_size(width: int, height: int, target: int = WIDTH) -> tuple[int, int]:
    """``(w, h)``, even, ``w == min(target, width)``, aspect kept."""
    w = min(int(target), int(width))
    h = max(2, int(round(height * w / width / 2)) * 2)
    return max(2, w - w % 2), h


def shot_frames(plan, shot, clips, *, width: int = WIDTH, on_screen: bool = True) -> Iterator[SmallFrame]:
    """Every frame of ``shot``'s clips in order, downscaled, with the project frame it shows at.

    Parameters
    ----------
    plan : Plan
    shot : PlannedShot
    clips : sequence of ClipRef
        One per segment (``Edit.clips[shot.index]``).
    width : int
        Width of the small frames.
    on_screen : bool
        Only frames inside the shot's cuts ``[start, end)``; else the handles too.

    Yields
    ------
    SmallFrame

    Raises
    ------
    MissingFileError, MediaError
        A clip is gone or cannot be decoded.
    """
    import av

    lo, hi = (shot.start, shot.end) if on_screen else (shot.render_start, shot.end + shot.tail)
    pfps = Fraction(plan.fps)
    for j, seg in enumerate(shot.segments):
        if seg.end <= lo or seg.start >= hi or j >= len(clips):
            continue
        clip = clips[j]
        path = Path(clip.path)
        if not path.is_file():
            raise MissingFileError(f"{path}: clip of shot {shot.index + 1} is not in the store any more")
        step = pfps / Fraction(clip.fps)  # project frames per clip frame
        first = True
        try:
            with av.open(str(path)) as c:
                stream = c.streams.video[0]
                stream.thread_type = "AUTO"
                size = None
                for k, frame in enumerate(c.decode(stream)):
                    if k < clip.lead:
                        continue
                    t = seg.start + (k - clip.lead) * step
                    if t >= min(seg.end, hi):
                        break
                    if t < lo:
                        continue
                    if size is None:
                        size = small_size(frame.width, frame.height, width)
                    rgb = frame.reformat(width=size[0], height=size[1], format="rgb24",
                                         interpolation="AREA").to_ndarray()
                    yield SmallFrame(float(t), j, first, rgb)
                    first = False
        except av.FFmpegError as e:
            raise MediaError(f"{path}: cannot decode a clip of shot {shot.index + 1} ({e})") from None


def file_frames(path: Path, *, width: int = WIDTH, every: int = 1) -> Iterator[SmallFrame]:
    """Every ``every``-th frame of any video file, downscaled, timed in its own frames (one segment).

    For scoring footage that is not part of a render (the benchmark's real clips).
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such video file")
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise MediaError(f"{path}: no video stream")
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            size = None
            for k, frame in enumerate(c.decode(stream)):
                if k % every:
                    continue
                if size is None:
                    size = small_size(frame.width, frame.height, width)
                rgb = frame.reformat(width=size[0], height=size[1], format="rgb24",
                                     interpolation="AREA").to_ndarray()
                yield SmallFrame(float(k), 0, k == 0, rgb)
    except av.FFmpegError as e:
        raise MediaError(f"{path}: cannot decode ({e})") from None
