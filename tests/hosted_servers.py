"""Local stand-ins for the hosted video APIs (Veo/Gemini, Runway, Luma, OpenAI videos) on 127.0.0.1.

Each follows its provider's documented request/response shapes, checks the API key, serves a real MP4
of the requested duration, counts submissions and can inject faults. Output links of Runway and Luma
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

    def route(self, h, method, path, query, body):
        if method == "POST" and path.endswith(":predictLongRunning"):
            model = path.split("/models/")[1].split(":")[0]
            doc = json.loads(body)
            inst = doc["instances"][0]
            params = doc.get("parameters", {})
            if params.get("durationSeconds") not in (4, 6, 8) or not inst.get("prompt"):
                return self.reply(h, 400, {"error": {"code": 400, "message": "durationSeconds must be 4, 6 or 8",
                                                     "status": "INVALID_ARGUMENT"}})
            image = base64.b64decode(inst["image"]["bytesBase64Encoded"]) if "image" in inst else None
            last = base64.b64decode(inst["lastFrame"]["bytesBase64Encoded"]) if "lastFrame" in inst else None
            late = self.late_fault()
            if late is None and self.apply_fault(h, "submit"):
                return
            job = self.new_job(doc, params["durationSeconds"], image, last)
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

    def route(self, h, method, path, query, body):
        if method == "POST" and path in ("/v1/image_to_video", "/v1/text_to_video"):
            doc = json.loads(body)
            if not isinstance(doc.get("duration"), int) or not doc.get("promptText") or ":" not in doc.get("ratio", ""):
                return self.reply(h, 400, {"error": "Validation of body failed", "issues": [{"message": "bad duration/ratio"}]})
            image = last = None
            for im in doc.get("promptImage") or []:
                raw = base64.b64decode(im["uri"].split(",", 1)[1])
                if im.get("position", "first") == "first":
                    image = raw
                else:
                    last = raw
            if path == "/v1/image_to_video" and image is None and last is None:
                return self.reply(h, 400, {"error": "promptImage is required"})
            late = self.late_fault()
            if late is None and self.apply_fault(h, "submit"):
                return
            job = self.new_job(doc, doc["duration"], image, last)
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

    def route(self, h, method, path, query, body):
        if method == "POST" and path == "/dream-machine/v1/generations/video":
            doc = json.loads(body)
            if doc.get("duration") not in ("5s", "9s") or not doc.get("prompt"):
                return self.reply(h, 400, {"detail": "duration must be 5s or 9s"})
            kf = doc.get("keyframes") or {}
            def img(k):
                if k not in kf:
                    return None
                assert kf[k]["type"] == "image"
                return base64.b64decode(kf[k]["url"].split(",", 1)[1])
            late = self.late_fault()
            if late is None and self.apply_fault(h, "submit"):
                return
            job = self.new_job(doc, int(doc["duration"][:-1]), img("frame0"), img("frame1"))
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
    """jsonschema errors of ``instance`` against ``#/components/schemas/<schema_name>`` of the spec."""
    from jsonschema import Draft202012Validator

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



STANDINS = {"veo": VeoStandIn, "runway": RunwayStandIn, "luma": LumaStandIn, "openai-videos": OpenAIStandIn}


def base_url(server: StandIn) -> str:
    return server.origin + ("/v1" if server.provider == "openai-videos" else "")


# ---------------------------------------------------------------------------------------------------
# child process for the kill tests


def child(argv) -> None:
    """Build a backend from a JSON description and generate one clip (the parent kills us)."""
    cfg = json.loads(argv[0])
    sys.path.insert(0, cfg["tests_dir"])
    from fractions import Fraction

    from songreel.generate import registry
    from songreel.generate.base import ProjectInfo
    from songreel.generate.store import ClipStore
    from songreel.schema.storyboard import BackendSpec

    from test_hosted import make_request  # noqa: E402  (tests dir on sys.path)

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
