"""What every hosted backend shares: keys, the journaled submit → poll → download cycle, checked downloads.

A provider file (``veo.py``, ``runway.py``, ``luma.py``, ``openai_videos.py``) subclasses
:class:`HostedBackend` and fills in five small methods that speak its wire format:

``_prepare(request) -> Submission``   check inputs, build the request body (no network)
``_submit(sub) -> job id``            send it (``http.send(..., submit=True)``)
``_status(job_id) -> JobStatus``      one poll
``_download(job_id, status)``         where the video is: ``(url, send_key)``
``_lookup(sub, row) -> Lookup``       find a job whose submission reply was lost (or say it cannot)

The cycle in :meth:`HostedBackend.generate` (one request key at a time per process)::

    video already downloaded for this key (.songreel/hosted/<key>.mp4)? ─► use it, no network
    journal row?  none ─► write intent (submitting) ─► send ─► record job id (submitted)
                  submitted/done ─► poll it (never send again)
                  submitting (a crash or lost reply) ─► look the job up ─► found: poll it
                                   absent (provider lists jobs): send · cannot tell: stop, ask the user
                  failed ─► send a fresh job (the user ran again after a provider failure)
    poll until done ─► stream to a temp name ─► decode + duration check ─► rename ─► link to ``out``

A dropped download is retried (the job is not). Keys come from the environment only and are scrubbed
from every message; the key is only sent to the provider's own origin, never to a CDN URL it hands back.
"""

from __future__ import annotations

import abc

import hashlib
import json
import math
import os
import shutil
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urljoin, urlsplit

from ...errors import GenerationError, InputError
from ...schema.clip import FrameRef, GenerationRequest
from ...schema.storyboard import BackendSpec
from ..base import Capabilities, GenerationResult, ProjectInfo
from . import journal as jr
from .http import AmbiguousSubmit, ProviderError, RetriesExhausted, RetryPolicy, redact, send


class MissingKeyError(InputError):
    """The provider's API key is not in the environment."""


class UnknownOutcomeError(GenerationError):
    """A submission's outcome could not be determined; songreel will not pay again without being told."""


