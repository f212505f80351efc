"""Luma Dream Machine API.

Wire format (field by field as the official ``lumaai`` Python SDK's ``GenerationCreateParams``)::

    POST {base}/dream-machine/v1/generations/video       Authorization: Bearer $LUMAAI_API_KEY
         {"prompt": ..., "model": "ray-2", "resolution": "720p", "duration": "5s", "aspect_ratio": "16:9",
          "loop": false, "keyframes": {"frame0": {"type": "image", "url": ...}, "frame1": {...}}}
      -> a generation {"id", "state": queued|dreaming|completed|failed, "failure_reason",
                       "assets": {"video": url}, "created_at", "request": {...the body echoed...}}
    GET  {base}/dream-machine/v1/generations/{id}
    GET  {base}/dream-machine/v1/generations?limit=&offset=     {"generations": [...], "has_more", "count"}

Keyframe images are URLs Luma fetches; the API documents no upload route and no inline images. So
songreel sends keyframes only when you say where your storage publishes the project's
``.songreel/frames/`` folder: ``frame_url: https://your.host/frames`` (songreel then sends
``{frame_url}/{name}.png``). Without it the backend takes no first or last frame: a long shot is made
as independent clips, and a shot that asks for an image (``first_frame:``, reference images) is
refused with that explanation before anything is sent. A shot's reference images (characters) become
``frame0`` of its opening segment (Luma's video API has no reference-image field); the file is copied
into ``.songreel/frames/`` under a content name so the same published folder serves it.

Unknown outcome: resolved by listing recent generations and matching the echoed request (prompt,
model, duration, resolution, aspect ratio, keyframes) created after the intent was journaled; found →
polled, certainly absent → sent, otherwise songreel stops and asks (``resubmit_unknown: true``).
"""

from __future__ import annotations

import functools

import hashlib
import logging
from fractions import Fraction
from typing import Literal, Optional

from pydantic import Field

from ...errors import GenerationError
from ...fileio import atomic_write_bytes
from ...schema.clip import FrameRef, GenerationRequest
from .common import HostedBackend
from .media import ratio_of, reference_png
from .options import HostedOptions
from .types import JobStatus, Lookup, ModelInfo, Submission
from .http import json_body, iso_timestamp

log = logging.getLogger(__name__)

_RATIOS_720 = {(1280, 720): "16:9", (720, 1280): "9:16", (720, 720): "1:1", (960, 720): "4:3",
               (720, 960): "3:4", (1680, 720): "21:9", (720, 1680): "9:21"}
_json = functools.partial(json_body, provider="luma")  # the reply as a JSON object


_SCALE = {"540p": Fraction(3, 4), "720p": Fraction(1), "1080p": Fraction(3, 2), "4k": Fraction(3)}
_BY_RES = {res: {(int(w * k), int(h * k)): r for (w, h), r in _RATIOS_720.items()} for res, k in _SCALE.items()}


class LumaOptions(HostedOptions):
    """Options of the ``luma`` backend."""

    model: str = Field("ray-2", description="ray-2 or ray-flash-2")
    resolution: Literal["540p", "720p", "1080p", "4k"] = Field("720p", description="540p, 720p, 1080p or 4k")
    loop: bool = Field(False, description="ask for a seamlessly looping clip")
    frame_url: Optional[str] = Field(None, description="https URL where .songreel/frames/ is published (keyframes)")


