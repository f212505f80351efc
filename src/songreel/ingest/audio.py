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


def load_song(path, *, sample_rate: int | None = None, field: str = "song") -> Song:
    """Decode the first audio stream of ``path`` to float32.

    Parameters
    ----------
    path : str or Path
        Any container/codec FFmpeg decodes (wav, flac, mp3, ogg, m4a/aac, opus, video files).
    sample_rate : int, optional
        Resample to this rate; default keeps the file's rate.
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
    chunks: list[np.ndarray] = []
    try:
        with container:
            streams = container.streams.audio
            if not streams:
                raise MediaError(f"{field}: {path}: has no audio stream; expected an audio file")
            stream = streams[0]
            codec = stream.codec_context.name
            rate = sample_rate or stream.codec_context.sample_rate or stream.rate
            channels = stream.codec_context.channels or 1
            layout = stream.codec_context.layout.name if stream.codec_context.layout else None
            resampler = av.AudioResampler(format="fltp", layout=layout or channels, rate=rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
    except MediaError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as e:
        raise MediaError(f"{field}: {path}: audio could not be decoded ({_reason(e)})") from None
    if not chunks or sum(c.shape[-1] for c in chunks) == 0:
        raise MediaError(f"{field}: {path}: contains no audio samples; expected a song at least 1 s long")
    samples = np.concatenate(chunks, axis=-1).astype(np.float32, copy=False)
    return Song(path=path, samples=samples, sample_rate=int(rate), codec=codec, sha256=file_sha256(path))


def _reason(e: Exception) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return text.split(":")[-1].strip() or type(e).__name__
