"""A decoded song: the samples analysis reads, plus the original file that is muxed unchanged."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True, eq=False)
class Song:
    """A song decoded to float32.

    Attributes
    ----------
    path : Path
        The original file; the render carries its audio unchanged.
    samples : numpy.ndarray
        Shape ``(channels, n)``, float32 in ``[-1, 1]``, at ``sample_rate``.
    sample_rate : int
    codec : str
        The source audio codec name as FFmpeg calls it (``"aac"``, ``"mp3"``, ``"pcm_s16le"``).
    sha256 : str
        Hash of the file's bytes.
    """

    path: Path
    samples: np.ndarray = field(repr=False)
    sample_rate: int
    codec: str
    sha256: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.shape[-1] / self.sample_rate

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    def mono(self) -> np.ndarray:
        """Mean of the channels, shape ``(n,)``."""
        return self.samples.mean(axis=0) if self.samples.shape[0] > 1 else self.samples[0]

    def with_(self, **changes) -> "Song":
        return dataclasses.replace(self, **changes)