class LumaBackend(HostedBackend):
    """Luma Ray 2 / Ray Flash 2 (Dream Machine API). 5 s or 9 s clips at 24 fps; keyframes by URL (``frame_url``)."""

    name = "luma"
    version = "1"
    env_key = "LUMAAI_API_KEY"
    default_base = "https://api.lumalabs.ai"
    default_model = "ray-2"
    Options = LumaOptions
    models = {
        "ray-2": ModelInfo((5, 9), tuple(_RATIOS_720), first_frame=True, last_frame=True, references=1),
        "ray-flash-2": ModelInfo((5, 9), tuple(_RATIOS_720), first_frame=True, last_frame=True, references=1),
    }

    def _check_options(self) -> None:
        url = self.options.frame_url
        if url is not None and not url.startswith(("https://", "http://")):
            from ...errors import InputError

            raise InputError(f'{self.field}.frame_url: got "{url}", expected an http(s) URL where your storage '
                             f"publishes the project's .songreel/frames/ folder")
        if url is None:
            log.info("luma: no frame_url: keyframes are off (Luma fetches images by URL); long shots are made "
                     "as independent clips")

    @property
    def resolution(self) -> str:
        return self.options.resolution

    def model_info(self) -> ModelInfo:
        info = super().model_info()
        keyframes = self.options.frame_url is not None
        return ModelInfo(info.durations, tuple(_BY_RES[self.resolution]), info.first_frame and keyframes,
                         info.last_frame and keyframes, info.text_only, info.references if keyframes else 0)

    def auth_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.secret}"}

    def _url(self, name: str) -> dict:
        return {"type": "image", "url": f"{str(self.options.frame_url).rstrip('/')}/{name}"}

    def _reference(self, path) -> dict:
        """A reference image as a keyframe: copied into .songreel/frames/ under its content name."""
        png = reference_png(path)
        name = f"ref-{hashlib.sha256(png).hexdigest()[:32]}.png"
        dest = self.store_dir / "frames" / name
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(dest, png)
        return self._url(name)

    def _refuse_without_url(self, request: GenerationRequest) -> None:
        wants = [w for w, v in (("a first frame", request.first_frame), ("a last frame", request.last_frame),
                                ("reference images", request.references)) if v]
        if wants and self.options.frame_url is None:
            raise GenerationError(f"luma: this shot asks for {' and '.join(wants)}, but Luma takes keyframe images "
                                  f"only as URLs it can fetch (no inline images, no upload route): publish the "
                                  f"project's .songreel/frames/ folder and set the backend option frame_url: "
                                  f"https://your.host/frames")

    def _prepare(self, request: GenerationRequest) -> Submission:
        self._refuse_without_url(request)
        seconds, width, height = self._common_checks(request)
        aspect = _BY_RES[self.resolution].get((width, height), ratio_of(width, height))
        body: dict = {"prompt": request.prompt, "model": self.model, "resolution": self.resolution,
                      "duration": f"{seconds}s", "aspect_ratio": aspect, "loop": self.options.loop}
        keyframes = {}
        if request.first_frame is not None:
            keyframes["frame0"] = self._frame(request.first_frame)
        elif self.references_for(request):
            keyframes["frame0"] = self._reference(self.references_for(request)[0])
        if request.last_frame is not None:
            keyframes["frame1"] = self._frame(request.last_frame)
        if keyframes:
            body["keyframes"] = keyframes
        match = {k: body[k] for k in ("prompt", "model", "resolution", "duration", "aspect_ratio")}
        match["keyframes"] = keyframes or None
        return Submission(body, seconds, width, height, match=match)

    def _frame(self, ref: FrameRef) -> dict:
        if ref.path.suffix.lower() != ".png":
            raise GenerationError(f"luma: keyframe {ref.path.name} is not a PNG in .songreel/frames/")
        return self._url(ref.path.name)

    def _submit(self, sub: Submission) -> str:
        r = self.call("POST", "dream-machine/v1/generations/video", json=sub.payload, what="submit", submit=True)
        gid = _json(r).get("id")
        if not gid:
            raise GenerationError("luma: the submit reply carried no generation id")
        return str(gid)

    def _status(self, job_id: str) -> JobStatus:
        g = _json(self.call("GET", f"dream-machine/v1/generations/{job_id}", what=f"poll generation {job_id}"))
        state = str(g.get("state", ""))
        if state == "completed":
            url = (g.get("assets") or {}).get("video")
            if not url:
                return JobStatus("failed", message="the generation completed without a video asset")
            return JobStatus("done", url=str(url))
        if state == "failed":
            return JobStatus("failed", message=str(g.get("failure_reason") or "failed"))
        return JobStatus("running")

    def _lookup(self, sub: Submission, row) -> Lookup:
        """Find the generation a lost reply would have named, among those created since the intent."""
        known = self.journal.known_ids(self.name)
        since = row.created - 120.0  # clock skew allowance
        found = []
        offset, limit = 0, 100
        for _page in range(20):
            doc = _json(self.call("GET", "dream-machine/v1/generations", params={"limit": limit, "offset": offset},
                                  what="list generations"))
            gens = doc.get("generations") or []
            older = False
            for g in gens:
                created = iso_timestamp(g.get("created_at"))
                if created is not None and created < since:
                    older = True
                    continue
                if g.get("id") in known:
                    continue
                req = g.get("request") or {}
                if all(_same(req.get(k), v) for k, v in sub.match.items()):
                    found.append(str(g["id"]))
            if older or not doc.get("has_more") or not gens:
                break
            offset += len(gens)
        else:
            return Lookup("cannot", detail="too many recent generations to search")
        if len(found) == 1:
            return Lookup("found", found[0])
        if not found:
            return Lookup("absent")
        return Lookup("cannot", detail=f"{len(found)} recent generations match: {', '.join(found)}")


def _same(got, want) -> bool:
    if want is None:
        return not got
    return got == want
