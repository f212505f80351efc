"""Getting a finished video home: stream to a temp name, check it decodes and lasts what was paid for,
rename. A dropped or corrupt download is fetched again; the job is never resubmitted for it.

The key travels only to the provider's own origin: redirects are followed by hand, and a hop to
another host (a CDN, a storage bucket) gets no key.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from urllib.parse import urljoin

from ...errors import GenerationError
from .http import RETRY_STATUS, ProviderError, RetriesExhausted, error_text
from .media import probe_video
from .types import BadMedia, JobStatus, Submission

log = logging.getLogger(__name__)


def fetch(backend, key: str, job_id: str, status: JobStatus, sub: Submission, dest: Path) -> tuple:
    """Download the video of ``job_id`` to ``dest``, checked; returns ``probe_video``'s tuple.

    Raises
    ------
    GenerationError
        Every attempt failed; the job stays journaled so a later run retries the download only.
    """
    import httpx

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.stem}.part-{os.getpid()}-{threading.get_ident()}.mp4")
    last_problem = ""
    try:
        for attempt in range(backend.download_retries + 1):
            if attempt:
                time.sleep(backend.retry.delay(attempt - 1))
            try:
                url, with_key = backend._download(job_id, status)
                log.info("%s: downloading job %s (attempt %d)", backend.name, job_id, attempt + 1)
                stream(backend, url, part, with_key=with_key, what=f"download job {job_id}")
                probe = probe_video(part)
                seconds = probe[0] / probe[1]
                if abs(seconds - sub.seconds) > 0.5:
                    raise BadMedia(f"job {job_id}: the video lasts {float(seconds):.2f} s, "
                                   f"expected {sub.seconds} s ± 0.5 s")
                os.replace(part, dest)
                log.info("%s: job %s downloaded: %d frames, %dx%d", backend.name, job_id, probe[0], probe[2], probe[3])
                return probe
            except (httpx.TransportError, RetriesExhausted, BadMedia) as e:
                last_problem = backend._say(f"{type(e).__name__}: {e}")
                log.warning("%s: download of job %s failed: %s", backend.name, job_id, last_problem)
            except ProviderError as e:
                if e.status in (401, 403, 404, 410) and attempt < backend.download_retries:
                    last_problem = backend._say(str(e))
                    log.warning("%s: download link of job %s refused (%s); asking for a fresh one",
                                backend.name, job_id, e.status)
                    status = backend._status(job_id)  # signed URLs expire: ask for a fresh one
                    continue
                raise
    finally:
        if part.exists():
            part.unlink()
    raise GenerationError(f"{backend.name}: could not download the video of job {job_id} after "
                          f"{backend.download_retries + 1} attempts: {last_problem} (the job is kept: run again "
                          f"to retry the download without paying again)")


def stream(backend, url: str, part: Path, *, with_key: bool, what: str) -> None:
    """GET ``url`` into ``part``, following redirects by hand so the key never leaves the provider's origin."""
    for _hop in range(6):
        headers = backend.auth_headers() if (with_key and backend.same_origin(url)) else {}
        with backend.client.stream("GET", url, headers=headers) as r:
            if r.status_code in (301, 302, 303, 307, 308) and "location" in r.headers:
                url = urljoin(url, r.headers["location"])
                continue
            if r.status_code >= 400:
                r.read()
                detail = error_text(r, backend.secret_or_none)
                if r.status_code in RETRY_STATUS:
                    raise RetriesExhausted(f"{what}: HTTP {r.status_code}: {detail}")
                raise ProviderError(f"{backend.name}: {what}: HTTP {r.status_code}: {detail}", status=r.status_code)
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
    raise GenerationError(f"{backend.name}: {what}: too many redirects")
