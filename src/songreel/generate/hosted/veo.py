"""Google Veo through the Gemini API.

Wire format (Gemini API, ``v1beta``)::

    POST {base}/v1beta/models/{model}:predictLongRunning          header x-goog-api-key: $GEMINI_API_KEY
         {"instances": [{"prompt": ..., "image": {"bytesBase64Encoded": ..., "mimeType": "image/png"},
                         "lastFrame": {...}}],
          "parameters": {"aspectRatio": "16:9", "durationSeconds": 8, "resolution": "720p",
                         "negativePrompt": ..., "seed": ...}}
      -> {"name": "models/{model}/operations/{id}"}
    GET  {base}/v1beta/{name}   -> {"name", "done": true, "response": {"generateVideoResponse":
                                    {"generatedSamples": [{"video": {"uri": ...}}]}}}  or  {"error": {...}}
    GET  {uri}  (with the key; the file lives on the API's own origin)

Options: ``model`` (veo-3.1-generate-preview, veo-3.1-fast-generate-preview, veo-3.0-generate-001),
``base_url`` (default https://generativelanguage.googleapis.com), ``resolution`` (720p | 1080p),
``person_generation``, plus the shared hosted options (see ``docs/backends/hosted.md``).

Unknown outcome: the Gemini API takes no idempotency token and cannot list a key's video operations,
so a submission whose reply was lost cannot be identified; songreel stops and asks
(``resubmit_unknown: true``).
"""

from __future__ import annotations

import base64

from ...errors import GenerationError
from ...schema.clip import GenerationRequest
from .common import HostedBackend, JobStatus, ModelInfo, Submission, frame_png

_SIZES_720 = ((1280, 720), (720, 1280))
_SIZES_1080 = ((1920, 1080), (1080, 1920))


class VeoBackend(HostedBackend):
    """Google Veo 3 / 3.1 (Gemini API). Clips of 4, 6 or 8 s at 24 fps; first and (3.1) last frame."""

    name = "veo"
    version = "1"
    env_key = "GEMINI_API_KEY"
    default_base = "https://generativelanguage.googleapis.com"
    default_model = "veo-3.1-fast-generate-preview"
    models = {
        "veo-3.1-generate-preview": ModelInfo((4, 6, 8), _SIZES_720, first_frame=True, last_frame=True),
        "veo-3.1-fast-generate-preview": ModelInfo((4, 6, 8), _SIZES_720, first_frame=True, last_frame=True),
        "veo-3.0-generate-001": ModelInfo((4, 6, 8), _SIZES_720, first_frame=True, last_frame=False),
        "veo-3.0-fast-generate-001": ModelInfo((4, 6, 8), _SIZES_720, first_frame=True, last_frame=False),
    }

    def model_info(self) -> ModelInfo:
        info = super().model_info()
        if str(self.options.get("resolution", "720p")) == "1080p":
            # 1080p is 8 s only (Veo 3.1 docs)
            return ModelInfo((8,), _SIZES_1080, info.first_frame, info.last_frame, info.text_only)
        return info

    def auth_headers(self) -> dict:
        return {"x-goog-api-key": self.secret}

    def _prepare(self, request: GenerationRequest) -> Submission:
        seconds, width, height = self._common_checks(request)
        instance: dict = {"prompt": request.prompt}
        if request.first_frame is not None:
            instance["image"] = {"bytesBase64Encoded": base64.b64encode(frame_png(request.first_frame)).decode(),
                                 "mimeType": "image/png"}
        if request.last_frame is not None:
            instance["lastFrame"] = {"bytesBase64Encoded": base64.b64encode(frame_png(request.last_frame)).decode(),
                                     "mimeType": "image/png"}
        params: dict = {"aspectRatio": "16:9" if width >= height else "9:16", "durationSeconds": seconds,
                        "resolution": "1080p" if max(width, height) >= 1920 else "720p"}
        if request.negative:
            params["negativePrompt"] = request.negative
        if self.options.get("send_seed", True):
            params["seed"] = int(request.seed) % (2**32)
        if "person_generation" in self.options:
            params["personGeneration"] = str(self.options["person_generation"])
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
        return status.url, True  # Gemini file downloads need the key (sent only to the API's own origin)


def _json(response) -> dict:
    try:
        doc = response.json()
    except ValueError:
        raise GenerationError(f"veo: the reply is not JSON (HTTP {response.status_code})") from None
    return doc if isinstance(doc, dict) else {}
