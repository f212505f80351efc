"""A stand-in OpenAI-compatible chat completions server on 127.0.0.1, strict about the contract.

It checks every request the way the real API does (OpenAI API reference / openai-python types):
``POST /v1/chat/completions`` with a JSON body of known fields, ``messages`` of
``{role, content: str}``, and ``response_format: {"type": "json_schema", "json_schema": {name,
description?, schema, strict}}`` whose schema is a valid JSON Schema that also meets the Structured
Outputs strict subset (every object: ``additionalProperties: false`` and all properties required).
A request that breaks the contract gets a 400 with OpenAI's error shape and is recorded in
``violations``. Answers come from a script: one callable per request, ``fn(body) -> content`` (or a dict with
``status``, ``refusal`` or ``finish_reason`` to answer otherwise).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUEST_FIELDS = {"model", "messages", "response_format", "temperature", "top_p", "max_tokens",
                  "max_completion_tokens", "seed", "stream", "n", "stop", "user"}
ROLES = {"system", "user", "assistant", "developer"}


def strict_problems(schema, path="$") -> list:
    """Where a JSON schema breaks the Structured Outputs strict subset."""
    out = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            props = schema.get("properties", {})
            if schema.get("additionalProperties") is not False:
                out.append(f"{path}: additionalProperties must be false")
            if sorted(schema.get("required", [])) != sorted(props):
                out.append(f"{path}: required must list every property")
        for k, v in schema.items():
            if k in ("properties",) and isinstance(v, dict):
                for name, sub in v.items():
                    out += strict_problems(sub, f"{path}.{name}")
            elif k == "items":
                out += strict_problems(v, f"{path}[]")
    return out


def contract_problems(method: str, path: str, headers, raw: bytes, key) -> tuple[int, list]:
    if method != "POST" or path != "/v1/chat/completions":
        return 404, [f"unknown route {method} {path}"]
    if key is not None and headers.get("Authorization") != f"Bearer {key}":
        return 401, ["Incorrect API key provided"]
    if not (headers.get("Content-Type") or "").startswith("application/json"):
        return 400, ["Content-Type must be application/json"]
    try:
        body = json.loads(raw)
    except ValueError:
        return 400, ["body is not JSON"]
    problems = []
    if not isinstance(body, dict):
        return 400, ["body is not an object"]
    problems += [f"unknown field {k}" for k in body if k not in REQUEST_FIELDS]
    if not isinstance(body.get("model"), str) or not body["model"]:
        problems.append("model must be a non-empty string")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        problems.append("messages must be a non-empty list")
    else:
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or set(m) - {"role", "content", "name"} or m.get("role") not in ROLES \
                    or not isinstance(m.get("content"), str):
                problems.append(f"messages[{i}] must be {{role, content: string}}")
    rf = body.get("response_format")
    if rf is not None:
        if not isinstance(rf, dict) or rf.get("type") != "json_schema" or set(rf) != {"type", "json_schema"}:
            problems.append("response_format must be {type: json_schema, json_schema: {...}}")
        else:
            js = rf["json_schema"]
            if set(js) - {"name", "description", "schema", "strict"}:
                problems.append("json_schema has unknown fields")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(js.get("name", ""))):
                problems.append("json_schema.name must be a-z, A-Z, 0-9, _ or -, at most 64")
            try:
                import jsonschema

                jsonschema.Draft202012Validator.check_schema(js.get("schema"))
            except Exception as e:  # noqa: BLE001
                problems.append(f"json_schema.schema is not a valid JSON Schema: {e}")
            if js.get("strict") is True:
                problems += strict_problems(js.get("schema"))
    return (400 if problems else 200), problems


class ChatServer:
    """``with ChatServer(script) as srv: srv.url`` -> ``http://127.0.0.1:PORT/v1``."""

    def __init__(self, script, *, key=None, model="stand-in"):
        self.script = list(script)
        self.key = key
        self.model = model
        self.requests: list = []       # (time, parsed body, raw bytes)
        self.violations: list = []
        self.events: list = []         # shared with a test to check ordering
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _reply(self, status, doc):
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._reply(404, {"error": {"message": "not found", "type": "invalid_request_error",
                                            "param": None, "code": None}})

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, problems = contract_problems("POST", self.path, self.headers, raw, outer.key)
                outer.events.append("request")
                if status != 200:
                    if status != 401:
                        outer.violations.extend(problems)
                    kind = "invalid_request_error"
                    self._reply(status, {"error": {"message": "; ".join(problems), "type": kind,
                                                   "param": None, "code": "invalid_api_key" if status == 401 else None}})
                    return
                body = json.loads(raw)
                outer.requests.append((time.time(), body, raw))
                step = outer.script.pop(0) if outer.script else None
                if step is None:
                    self._reply(500, {"error": {"message": "no more answers scripted", "type": "server_error",
                                                "param": None, "code": None}})
                    return
                got = step(body)
                # a step answers with content, or a dict: {"status": 503} / {"refusal": ...} / {"finish_reason": ...}
                spec = got if isinstance(got, dict) else {"content": got}
                if "status" in spec:
                    self._reply(spec["status"], {"error": {"message": "overloaded", "type": "server_error",
                                                           "param": None, "code": None}})
                    return
                content = spec.get("content")
                self._reply(200, {
                    "id": f"chatcmpl-{len(outer.requests)}", "object": "chat.completion", "created": int(time.time()),
                    "model": body["model"], "system_fingerprint": None,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                                         "refusal": spec.get("refusal"), "annotations": []},
                                 "logprobs": None, "finish_reason": spec.get("finish_reason", "stop")}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 100, "total_tokens": 200}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------------------------------
# scripted "models": read the song from the request like a model would


def sections_from_request(body) -> list:
    """``[(name, bars)]`` from the user message's section lines (``- chorus 2: bars 17-24 (8 bars), ...``)."""
    text = body["messages"][1]["content"]
    return [(m.group(1), int(m.group(2))) for m in re.finditer(r"^- (.+?): bars \d+-\d+ \((\d+) bars?\)", text, re.M)]


def good_answer(body, *, phrase_bars: int = 2, transition_every: int = 3) -> str:
    """A valid draft: characters with looks, shots of ``phrase_bars`` per section, some crossfades."""
    shots = []
    secs = sections_from_request(body)
    enum = body["response_format"]["json_schema"]["schema"]["properties"]["shots"]["items"]["properties"][
        "section"]["enum"]
    assert [n for n, _ in secs] == enum, (secs, enum)
    ages = ["her_teen", "her_old"]
    for name, bars in secs:
        left = bars
        while left > 0:
            b = min(phrase_bars, left) if left - phrase_bars != 1 else left
            k = len(shots)
            shots.append({"name": f"{name} {k}", "prompt": f"{{{ages[k % 2]}}} and {{him}} in the {name}, scene {k}",
                          "section": name, "bars": b, "beats": 0,
                          "transition": "crossfade" if k % transition_every == 2 else "cut", "lyric": None})
            left -= b
    return json.dumps({"title": "Stand-in", "style": "soft 35mm film",
                       "characters": [{"name": "her", "description": "a woman with curly auburn hair",
                                       "looks": [{"name": "her_teen", "description": "at sixteen, braces"},
                                                 {"name": "her_old", "description": "at eighty, silver hair"}]},
                                      {"name": "him", "description": "a man in a denim jacket", "looks": []}],
                       "shots": shots})
