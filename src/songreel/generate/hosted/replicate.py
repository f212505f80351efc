"""The gateway backend: Replicate, one API in front of Kling, Hailuo, Seedance, Wan, Veo and what comes next.

Why Replicate (and not fal): one documented HTTP API for every model (an OpenAPI description of the
API itself, and each model's input schema published at ``GET /v1/models/{owner}/{name}``), predictions
can be *listed* (``GET /v1/predictions``), so a submission whose reply was lost is found again instead
of being paid twice, and file inputs are documented both as data URLs and through an upload route
(``POST /v1/files``). fal reaches the same model families, but its queue API is per model and offers no
listing of a key's requests, so a lost reply could only end in "ask the user".

Wire format (as the official ``replicate`` Python client speaks it)::

    POST {base}/v1/models/{owner}/{name}/predictions     Authorization: Bearer $REPLICATE_API_TOKEN
         {"input": {"prompt": ..., "image": "data:image/png;base64,..." | "https://api.replicate.com/v1/files/...",
                    "duration": 5, ...}}
      -> 201 {"id", "model", "version", "input", "status": "starting", "urls": {"get", "cancel"}, "created_at", ...}
    GET  {base}/v1/predictions/{id}  -> {"status": starting|processing|succeeded|failed|canceled,
                                         "output": "https://replicate.delivery/...mp4" | [...], "error", ...}
    GET  {base}/v1/predictions       -> {"next", "previous", "results": [...]}  (newest first)
    POST {base}/v1/files             multipart ``content``: an image over 256 KiB -> {"urls": {"get": ...}}

Each model names its inputs its own way, so a model is a row of :data:`MODELS` (which input takes the
prompt, the first and last frame, the duration, the seed...). A model that is not in the table works
with ``fields:`` (the input names), ``durations:`` and ``sizes:``; fixed extra inputs go in
``inputs:``. Output URLs live on Replicate's delivery CDN and get no key.
"""

from __future__ import annotations

import functools

import logging
from dataclasses import dataclass, replace
from typing import Any, Optional

from pydantic import Field, field_validator

from ...errors import GenerationError, InputError
from ...schema.clip import GenerationRequest
from .common import HostedBackend
from .media import data_uri, frame_png, ratio_of, reference_png
from .options import HostedOptions
from .types import JobStatus, Lookup, ModelInfo, Submission
from .http import json_body, iso_timestamp

log = logging.getLogger(__name__)

_json = functools.partial(json_body, provider="replicate")  # the reply as a JSON object


ROLES = ("prompt", "first_frame", "last_frame", "duration", "aspect_ratio", "resolution", "size", "seed",
         "negative", "references")
INLINE_LIMIT = 256 * 1024  # larger images go through POST /v1/files


@dataclass(frozen=True)
class GatewayModel:
    """One model on the gateway: what it makes and which input takes what (None: it has no such input)."""

    info: ModelInfo
    prompt: str = "prompt"
    first_frame: Optional[str] = None
    last_frame: Optional[str] = None
    duration: Optional[str] = "duration"
    aspect_ratio: Optional[str] = None   # "16:9"
    resolution: Optional[str] = None     # "720p" from the output height
    size: Optional[str] = None           # "1280*720"
    seed: Optional[str] = None
    negative: Optional[str] = None
    references: Optional[str] = None     # a list of image inputs


_WIDE = ((1280, 720), (720, 1280))
_WIDE_SQ = ((1280, 720), (720, 1280), (960, 960))
MODELS: dict[str, GatewayModel] = {  # input names as each model's Replicate API page lists them
    "bytedance/seedance-1-pro": GatewayModel(
        ModelInfo(tuple(range(2, 13)), _WIDE_SQ + ((1920, 1080), (1080, 1920)), first_frame=True, last_frame=True),
        first_frame="image", last_frame="last_frame_image", aspect_ratio="aspect_ratio", resolution="resolution",
        seed="seed"),
    "bytedance/seedance-1-lite": GatewayModel(
        ModelInfo(tuple(range(2, 13)), _WIDE_SQ, first_frame=True, last_frame=True, references=4),
        first_frame="image", last_frame="last_frame_image", aspect_ratio="aspect_ratio", resolution="resolution",
        seed="seed", references="reference_images"),
    "bytedance/seedance-1.5-pro": GatewayModel(
        ModelInfo(tuple(range(2, 13)), _WIDE_SQ, first_frame=True, last_frame=True),
        first_frame="image", last_frame="last_frame_image", aspect_ratio="aspect_ratio", seed="seed"),
    "kwaivgi/kling-v2.5-turbo-pro": GatewayModel(
        ModelInfo((5, 10), _WIDE_SQ, first_frame=True), first_frame="start_image", aspect_ratio="aspect_ratio",
        negative="negative_prompt"),
    # end_image needs mode: pro (1080p): inputs: {mode: pro} and last_frame: true turn it on
    "kwaivgi/kling-v2.1": GatewayModel(
        ModelInfo((5, 10), _WIDE_SQ, first_frame=True, last_frame=False, text_only=False),
        first_frame="start_image", last_frame="end_image", negative="negative_prompt"),
    "minimax/hailuo-02": GatewayModel(
        ModelInfo((6, 10), ((1366, 768),), first_frame=True, last_frame=True),
        first_frame="first_frame_image", last_frame="last_frame_image", resolution="resolution"),
    "wan-video/wan-2.5-t2v": GatewayModel(
        ModelInfo((5, 10), _WIDE + ((1920, 1080), (1080, 1920)), first_frame=False), size="size",
        negative="negative_prompt", seed="seed"),
    "wan-video/wan-2.5-i2v": GatewayModel(
        ModelInfo((5, 10), _WIDE + ((1920, 1080), (1080, 1920)), first_frame=True, text_only=False),
        first_frame="image", resolution="resolution", negative="negative_prompt", seed="seed"),
    "wan-video/wan-2.7-t2v": GatewayModel(
        ModelInfo(tuple(range(2, 16)), _WIDE + ((1920, 1080), (1080, 1920)), first_frame=False),
        aspect_ratio="aspect_ratio", resolution="resolution", negative="negative_prompt", seed="seed"),
}


