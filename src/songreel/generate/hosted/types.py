"""The small data objects and errors the hosted backends pass around (no network, no I/O).

::

    ModelInfo     what one provider model accepts (clip lengths, sizes, conditioning)
    Submission    a provider request ready to send, with what it bills
    JobStatus     one poll's answer
    Lookup        what a search for a job whose submit reply was lost found

Errors (all :class:`~songreel.errors.SongreelError`)::

    MissingKeyError       InputError: the API key is not in the environment
    UnknownOutcomeError   GenerationError: a submission may have been billed; songreel will not pay again
    BadMedia              GenerationError: a downloaded file does not decode or has the wrong length
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ...errors import GenerationError, InputError


class MissingKeyError(InputError):
    """The provider's API key is not in the environment."""


class UnknownOutcomeError(GenerationError):
    """A submission's outcome could not be determined; songreel will not pay again without being told."""


class BadMedia(GenerationError):
    """A downloaded file does not decode or has the wrong length."""


@dataclass(frozen=True)
class ModelInfo:
    """What one provider model accepts.

    Attributes
    ----------
    durations : tuple of int
        Allowed clip lengths in seconds.
    sizes : tuple of (int, int)
        Allowed output sizes.
    first_frame, last_frame : bool
        Conditioning on a first / last image.
    text_only : bool
        Accepts a request without a first frame.
    references : int
        How many reference images (characters, style) it takes; 0 = none.
    """

    durations: tuple
    sizes: tuple
    first_frame: bool = True
    last_frame: bool = False
    text_only: bool = True
    references: int = 0


@dataclass
class Submission:
    """A provider request ready to send.

    Attributes
    ----------
    payload : Any
        What ``_submit`` sends (JSON body, or multipart fields and files).
    seconds : int
        The clip length asked for (what is billed).
    width, height : int
        The output size asked for.
    match : dict
        Facts a lookup compares with listed jobs (prompt, model, size, seconds).
    digest : str
        sha256 of ``payload`` (set by the cycle; journaled).
    dollars : float, optional
        The estimated cost of this job (journaled with it).
    """

    payload: Any
    seconds: int
    width: int
    height: int
    match: dict = field(default_factory=dict)
    digest: str = ""
    dollars: Optional[float] = None


@dataclass(frozen=True)
class JobStatus:
    """One poll: ``state`` is ``"running"``, ``"done"`` or ``"failed"``.

    ``cost`` is the job's cost in US dollars when the provider reports it (journaled as the actual cost).
    """

    state: str
    message: str = ""
    url: Optional[str] = None
    progress: Optional[float] = None
    cost: Optional[float] = None


@dataclass(frozen=True)
class Lookup:
    """Result of looking for a job whose submission reply never arrived: ``"found"``, ``"absent"`` or ``"cannot"``."""

    outcome: str
    job_id: Optional[str] = None
    detail: str = ""


def digest_of(payload: Any) -> str:
    """sha256 of a JSON-able payload (bytes are hashed, not stored)."""
    def default(o):
        if isinstance(o, (bytes, bytearray)):
            return "sha256:" + hashlib.sha256(o).hexdigest()
        return str(o)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=default).encode()).hexdigest()
