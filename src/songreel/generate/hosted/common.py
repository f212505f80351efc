"""The base of every hosted backend: options, keys, and the journaled submit → poll → download cycle.

A provider file (``veo.py``, ``runway.py``, ``luma.py``, ``openai_videos.py``, ``replicate.py``)
subclasses :class:`HostedBackend`, declares its ``Options`` model and fills in small methods that
speak its wire format:

``_prepare(request) -> Submission``   check inputs, build the request body (no network)
``_submit(sub) -> job id``            send it (``self.call(..., submit=True)``)
``_status(job_id) -> JobStatus``      one poll
``_download(job_id, status)``         where the video is: ``(url, send_key)``
``_lookup(sub, row) -> Lookup``       find a job whose submission reply was lost (or say it cannot)

The cycle in :meth:`HostedBackend.generate` (one request key at a time per process)::

    video already downloaded for this key (.songreel/hosted/<key>.mp4)? ─► use it, no network
    journal row?  none ─► write intent (submitting, with the estimated cost) ─► send ─► record job id
                  submitted/done ─► poll it (never send again)
                  submitting (a crash or lost reply) ─► look the job up ─► found: poll it
                                   absent (provider lists jobs): send · cannot tell: stop, ask the user
                  failed ─► send a fresh job (the user ran again after a provider failure)
    poll until done ─► download.fetch (temp name, decode + duration check, rename) ─► link to ``out``

Data objects live in ``types.py``, picture and clip helpers in ``media.py``, the download in
``download.py``, HTTP retries in ``http.py``, the journal in ``journal.py``. Keys come from the
environment only, are scrubbed from every message and log line, and are sent only to the provider's
own origin. Submits, polls, retries and downloads are logged (``logging.getLogger(__name__)``).
"""

from __future__ import annotations

import abc
import logging
import os
import shutil
import threading
import time
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import urlsplit

