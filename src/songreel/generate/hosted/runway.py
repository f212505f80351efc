"""Runway API (``api.dev.runwayml.com``).

Wire format (API version 2024-11-06)::

    POST {base}/v1/image_to_video    (a first/last frame)   or   POST {base}/v1/text_to_video
         headers: Authorization: Bearer $RUNWAYML_API_SECRET, X-Runway-Version: 2024-11-06
         {"model": "gen4.5", "promptText": ..., "ratio": "1280:720", "duration": 5, "seed": ...,
          "promptImage": [{"uri": "data:image/png;base64,...", "position": "first"}, {..., "position": "last"}]}
      -> {"id": "<task uuid>"}
    GET  {base}/v1/tasks/{id}  -> {"id", "status": PENDING|THROTTLED|RUNNING|SUCCEEDED|FAILED|CANCELLED,
                                   "output": ["https://...mp4"], "failure": ..., "failureCode": ...}

Output URLs are signed CDN links (the key is never sent there) that expire after a day or two; a stale
one is refreshed by polling the task again.

Unknown outcome: Runway takes no idempotency token and has no endpoint that lists tasks, so a
submission whose reply was lost cannot be identified; songreel stops and asks (``resubmit_unknown: true``).
"""

from __future__ import annotations

import base64

from ...errors import GenerationError
from ...schema.clip import GenerationRequest
from .common import HostedBackend, JobStatus, ModelInfo, Submission, frame_png

_GEN4_SIZES = ((1280, 720), (720, 1280), (1104, 832), (832, 1104), (960, 960), (1584, 672))
_VEO_SIZES = ((1280, 720), (720, 1280))
_ANY_2_10 = tuple(range(2, 11))


class RunwayBackend(HostedBackend):
    """Runway Gen-4.5 / Gen-4 Turbo / Veo-on-Runway. 2–10 s clips (Veo models 4/6/8 s) at 24 fps."""

    name = "runway"
    version = "1"
    env_key = "RUNWAYML_API_SECRET"
    default_base = "https://api.dev.runwayml.com"
    default_model = "gen4.5"
    api_version = "2024-11-06"
    models = {
        "gen4.5": ModelInfo(_ANY_2_10, _GEN4_SIZES, first_frame=True, last_frame=False, text_only=True),
        "gen4_turbo": ModelInfo(_ANY_2_10, _GEN4_SIZES, first_frame=True, last_frame=False, text_only=False),
        "veo3.1": ModelInfo((4, 6, 8), _VEO_SIZES, first_frame=True, last_frame=True, text_only=True),
        "veo3.1_fast": ModelInfo((4, 6, 8), _VEO_SIZES, first_frame=True, last_frame=True, text_only=True),
        "veo3": ModelInfo((8,), _VEO_SIZES, first_frame=True, last_frame=False, text_only=True),
    }

    def auth_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.secret}", "X-Runway-Version": self.api_version}

    def _prepare(self, request: GenerationRequest) -> Submission:
        seconds, width, height = self._common_checks(request)
        if len(request.prompt) > 1000:
            raise GenerationError(f"runway: the prompt has {len(request.prompt)} characters; Runway accepts at most 1000")
        body: dict = {"model": self.model, "promptText": request.prompt, "ratio": f"{width}:{height}",
                      "duration": seconds}
        if self.options.get("send_seed", True):
            body["seed"] = int(request.seed) % 4294967295
        images = []
        if request.first_frame is not None:
            images.append({"uri": _data_uri(frame_png(request.first_frame)), "position": "first"})
        if request.last_frame is not None:
            images.append({"uri": _data_uri(frame_png(request.last_frame)), "position": "last"})
        if images:
            body["promptImage"] = images
        endpoint = "v1/image_to_video" if images else "v1/text_to_video"
        return Submission({"endpoint": endpoint, "body": body}, seconds, width, height,
                          match={"prompt": request.prompt, "model": self.model, "seconds": seconds})

    def _submit(self, sub: Submission) -> str:
        r = self.call("POST", sub.payload["endpoint"], json=sub.payload["body"], what="submit", submit=True)
        task = _json(r).get("id")
        if not task:
            raise GenerationError("runway: the submit reply carried no task id")
        return str(task)

    def _status(self, job_id: str) -> JobStatus:
        t = _json(self.call("GET", f"v1/tasks/{job_id}", what=f"poll task {job_id}"))
        state = str(t.get("status", "")).upper()
        if state == "SUCCEEDED":
            out = t.get("output") or []
            if not out:
                return JobStatus("failed", message="the task succeeded without an output URL")
            return JobStatus("done", url=str(out[0]))
        if state in ("FAILED", "CANCELLED"):
            msg = t.get("failure") or state.lower()
            if t.get("failureCode"):
                msg = f"{msg} ({t['failureCode']})"
            return JobStatus("failed", message=str(msg))
        return JobStatus("running", progress=t.get("progress"))


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _json(response) -> dict:
    try:
        doc = response.json()
    except ValueError:
        raise GenerationError(f"runway: the reply is not JSON (HTTP {response.status_code})") from None
    return doc if isinstance(doc, dict) else {}