class ReplicateOptions(HostedOptions):
    """Options of the ``replicate`` backend."""

    model: str = Field("bytedance/seedance-1-pro", description="owner/name of a Replicate model")
    fields: dict[str, str] = Field(default_factory=dict,
                                   description="input names by role (prompt, first_frame, last_frame, duration, "
                                               "aspect_ratio, resolution, size, seed, negative, references)")
    inputs: dict[str, Any] = Field(default_factory=dict, description="fixed extra inputs sent with every clip")
    text_only: Optional[bool] = Field(None, description="whether a model songreel does not know takes text alone")

    @field_validator("model")
    @classmethod
    def _owner_name(cls, v: str) -> str:
        if v.count("/") != 1 or not all(v.split("/")):
            raise ValueError(f'got "{v}", expected owner/name of a Replicate model (e.g. kwaivgi/kling-v2.1)')
        return v

    @field_validator("fields")
    @classmethod
    def _roles(cls, v: dict) -> dict:
        from ...errors import did_you_mean

        for role in v:
            if role not in ROLES:
                raise ValueError(f'got role "{role}"{did_you_mean(role, list(ROLES))}, expected one of '
                                 f"{', '.join(ROLES)}")
        return v


class ReplicateBackend(HostedBackend):
    """Video models on Replicate (Kling, Hailuo, Seedance, Wan...), one journaled cycle for all."""

    name = "replicate"
    version = "1"
    env_key = "REPLICATE_API_TOKEN"
    default_base = "https://api.replicate.com"
    default_model = "bytedance/seedance-1-pro"
    Options = ReplicateOptions
    key_options = HostedBackend.key_options + ("fields", "inputs")
    models = {k: v.info for k, v in MODELS.items()}

    def _check_options(self) -> None:
        o = self.options
        if self.model not in MODELS and not (o.durations and o.sizes):
            raise InputError(f"{self.field}.model: songreel does not know \"{self.model}\"; give its clip lengths "
                             f"and sizes (durations: [5, 10], sizes: [[1280, 720]]) and its input names "
                             f"(fields: {{first_frame: image}}); known: {', '.join(MODELS)}")

    def gateway_model(self) -> GatewayModel:
        o = self.options
        base = MODELS.get(self.model) or GatewayModel(
            ModelInfo((), (), first_frame=False, last_frame=False, text_only=True))
        info = self.model_info()
        text_only = info.text_only if o.text_only is None else o.text_only
        refs = info.references
        spec = replace(base, **o.fields) if o.fields else base
        if spec.references and not refs:
            refs = 3
        first = info.first_frame and spec.first_frame is not None
        last = info.last_frame and spec.last_frame is not None
        return replace(spec, info=ModelInfo(info.durations, info.sizes, first, last, text_only, refs))

    def model_info(self) -> ModelInfo:
        o = self.options
        known = MODELS.get(self.model)
        if known is not None:
            info = known.info
            return ModelInfo(tuple(o.durations or info.durations), tuple(tuple(s) for s in (o.sizes or info.sizes)),
                             info.first_frame if o.first_frame is None else o.first_frame,
                             info.last_frame if o.last_frame is None else o.last_frame,
                             info.text_only if o.text_only is None else o.text_only, info.references)
        fields = o.fields
        return ModelInfo(tuple(o.durations or ()), tuple(tuple(s) for s in (o.sizes or ())),
                         bool(o.first_frame if o.first_frame is not None else "first_frame" in fields),
                         bool(o.last_frame if o.last_frame is not None else "last_frame" in fields),
                         True if o.text_only is None else o.text_only, 3 if "references" in fields else 0)

    def capabilities(self):
        caps = super().capabilities()
        g = self.gateway_model()
        return replace(caps, first_frame=g.info.first_frame, last_frame=g.info.last_frame)

    def auth_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.secret}"}

    def _prepare(self, request: GenerationRequest) -> Submission:
        g = self.gateway_model()
        seconds, width, height = self._common_checks(request)
        if request.first_frame is not None and g.first_frame is None:
            raise GenerationError(f"replicate ({self.model}): no input for a first frame; name it with "
                                  f"fields: {{first_frame: <input>}}")
        inputs: dict[str, Any] = {g.prompt: request.prompt}
        images: dict[str, bytes] = {}
        if g.duration:
            inputs[g.duration] = seconds
        if g.aspect_ratio:
            inputs[g.aspect_ratio] = ratio_of(width, height)
        if g.resolution:
            inputs[g.resolution] = f"{min(width, height)}p"
        if g.size:
            inputs[g.size] = f"{width}*{height}"
        if g.seed:
            inputs[g.seed] = int(request.seed) % 2**31
        if g.negative and request.negative:
            inputs[g.negative] = request.negative
        if request.first_frame is not None and g.first_frame:
            images[g.first_frame] = frame_png(request.first_frame)
        if request.last_frame is not None and g.last_frame:
            images[g.last_frame] = frame_png(request.last_frame)
        # reference images guide a clip that has no first or last frame (a shot's opening segment)
        plain = request.first_frame is None and request.last_frame is None
        refs = [reference_png(p) for p in self.references_for(request)] if plain else []
        for k, v in self.options.inputs.items():
            inputs.setdefault(k, v)
        payload = {"model": self.model, "inputs": inputs, "images": images,
                   "references": (g.references, refs) if refs and g.references else None}
        return Submission(payload, seconds, width, height,
                          match={"model": self.model, "prompt": request.prompt,
                                 "duration": inputs.get(g.duration) if g.duration else None})

    def _file_input(self, png: bytes, what: str) -> str:
        """A data URL for a small image; above the inline limit the image goes through the files API first."""
        if len(png) <= INLINE_LIMIT:
            return data_uri(png)
        r = self.call("POST", "v1/files", files={"content": ("frame.png", png, "image/png")},
                      what=f"upload {what}")
        url = ((_json(r).get("urls") or {}).get("get"))
        if not url:
            raise GenerationError("replicate: the file upload reply carried no URL")
        log.info("replicate: uploaded %s (%d bytes)", what, len(png))
        return str(url)

    def _submit(self, sub: Submission) -> str:
        p = sub.payload
        inputs = dict(p["inputs"])
        for name, png in p["images"].items():
            inputs[name] = self._file_input(png, name)
        if p["references"]:
            name, pngs = p["references"]
            inputs[name] = [self._file_input(png, f"{name}[{i}]") for i, png in enumerate(pngs)]
        r = self.call("POST", f"v1/models/{self.model}/predictions", json={"input": inputs}, what="submit",
                      submit=True)
        pid = _json(r).get("id")
        if not pid:
            raise GenerationError("replicate: the submit reply carried no prediction id")
        return str(pid)

    def _status(self, job_id: str) -> JobStatus:
        p = _json(self.call("GET", f"v1/predictions/{job_id}", what=f"poll prediction {job_id}"))
        state = str(p.get("status", ""))
        if state == "succeeded":
            out = p.get("output")
            url = out[0] if isinstance(out, list) and out else out
            if not isinstance(url, str) or not url:
                return JobStatus("failed", message="the prediction succeeded without a video URL")
            return JobStatus("done", url=url)
        if state in ("failed", "canceled"):
            return JobStatus("failed", message=str(p.get("error") or state))
        return JobStatus("running")

    def _lookup(self, sub: Submission, row) -> Lookup:
        """Find the prediction a lost reply would have named: same model, same prompt and duration, created
        since the intent was written, and not already journaled for another clip."""
        known = self.journal.known_ids(self.name)
        since = row.created - 120.0
        found = []
        url = "v1/predictions"
        for _page in range(20):
            doc = _json(self.call("GET", url, what="list predictions"))
            results = doc.get("results") or []
            older = False
            for item in results:
                created = iso_timestamp(item.get("created_at"))
                if created is not None and created < since:
                    older = True
                    continue
                if item.get("id") in known or item.get("model") != self.model:
                    continue
                inputs = item.get("input")
                if inputs is None:  # listed without its input: read the prediction itself
                    reply = self.call("GET", f"v1/predictions/{item['id']}", what="read prediction")
                    inputs = _json(reply).get("input")
                g = self.gateway_model()
                inputs = inputs or {}
                if inputs.get(g.prompt) == sub.match["prompt"] and (
                        not g.duration or inputs.get(g.duration) == sub.match["duration"]):
                    found.append(str(item["id"]))
            nxt = doc.get("next")
            if older or not nxt or not results:
                break
            url = nxt
        else:
            return Lookup("cannot", detail="too many recent predictions to search")
        if len(found) == 1:
            return Lookup("found", found[0])
        if not found:
            return Lookup("absent")
        return Lookup("cannot", detail=f"{len(found)} recent predictions match: {', '.join(found)}")
