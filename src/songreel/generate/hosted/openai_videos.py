"""The OpenAI videos API contract, for servers that implement it: your own GPUs behind a known contract.

OpenAI shut Sora and its Videos API down on 2026-09-24; the contract lives on in self-hosted,
OpenAI-compatible video servers (vLLM-Omni, SGLang Diffusion). There is therefore no default service:
``base_url`` is required (``http://gpu-box:8000/v1``), and the key variable is whatever your server
checks (``api_key_env``; default ``OPENAI_API_KEY``).

Wire format (``../shared/data/api/openai-videos-openapi.yaml``)::

    POST {base}/videos            multipart/form-data: model, prompt, seconds ("4"|"8"|"12"),
                                  size ("1280x720"...), input_reference (PNG file: the first frame)
      -> VideoResource {"id", "object": "video", "status": queued|in_progress|completed|failed, "error", ...}
    GET  {base}/videos/{id}                       -> VideoResource
    GET  {base}/videos/{id}/content?variant=video -> video/mp4
    GET  {base}/videos?limit=&order=desc&after=   -> VideoListResource (used to resolve lost replies)

``base_url`` includes the version prefix:
``backend: {name: openai-videos, base_url: http://host:8000/v1, model: Wan-AI/Wan2.2-T2V-A14B-Diffusers,
durations: [4, 8], sizes: [[1280, 720]]}`` (a model songreel does not know takes its clip lengths and
sizes from the options; the table below holds the contract's own models).

Unknown outcome: resolved by listing recent videos and matching prompt, model, size and seconds created
after the intent was journaled (ids already journaled are skipped); found → polled, certainly absent
→ sent, otherwise songreel stops and asks (``resubmit_unknown: true``).
"""

from __future__ import annotations

import functools

from pydantic import Field

from ...errors import GenerationError
from ...schema.clip import GenerationRequest
from .common import HostedBackend
from .media import frame_png
from .options import HostedOptions
from .types import JobStatus, Lookup, ModelInfo, Submission
from .http import json_body

_json = functools.partial(json_body, provider="openai-videos")  # the reply as a JSON object


_SIZES = ((1280, 720), (720, 1280))
_PRO_SIZES = _SIZES + ((1792, 1024), (1024, 1792))


class OpenAIVideosOptions(HostedOptions):
    """Options of the ``openai-videos`` backend (``base_url`` is required)."""

    model: str = Field("sora-2", description="the model id your server serves")


class OpenAIVideosBackend(HostedBackend):
    """Servers implementing the OpenAI videos contract. 4, 8 or 12 s clips; first frame via input_reference."""

    name = "openai-videos"
    version = "1"
    env_key = "OPENAI_API_KEY"
    default_base = ""  # no default service: base_url names your server
    default_model = "sora-2"
    Options = OpenAIVideosOptions
    # a generic backend: another server with the same model name is another model
    key_options = HostedBackend.key_options + ("base_url",)
    models = {
        "sora-2": ModelInfo((4, 8, 12), _SIZES, first_frame=True, last_frame=False),
        "sora-2-pro": ModelInfo((4, 8, 12), _PRO_SIZES, first_frame=True, last_frame=False),
    }

    def auth_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.secret}"}

    def _prepare(self, request: GenerationRequest) -> Submission:
        seconds, width, height = self._common_checks(request)
        if not request.prompt:
            raise GenerationError("openai-videos: the prompt is empty; the API needs 1 to 32000 characters")
        fields = {"model": self.model, "prompt": request.prompt, "seconds": str(seconds), "size": f"{width}x{height}"}
        image = None
        if request.first_frame is not None:
            # the reference image must have the output's size; an exact-size PNG is sent byte for byte
            image = frame_png(request.first_frame, size=(width, height))
        return Submission({"fields": fields, "input_reference": image}, seconds, width, height,
                          match={"prompt": request.prompt, "model": self.model, "size": f"{width}x{height}",
                                 "seconds": str(seconds)})

    def _submit(self, sub: Submission) -> str:
        files: dict[str, tuple] = {k: (None, v) for k, v in sub.payload["fields"].items()}
        if sub.payload["input_reference"] is not None:
            files["input_reference"] = ("first_frame.png", sub.payload["input_reference"], "image/png")
        r = self.call("POST", "videos", files=files, what="submit", submit=True)
        vid = _json(r).get("id")
        if not vid:
            raise GenerationError("openai-videos: the submit reply carried no video id")
        return str(vid)

    def _status(self, job_id: str) -> JobStatus:
        v = _json(self.call("GET", f"videos/{job_id}", what=f"poll video {job_id}"))
        status = str(v.get("status", ""))
        if status == "completed":
            return JobStatus("done")
        if status == "failed":
            err = v.get("error") or {}
            msg = err.get("message") if isinstance(err, dict) else str(err)
            code = err.get("code") if isinstance(err, dict) else None
            return JobStatus("failed", message=f"{msg or 'failed'}" + (f" ({code})" if code else ""))
        return JobStatus("running", progress=v.get("progress"))

    def _download(self, job_id: str, status: JobStatus) -> tuple[str, bool]:
        return self.url(f"videos/{job_id}/content?variant=video"), True

    def _lookup(self, sub: Submission, row) -> Lookup:
        known = self.journal.known_ids(self.name)
        since = row.created - 120.0
        found = []
        after = None
        for _page in range(20):
            params = {"limit": 100, "order": "desc"}
            if after:
                params["after"] = after
            doc = _json(self.call("GET", "videos", params=params, what="list videos"))
            data = doc.get("data") or []
            older = False
            for v in data:
                if int(v.get("created_at") or 0) < since:
                    older = True
                    continue
                if v.get("id") in known:
                    continue
                if all(_same(k, v.get(k), want) for k, want in sub.match.items()):
                    found.append(str(v["id"]))
            if older or not doc.get("has_more") or not data:
                break
            after = doc.get("last_id") or data[-1].get("id")
        else:
            return Lookup("cannot", detail="too many recent videos to search")
        if len(found) == 1:
            return Lookup("found", found[0])
        if not found:
            return Lookup("absent")
        return Lookup("cannot", detail=f"{len(found)} recent videos match: {', '.join(found)}")


def _same(field: str, got, want) -> bool:
    if field == "model":  # the job may name the dated snapshot of the alias it was asked for
        return str(got) == str(want) or str(got).startswith(f"{want}-")
    return str(got) == str(want)

