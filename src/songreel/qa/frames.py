"""Stream a shot's clips as small frames placed on the project timeline.

Scoring reads the clips a render used (not the encoded film): the frames the assembly decodes
(:mod:`.tap`), or, for shots the assembly did not decode in full, each clip once more. Footage is
made from the user's source as the assembly shows it. Only a small copy of every frame (``width``
pixels wide) is kept, for as long as the measure that reads it needs it: nothing here holds a clip,
let alone a video, in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import MediaError, MissingFileError

#: width in pixels of the frames the measures see (height follows the clip's aspect)
WIDTH = 96


@dataclass(frozen=True)
class SmallFrame:
    """One clip frame, downscaled, as the codec stores it (Y'CbCr, 8-bit code values).

    Attributes
    ----------
    time : float
        Project frame (fractional when the clip runs at its own rate) at which it shows.
    segment : int
        0-based segment of the shot it belongs to.
    first : bool
        The first frame shown from its segment (a chained boundary lies just before it when
        ``segment > 0``).
    y : numpy.ndarray
        ``(h, w)`` float32 luma.
    u, v : numpy.ndarray
        ``(h // 2, w // 2)`` float32 chroma, centred on 128.
    """

    time: float
    segment: int
    first: bool
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray


def _plane(plane, height: int, width: int) -> np.ndarray:
    return np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:height, :width]


def small_planes(frame, size: tuple[int, int], reformatter=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A decoded ``av.VideoFrame`` as small Y, U, V planes (``size`` = luma ``(w, h)``, even).

    One swscale pass straight to small yuv420p with area averaging, no full-size colour conversion;
    pass one ``av.video.reformatter.VideoReformatter`` for a whole clip so its scaler is set up once
    (measured on a 720p clip: 0.47 ms CPU a frame, against 1.1 ms with a new scaler per frame and
    2.5 ms for OpenCV's area resize of the luma alone).
    """
    w, h = size
    if reformatter is None:
        small = frame.reformat(width=w, height=h, format="yuv420p", interpolation="AREA")
    else:
        small = reformatter.reformat(frame, width=w, height=h, format="yuv420p", interpolation="AREA")
    y = _plane(small.planes[0], h, w).astype(np.float32)
    u = _plane(small.planes[1], h // 2, w // 2).astype(np.float32)
    v = _plane(small.planes[2], h // 2, w // 2).astype(np.float32)
    return y, u, v


def small_size(width: int, height: int, target: int = WIDTH) -> tuple[int, int]:
    """``(w, h)``, even, ``w == min(target, width)`` (rounded down to even), aspect kept."""
    w = max(2, min(int(target), int(width)) // 2 * 2)
    h = max(2, round(height * w / width / 2) * 2)
    return w, h


def clip_window(plan, shot, j: int, clip, lo: int, hi: int) -> tuple[int, int, Fraction]:
    """Which frames of segment ``j``'s clip show inside project frames ``[lo, hi)``.

    Clip frame ``k`` shows at project frame ``segment.start + (k - clip.lead) * step`` (exact rational
    time, ``step`` = project frames per clip frame).

    Returns
    -------
    first, end : int
        Clip frames ``first <= k < end`` show inside the window (``end <= first`` when none does).
    step : Fraction
    """
    seg = shot.segments[j]
    step = Fraction(plan.fps) / Fraction(clip.fps)
    top = min(seg.end, hi)

    def index_from(t) -> int:  # first clip frame shown at or after project frame t
        return clip.lead + max(0, math.ceil(Fraction(t - seg.start) / step))

    return index_from(lo), index_from(top), step


def clip_pictures(clip, shot_number: int) -> Iterator[tuple[int, object]]:
    """``(k, picture)`` for every frame of a clip in order, as the assembly decodes it.

    A stored clip is decoded from its file; a footage clip (``clip.conform``) is made from the user's
    source on the fly, exactly as the assembly shows it (retimed, rotated, fitted).

    Raises
    ------
    MissingFileError, MediaError
        A clip is gone or cannot be decoded.
    """
    import av

    if clip.conform is not None:
        from ..sampling import FootageFrames

        footage = FootageFrames(clip.conform, field=f"shot {shot_number}: clip")
        try:
            for k in range(clip.frames):
                yield k, footage.picture(k)
        finally:
            footage.close()
        return
    path = Path(clip.path)
    if not path.is_file():
        raise MissingFileError(f"{path}: clip of shot {shot_number} is not in the store any more")
    try:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            yield from enumerate(c.decode(stream))
    except av.FFmpegError as e:
        raise MediaError(f"{path}: cannot decode a clip of shot {shot_number} ({e})") from None


class SmallPictures:
    """Turn one clip's decoded pictures into small planes, the scaler set up once per clip."""

    def __init__(self, width: int = WIDTH):
        from av.video.reformatter import VideoReformatter

        self.width = width
        self.scaler = VideoReformatter()
        self.size: tuple[int, int] | None = None

    def planes(self, picture) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Y, U, V of a decoded ``av.VideoFrame`` (or packed yuv420p array), downscaled."""
        if isinstance(picture, np.ndarray):
            import av

            picture = av.VideoFrame.from_ndarray(picture, format="yuv420p")
        if self.size is None:
            self.size = small_size(picture.width, picture.height, self.width)
        return small_planes(picture, self.size, self.scaler)


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
    lo, hi = (shot.start, shot.end) if on_screen else (shot.render_start, shot.end + shot.tail)
    for j, seg in enumerate(shot.segments):
        if seg.end <= lo or seg.start >= hi or j >= len(clips):
            continue
        clip = clips[j]
        first_k, end_k, step = clip_window(plan, shot, j, clip, lo, hi)
        small = SmallPictures(width)
        for k, picture in clip_pictures(clip, shot.index + 1):
            if k >= end_k:
                break
            if k >= first_k:
                yield SmallFrame(float(seg.start + (k - clip.lead) * step), j, k == first_k, *small.planes(picture))


def file_frames(path: Path, *, width: int = WIDTH, every: int = 1) -> Iterator[SmallFrame]:
    """Every ``every``-th frame of any video file, downscaled, timed in its own frames (one segment).

    For scoring footage that is not part of a render (the benchmark's real clips).
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such video file")
    small = SmallPictures(width)
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise MediaError(f"{path}: no video stream")
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            for k, frame in enumerate(c.decode(stream)):
                if k % every == 0:
                    yield SmallFrame(float(k), 0, k == 0, *small.planes(frame))
    except av.FFmpegError as e:
        raise MediaError(f"{path}: cannot decode ({e})") from None
