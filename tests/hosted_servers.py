"""Local stand-ins for the hosted video APIs (Veo/Gemini, Runway, Luma, OpenAI videos, Replicate) on 127.0.0.1.

Each follows its provider's published contract strictly: it checks the API key, refuses fields the
contract does not document (with the provider's own error shape), serves a real MP4 of the requested
duration, counts submissions and can inject faults. None of them needs ``../shared``: the OpenAI one
also checks every request and reply against the OpenAPI spec there when it is present. Output links of Runway and Luma
(and Veo's redirected download) point at ``http://localhost:<port>/cdn/...``: a different origin from
the API's ``http://127.0.0.1:<port>``, so a key sent there is caught (``cdn_auth_seen``).

Faults: ``server.faults[route]`` is a list of actions consumed one per request on that route
(routes: ``submit``, ``poll``, ``list``, ``download``):

    ("status", code, {headers})   reply with that status and an error body
    ("timeout", seconds)          sleep before handling (``submit``: the job is created, then the reply is late)
    ("drop",)                     close the connection without a reply (``submit``: after creating the job)
    ("drop_mid",)                 ``download`` only: send half the body, then close

``server.outcomes`` is a list of ``("failed" | "moderation", message)`` applied to new jobs in order.
``server.hold_submit`` (an Event): when set, a submission creates the job and then waits (≤ 20 s) for
``server.release`` before replying: the window in which a client can be killed between send and reply.

Run as a script (``python tests/hosted_servers.py child <json>``) it is the child process of the kill
tests: it builds a backend and generates one clip.

One job in one file (past the usual length on purpose): the stand-ins, one class per provider over one
shared base (server, job table, fault injection), kept together so the kill-test child imports them all.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_VIDEO_CACHE: dict = {}
_VIDEO_LOCK = threading.Lock()


def make_mp4(seconds: float, *, fps: int = 24, size: int = 32, shade: int = 0) -> bytes:
    """A real H.264 MP4 of ``seconds`` at ``fps``: a moving gradient, last frame distinct per ``shade``."""
    key = (float(seconds), fps, size, shade % 8)
    with _VIDEO_LOCK:
        if key in _VIDEO_CACHE:
            return _VIDEO_CACHE[key]
    import av
    import numpy as np

    n = int(round(seconds * fps))
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "30"}
        yy, xx = np.mgrid[0:size, 0:size]
        for i in range(n):
            img = np.zeros((size, size, 3), np.uint8)
            img[..., 0] = (xx * 8 + i * 3) % 256
            img[..., 1] = (yy * 8 + 40 * (shade % 8)) % 256
            img[..., 2] = (i * 5) % 256
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    data = buf.getvalue()
    with _VIDEO_LOCK:
        _VIDEO_CACHE[key] = data
    return data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self.server.owner._dispatch(self, "GET")

    def do_POST(self):
        self.server.owner._dispatch(self, "POST")


class StandIn:
    """Base stand-in: a threaded HTTP server, job table, counters and fault injection."""

    provider = ""
    key_env = ""

    def __init__(self, key: str, *, polls_to_finish: int = 1):
        self.key = key
        self.polls_to_finish = polls_to_finish
        self.jobs: dict = {}
        self.submissions: list = []
        self.faults: dict = {}
        self.outcomes: list = []
        self.errors: list = []           # contract violations seen (must stay empty)
        self.rejected: list = []         # requests refused for breaking the contract (the provider's 4xx)
        self.cdn_auth_seen = False
        self.unauthorised = 0
        self.hold_submit = threading.Event()
        self.release = threading.Event()
        self.finish = threading.Event()  # polls_to_finish=None waits for this
        self.lock = threading.Lock()
        self.requests_seen: list = []    # raw header dumps, to grep for the key
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    # -- plumbing --------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cdn(self) -> str:
        return f"http://localhost:{self.port}/cdn"

    def stop(self):
        self.release.set()
        self.finish.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def fault(self, route: str):
        with self.lock:
            q = self.faults.get(route) or []
            return q.pop(0) if q else None

    def _dispatch(self, h: BaseHTTPRequestHandler, method: str):
        try:
            length = int(h.headers.get("content-length") or 0)
            body = h.rfile.read(length) if length else b""
            url = urlsplit(h.path)
            if url.path.startswith("/cdn/"):
                if self._authed(h, quiet=True):
                    self.cdn_auth_seen = True
                return self._serve_video(h, url.path.rsplit("/", 1)[-1].split(".")[0])
            if not self._authed(h):
                self.unauthorised += 1
                return self.reply(h, 401, {"error": {"message": "invalid or missing API key"}})
            self.route(h, method, url.path, parse_qs(url.query), body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _authed(self, h, quiet=False) -> bool:  # pragma: no cover - every stand-in overrides it
        raise TypeError(f"{type(self).__name__} must define how a request is authenticated")

    def reply(self, h, code: int, doc=None, headers=None, raw: bytes = None, ctype="application/json"):
        data = raw if raw is not None else json.dumps(doc if doc is not None else {}).encode()
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()

    def drop(self, h):
        h.close_connection = True
        try:
            import socket
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def apply_fault(self, h, route: str) -> bool:
        """Apply the next fault for ``route``; True when the request was consumed by it."""
        f = self.fault(route)
        if f is None:
            return False
        kind = f[0]
        if kind == "status":
            self.reply(h, f[1], {"error": {"message": f"injected {f[1]}", "code": "injected"}},
                       headers=f[2] if len(f) > 2 else None)
            return True
        if kind == "timeout":
            time.sleep(f[1])  # then answer normally (the client may have given up)
            return False
        if kind == "drop":
            self.drop(h)
            return True
        return False

    def late_fault(self):
        """Pop a "timeout"/"drop" submit fault: applied *after* the job is created (a lost reply)."""
        with self.lock:
            q = self.faults.get("submit") or []
            if q and q[0][0] in ("timeout", "drop"):
                return q.pop(0)
        return None

    def after_create(self, h, late) -> bool:
        """Hold / delay / drop the reply of a created job; True when the connection was dropped."""
        if late is not None:
            if late[0] == "drop":
                self.drop(h)
                return True
            time.sleep(late[1])
        self.hold()
        return False

    def new_job(self, request: dict, seconds: float, image: bytes = None, last: bytes = None) -> dict:
        with self.lock:
            n = len(self.jobs)
            outcome = self.outcomes.pop(0) if self.outcomes else None
            job = {"id": self.make_id(n), "n": n, "seconds": seconds, "request": request, "image": image,
                   "last": last, "polls": 0, "outcome": outcome, "created": time.time()}
            self.jobs[job["id"]] = job
            self.submissions.append(job)
        return job

    def make_id(self, n: int) -> str:
        return str(uuid.uuid4())

    def job_state(self, job) -> str:
        """"running", "done", "failed" or "moderation" after this poll."""
        job["polls"] += 1
        if self.polls_to_finish is None:
            if not self.finish.is_set():
                return "running"
        elif job["polls"] < self.polls_to_finish:
            return "running"
        return job["outcome"][0] if job["outcome"] else "done"

    def hold(self):
        if self.hold_submit.is_set():
            self.release.wait(20)

    def _serve_video(self, h, job_id: str):
        job = self.jobs.get(job_id)
        if job is None:
            return self.reply(h, 404, {"error": {"message": "no such file"}})
        data = make_mp4(job["seconds"], shade=job["n"])
        f = self.fault("download")
        if f and f[0] == "drop_mid":
            h.send_response(200)
            h.send_header("Content-Type", "video/mp4")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            return self.drop(h)
        if f and f[0] == "status":
            return self.reply(h, f[1], {"error": {"message": f"injected {f[1]}"}}, headers=f[2] if len(f) > 2 else None)
        self.reply(h, 200, raw=data, ctype="video/mp4")


# ---------------------------------------------------------------------------------------------------
# Google Veo (Gemini API)


class VeoStandIn(StandIn):
    provider = "veo"
    key_env = "GEMINI_API_KEY"

    def _authed(self, h, quiet=False):
        return h.headers.get("x-goog-api-key") == self.key

    def make_id(self, n):
        return f"op{n:04d}{uuid.uuid4().hex[:8]}"

    # what the Gemini API takes (google-genai, Gemini API mode): seed, generateAudio, fps... are Vertex-only
    INSTANCE = {"prompt", "image", "lastFrame", "referenceImages", "video"}
    PARAMETERS = {"aspectRatio", "durationSeconds", "resolution", "negativePrompt", "personGeneration",
                  "sampleCount", "enhancePrompt"}

    def invalid(self, h, message):
        self.rejected.append(message)
        return self.reply(h, 400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}})

    def route(self, h, method, path, query, body):
        if method == "POST" and path.endswith(":predictLongRunning"):
            model = path.split("/models/")[1].split(":")[0]
            doc = json.loads(body)
            inst = doc["instances"][0]
            params = doc.get("parameters", {})
            for where, got, allowed in (("instances[0]", inst, self.INSTANCE), ("parameters", params, self.PARAMETERS),
                                        ("", doc, {"instances", "parameters"})):
                for name in set(got) - allowed:
                    return self.invalid(h, f'Invalid JSON payload received. Unknown name "{name}" at \'{where}\': '
                                           f"Cannot find field.")
            secs = params.get("durationSeconds")
            if secs not in (4, 6, 8) or not inst.get("prompt"):
                return self.invalid(h, "durationSeconds must be 4, 6 or 8")
            if params.get("resolution", "720p") not in ("720p", "1080p", "4k"):
                return self.invalid(h, "resolution must be 720p, 1080p or 4k")
            if params.get("resolution", "720p") != "720p" and secs != 8:
                return self.invalid(h, "1080p and 4k videos must be 8 seconds long")
            refs = inst.get("referenceImages") or []
            if refs:
                if (len(refs) > 3 or secs != 8 or "image" in inst or "lastFrame" in inst
                        or params.get("aspectRatio", "16:9") != "16:9"):
                    return self.invalid(h, "referenceImages: at most 3, 8 s 16:9 videos only, not with image/lastFrame")
                if any(set(r) - {"image", "referenceType"} or str(r.get("referenceType", "")).upper() != "ASSET"
                       for r in refs):
                    return self.invalid(h, "referenceImages[].referenceType must be asset")
            image = base64.b64decode(inst["image"]["bytesBase64Encoded"]) if "image" in inst else None
            last = base64.b64decode(inst["lastFrame"]["bytesBase64Encoded"]) if "lastFrame" in inst else None
            late = self.late_fault()
            if late is None and self.apply_fault(h, "submit"):
                return
            job = self.new_job(doc, secs, image, last)
            job["refs"] = [base64.b64decode(r["image"]["bytesBase64Encoded"]) for r in refs]
            job["model"] = model
            name = f"models/{model}/operations/{job['id']}"
            job["name"] = name
            if self.after_create(h, late):
                return
            return self.reply(h, 200, {"name": name})
        if method == "GET" and "/operations/" in path:
            if self.apply_fault(h, "poll"):
                return
            job = self.jobs.get(path.rsplit("/", 1)[-1])
            if job is None:
                return self.reply(h, 404, {"error": {"code": 404, "message": "operation not found", "status": "NOT_FOUND"}})
            state = self.job_state(job)
            if state == "running":
                return self.reply(h, 200, {"name": job["name"], "done": False})
            if state == "failed":
                return self.reply(h, 200, {"name": job["name"], "done": True,
                                           "error": {"code": 3, "message": job["outcome"][1]}})
            if state == "moderation":
                return self.reply(h, 200, {"name": job["name"], "done": True, "response": {
                    "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                    "generateVideoResponse": {"raiMediaFilteredCount": 1,
                                              "raiMediaFilteredReasons": [job["outcome"][1]]}}})
            uri = f"{self.origin}/v1beta/files/{job['id']}:download?alt=media"
            return self.reply(h, 200, {"name": job["name"], "done": True, "response": {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]}}})
        if method == "GET" and path.startswith("/v1beta/files/"):
            job_id = path.rsplit("/", 1)[-1].split(":")[0]
            # the real download redirects to a storage host: the key must not follow it
            h.send_response(302)
            h.send_header("Location", f"{self.cdn}/{job_id}.mp4")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        self.reply(h, 404, {"error": {"message": f"no route {method} {path}"}})


# ---------------------------------------------------------------------------------------------------
# Runway


class RunwayStandIn(StandIn):
    provider = "runway"
    key_env = "RUNWAYML_API_SECRET"

    def _authed(self, h, quiet=False):
        ok = h.headers.get("authorization") == f"Bearer {self.key}"
        if ok and not quiet and h.headers.get("x-runway-version") != "2024-11-06":
            self.errors.append("missing X-Runway-Version: 2024-11-06")
        return ok

    # per endpoint and model, the fields the runwayml SDK's request types declare
    _G45_I2V = ("1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672")
    _VEO = ("1280:720", "720:1280", "1080:1920", "1920:1080")
    CONTRACT = {
        ("text_to_video", "gen4.5"): ({"model", "promptText", "ratio", "duration", "seed", "contentModeration"},
                                      ("1280:720", "720:1280"), range(2, 11), 1000, ()),
        ("image_to_video", "gen4.5"): ({"model", "promptImage", "promptText", "ratio", "duration", "seed",
                                        "contentModeration"}, _G45_I2V, range(2, 11), 1000, ("first",)),
        ("image_to_video", "gen4_turbo"): ({"model", "promptImage", "promptText", "ratio", "duration", "seed",
                                            "contentModeration"}, _G45_I2V, range(2, 11), 1000, ("first",)),
        ("text_to_video", "veo3.1"): ({"model", "promptText", "ratio", "audio", "duration", "negativePrompt"},
                                      _VEO, (4, 6, 8), 1000, ()),
        ("image_to_video", "veo3.1"): ({"model", "promptImage", "promptText", "ratio", "audio", "duration",
                                        "negativePrompt"}, _VEO, (4, 6, 8), 1000, ("first", "last")),
        ("text_to_video", "veo3.1_fast"): ({"model", "promptText", "ratio", "audio", "duration", "negativePrompt"},
                                           _VEO, (4, 6, 8), 1000, ()),
        ("image_to_video", "veo3.1_fast"): ({"model", "promptImage", "promptText", "ratio", "audio", "duration",
                                             "negativePrompt"}, _VEO, (4, 6, 8), 1000, ("first", "last")),
        ("text_to_video", "veo3"): ({"model", "promptText", "ratio", "duration", "negativePrompt"}, _VEO, (8,), 1000, ()),
        ("image_to_video", "veo3"): ({"model", "promptImage", "promptText", "ratio", "duration", "negativePrompt"},
                                     _VEO, (8,), 1000, ("first",)),
        ("text_to_video", "seedance2"): ({"model", "promptText", "audio", "duration", "ratio", "referenceAudio",
                                          "references", "referenceVideos"}, ("1280:720", "720:1280"),
                                         range(4, 16), 3500, ()),
        ("image_to_video", "seedance2"): ({"model", "promptImage", "promptText", "audio", "duration", "ratio",
                                           "referenceAudio"}, ("1280:720", "720:1280"), range(4, 16), 3500,
                                          ("first", "last")),
    }

    def invalid(self, h, message):
        self.rejected.append(message)
        return self.reply(h, 400, {"error": "Validation of body failed", "issues": [{"message": message}]})

    def route(self, h, method, path, query, body):
        if method == "POST" and path in ("/v1/image_to_video", "/v1/text_to_video"):
            doc = json.loads(body)
            contract = self.CONTRACT.get((path[4:], doc.get("model")))
            if contract is None:
                return self.invalid(h, f"model {doc.get('model')!r} is not available on {path}")
            fields, ratios, durations, limit, positions = contract
            extra = sorted(set(doc) - fields)
            if extra:
                return self.invalid(h, f"Unrecognized key(s) in object: {', '.join(map(repr, extra))}")
            if doc.get("ratio") not in ratios:
                return self.invalid(h, f"ratio: Invalid enum value. Expected {' | '.join(ratios)}, received {doc.get('ratio')!r}")
            if not isinstance(doc.get("duration"), int) or doc["duration"] not in durations:
                return self.invalid(h, f"duration: {doc.get('duration')!r} is not allowed")
            text = doc.get("promptText") or ""
            if not text or len(text.encode("utf-16-le")) // 2 > limit:
                return self.invalid(h, f"promptText: must be 1 to {limit} UTF-16 code units")
            image = last = None
            for im in doc.get("promptImage") or []:
                if im.get("position") not in positions:
                    return self.invalid(h, f"promptImage position {im.get('position')!r} is not allowed")
                raw = base64.b64decode(im["uri"].split(",", 1)[1])
                if im["position"] == "first":
                    image = raw
                else:
                    last = raw
            if path == "/v1/image_to_video" and image is None and last is None:
                return self.invalid(h, "promptImage is required")
            late = self.late_fault()
            if late is None and self.apply_fault(h, "submit"):
                return
            job = self.new_job(doc, doc["duration"], image, last)
            job["refs"] = [base64.b64decode(r["uri"].split(",", 1)[1]) for r in doc.get("references") or []]
            if self.after_create(h, late):
                return
            return self.reply(h, 200, {"id": job["id"]})
        if method == "GET" and path.startswith("/v1/tasks/"):
            if self.apply_fault(h, "poll"):
                return
            job = self.jobs.get(path.rsplit("/", 1)[-1])
            if job is None:
                return self.reply(h, 404, {"error": "Task not found"})
            state = self.job_state(job)
            base = {"id": job["id"], "createdAt": datetime.now(timezone.utc).isoformat()}
            if state == "running":
                return self.reply(h, 200, {**base, "status": "RUNNING", "progress": 0.5})
            if state in ("failed", "moderation"):
                code = "SAFETY.INPUT.TEXT" if state == "moderation" else "INTERNAL.BAD_OUTPUT"
                return self.reply(h, 200, {**base, "status": "FAILED", "failure": job["outcome"][1], "failureCode": code})
            return self.reply(h, 200, {**base, "status": "SUCCEEDED", "output": [f"{self.cdn}/{job['id']}.mp4"]})
        self.reply(h, 404, {"error": f"no route {method} {path}"})


# ---------------------------------------------------------------------------------------------------
# Luma


class LumaStandIn(StandIn):
    provider = "luma"
    key_env = "LUMAAI_API_KEY"

    def _authed(self, h, quiet=False):
        return h.headers.get("authorization") == f"Bearer {self.key}"

    def generation(self, job, state, **extra):
        g = {"id": job["id"], "generation_type": "video", "state": state, "failure_reason": None,
             "created_at": datetime.fromtimestamp(job["created"], timezone.utc).isoformat().replace("+00:00", "Z"),
             "assets": None, "model": job["request"].get("model"), "request": job["request"]}
        g.update(extra)
        return g

    FIELDS = {"prompt", "model", "aspect_ratio", "callback_url", "concepts", "duration", "generation_type",
              "keyframes", "loop", "resolution"}
    storage_dir = None  # where "your storage" keeps the files it publishes under storage_url

    @property
    def storage_url(self) -> str:
        return f"http://localhost:{self.port}/storage"

    def invalid(self, h, message):
        self.rejected.append(message)
        return self.reply(h, 400, {"detail": message})

    def fetch_image(self, url: str):
        """What Luma does with a keyframe URL: fetch it (here: read it from the stand-in storage)."""
        if not url.startswith(self.storage_url + "/") or self.storage_dir is None:
            return None
        p = Path(self.storage_dir) / url[len(self.storage_url) + 1:]
        return p.read_bytes() if p.is_file() else None

    def route(self, h, method, path, query, body):
        if method == "POST" and path == "/dream-machine/v1/generations/video":
            doc = json.loads(body)
            extra = sorted(set(doc) - self.FIELDS)
            if extra:
                return self.invalid(h, f"unknown field(s): {', '.join(extra)}")
            if doc.get("duration") not in ("5s", "9s") or not doc.get("prompt"):
                return self.invalid(h, "duration must be 5s or 9s")
            if doc.get("resolution", "720p") not in ("540p", "720p", "1080p", "4k"):
                return self.invalid(h, "resolution must be one of 540p, 720p, 1080p, 4k")
            kf = doc.get("keyframes") or {}
            images = {}
            for k, frame in kf.items():
                if k not in ("frame0", "frame1") or frame.get("type") != "image" or set(frame) != {"type", "url"}:
                    return self.invalid(h, f"keyframes.{k}: expected {{type: image, url}}")
                url = str(frame["url"])
                if not url.startswith(("https://", "http://")):
                    return self.invalid(h, f"keyframes.{k}.url: must be an http(s) image URL, got {url[:30]}...")
                images[k] = self.fetch_image(url)
                if images[k] is None:
                    return self.invalid(h, f"keyframes.{k}.url: could not fetch {url}")
            late = self.late_fault()
            if late is None and self.apply_fault(h, "submit"):
                return
            job = self.new_job(doc, int(doc["duration"][:-1]), images.get("frame0"), images.get("frame1"))
            if self.after_create(h, late):
                return
            return self.reply(h, 201, self.generation(job, "queued"))
        if method == "GET" and path == "/dream-machine/v1/generations":
            if self.apply_fault(h, "list"):
                return
            limit, offset = int(query.get("limit", ["10"])[0]), int(query.get("offset", ["0"])[0])
            jobs = sorted(self.jobs.values(), key=lambda j: -j["created"])
            page = jobs[offset: offset + limit]
            return self.reply(h, 200, {"generations": [self.generation(j, "dreaming") for j in page],
                                       "has_more": offset + limit < len(jobs), "count": len(page)})
        if method == "GET" and path.startswith("/dream-machine/v1/generations/"):
            if self.apply_fault(h, "poll"):
                return
            job = self.jobs.get(path.rsplit("/", 1)[-1])
            if job is None:
                return self.reply(h, 404, {"detail": "Generation not found"})
            state = self.job_state(job)
            if state == "running":
                return self.reply(h, 200, self.generation(job, "dreaming"))
            if state in ("failed", "moderation"):
                return self.reply(h, 200, self.generation(job, "failed", failure_reason=job["outcome"][1]))
            return self.reply(h, 200, self.generation(job, "completed", assets={"video": f"{self.cdn}/{job['id']}.mp4"}))
        self.reply(h, 404, {"detail": f"no route {method} {path}"})


# ---------------------------------------------------------------------------------------------------
# OpenAI videos (checked against ../shared/data/api/openai-videos-openapi.yaml)

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "api" / "openai-videos-openapi.yaml"
_SPEC = None


def openapi_spec() -> dict:
    global _SPEC
    if _SPEC is None:
        import yaml
        _SPEC = yaml.safe_load(SPEC_PATH.read_text())
    return _SPEC


def validate(instance, schema_name: str) -> list[str]:
    """jsonschema errors of ``instance`` against ``#/components/schemas/<schema_name>`` of the spec
    (none when the spec is not beside the repository: the built-in checks still apply)."""
    from jsonschema import Draft202012Validator

    if not SPEC_PATH.exists():
        return []
    spec = openapi_spec()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    return [f"{schema_name}: {e.message}" for e in Draft202012Validator(schema).iter_errors(instance)]


def parse_multipart(ctype: str, body: bytes) -> tuple[dict, dict]:
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    fields, files = {}, {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if part.get_filename():
            files[name] = (part.get_filename(), part.get_content_type(), data)
        else:
            fields[name] = data.decode()
    return fields, files


class OpenAIStandIn(StandIn):
    provider = "openai-videos"
    key_env = "OPENAI_API_KEY"

    def _authed(self, h, quiet=False):
        return h.headers.get("authorization") == f"Bearer {self.key}"

    def make_id(self, n):
        return f"video_{n:04d}{uuid.uuid4().hex[:12]}"

    def resource(self, job, status, **extra):
        r = {"id": job["id"], "object": "video", "model": job["request"]["model"], "status": status,
             "progress": 100 if status == "completed" else 0 if status == "queued" else 50,
             "created_at": int(job["created"]), "completed_at": None, "expires_at": None,
             "prompt": job["request"]["prompt"], "size": job["request"]["size"],
             "seconds": job["request"]["seconds"], "remixed_from_video_id": None, "error": None}
        r.update(extra)
        self.errors.extend(validate(r, "VideoResource"))
        return r

    def route(self, h, method, path, query, body):
        if not path.startswith("/v1/"):
            return self.reply(h, 404, {"error": {"code": "not_found", "message": "no such route"}})
        path = path[3:]
        if method == "POST" and path == "/videos":
            ctype = h.headers.get("content-type", "")
            if not ctype.startswith("multipart/form-data"):
                self.errors.append(f"create sent as {ctype}, expected multipart/form-data")
                return self.reply(h, 400, {"error": {"code": "bad_request", "message": "expected multipart"}})
            fields, files = parse_multipart(ctype, body)
            doc = dict(fields)
            if "input_reference" in files:
                doc["input_reference"] = "<binary>"
                if files["input_reference"][1] not in ("image/png", "image/jpeg", "image/webp"):
                    self.errors.append(f"input_reference content type {files['input_reference'][1]}")
            errs = validate(doc, "CreateVideoMultipartBody")
            extra = sorted(set(doc) - {"model", "prompt", "seconds", "size", "input_reference"})
            if extra:  # the contract's create body has exactly these (the spec says so too, when present)
                errs.append(f"Unrecognized request argument supplied: {', '.join(extra)}")
                self.rejected.append(errs[-1])
            if errs:
                self.errors.extend(errs)
                return self.reply(h, 400, {"error": {"code": "invalid_request", "message": "; ".join(errs)}})
            image = files.get("input_reference", (None, None, None))[2]
            if image is not None:
                from PIL import Image
                w, hh = Image.open(io.BytesIO(image)).size
                if f"{w}x{hh}" != doc.get("size", "720x1280"):
                    return self.reply(h, 400, {"error": {"code": "invalid_request",
                                                         "message": "input_reference must match the requested size"}})
            late = self.late_fault()
            if late is None and self.apply_fault(h, "submit"):
                return
            request = {"model": doc.get("model", "sora-2"), "prompt": doc["prompt"],
                       "seconds": doc.get("seconds", "4"), "size": doc.get("size", "720x1280")}
            job = self.new_job(request, int(request["seconds"]), image)
            if self.after_create(h, late):
                return
            return self.reply(h, 200, self.resource(job, "queued"))
        if method == "GET" and path == "/videos":
            if self.apply_fault(h, "list"):
                return
            limit = int(query.get("limit", ["20"])[0])
            order = query.get("order", ["desc"])[0]
            if not 0 <= limit <= 100 or order not in ("asc", "desc"):
                self.errors.append(f"list params limit={limit} order={order}")
            jobs = sorted(self.jobs.values(), key=lambda j: (j["created"], j["n"]), reverse=order == "desc")
            after = query.get("after", [None])[0]
            if after:
                ids = [j["id"] for j in jobs]
                jobs = jobs[ids.index(after) + 1:] if after in ids else []
            page = jobs[:limit]
            doc = {"object": "list", "data": [self.resource(j, "in_progress") for j in page],
                   "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None,
                   "has_more": len(jobs) > limit}
            self.errors.extend(validate(doc, "VideoListResource"))
            return self.reply(h, 200, doc)
        if method == "GET" and path.startswith("/videos/") and path.endswith("/content"):
            job_id = path.split("/")[2]
            if query.get("variant", ["video"])[0] not in ("video", "thumbnail", "spritesheet"):
                self.errors.append(f"variant {query.get('variant')}")
            return self._serve_video(h, job_id)
        if method == "GET" and path.startswith("/videos/"):
            if self.apply_fault(h, "poll"):
                return
            job = self.jobs.get(path.split("/")[2])
            if job is None:
                return self.reply(h, 404, {"error": {"code": "not_found", "message": "Video not found"}})
            state = self.job_state(job)
            if state == "running":
                return self.reply(h, 200, self.resource(job, "in_progress"))
            if state in ("failed", "moderation"):
                code = "moderation_blocked" if state == "moderation" else "internal_error"
                return self.reply(h, 200, self.resource(job, "failed", error={"code": code, "message": job["outcome"][1]}))
            return self.reply(h, 200, self.resource(job, "completed", completed_at=int(time.time()),
                                                    expires_at=int(time.time()) + 3600))
        self.reply(h, 404, {"error": {"code": "not_found", "message": f"no route {method} {path}"}})



# ---------------------------------------------------------------------------------------------------
# Replicate (the gateway)


def _uri(v):
    return isinstance(v, str) and (v.startswith("data:") or v.startswith("http"))


def _enum(*values):
    return lambda v: v in values


_INT = lambda lo, hi: (lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi)  # noqa: E731
_STR = lambda v: isinstance(v, str)  # noqa: E731
_BOOL = lambda v: isinstance(v, bool)  # noqa: E731
_RATIOS = _enum("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21")

# each model's input schema as its Replicate API page publishes it: name -> check (required names first)
REPLICATE_SCHEMAS = {
    "bytedance/seedance-1-pro": ({"prompt"}, {
        "prompt": _STR, "image": _uri, "last_frame_image": _uri, "duration": _INT(2, 12),
        "resolution": _enum("480p", "720p", "1080p"), "aspect_ratio": _RATIOS, "fps": _enum(24),
        "seed": _INT(0, 2**31), "camera_fixed": _BOOL}),
    "bytedance/seedance-1-lite": ({"prompt"}, {
        "prompt": _STR, "image": _uri, "last_frame_image": _uri, "duration": _INT(2, 12),
        "resolution": _enum("480p", "720p", "1080p"), "aspect_ratio": _RATIOS, "fps": _enum(24),
        "seed": _INT(0, 2**31), "camera_fixed": _BOOL,
        "reference_images": lambda v: isinstance(v, list) and 1 <= len(v) <= 4 and all(map(_uri, v))}),
    "bytedance/seedance-1.5-pro": ({"prompt"}, {
        "prompt": _STR, "image": _uri, "last_frame_image": _uri, "duration": _INT(2, 12), "aspect_ratio": _RATIOS,
        "fps": _enum(24), "camera_fixed": _BOOL, "generate_audio": _BOOL, "seed": _INT(0, 2**31)}),
    "wan-video/wan-2.7-t2v": ({"prompt"}, {
        "prompt": _STR, "negative_prompt": _STR, "audio": _uri, "resolution": _enum("720p", "1080p"),
        "aspect_ratio": _RATIOS, "duration": _INT(2, 15), "enable_prompt_expansion": _BOOL, "seed": _INT(0, 2**31)}),
    "kwaivgi/kling-v2.5-turbo-pro": ({"prompt"}, {
        "prompt": _STR, "start_image": _uri, "aspect_ratio": _enum("16:9", "9:16", "1:1"),
        "duration": _enum(5, 10), "negative_prompt": _STR}),
    "kwaivgi/kling-v2.1": ({"prompt", "start_image"}, {
        "prompt": _STR, "start_image": _uri, "end_image": _uri, "mode": _enum("standard", "pro"),
        "duration": _enum(5, 10), "negative_prompt": _STR}),
    "minimax/hailuo-02": ({"prompt"}, {
        "prompt": _STR, "first_frame_image": _uri, "last_frame_image": _uri, "duration": _enum(6, 10),
        "resolution": _enum("512p", "768p", "1080p"), "prompt_optimizer": _BOOL}),
    "wan-video/wan-2.5-t2v": ({"prompt"}, {
        "prompt": _STR, "size": _enum("1280*720", "720*1280", "1920*1080", "1080*1920", "832*480", "480*832"),
        "duration": _enum(5, 10), "negative_prompt": _STR, "seed": _INT(0, 2**31), "audio": _uri,
        "enable_prompt_expansion": _BOOL}),
    "wan-video/wan-2.5-i2v": ({"prompt", "image"}, {
        "prompt": _STR, "image": _uri, "resolution": _enum("480p", "720p", "1080p"), "duration": _enum(5, 10),
        "negative_prompt": _STR, "seed": _INT(0, 2**31), "audio": _uri, "enable_prompt_expansion": _BOOL}),
}
_IMAGE_INPUTS = {"image", "last_frame_image", "start_image", "end_image", "first_frame_image"}


class ReplicateStandIn(StandIn):
    provider = "replicate"
    key_env = "REPLICATE_API_TOKEN"

    def __init__(self, key, **kw):
        super().__init__(key, **kw)
        self.files: dict = {}

    def _authed(self, h, quiet=False):
        return h.headers.get("authorization") == f"Bearer {self.key}"

    def make_id(self, n):
        return f"r{n:04d}{uuid.uuid4().hex[:20]}"

    def invalid(self, h, fields):
        self.rejected.append(fields)
        return self.reply(h, 422, {"title": "Input validation failed", "status": 422,
                                   "detail": "\n".join(f"- {f}: {d}" for f, d in fields),
                                   "invalid_fields": [{"type": "invalid", "field": f, "description": d}
                                                      for f, d in fields]})

    def image(self, value: str):
        if value.startswith("data:"):
            return base64.b64decode(value.split(",", 1)[1])
        fid = value.rsplit("/", 1)[-1]
        return self.files.get(fid)

    def prediction(self, job, status, *, with_input=True, **extra):
        created = datetime.fromtimestamp(job["created"], timezone.utc).isoformat().replace("+00:00", "Z")
        p = {"id": job["id"], "model": job["model"], "version": "hidden", "status": status,
             "created_at": created, "urls": {"get": f"{self.origin}/v1/predictions/{job['id']}",
                                            "cancel": f"{self.origin}/v1/predictions/{job['id']}/cancel"},
             "output": None, "error": None, "logs": "", "metrics": {}}
        if with_input:
            p["input"] = job["input"]
        p.update(extra)
        return p

    def route(self, h, method, path, query, body):
        if method == "POST" and path == "/v1/files":
            fields, files = parse_multipart(h.headers.get("content-type", ""), body)
            if "content" not in files:
                return self.reply(h, 400, {"title": "Bad request", "detail": "content is required", "status": 400})
            fid = uuid.uuid4().hex
            self.files[fid] = files["content"][2]
            return self.reply(h, 201, {"id": fid, "name": files["content"][0], "size": len(files["content"][2]),
                                       "content_type": files["content"][1],
                                       "urls": {"get": f"{self.origin}/v1/files/{fid}"}})
        if method == "POST" and path.startswith("/v1/models/") and path.endswith("/predictions"):
            model = path[len("/v1/models/"):-len("/predictions")]
            if model not in REPLICATE_SCHEMAS:
                return self.reply(h, 404, {"title": "Not found", "detail": "The requested resource could not be found.",
                                           "status": 404})
            doc = json.loads(body)
            extra = sorted(set(doc) - {"input", "webhook", "webhook_completed", "webhook_events_filter", "stream"})
            if extra:
                return self.invalid(h, [(k, "Additional property is not allowed") for k in extra])
            required, schema = REPLICATE_SCHEMAS[model]
            inputs = doc.get("input") or {}
            bad = [(f"input.{k}", "Additional property is not allowed") for k in sorted(set(inputs) - set(schema))]
            bad += [(f"input.{k}", "is required") for k in sorted(required - set(inputs))]
            bad += [(f"input.{k}", f"{inputs[k]!r} is not valid") for k in sorted(set(inputs) & set(schema))
                    if not schema[k](inputs[k])]
            if "reference_images" in inputs and ({"image", "last_frame_image"} & set(inputs)
                                                 or inputs.get("resolution") == "1080p"):
                bad.append(("input.reference_images", "cannot be used with 1080p or first/last frame images"))
            if "end_image" in inputs and inputs.get("mode") != "pro":
                bad.append(("input.end_image", "pro mode is required when this parameter is set"))
            if model == "minimax/hailuo-02" and inputs.get("duration") == 10 and inputs.get("resolution") == "1080p":
                bad.append(("input.duration", "10 seconds videos are not supported for 1080p resolution"))
            if bad:
                return self.invalid(h, bad)
            images = {k: self.image(inputs[k]) for k in _IMAGE_INPUTS & set(inputs)}
            if any(v is None for v in images.values()):
                return self.invalid(h, [("input", "an image URL could not be fetched")])
            seconds = inputs.get("duration", 5)
            late = self.late_fault()
            if late is None and self.apply_fault(h, "submit"):
                return
            first = images.get("image") or images.get("start_image") or images.get("first_frame_image")
            last = images.get("last_frame_image") or images.get("end_image")
            job = self.new_job(doc, seconds, first, last)
            job["model"], job["input"] = model, inputs
            job["refs"] = [self.image(v) for v in inputs.get("reference_images") or []]
            if self.after_create(h, late):
                return
            return self.reply(h, 201, self.prediction(job, "starting"))
        if method == "GET" and path == "/v1/predictions":
            if self.apply_fault(h, "list"):
                return
            jobs = sorted(self.jobs.values(), key=lambda j: (-j["created"], -j["n"]))
            start = int(query.get("cursor", ["0"])[0])
            page = jobs[start:start + 2]  # small pages: the client must follow "next"
            nxt = f"{self.origin}/v1/predictions?cursor={start + 2}" if start + 2 < len(jobs) else None
            return self.reply(h, 200, {"previous": None, "next": nxt,
                                       "results": [self.prediction(j, "processing", with_input=False) for j in page]})
        if method == "GET" and path.startswith("/v1/predictions/"):
            if self.apply_fault(h, "poll"):
                return
            job = self.jobs.get(path.rsplit("/", 1)[-1])
            if job is None:
                return self.reply(h, 404, {"title": "Not found", "detail": "Prediction not found", "status": 404})
            state = self.job_state(job)
            if state == "running":
                return self.reply(h, 200, self.prediction(job, "processing"))
            if state in ("failed", "moderation"):
                return self.reply(h, 200, self.prediction(job, "failed", error=job["outcome"][1]))
            return self.reply(h, 200, self.prediction(job, "succeeded", output=f"{self.cdn}/{job['id']}.mp4",
                                                      metrics={"predict_time": 1.5}))
        self.reply(h, 404, {"title": "Not found", "detail": f"no route {method} {path}", "status": 404})


STANDINS = {"veo": VeoStandIn, "runway": RunwayStandIn, "luma": LumaStandIn, "openai-videos": OpenAIStandIn,
            "replicate": ReplicateStandIn}


def base_url(server: StandIn) -> str:
    return server.origin + ("/v1" if server.provider == "openai-videos" else "")


# ---------------------------------------------------------------------------------------------------
# child process for the kill tests


def child(argv) -> None:
    """Build a backend from a JSON description and generate one clip (the parent kills us)."""
    cfg = json.loads(argv[0])
    sys.path.insert(0, cfg["tests_dir"])
    from fractions import Fraction

    from test_hosted import make_request  # noqa: E402  (tests dir on sys.path)

    from songreel.generate import registry
    from songreel.generate.base import ProjectInfo
    from songreel.generate.store import ClipStore
    from songreel.schema.storyboard import BackendSpec

    store_dir = Path(cfg["store_dir"])
    project = ProjectInfo(width=1280, height=720, fps=Fraction(24), base_dir=store_dir.parent, store_dir=store_dir)
    backend = registry.create(BackendSpec(name=cfg["backend"], options=cfg["options"]), project)
    req = make_request(backend, **cfg.get("request", {}))
    store = ClipStore(store_dir)
    store.make(req, lambda tmp: backend.generate(req, tmp))
    print("child finished", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(sys.argv[2:])
