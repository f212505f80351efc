"""Google Veo 3.1 through the Gemini API.

Wire format (Gemini API ``v1beta``; field by field as the official ``google-genai`` SDK builds it in
Gemini API mode, ``_GenerateVideosConfig_to_mldev``)::

    POST {base}/v1beta/models/{model}:predictLongRunning          header x-goog-api-key: $GEMINI_API_KEY
         {"instances": [{"prompt": ..., "image": {"bytesBase64Encoded": ..., "mimeType": "image/png"},
                         "lastFrame": {...},
                         "referenceImages": [{"image": {...}, "referenceType": "asset"}]}],   (≤ 3, no image)
          "parameters": {"aspectRatio": "16:9", "durationSeconds": 8, "resolution": "720p",
                         "negativePrompt": ..., "personGeneration": ...}}
      -> {"name": "models/{model}/operations/{id}"}
    GET  {base}/v1beta/{name}   -> {"name", "done": true, "response": {"generateVideoResponse":
                                    {"generatedSamples": [{"video": {"uri": ...}}]}}}  or  {"error": {...}}
    GET  {uri}  (with the key; the file lives on the API's own origin)

No ``seed``: the SDK refuses it in Gemini API mode (a Vertex-only parameter), so songreel never sends
it; a shot's takes still differ because the seed is part of each clip's key (each take is its own job).
1080p and 4k are 8-second clips only, and so is a clip guided by reference images.

Unknown outcome: the Gemini API takes no idempotency token and cannot list a key's video operations,
so a submission whose reply was lost cannot be identified; songreel stops and asks
(``resubmit_unknown: true``).
"""

from __future__ import annotations

import functools

import base64
import logging
from typing import Literal, Optional

from pydantic import Field

from ...errors import GenerationError
from ...schema.clip import GenerationRequest
from .common import HostedBackend
from .media import frame_png, reference_png
from .options import HostedOptions
from .types import JobStatus, ModelInfo, Submission
from .http import json_body

log = logging.getLogger(__name__)

_json = functools.partial(json_body, provider="veo")  # the reply as a JSON object


_SIZES = {"720p": ((1280, 720), (720, 1280)), "1080p": ((1920, 1080), (1080, 1920)),
          "4k": ((3840, 2160), (2160, 3840))}
_ALL = (4, 6, 8)


class VeoOptions(HostedOptions):
    """Options of the ``veo`` backend."""

    model: str = Field("veo-3.1-fast-generate-001", description="Veo model id (see docs/backends/hosted.md)")
    resolution: Literal["720p", "1080p", "4k"] = Field(
        "720p", description="720p, 1080p or 4k (1080p and 4k: 8 s clips)")
    person_generation: Optional[Literal["allow_all", "allow_adult", "dont_allow"]] = Field(
        None, description="the API's personGeneration")


class VeoBackend(HostedBackend):
    """Google Veo 3.1 (Gemini API). Clips of 4, 6 or 8 s at 24 fps; first and last frame; up to 3 reference images."""

    name = "veo"
    version = "1"
    env_key = "GEMINI_API_KEY"
    default_base = "https://generativelanguage.googleapis.com"
    default_model = "veo-3.1-fast-generate-001"
    Options = VeoOptions
    models = {
        "veo-3.1-fast-generate-001": ModelInfo(_ALL, _SIZES["720p"], first_frame=True, last_frame=True, references=3),
        "veo-3.1-generate-001": ModelInfo(_ALL, _SIZES["720p"], first_frame=True, last_frame=True, references=3),
        "veo-3.1-fast-generate-preview": ModelInfo(_ALL, _SIZES["720p"], first_frame=True, last_frame=True,
                                                   references=3),
        "veo-3.1-generate-preview": ModelInfo(_ALL, _SIZES["720p"], first_frame=True, last_frame=True, references=3),
    }

    def model_info(self) -> ModelInfo:
        info = super().model_info()
        res = self.options.resolution
        durations = (8,) if res in ("1080p", "4k") else info.durations
        return ModelInfo(durations, _SIZES[res], info.first_frame, info.last_frame, info.text_only, info.references)

    def price_tier(self) -> Optional[str]:
        return self.options.resolution

    def auth_headers(self) -> dict:
        return {"x-goog-api-key": self.secret}

    def billed_seconds(self, request: GenerationRequest) -> int:
        if self._uses_references(request):
            return 8  # reference-guided clips are 8 s only
        return super().billed_seconds(request)

    def _uses_references(self, request: GenerationRequest) -> bool:
        # reference images go only without image / lastFrame (a shot's opening segment), and only in 16:9
        if not self.references_for(request) or request.first_frame is not None or request.last_frame is not None:
            return False
        if request.height > request.width:
            log.warning("veo: reference images are taken for 16:9 clips only; this portrait clip goes without them")
            return False
        return True

    def _prepare(self, request: GenerationRequest) -> Submission:
        seconds, width, height = self._common_checks(request)
        instance: dict = {"prompt": request.prompt}
        if request.first_frame is not None:
            instance["image"] = _image(frame_png(request.first_frame))
        if request.last_frame is not None:
            instance["lastFrame"] = _image(frame_png(request.last_frame))
        if self._uses_references(request):
            instance["referenceImages"] = [{"image": _image(reference_png(p)), "referenceType": "asset"}
                                           for p in self.references_for(request)]
        params: dict = {"aspectRatio": "16:9" if width >= height else "9:16", "durationSeconds": seconds,
                        "resolution": self.options.resolution}
        if request.negative:
            params["negativePrompt"] = request.negative
        if self.options.person_generation is not None:
            params["personGeneration"] = self.options.person_generation
        body = {"instances": [instance], "parameters": params}
        return Submission(body, seconds, width, height,
                          match={"prompt": request.prompt, "model": self.model, "seconds": seconds})

    def _submit(self, sub: Submission) -> str:
        r = self.call("POST", f"v1beta/models/{self.model}:predictLongRunning", json=sub.payload,
                      what="submit", submit=True)
        name = _json(r).get("name")
        if not name:
            raise GenerationError("veo: the submit reply carried no operation name")
        return str(name)

    def _status(self, job_id: str) -> JobStatus:
        op = _json(self.call("GET", f"v1beta/{job_id}", what=f"poll {job_id}"))
        if not op.get("done"):
            return JobStatus("running")
        if op.get("error"):
            err = op["error"]
            return JobStatus("failed", message=str(err.get("message") or err.get("status") or err))
        gvr = (op.get("response") or {}).get("generateVideoResponse") or {}
        samples = gvr.get("generatedSamples") or []
        if not samples:
            reasons = gvr.get("raiMediaFilteredReasons") or []
            why = "; ".join(map(str, reasons)) or "no video returned"
            return JobStatus("failed", message=f"filtered by the provider's safety checks: {why}"
                             if reasons else why)
        uri = ((samples[0] or {}).get("video") or {}).get("uri")
        if not uri:
            return JobStatus("failed", message="the finished operation carries no video uri")
        return JobStatus("done", url=uri)

    def _download(self, job_id: str, status: JobStatus) -> tuple[str, bool]:
        return str(status.url), True  # Gemini file downloads need the key (sent only to the API's own origin)


def _image(png: bytes) -> dict:
    return {"bytesBase64Encoded": base64.b64encode(png).decode(), "mimeType": "image/png"}


