"""Luma Dream Machine API.

Wire format::

    POST {base}/dream-machine/v1/generations/video       Authorization: Bearer $LUMAAI_API_KEY
         {"prompt": ..., "model": "ray-2", "resolution": "720p", "duration": "5s", "aspect_ratio": "16:9",
          "loop": false, "keyframes": {"frame0": {"type": "image", "url": ...}, "frame1": {...}}}
      -> a generation {"id", "state": queued|dreaming|completed|failed, "failure_reason",
                       "assets": {"video": url}, "created_at", "request": {...the body echoed...}}
    GET  {base}/dream-machine/v1/generations/{id}
    GET  {base}/dream-machine/v1/generations?limit=&offset=     {"generations": [...], "has_more", "count"}

Keyframe images: Luma documents ``url`` as an image URL it fetches. By default songreel sends the frame
inline as a ``data:image/png;base64`` URL; if your account needs a public URL, publish the project's
``.songreel/frames/`` folder and set ``frame_url: https://your.host/frames`` (songreel then sends
``{frame_url}/{sha}.png``).

Unknown outcome: resolved by listing recent generations and matching the echoed request (prompt,
model, duration, resolution, aspect ratio, keyframes) created after the intent was journaled; found →
polled, certainly absent → sent, otherwise songreel stops and asks (``resubmit_unknown: true``).
"""

from __future__ import annotations

import base64
from datetime import datetime

from ...errors import GenerationError
from ...schema.clip import FrameRef, GenerationRequest
from .common import HostedBackend, JobStatus, Lookup, ModelInfo, Submission, frame_png, ratio_of

_RATIOS_720 = {(1280, 720): "16:9", (720, 1280): "9:16", (720, 720): "1:1", (960, 720): "4:3",
               (720, 960): "3:4", (1680, 720): "21:9", (720, 1680): "9:21"}
_RATIOS_1080 = {(1920, 1080): "16:9", (1080, 1920): "9:16", (1080, 1080): "1:1", (1440, 1080): "4:3",
                (1080, 1440): "3:4", (2520, 1080): "21:9", (1080, 2520): "9:21"}
_RATIOS_540 = {(960, 540): "16:9", (540, 960): "9:16", (540, 540): "1:1", (720, 540): "4:3",
               (540, 720): "3:4", (1260, 540): "21:9", (540, 1260): "9:21"}
_BY_RES = {"540p": _RATIOS_540, "720p": _RATIOS_720, "1080p": _RATIOS_1080}


class LumaBackend(HostedBackend):
    """Luma Ray 2 / Ray Flash 2 (Dream Machine API). 5 s or 9 s clips at 24 fps; first and last keyframes."""

    name = "luma"
    version = "1"
    env_key = "LUMAAI_API_KEY"
    default_base = "https://api.lumalabs.ai"
    default_model = "ray-2"
    models = {
        "ray-2": ModelInfo((5, 9), tuple(_RATIOS_720), first_frame=True, last_frame=True),
        "ray-flash-2": ModelInfo((5, 9), tuple(_RATIOS_720), first_frame=True, last_frame=True),
    }

    @property
    def resolution(self) -> str:
        res = str(self.options.get("resolution", "720p"))
        if res not in _BY_RES:
            raise GenerationError(f'luma: resolution "{res}" is not supported; accepted: {", ".join(_BY_RES)}')
        return res

    def model_info(self) -> ModelInfo:
        info = super().model_info()
        return ModelInfo(info.durations, tuple(_BY_RES[self.resolution]), info.first_frame, info.last_frame,
                         info.text_only)

    def auth_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.secret}"}

    def _image(self, ref: FrameRef) -> dict:
        base = self.options.get("frame_url")
        if base:
            return {"type": "image", "url": f"{str(base).rstrip('/')}/{ref.path.name}"}
        return {"type": "image", "url": "data:image/png;base64," + base64.b64encode(frame_png(ref)).decode()}

    def _prepare(self, request: GenerationRequest) -> Submission:
        seconds, width, height = self._common_checks(request)
        aspect = _BY_RES[self.resolution].get((width, height), ratio_of(width, height))
        body: dict = {"prompt": request.prompt, "model": self.model, "resolution": self.resolution,
                      "duration": f"{seconds}s", "aspect_ratio": aspect, "loop": bool(self.options.get("loop", False))}
        keyframes = {}
        if request.first_frame is not None:
            keyframes["frame0"] = self._image(request.first_frame)
        if request.last_frame is not None:
            keyframes["frame1"] = self._image(request.last_frame)
        if keyframes:
            body["keyframes"] = keyframes
        match = {k: body[k] for k in ("prompt", "model", "resolution", "duration", "aspect_ratio")}
        match["keyframes"] = keyframes or None
        return Submission(body, seconds, width, height, match=match)

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
                created = _ts(g.get("created_at"))
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


def _ts(value) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _json(response) -> dict:
    try:
        doc = response.json()
    except ValueError:
        raise GenerationError(f"luma: the reply is not JSON (HTTP {response.status_code})") from None
    return doc if isinstance(doc, dict) else {}