from ...errors import GenerationError, InputError, MissingExtraError
from ...schema.clip import GenerationRequest
from ...schema.storyboard import BackendSpec
from ..base import Capabilities, GenerationResult, ProjectInfo, round_size
from ..options import parse_options
from . import journal as jr
from .download import fetch
from .http import (
    AmbiguousSubmit,
    ProviderError,
    RetriesExhausted,
    RetryPolicy,
    redact,
    send,
)
from .media import probe_video, quantise
from .options import HostedOptions, refuse_keys
from .types import (
    BadMedia,
    JobStatus,
    Lookup,
    MissingKeyError,
    ModelInfo,
    Submission,
    UnknownOutcomeError,
    digest_of,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

__all__ = [
    "HostedBackend",
    "JobStatus",
    "Lookup",
    "MissingKeyError",
    "ModelInfo",
    "Submission",
    "UnknownOutcomeError",
]


class HostedBackend(abc.ABC):
    """Shared machinery of the hosted backends (see the module docstring)."""

    name = "hosted"
    version = "1"
    env_key = ""
    default_base = ""
    default_model = ""
    models: dict = {}
    Options: type = HostedOptions
    key_options: tuple = ("resolution", "loop", "person_generation", "send_seed", "fps", "durations", "sizes")
    """Options that change the pixels: they go into every request key (``key_context``)."""

    def __init__(self, spec: BackendSpec, *, project: ProjectInfo, field: str = "backend"):
        raw = dict(spec.options)
        refuse_keys(raw, backend=self.name, env=self.env_key, field=field)
        self.options: Any = parse_options(self.Options, raw, backend=self.name, field=field)
        self.field = field
        self.spec = spec
        self.project = project
        o: Any = self.options
        self.model = o.model or self.default_model
        self.base_url = (o.base_url or self.default_base).rstrip("/")
        if not self.base_url:
            raise InputError(f"{field}.base_url: missing; {self.name} has no default service: give the address of "
                             f"a server that speaks its API (e.g. http://localhost:8000/v1)")
        self.key_env = o.api_key_env or self.env_key
        self.max_concurrent = o.max_concurrent
        self.poll_interval = o.poll_interval
        self.job_timeout = o.timeout
        self.request_timeout = o.request_timeout
        self.resubmit_unknown = o.resubmit_unknown
        self.lookup_grace = o.lookup_grace
        self.download_retries = o.download_retries
        self.retry = RetryPolicy(retries=o.retries, base=o.retry_base, cap=o.retry_cap,
                                 max_wait=o.retry_max_wait, budget=o.retry_budget)
        self.fps = Fraction(o.fps) if o.fps is not None else Fraction(24)
        self.store_dir = Path(project.store_dir)
        self.cache_dir = self.store_dir / "hosted"
        self._journal: Optional[jr.Journal] = None
        self._client: Optional[httpx.Client] = None  # made on first use (httpx is the hosted extra)
        self._lock = threading.Lock()
        self._key_locks: dict = defaultdict(threading.Lock)
        self._slots = threading.BoundedSemaphore(self.max_concurrent)
        self._secret: Optional[str] = None
        self._check_options()

    def _check_options(self) -> None:
        """Provider hook: value checks that need more than one option (raise InputError naming ``self.field``)."""

    # -- contract --------------------------------------------------------------------------------

    def model_info(self) -> ModelInfo:
        info = self.models.get(self.model)
        if info is None:
            info = self._custom_model_info()
        return info

    def _custom_model_info(self) -> ModelInfo:
        """A model not in the table (new or a compatible server's): durations/sizes from options."""
        o = self.options
        first = next(iter(self.models.values()))
        durs = tuple(int(d) for d in (o.durations or first.durations))
        sizes = tuple(tuple(int(v) for v in s) for s in (o.sizes or first.sizes))
        return ModelInfo(durs, sizes, first.first_frame if o.first_frame is None else o.first_frame,
                         first.last_frame if o.last_frame is None else o.last_frame, references=first.references)

    def capabilities(self) -> Capabilities:
        info = self.model_info()
        last = info.last_frame if self.options.last_frame is None else self.options.last_frame
        return Capabilities(native_fps=self.fps, durations=tuple(Fraction(d) for d in info.durations),
                            sizes=tuple(info.sizes), first_frame=info.first_frame, last_frame=last,
                            size_multiple=2, max_references=info.references)

    def key_context(self) -> dict:
        """Options that change the pixels (go into every request key); only those the storyboard set."""
        o = self.options
        keys = [k for k in self.key_options if k in type(o).model_fields and k in o.model_fields_set]
        return o.model_dump(mode="json", include=set(keys))

    def billed_seconds(self, request: GenerationRequest) -> int:
        """The clip length the provider will bill for ``request``."""
        return quantise(request.seconds, self.model_info().durations, what=f"{self.name} ({self.model})")

    def dollars(self, seconds: float, width: Optional[int] = None, height: Optional[int] = None) -> Optional[float]:
        """Estimated US dollars for one clip of ``seconds`` (None when unpriced)."""
        from .prices import estimate

        return estimate(self.name, self.model, seconds, width=width, height=height, fps=float(self.fps),
                        price_per_second=self.options.price_per_second, resolution=self.price_tier())

    def price_tier(self) -> Optional[str]:
        """The resolution a price depends on (Veo's 4k costs more); None when the price does not."""
        return None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._journal is not None:
                self._journal.close()

    # -- plumbing --------------------------------------------------------------------------------

    @property
    def secret(self) -> str:
        if self._secret is None:
            value = os.environ.get(self.key_env, "").strip()
            if not value:
                raise MissingKeyError(f"backend {self.name}: no API key: set the environment variable "
                                      f"{self.key_env} (keys are never read from the storyboard)")
            self._secret = value
        return self._secret

    @property
    def secret_or_none(self) -> Optional[str]:
        return self._secret

    @property
    def journal(self) -> jr.Journal:
        with self._lock:
            if self._journal is None:
                self._journal = jr.Journal(self.store_dir / "jobs.sqlite")
            return self._journal

    def _require_httpx(self) -> None:
        """Fail before anything is journaled when the hosted extra is missing (plans and prices need no httpx)."""
        from .. import registry

        missing = registry.missing_modules(self.name)
        if missing:
            raise MissingExtraError("hosted", missing[0], f'{self.field}: backend "{self.name}"')

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(timeout=httpx.Timeout(self.request_timeout,
                                                                  connect=min(30.0, self.request_timeout)),
                                            follow_redirects=False, headers={"User-Agent": "songreel"})
            return self._client

    @abc.abstractmethod
    def auth_headers(self) -> dict:
        """Headers that authenticate a request to the provider."""

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.base_url)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)

    def call(self, method: str, path_or_url: str, *, what: str, submit: bool = False, **kwargs):
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.same_origin(url):
            headers.update(self.auth_headers())
        return send(self.client, method, url, what=f"{self.name}: {what}", secret=self._secret,
                    policy=self.retry, submit=submit, headers=headers, **kwargs)

    def _say(self, text: str) -> str:
        return redact(text, self._secret)

    # -- the cycle -------------------------------------------------------------------------------

    def generate(self, request: GenerationRequest, out: Path) -> GenerationResult:
        """Make (or resume, or reuse) the clip for ``request`` and leave a checked MP4 at ``out``."""
        key = request.key()
        sub = self._prepare(request)
        sub.digest = digest_of(sub.payload)
        sub.dollars = self.dollars(sub.seconds, sub.width, sub.height)
        with self._lock:
            key_lock = self._key_locks[key]
        with key_lock, self._slots:
            cached = self.cache_dir / f"{key}.mp4"
            row = self.journal.get(key)
            if cached.exists():
                try:
                    return self._deliver(cached, out, request, sub, row)
                except BadMedia:
                    cached.unlink()
            self._require_httpx()
            _ = self.secret  # fail early, before any intent is written
            job_id = self._ensure_job(key, sub)
            status = self._wait(key, job_id)
            probe = fetch(self, key, job_id, status, sub, cached)
            self.journal.mark(key, jr.DONE)
            return self._deliver(cached, out, request, sub, self.journal.get(key), probe=probe)

    def _deliver(self, cached: Path, out: Path, request, sub: Submission, row, *, probe=None) -> GenerationResult:
        frames, fps, width, height = probe or probe_video(cached)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.unlink()
        try:
            os.link(cached, out)  # same inode: no second copy, and the paid-for file survives the store's rename
        except OSError:
            shutil.copyfile(cached, out)
        prov = {"provider": self.name, "model": self.model, "billed_seconds": sub.seconds,
                "requested_size": f"{sub.width}x{sub.height}", "estimated_dollars": sub.dollars}
        if row is not None:
            prov.update({"job_id": row.provider_id, "submissions": row.attempts})
            if row.cost is not None:
                prov["dollars"] = row.cost
        return GenerationResult(path=out, frames=frames, fps=fps, width=width, height=height, provenance=prov)

    def _ensure_job(self, key: str, sub: Submission) -> str:
        """The provider job id for ``key``: an existing one (never resent) or a newly submitted one."""
        j = self.journal
        outcome, row = j.claim(key, provider=self.name, model=self.model, digest=sub.digest, seconds=sub.seconds,
                               dollars=sub.dollars)
        if outcome == "new":
            return self._send(key, sub, row)
        if row.provider_id and row.state in (jr.SUBMITTED, jr.DONE):
            log.info("%s: clip %s: resuming journaled job %s (not sent again)", self.name, key, row.provider_id)
            return row.provider_id
        if row.state == jr.FAILED:
            if not j.reclaim(key, expect_state=jr.FAILED, digest=sub.digest, seconds=sub.seconds, dollars=sub.dollars):
                return self._ensure_job(key, sub)  # another process won the race: follow its row
            return self._send(key, sub, j.get(key))
        # submitting (crash or lost reply) or unknown: resolve before anything is sent
        if row.state == jr.SUBMITTING and row.owner_alive:
            raise GenerationError(f"{self.name}: clip {key} is being submitted by another songreel process "
                                  f"({row.owner}); wait for it to finish, then run again")
        return self._resolve(key, sub, row)

    def _send(self, key: str, sub: Submission, row, *, depth: int = 0) -> str:
        log.info("%s: clip %s: submitting %s s at %dx%d (model %s, estimated $%s)", self.name, key, sub.seconds,
                 sub.width, sub.height, self.model, "?" if sub.dollars is None else f"{sub.dollars:.2f}")
        try:
            job_id = self._submit(sub)
        except AmbiguousSubmit as e:
            log.warning("%s: clip %s: submission outcome unknown: %s", self.name, key, self._say(str(e)))
            return self._resolve(key, sub, self.journal.get(key), reason=str(e), depth=depth)
        except (ProviderError, RetriesExhausted) as e:
            # the provider certainly did not take it (4xx, or only 429/503/connect errors): nothing is billed
            self.journal.mark(key, jr.FAILED, error=self._say(str(e)))
            log.warning("%s: clip %s: submission refused: %s", self.name, key, self._say(str(e)))
            raise
        self.journal.submitted(key, job_id)
        log.info("%s: clip %s: submitted as job %s", self.name, key, job_id)
        return job_id

    def _resolve(self, key: str, sub: Submission, row, *, reason: str = "", depth: int = 0) -> str:
        """Decide what happened to a submission whose reply never arrived."""
        j = self.journal
        wait = self.lookup_grace - (time.time() - row.created)
        if wait > 0:
            time.sleep(wait)  # let the provider's job list catch up
        try:
            found = self._lookup(sub, row)
        except GenerationError as e:
            found = Lookup("cannot", detail=f"the lookup failed: {e}")
        log.info("%s: clip %s: looking up the lost submission: %s %s", self.name, key, found.outcome,
                 found.job_id or found.detail)
        if found.outcome == "found" and found.job_id:
            j.submitted(key, found.job_id)
            return found.job_id
        if found.outcome == "absent" and depth < 2:
            if j.reclaim(key, expect_state=row.state, digest=sub.digest, seconds=sub.seconds, dollars=sub.dollars):
                return self._send(key, sub, j.get(key), depth=depth + 1)
            return self._ensure_job(key, sub)
        if self.resubmit_unknown:
            if j.reclaim(key, expect_state=row.state, digest=sub.digest, seconds=sub.seconds, dollars=sub.dollars):
                return self._send(key, sub, j.get(key), depth=depth + 1)
            return self._ensure_job(key, sub)
        why = reason or "an earlier run stopped between sending the job and receiving the provider's reply"
        detail = f" ({found.detail})" if found.detail else ""
        msg = (f"{self.name}: clip {key}: unknown outcome: {self._say(why)}; the provider may have created "
               f"(and will bill) a job that songreel cannot identify{detail}. Check your {self.name} dashboard; "
               f"to submit it again anyway set the backend option resubmit_unknown: true and run again")
        if row.state != jr.UNKNOWN:
            j.mark(key, jr.UNKNOWN, error=msg)
        raise UnknownOutcomeError(msg)

    def _wait(self, key: str, job_id: str) -> JobStatus:
        deadline = time.monotonic() + self.job_timeout
        polls = 0
        while True:
            try:
                status = self._status(job_id)
            except ProviderError as e:
                if e.status in (404, 410):
                    msg = (f"{self.name}: job {job_id} for clip {key} no longer exists at the provider "
                           f"(expired or deleted) and its video was never downloaded; set the backend option "
                           f"resubmit_unknown: true to pay for a new one")
                    self.journal.mark(key, jr.UNKNOWN, error=msg)
                    raise UnknownOutcomeError(msg) from None
                raise
            polls += 1
            log.debug("%s: poll %d of job %s: %s%s", self.name, polls, job_id, status.state,
                      "" if status.progress is None else f" ({status.progress})")
            if status.cost is not None:
                self.journal.cost(key, status.cost)
            if status.state == "done":
                log.info("%s: job %s finished after %d polls", self.name, job_id, polls)
                return status
            if status.state == "failed":
                msg = f"{self.name}: job {job_id} failed: {self._say(status.message or 'no reason given')}"
                self.journal.mark(key, jr.FAILED, error=msg)
                log.warning("%s", msg)
                raise ProviderError(msg)
            if time.monotonic() > deadline:
                raise GenerationError(f"{self.name}: job {job_id} still running after {self.job_timeout:.0f} s; "
                                      f"run again to resume waiting for it (it will not be submitted again)")
            time.sleep(self.poll_interval)

    # -- provider hooks --------------------------------------------------------------------------

    @abc.abstractmethod
    def _prepare(self, request: GenerationRequest) -> Submission:
        """The provider request for ``request`` (body, files, endpoint)."""

    @abc.abstractmethod
    def _submit(self, sub: Submission) -> str:
        """Send it; returns the provider's job id."""

    @abc.abstractmethod
    def _status(self, job_id: str) -> JobStatus:
        """Poll one job."""

    def _download(self, job_id: str, status: JobStatus) -> tuple[str, bool]:
        """``(url, send_key)`` of the finished video; the default is the URL the status carried, no key."""
        if not status.url:
            raise GenerationError(f"{self.name}: job {job_id} finished without a video URL")
        return status.url, self.same_origin(status.url)

    def _lookup(self, sub: Submission, row) -> Lookup:
        return Lookup("cannot", detail=f"the {self.name} API offers no way to find a job by its content")

    # -- shared checks ---------------------------------------------------------------------------

    def _common_checks(self, request: GenerationRequest) -> tuple[int, int, int]:
        """Billed seconds and the provider size for ``request`` (raises GenerationError on what cannot be made)."""
        info = self.model_info()
        seconds = self.billed_seconds(request)
        size = (request.width, request.height)
        if info.sizes and size not in info.sizes:
            size = round_size(request.width, request.height, self.capabilities())
        if request.first_frame is not None and not info.first_frame:
            raise GenerationError(f"{self.name} ({self.model}): this model takes no first-frame image")
        if request.last_frame is not None and not self.capabilities().last_frame:
            raise GenerationError(f"{self.name} ({self.model}): this model takes no last-frame image")
        if request.first_frame is None and not info.text_only:
            raise GenerationError(f"{self.name} ({self.model}): this model needs a first-frame image "
                                  f"(image-to-video only); pick a text-to-video model for the opening segment")
        if request.prefix is not None:
            raise GenerationError(f"{self.name}: video-prefix conditioning is not supported")
        return seconds, size[0], size[1]

    def references_for(self, request: GenerationRequest) -> tuple:
        """The request's reference images this model takes (at most ``ModelInfo.references``); a note is
        logged when some or all are left out."""
        refs = tuple(getattr(request, "references", ()) or ())
        limit = self.model_info().references
        if refs and len(refs) > limit:
            log.warning("%s (%s): takes %s reference images; %d given, the rest are not sent", self.name,
                        self.model, limit or "no", len(refs))
        return refs[:limit]
