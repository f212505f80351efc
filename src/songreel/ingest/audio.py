"""Decode any audio file PyAV reads into a :class:`~songreel.schema.song.Song`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import MediaError, MissingFileError
from ..schema.song import Song


def file_sha256(path: Path, *, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def load_song(path, *, sample_rate: int | None = None, mono: bool = False, field: str = "song") -> Song:
    """Decode the first audio stream of ``path`` to float32.

    Decoded frames are written into one growing buffer (no list of chunks to concatenate), so the
    peak memory is about the decoded song once; with ``sample_rate`` and ``mono`` FFmpeg's
    resampler delivers the song at the rate and channel count the caller needs (the analysis
    reads a 10-minute song as 53 MB of mono 22.05 kHz instead of 212 MB of stereo 44.1 kHz).

    Parameters
    ----------
    path : str or Path
        Any container/codec FFmpeg decodes (wav, flac, mp3, ogg, m4a/aac, opus, video files).
    sample_rate : int, optional
        Resample to this rate; default keeps the file's rate.
    mono : bool
        Mix down to one channel (FFmpeg's downmix).
    field : str
        Name used in error messages (``song``, ``shots[3].clip`` ...).

    Returns
    -------
    Song
        ``samples`` has shape ``(channels, n)``; 5.1 and other layouts are kept as decoded
        channels (mono/stereo mixing is the caller's choice).

    Raises
    ------
    MissingFileError
        The file does not exist.
    MediaError
        The file is not decodable audio, has no audio stream or no samples.
    """
    import av  # deferred: keeps `import songreel` light

    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"{field}: {path}: no such file")
    if path.is_dir():
        raise MediaError(f"{field}: {path}: is a folder, expected an audio file")
    try:
        container = av.open(str(path))
    except PermissionError:
        raise MediaError(f"{field}: {path}: cannot be read (permission denied)") from None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise MediaError(f"{field}: {path}: not a readable audio file ({_reason(e)}); "
                         "expected wav, flac, mp3, ogg, m4a/aac or opus") from None
    buf = _Buffer()
    try:
        with container:
            streams = container.streams.audio
            if not streams:
                raise MediaError(f"{field}: {path}: has no audio stream; expected an audio file")
            stream = streams[0]
            codec = stream.codec_context.name
            rate = sample_rate or stream.codec_context.sample_rate or stream.rate
            channels = 1 if mono else (stream.codec_context.channels or 1)
            layout = "mono" if mono else (stream.codec_context.layout.name if stream.codec_context.layout else None)
            seconds = (float(stream.duration * stream.time_base) if stream.duration and stream.time_base
                       else (container.duration or 0) / 1e6)
            buf.reserve(channels, int(seconds * rate) + rate)
            resampler = av.AudioResampler(format="fltp", layout=layout or channels, rate=rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    buf.append(out.to_ndarray())
            for out in resampler.resample(None):
                buf.append(out.to_ndarray())
    except MediaError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as e:
        raise MediaError(f"{field}: {path}: audio could not be decoded ({_reason(e)})") from None
    samples = buf.result()
    if samples.shape[-1] == 0:
        raise MediaError(f"{field}: {path}: contains no audio samples; expected a song at least 1 s long")
    return Song(path=path, samples=samples, sample_rate=int(rate), codec=codec, sha256=file_sha256(path))


class _Buffer:
    """A ``(channels, n)`` float32 array filled frame by frame, grown by half when full."""

    def __init__(self):
        self.data = np.zeros((1, 0), dtype=np.float32)
        self.n = 0

    def reserve(self, channels: int, n: int) -> None:
        self.data = np.empty((channels, max(n, 0)), dtype=np.float32)

    def append(self, block: np.ndarray) -> None:
        k = block.shape[-1]
        if block.shape[0] != self.data.shape[0] and self.n == 0:
            self.data = np.empty((block.shape[0], self.data.shape[1]), dtype=np.float32)
        if self.n + k > self.data.shape[1]:
            grown = np.empty((self.data.shape[0], max(self.n + k, int(self.data.shape[1] * 1.5) + 1)),
                             dtype=np.float32)
            grown[:, :self.n] = self.data[:, :self.n]
            self.data = grown
        self.data[:, self.n:self.n + k] = block
        self.n += k

    def result(self) -> np.ndarray:
        if self.n == self.data.shape[1]:
            return self.data
        return np.ascontiguousarray(self.data[:, :self.n])


def _reason(e: Exception) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return text.split(":")[-1].strip() or type(e).__name__