@dataclass(frozen=True)
class ModelInfo:
    """What one provider model accepts."""

    durations: tuple  # allowed clip seconds (ints)
    sizes: tuple      # allowed (width, height)
    first_frame: bool = True
    last_frame: bool = False
    text_only: bool = True  # accepts a request without a first frame


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
    """

    payload: Any
    seconds: int
    width: int
    height: int
    match: dict = field(default_factory=dict)
    digest: str = ""


@dataclass(frozen=True)
class JobStatus:
    state: str  # "running" | "done" | "failed"
    message: str = ""
    url: Optional[str] = None
    progress: Optional[float] = None


@dataclass(frozen=True)
class Lookup:
    """Result of looking for a job whose submission reply never arrived."""

    outcome: str  # "found" | "absent" | "cannot"
    job_id: Optional[str] = None
    detail: str = ""


class BadMedia(GenerationError):
    """A downloaded file does not decode or has the wrong length."""


def digest_of(payload: Any) -> str:
    """sha256 of a JSON-able payload (bytes are hashed, not stored)."""
    def default(o):
        if isinstance(o, (bytes, bytearray)):
            return "sha256:" + hashlib.sha256(o).hexdigest()
        return str(o)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=default).encode()).hexdigest()


def frame_png(ref: FrameRef, *, size: Optional[tuple] = None) -> bytes:
    """The conditioning image as PNG bytes: the stored file byte for byte when it is a PNG of the right size."""
    from io import BytesIO

    from PIL import Image

    if ref.path.suffix.lower() == ".png" and size is None:
        return ref.path.read_bytes()
    pixels = ref.load()
    if pixels.ndim == 4:  # a prefix: its last frame
        pixels = pixels[-1]
    im = Image.fromarray(pixels)
    if size is not None and im.size == tuple(size) and ref.path.suffix.lower() == ".png":
        return ref.path.read_bytes()
    if size is not None and im.size != tuple(size):
        im = _cover(im, size)
    buf = BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _cover(im, size):
    """Scale to cover ``size`` and centre-crop (keeps the aspect; used when a provider needs an exact size)."""
    w, h = size
    scale = max(w / im.width, h / im.height)
    im = im.resize((max(w, round(im.width * scale)), max(h, round(im.height * scale))))
    left, top = (im.width - w) // 2, (im.height - h) // 2
    return im.crop((left, top, left + w, top + h))


def quantise(seconds: Fraction, allowed, *, what: str) -> int:
    """Shortest allowed duration >= ``seconds`` (a hair of rounding is forgiven)."""
    for d in sorted(allowed):
        if d + 1e-6 >= seconds:
            return int(d)
    raise GenerationError(f"{what}: a {float(seconds):.2f} s clip is longer than the longest allowed "
                          f"({max(allowed)} s); accepted: {', '.join(str(d) for d in sorted(allowed))} s")


def probe_video(path: Path) -> tuple[int, Fraction, int, int]:
    """Decode every frame of ``path``: (frames, fps, width, height). Raises BadMedia if it does not decode."""
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise BadMedia(f"{path.name}: no video stream")
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            n = 0
            width = height = 0
            for frame in c.decode(stream):
                if n == 0:
                    width, height = frame.width, frame.height
                n += 1
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    except BadMedia:
        raise
    except Exception as e:  # av.error.* and friends: a truncated or foreign file
        raise BadMedia(f"{path.name}: does not decode ({type(e).__name__}: {e})") from None
    if n == 0 or not rate:
        raise BadMedia(f"{path.name}: no decodable video frames")
    return n, Fraction(rate), width, height


class HostedBackend(abc.ABC):
    """Shared machinery of the hosted backends (see the module docstring)."""

    name = "hosted"
    version = "1"
    env_key = ""
    default_base = ""
    default_model = ""
    models: dict = {}
    fps = Fraction(24)
    key_options: tuple = ("resolution", "loop", "person_generation", "send_seed", "fps", "durations", "sizes")
    """Options that change the pixels: they go into every request key (``key_context``)."""

    def __init__(self, spec: BackendSpec, *, project: ProjectInfo):
        opts = dict(spec.options)
        for secret_opt in ("api_key", "key", "token", "secret"):
            if secret_opt in opts:
                raise InputError(f"backend.{secret_opt}: {self.name} reads its key from the environment only "
                                 f"(set {opts.get('api_key_env', self.env_key)}); remove it from the storyboard")
        self.spec = spec
        self.project = project
        self.options = opts
        self.model = str(opts.get("model", self.default_model))
        self.base_url = str(opts.get("base_url", self.default_base)).rstrip("/")
        self.key_env = str(opts.get("api_key_env", self.env_key))
        self.max_concurrent = max(1, int(opts.get("max_concurrent", 2)))
        self.poll_interval = float(opts.get("poll_interval", 10.0))
        self.job_timeout = float(opts.get("timeout", 3600.0))
        self.request_timeout = float(opts.get("request_timeout", 60.0))
        self.resubmit_unknown = bool(opts.get("resubmit_unknown", False))
        self.lookup_grace = float(opts.get("lookup_grace", 20.0))
        self.download_retries = int(opts.get("download_retries", 4))
        self.retry = RetryPolicy(retries=int(opts.get("retries", 6)), base=float(opts.get("retry_base", 1.0)),
                                 cap=float(opts.get("retry_cap", 60.0)),
                                 max_wait=float(opts.get("retry_max_wait", 120.0)),
                                 budget=float(opts.get("retry_budget", 600.0)))
        if "fps" in opts:
            self.fps = Fraction(str(opts["fps"]))
        self.store_dir = Path(project.store_dir)
        self.cache_dir = self.store_dir / "hosted"
        self._journal: Optional[jr.Journal] = None
        self._client = None
        self._lock = threading.Lock()
        self._key_locks: dict = defaultdict(threading.Lock)
        self._slots = threading.BoundedSemaphore(self.max_concurrent)
        self._secret: Optional[str] = None

    # -- contract --------------------------------------------------------------------------------

    def model_info(self) -> ModelInfo:
        info = self.models.get(self.model)
        if info is None:
            info = self._custom_model_info()
        return info

    def _custom_model_info(self) -> ModelInfo:
        """A model not in the table (new or a compatible server's): durations/sizes from options."""
        first = next(iter(self.models.values()))
        durs = tuple(int(d) for d in self.options.get("durations", first.durations))
        sizes = tuple(tuple(int(v) for v in s) for s in self.options.get("sizes", first.sizes))
        return ModelInfo(durs, sizes, bool(self.options.get("first_frame", first.first_frame)),
                         bool(self.options.get("last_frame", first.last_frame)))

    def capabilities(self) -> Capabilities:
        info = self.model_info()
        last = bool(self.options.get("last_frame", info.last_frame)) if "last_frame" in self.options else info.last_frame
        return Capabilities(native_fps=self.fps, durations=tuple(Fraction(d) for d in info.durations),
                            sizes=tuple(info.sizes), first_frame=info.first_frame, last_frame=last,
                            size_multiple=2)

    def key_context(self) -> dict:
        """Options that change the pixels (go into every request key)."""
        return {k: self.options[k] for k in self.key_options if k in self.options}

    def billed_seconds(self, request: GenerationRequest) -> int:
        """The clip length the provider will bill for ``request``."""
        return quantise(request.seconds, self.model_info().durations, what=f"{self.name} ({self.model})")

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
    def journal(self) -> jr.Journal:
        with self._lock:
            if self._journal is None:
                self._journal = jr.Journal(self.store_dir / "jobs.sqlite")
            return self._journal

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                try:
                    import httpx
                except ImportError:  # pragma: no cover - registry checks first
                    from ...errors import MissingExtraError
                    raise MissingExtraError("hosted", "httpx", f"backend {self.name}") from None
                self._client = httpx.Client(timeout=httpx.Timeout(self.request_timeout, connect=min(30.0, self.request_timeout)),
                                            follow_redirects=False,
                                            headers={"User-Agent": "songreel"})
            return self._client

    @abc.abstractmethod
    def auth_headers(self) -> dict:
        """Headers that authenticate a request to the provider."""

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.base_url)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)

    def call(self, method: str, path_or_url: str, *, what: str, submit: bool = False, **kwargs):
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        headers = dict(kwargs.pop("headers", {}) or {})
        if self._same_origin(url):
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
            _ = self.secret  # fail early, before any intent is written
            job_id = self._ensure_job(key, sub)
            status = self._wait(key, job_id)
            probe = self._fetch(key, job_id, status, sub, cached)
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
                "requested_size": f"{sub.width}x{sub.height}"}
        if row is not None:
            prov.update({"job_id": row.provider_id, "submissions": row.attempts})
        return GenerationResult(path=out, frames=frames, fps=fps, width=width, height=height, provenance=prov)

    def _ensure_job(self, key: str, sub: Submission) -> str:
        """The provider job id for ``key``: an existing one (never resent) or a newly submitted one."""
        j = self.journal
        outcome, row = j.claim(key, provider=self.name, model=self.model, digest=sub.digest, seconds=sub.seconds)
        if outcome == "new":
            return self._send(key, sub, row)
        if row.provider_id and row.state in (jr.SUBMITTED, jr.DONE):
            return row.provider_id
        if row.state == jr.FAILED:
            if not j.reclaim(key, expect_state=jr.FAILED, digest=sub.digest, seconds=sub.seconds):
                return self._ensure_job(key, sub)  # another process won the race: follow its row
            return self._send(key, sub, j.get(key))
        # submitting (crash or lost reply) or unknown: resolve before anything is sent
        if row.state == jr.SUBMITTING and row.owner_alive:
            raise GenerationError(f"{self.name}: clip {key} is being submitted by another songreel process "
                                  f"({row.owner}); wait for it to finish, then run again")
        return self._resolve(key, sub, row)

    def _send(self, key: str, sub: Submission, row, *, depth: int = 0) -> str:
        try:
            job_id = self._submit(sub)
        except AmbiguousSubmit as e:
            return self._resolve(key, sub, self.journal.get(key), reason=str(e), depth=depth)
        except (ProviderError, RetriesExhausted) as e:
            # the provider certainly did not take it (4xx, or only 429/503/connect errors): nothing is billed
            self.journal.mark(key, jr.FAILED, error=self._say(str(e)))
            raise
        self.journal.submitted(key, job_id)
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
        if found.outcome == "found":
            j.submitted(key, found.job_id)
            return found.job_id
        if found.outcome == "absent" and depth < 2:
            if j.reclaim(key, expect_state=row.state, digest=sub.digest, seconds=sub.seconds):
                return self._send(key, sub, j.get(key), depth=depth + 1)
            return self._ensure_job(key, sub)
        if self.resubmit_unknown:
            if j.reclaim(key, expect_state=row.state, digest=sub.digest, seconds=sub.seconds):
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
            if status.state == "done":
                return status
            if status.state == "failed":
                msg = f"{self.name}: job {job_id} failed: {self._say(status.message or 'no reason given')}"
                self.journal.mark(key, jr.FAILED, error=msg)
                raise ProviderError(msg)
            if time.monotonic() > deadline:
                raise GenerationError(f"{self.name}: job {job_id} still running after {self.job_timeout:.0f} s; "
                                      f"run again to resume waiting for it (it will not be submitted again)")
            time.sleep(self.poll_interval)

    def _fetch(self, key: str, job_id: str, status: JobStatus, sub: Submission, dest: Path) -> tuple:
        """Stream the video to a temp name, check it, rename it to ``dest``. Retries the download, never the job."""
        import httpx

        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.stem}.part-{os.getpid()}-{threading.get_ident()}.mp4")
        last_problem = ""
        try:
            for attempt in range(self.download_retries + 1):
                if attempt:
                    time.sleep(self.retry.delay(attempt - 1))
                try:
                    url, with_key = self._download(job_id, status)
                    self._stream(url, part, with_key=with_key, what=f"download job {job_id}")
                    probe = probe_video(part)
                    seconds = probe[0] / probe[1]
                    if abs(seconds - sub.seconds) > 0.5:
                        raise BadMedia(f"job {job_id}: the video lasts {float(seconds):.2f} s, "
                                       f"expected {sub.seconds} s ± 0.5 s")
                    os.replace(part, dest)
                    return probe
                except (httpx.TransportError, RetriesExhausted, BadMedia) as e:
                    last_problem = self._say(f"{type(e).__name__}: {e}")
                except ProviderError as e:
                    if e.status in (401, 403, 404, 410) and attempt < self.download_retries:
                        last_problem = self._say(str(e))
                        status = self._status(job_id)  # signed URLs expire: ask for a fresh one
                        continue
                    raise
        finally:
            if part.exists():
                part.unlink()
        raise GenerationError(f"{self.name}: could not download the video of job {job_id} after "
                              f"{self.download_retries + 1} attempts: {last_problem} (the job is kept: run again "
                              f"to retry the download without paying again)")

    def _stream(self, url: str, part: Path, *, with_key: bool, what: str) -> None:
        """GET ``url`` into ``part``, following redirects by hand so the key never leaves the provider's origin."""
        for _hop in range(6):
            headers = self.auth_headers() if (with_key and self._same_origin(url)) else {}
            with self.client.stream("GET", url, headers=headers) as r:
                if r.status_code in (301, 302, 303, 307, 308) and "location" in r.headers:
                    url = urljoin(url, r.headers["location"])
                    continue
                if r.status_code >= 400:
                    r.read()
                    from .http import RETRY_STATUS, error_text
                    detail = error_text(r, self._secret)
                    if r.status_code in RETRY_STATUS:
                        raise RetriesExhausted(f"{what}: HTTP {r.status_code}: {detail}")
                    raise ProviderError(f"{self.name}: {what}: HTTP {r.status_code}: {detail}", status=r.status_code)
                expected = r.headers.get("content-length")
                got = 0
                with open(part, "wb") as f:
                    for chunk in r.iter_bytes(1 << 16):
                        f.write(chunk)
                        got += len(chunk)
                    f.flush()
                    os.fsync(f.fileno())
                if expected is not None and expected.isdigit() and got != int(expected):
                    raise BadMedia(f"{what}: got {got} of {expected} bytes")
                return
        raise GenerationError(f"{self.name}: {what}: too many redirects")

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
        return status.url, self._same_origin(status.url)

    def _lookup(self, sub: Submission, row) -> Lookup:
        return Lookup("cannot", detail=f"the {self.name} API offers no way to find a job by its content")

    # -- shared checks ---------------------------------------------------------------------------

    def _common_checks(self, request: GenerationRequest) -> tuple[int, int, int]:
        """Billed seconds and the provider size for ``request`` (raises GenerationError on what cannot be made)."""
        info = self.model_info()
        seconds = self.billed_seconds(request)
        size = (request.width, request.height)
        if info.sizes and size not in info.sizes:
            from ..base import round_size
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


def ratio_of(width: int, height: int) -> str:
    """``"16:9"`` style ratio of a size."""
    g = math.gcd(width, height)
    return f"{width // g}:{height // g}"
