"""HTTP for hosted backends: retries with backoff, and the line between "safe to repeat" and "might pay twice".

Exceptions raised here (all leave the API key out of their text)::

    GenerationError                       songreel's: the shot fails, others go on
    ├── ProviderError                     the provider answered 4xx (not 429): bad input, auth, moderation
    ├── RetriesExhausted                  429 / 5xx / network errors kept coming past the retry budget
    └── AmbiguousSubmit                   a *submission* may or may not have reached the provider
                                          (read timeout, connection dropped after sending, 500/502/504)

Reads (GET) are retried on 429, 5xx, timeouts and connection errors. A submission (POST that
creates a paid job) is retried only where the provider certainly did not take it: 429, 503, and
connection errors raised before the request was sent (``httpx.ConnectError`` / ``ConnectTimeout``).
Everything else on a submission raises :class:`AmbiguousSubmit`, which the backend resolves by
looking the job up, never by sending again blindly.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from dataclasses import dataclass
from typing import Optional

from ...errors import GenerationError

RETRY_STATUS = {429, 500, 502, 503, 504}
SAFE_SUBMIT_STATUS = {429, 503}  # the provider says it did not accept the request

log = logging.getLogger(__name__)


class ProviderError(GenerationError):
    """The provider rejected a request (4xx other than 429) or failed a job."""

    def __init__(self, message: str, *, status: Optional[int] = None):
        super().__init__(message)
        self.status = status


class RetriesExhausted(GenerationError):
    """Transient errors outlasted the retry budget."""


class AmbiguousSubmit(GenerationError):
    """A submission's outcome is unknown: the provider may have created (and will bill) the job."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by count and total time.

    Attributes
    ----------
    retries : int
        Retries after the first attempt.
    base, cap : float
        Backoff ``uniform(0, min(cap, base * 2**attempt))`` seconds.
    max_wait : float
        Longest ``retry-after`` honoured for one wait (seconds).
    budget : float
        Give up once this many seconds have been spent waiting in total.
    """

    retries: int = 6
    base: float = 1.0
    cap: float = 60.0
    max_wait: float = 120.0
    budget: float = 600.0

    def delay(self, attempt: int, response=None) -> float:
        ra = retry_after(response) if response is not None else None
        if ra is not None:
            return min(ra, self.max_wait)
        return random.uniform(0, min(self.cap, self.base * (2 ** attempt)))


def retry_after(response) -> Optional[float]:
    """Seconds from a ``retry-after`` header (delta-seconds or HTTP date), or None."""
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def redact(text: str, secret: Optional[str]) -> str:
    """``text`` with ``secret`` replaced by ``***`` (providers sometimes echo what they were sent)."""
    text = str(text)
    if secret:
        text = text.replace(secret, "***")
    return text


def error_text(response, secret: Optional[str], limit: int = 400) -> str:
    """The provider's error message from a response body (JSON ``error.message``, ``failure``...)."""
    try:
        doc = response.json()
    except ValueError:
        doc = None
    msg = None
    if isinstance(doc, dict):
        err = doc.get("error")
        if isinstance(err, dict):
            msg = err.get("message") or err.get("code")
        elif isinstance(err, str):
            msg = err
        msg = msg or doc.get("message") or doc.get("detail") or doc.get("failure") or doc.get("failure_reason")
    if not msg:
        msg = response.text[:limit] if response.text else response.reason_phrase
    return redact(str(msg)[:limit], secret)


def send(client, method: str, url: str, *, what: str, secret: Optional[str], policy: RetryPolicy,
         submit: bool = False, sleep=time.sleep, **kwargs):
    """One HTTP exchange with retries; returns the successful ``httpx.Response``.

    Parameters
    ----------
    client : httpx.Client
    what : str
        Names the exchange in messages ("veo: submit shot clip abc123").
    secret : str
        The API key, scrubbed from every message.
    submit : bool
        True for a request that creates a paid job (see the module docstring).

    Raises
    ------
    ProviderError, RetriesExhausted, AmbiguousSubmit
    """
    import httpx

    waited = 0.0
    attempt = 0
    while True:
        response = None
        try:
            response = client.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            problem = f"cannot connect ({type(e).__name__})"
        except httpx.TimeoutException as e:
            if submit:
                raise AmbiguousSubmit(f"{what}: no reply ({type(e).__name__}); the job may have been created") from None
            problem = f"timed out ({type(e).__name__})"
        except httpx.TransportError as e:
            if submit:
                raise AmbiguousSubmit(f"{what}: connection lost ({type(e).__name__}); "
                                      "the job may have been created") from None
            problem = f"connection error ({type(e).__name__})"
        else:
            if response.status_code < 400:
                return response
            detail = error_text(response, secret)
            if response.status_code not in RETRY_STATUS:
                raise ProviderError(f"{what}: HTTP {response.status_code}: {detail}", status=response.status_code)
            if submit and response.status_code not in SAFE_SUBMIT_STATUS:
                raise AmbiguousSubmit(f"{what}: HTTP {response.status_code}: {detail}; the job may have been created")
            problem = f"HTTP {response.status_code}: {detail}"
        if attempt >= policy.retries or waited >= policy.budget:
            raise RetriesExhausted(f"{what}: gave up after {attempt + 1} attempts: {problem}")
        delay = min(policy.delay(attempt, response), max(0.0, policy.budget - waited))
        log.info("%s: %s; retry %d of %d in %.2f s", what, problem, attempt + 1, policy.retries, delay)
        sleep(delay)
        waited += delay
        attempt += 1


def json_body(response, provider: str) -> dict:
    """A reply's JSON object (``{}`` for JSON that is not an object).

    Raises
    ------
    GenerationError
        The reply is not JSON, naming the provider and the HTTP status.
    """
    try:
        doc = response.json()
    except ValueError:
        raise GenerationError(f"{provider}: the reply is not JSON (HTTP {response.status_code})") from None
    return doc if isinstance(doc, dict) else {}


def iso_timestamp(value) -> Optional[float]:
    """Seconds since the epoch of an ISO-8601 time as providers write it (``...Z``), or None."""
    from datetime import datetime

    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
