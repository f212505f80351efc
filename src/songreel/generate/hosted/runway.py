"""Runway API (``api.dev.runwayml.com``).

Wire format (API version 2024-11-06; field by field as the official ``runwayml`` Python SDK's
``text_to_video`` / ``image_to_video`` request types declare them per model)::

    POST {base}/v1/image_to_video    (a first/last frame)   or   POST {base}/v1/text_to_video
         headers: Authorization: Bearer $RUNWAYML_API_SECRET, X-Runway-Version: 2024-11-06
         {"model": "gen4.5", "promptText": ..., "ratio": "1280:720", "duration": 5, "seed": ...,
          "promptImage": [{"uri": "data:image/png;base64,...", "position": "first"}, {..., "position": "last"}],
          "references": [{"uri": ...}]}                                    (seedance2 models, text_to_video)
      -> {"id": "<task uuid>"}
    GET  {base}/v1/tasks/{id}  -> {"id", "status": PENDING|THROTTLED|RUNNING|SUCCEEDED|FAILED|CANCELLED,
                                   "output": ["https://...mp4"], "failure": ..., "failureCode": ...}

Per model: ``seed`` exists for gen4.5 and gen4_turbo only (the Veo and Seedance request types have
none); ``negativePrompt`` for the Veo models; gen4.5's ``text_to_video`` takes only 1280:720 and
720:1280, so gen4.5 is offered at those two sizes (its image-chained continuations then match);
prompts are limited in UTF-16 code units. Output URLs are signed CDN links (the key is never sent
there) that expire after a day or two; a stale one is refreshed by polling the task again.

Unknown outcome: Runway takes no idempotency token and has no endpoint that lists tasks, so a
submission whose reply was lost cannot be identified; songreel stops and asks (``resubmit_unknown: true``).
"""

from __future__ import annotations

import functools

from dataclasses import dataclass

from pydantic import Field

from ...errors import GenerationError
from ...schema.clip import GenerationRequest
from .common import HostedBackend
from .media import data_uri, frame_png, reference_png
from .options import HostedOptions
from .types import JobStatus, ModelInfo, Submission
from .http import json_body

_json = functools.partial(json_body, provider="runway")  # the reply as a JSON object


_WIDE = ((1280, 720), (720, 1280))
_GEN4_I2V = ((1280, 720), (720, 1280), (1104, 832), (832, 1104), (960, 960), (1584, 672))
_VEO = ((1280, 720), (720, 1280), (1920, 1080), (1080, 1920))


@dataclass(frozen=True)
class RunwayModel:
    """What one Runway model's request type has besides the model info."""

    info: ModelInfo
    seed: bool = False
    negative: bool = False
    prompt_limit: int = 1000  # UTF-16 code units


class RunwayOptions(HostedOptions):
    """Options of the ``runway`` backend."""

    model: str = Field("gen4.5", description="gen4.5, gen4_turbo, veo3.1, veo3.1_fast, veo3, seedance2")
    send_seed: bool = Field(True, description="send the shot's seed to models that take one (gen4.5, gen4_turbo)")


class RunwayBackend(HostedBackend):
    """Runway Gen-4.5 / Gen-4 Turbo / Veo / Seedance on Runway. 2–10 s clips (Veo models 4/6/8 s) at 24 fps."""

    name = "runway"
    version = "1"
    env_key = "RUNWAYML_API_SECRET"
    default_base = "https://api.dev.runwayml.com"
    default_model = "gen4.5"
    api_version = "2024-11-06"
    Options = RunwayOptions
    table = {
        "gen4.5": RunwayModel(ModelInfo(tuple(range(2, 11)), _WIDE, first_frame=True), seed=True),
        "gen4_turbo": RunwayModel(ModelInfo(tuple(range(2, 11)), _GEN4_I2V, first_frame=True, text_only=False),
                                  seed=True),
        "veo3.1": RunwayModel(ModelInfo((4, 6, 8), _VEO, first_frame=True, last_frame=True), negative=True),
        "veo3.1_fast": RunwayModel(ModelInfo((4, 6, 8), _VEO, first_frame=True, last_frame=True), negative=True),
        "veo3": RunwayModel(ModelInfo((8,), _VEO, first_frame=True), negative=True),
        "seedance2": RunwayModel(ModelInfo(tuple(range(4, 16)), _WIDE, first_frame=True, last_frame=True,
                                           references=9), prompt_limit=3500),
    }
    models = {k: v.info for k, v in table.items()}

    def auth_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.secret}", "X-Runway-Version": self.api_version}

    def _spec(self) -> RunwayModel:
        return self.table.get(self.model) or RunwayModel(self.model_info(), seed=False)

    def _prepare(self, request: GenerationRequest) -> Submission:
        seconds, width, height = self._common_checks(request)
        spec = self._spec()
        units = len(request.prompt.encode("utf-16-le")) // 2
        if units > spec.prompt_limit:
            raise GenerationError(f"runway ({self.model}): the prompt is {units} UTF-16 code units long "
                                  f"({len(request.prompt)} characters); Runway accepts at most {spec.prompt_limit}")
        body: dict = {"model": self.model, "promptText": request.prompt, "ratio": f"{width}:{height}",
                      "duration": seconds}
        if spec.seed and self.options.send_seed:
            body["seed"] = int(request.seed) % 4294967295
        if spec.negative and request.negative:
            body["negativePrompt"] = request.negative
        images = []
        if request.first_frame is not None:
            images.append({"uri": data_uri(frame_png(request.first_frame)), "position": "first"})
        if request.last_frame is not None:
            images.append({"uri": data_uri(frame_png(request.last_frame)), "position": "last"})
        refs = self.references_for(request)
        if images:
            body["promptImage"] = images
        elif refs:  # references ride on text_to_video (the Seedance request types)
            body["references"] = [{"uri": data_uri(reference_png(p))} for p in refs]
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

