"""Hosted backends (Veo, Runway, Luma, OpenAI videos, the Replicate gateway) against local stand-in servers.

Covers: chained generation, quantised durations, the job journal (resume, SIGKILL between submit and
poll, lost replies), retries and fault injection, failed / moderated jobs, checked downloads, keys
never written anywhere, the OpenAI contract (OpenAPI spec), prices.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("httpx")

from hosted_servers import SPEC_PATH, STANDINS, base_url, make_mp4  # noqa: E402

from songreel.errors import GenerationError, InputError, SongreelError  # noqa: E402
from songreel.generate import registry  # noqa: E402
from songreel.generate.base import ProjectInfo, native_request_frames, round_size  # noqa: E402
from songreel.generate.hosted import prices  # noqa: E402
from songreel.generate.hosted.common import MissingKeyError, UnknownOutcomeError  # noqa: E402
from songreel.generate.hosted.journal import Journal  # noqa: E402
from songreel.generate.store import ClipStore  # noqa: E402
from songreel.schema.clip import GenerationRequest  # noqa: E402
from songreel.schema.storyboard import BackendSpec  # noqa: E402

KEY = "sk-songreel-TEST-7f3a9c1e5b2d4068a1b2c3d4e5f60718"
NO_SPEC = pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"the OpenAI videos spec is not present: {SPEC_PATH} "
                                                            "(../shared/data/api beside the repository)")
PROVIDERS = ["veo", "runway", "luma", pytest.param("openai-videos", marks=NO_SPEC), "replicate"]
MODELS = {"veo": "veo-3.1-fast-generate-001", "runway": "gen4.5", "luma": "ray-2", "openai-videos": "sora-2",
          "replicate": "bytedance/seedance-1-pro"}
ENV = {"veo": "GEMINI_API_KEY", "runway": "RUNWAYML_API_SECRET", "luma": "LUMAAI_API_KEY",
       "openai-videos": "OPENAI_API_KEY", "replicate": "REPLICATE_API_TOKEN"}
TESTS_DIR = Path(__file__).resolve().parent
FAST = {"poll_interval": 0.01, "retry_base": 0.01, "retry_cap": 0.05, "lookup_grace": 0, "request_timeout": 5}


def make_request(backend, *, prompt="a lighthouse at dusk, waves", seconds=3.0, seed=7, first_frame=None,
                 last_frame=None, segment=0) -> GenerationRequest:
    """The request the runner would build for one segment of ``seconds`` at 24 fps."""
    caps = backend.capabilities()
    frames, fps = native_request_frames(int(round(seconds * 24)), Fraction(24), caps)
    w, h = round_size(1280, 720, caps)
    return GenerationRequest(backend=backend.name, model=backend.model, version=backend.version, prompt=prompt,
                             negative="", seed=seed, frames=frames, fps=fps, width=w, height=h,
                             first_frame=first_frame, last_frame=last_frame,
                             context={**backend.key_context(), "segment": segment})


@pytest.fixture(params=PROVIDERS)
def provider(request):
    return request.param


@pytest.fixture
def server(provider, monkeypatch):
    monkeypatch.setenv(ENV[provider], KEY)
    srv = STANDINS[provider](KEY)
    yield srv
    srv.stop()
    assert srv.errors == [], srv.errors  # contract violations (OpenAPI for openai-videos)
    assert not srv.cdn_auth_seen, "the API key was sent to a CDN origin"
    assert srv.unauthorised == 0


@pytest.fixture
def project(tmp_path):
    store_dir = tmp_path / "proj" / ".songreel"
    return ProjectInfo(width=1280, height=720, fps=Fraction(24), base_dir=tmp_path / "proj", store_dir=store_dir)


def provider_options(server, store_dir: Path) -> dict:
    """The options a storyboard would give for this stand-in (Luma: where "your storage" publishes frames)."""
    opts = {"base_url": base_url(server), "model": MODELS[server.provider], **FAST}
    if server.provider == "luma":
        server.storage_dir = Path(store_dir) / "frames"
        opts["frame_url"] = server.storage_url
    return opts


def make_backend(server, project, **options):
    opts = {**provider_options(server, project.store_dir), **options}
    opts = {k: v for k, v in opts.items() if v is not None}
    return registry.create(BackendSpec(name=server.provider, options=opts), project)


def job_ref(sub: dict) -> str:
    """The id a backend journals for a stand-in job (Veo: the operation name)."""
    return sub.get("name") or sub["id"]


def decode_len(path: Path) -> float:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.decode(s))
        return n / float(s.average_rate)


# ---------------------------------------------------------------------------------------------------
# generation, chaining, quantised durations

EXPECTED = {  # segment seconds -> billed seconds
    "veo": {3.0: 4, 4.5: 6, 7.9: 8},
    "runway": {3.0: 3, 4.5: 5, 7.9: 8},
    "luma": {3.0: 5, 4.5: 5, 7.9: 9},
    "openai-videos": {3.0: 4, 4.5: 8, 7.9: 8},
    "replicate": {3.0: 3, 4.5: 5, 7.9: 8},
}


def test_three_segments_chained(server, project):
    backend = make_backend(server, project)
    store = ClipStore(project.store_dir)
    refs = []
    first = None
    for i, secs in enumerate([3.0, 4.5, 7.9]):
        req = make_request(backend, seconds=secs, first_frame=first, segment=i)
        ref = store.make(req, lambda tmp, r=req: backend.generate(r, tmp))
        refs.append(ref)
        first = ref.last_frame
        billed = EXPECTED[server.provider][secs]
        assert ref.provenance["billed_seconds"] == billed
        assert abs(decode_len(ref.path) - billed) < 0.05
        assert ref.provenance["job_id"] == job_ref(server.submissions[i])
    assert len(server.submissions) == 3
    assert server.submissions[0]["image"] is None
    from io import BytesIO

    from PIL import Image
    for i in (1, 2):
        sent = server.submissions[i]["image"]
        got = np.asarray(Image.open(BytesIO(sent)).convert("RGB"))
        if server.provider == "openai-videos":
            # input_reference must have the output size: the stand-in's 32x32 frame is scaled to cover it
            # (a real Sora clip already has that size and goes byte for byte: test_openai_exact_size_frame)
            want = np.asarray(Image.fromarray(refs[i - 1].last_frame.load()).resize((1280, 1280)))[280:1000]
            # scaled by swscale (media.fit_frame), compared with Pillow's bicubic: within rounding
            diff = np.abs(got.astype(int) - want.astype(int))
            assert got.shape == (720, 1280, 3) and diff.max() <= 8 and diff.mean() < 1.5
            continue
        assert sent == refs[i - 1].last_frame.path.read_bytes()  # that exact image, byte for byte
        assert np.array_equal(got, refs[i - 1].last_frame.load())
    rows = Journal(project.store_dir / "jobs.sqlite").rows()
    assert [r.state for r in rows] == ["done"] * 3
    assert {r.provider_id for r in rows} == {job_ref(s) for s in server.submissions}
    backend.close()


def test_openai_exact_size_frame_is_sent_byte_for_byte(project, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server = STANDINS["openai-videos"](KEY)
    try:
        backend = make_backend(server, project)
        store = ClipStore(project.store_dir)
        frame = store.put_frame(np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8))
        req = make_request(backend, first_frame=frame)
        store.make(req, lambda tmp: backend.generate(req, tmp))
        assert server.submissions[0]["image"] == frame.path.read_bytes()
        assert server.errors == []
    finally:
        server.stop()


def test_capabilities_and_quantise(server, project):
    backend = make_backend(server, project)
    caps = backend.capabilities()
    assert caps.durations and caps.sizes and caps.first_frame
    assert round_size(1280, 720, caps) == (1280, 720)
    assert round_size(720, 1280, caps) == (720, 1280)
    too_long = make_request(backend, seconds=3.0)
    too_long = too_long.with_(frames=int(float(max(caps.durations)) * 24) + 48)
    with pytest.raises(GenerationError, match="longer than the longest allowed"):
        backend.generate(too_long, project.store_dir / "x.mp4")
    assert server.submissions == []


def test_last_frame_sent_where_supported(provider, server, project):
    backend = make_backend(server, project, **({"model": "veo3.1"} if provider == "runway" else {}))
    store = ClipStore(project.store_dir)
    if not backend.capabilities().last_frame:
        pytest.skip(f"{provider} {backend.model} has no last-frame conditioning")
    target = store.put_frame(np.full((720, 1280, 3), 90, np.uint8))
    req = make_request(backend, seconds=4.0, last_frame=target)
    store.make(req, lambda tmp: backend.generate(req, tmp))
    assert server.submissions[0]["last"] == target.path.read_bytes()


# ---------------------------------------------------------------------------------------------------
# resume: nothing paid for is regenerated


def test_rerun_reuses_download_then_job(server, project):
    backend = make_backend(server, project)
    req = make_request(backend)
    store = ClipStore(project.store_dir)
    store.make(req, lambda tmp: backend.generate(req, tmp))
    # the store lost the clip: the downloaded copy is used, no network at all
    for p in (project.store_dir / "clips").iterdir():
        p.unlink()
    polls = server.submissions[0]["polls"]
    ref = store.make(req, lambda tmp: backend.generate(req, tmp))
    assert not ref.reused and server.submissions[0]["polls"] == polls
    # the download is gone too: the journaled job is polled and downloaded again, never resubmitted
    for p in (project.store_dir / "clips").iterdir():
        p.unlink()
    for p in (project.store_dir / "hosted").iterdir():
        p.unlink()
    backend2 = make_backend(server, project)
    store.make(req, lambda tmp: backend2.generate(req, tmp))
    assert len(server.submissions) == 1
    assert server.submissions[0]["polls"] > polls


# ---------------------------------------------------------------------------------------------------
# retries and fault injection


def test_transient_faults_are_retried(server, project):
    server.faults = {
        "submit": [("status", 429, {"retry-after": "0.3"}), ("status", 503)],
        "poll": [("status", 500), ("status", 502), ("timeout", 1.0), ("drop",)],
        "download": [("drop_mid",), ("status", 503)],
    }
    backend = make_backend(server, project, request_timeout=0.4)
    store = ClipStore(project.store_dir)
    req = make_request(backend)
    t0 = time.monotonic()
    ref = store.make(req, lambda tmp: backend.generate(req, tmp))
    assert time.monotonic() - t0 >= 0.3  # retry-after honoured
    assert len(server.submissions) == 1
    assert abs(decode_len(ref.path) - EXPECTED[server.provider][3.0]) < 0.05
    assert all(not q for q in server.faults.values())


def test_retries_are_bounded(server, project):
    server.faults = {"poll": [("status", 500)] * 50}
    backend = make_backend(server, project, retries=3)
    req = make_request(backend)
    with pytest.raises(GenerationError, match="gave up after 4 attempts"):
        backend.generate(req, project.store_dir / "x.mp4")
    assert len(server.faults["poll"]) == 46
    # the job is journaled: a later run polls it, it does not pay again
    server.faults = {}
    make_backend(server, project).generate(req, project.store_dir / "x.mp4")
    assert len(server.submissions) == 1


def test_bad_request_is_a_provider_error_not_retried(server, project):
    server.faults = {"submit": [("status", 400)]}
    backend = make_backend(server, project)
    with pytest.raises(GenerationError, match="HTTP 400: injected 400"):
        backend.generate(make_request(backend), project.store_dir / "x.mp4")
    assert server.submissions == []
    assert Journal(project.store_dir / "jobs.sqlite").rows()[0].state == "failed"


@pytest.mark.parametrize("outcome", ["failed", "moderation"])
def test_failed_job_reports_provider_message_and_others_go_on(server, project, outcome):
    message = "the prompt was blocked by our content policy" if outcome == "moderation" else "internal render fault"
    server.outcomes = [(outcome, message)]
    backend = make_backend(server, project)
    store = ClipStore(project.store_dir)
    bad = make_request(backend, prompt="shot one")
    with pytest.raises(GenerationError, match=message) as e:
        store.make(bad, lambda tmp: backend.generate(bad, tmp))
    assert server.submissions[0]["id"] in str(e.value)
    good = make_request(backend, prompt="shot two")
    store.make(good, lambda tmp: backend.generate(good, tmp))
    assert store.get(bad.key()) is None and store.get(good.key()) is not None
    # running again after a provider failure submits a fresh job (the failed one produced nothing)
    store.make(bad, lambda tmp: backend.generate(bad, tmp))
    assert len(server.submissions) == 3


def test_corrupt_download_is_refetched_then_reported(server, project, monkeypatch):
    import hosted_servers

    backend = make_backend(server, project, download_retries=1)
    req = make_request(backend)
    real = hosted_servers.make_mp4
    monkeypatch.setattr(hosted_servers, "make_mp4", lambda *a, **k: b"not a video at all" * 50)
    with pytest.raises(GenerationError, match="could not download the video .* run again"):
        backend.generate(req, project.store_dir / "x.mp4")
    monkeypatch.setattr(hosted_servers, "make_mp4", real)
    out = project.store_dir / "x.mp4"
    make_backend(server, project).generate(req, out)
    assert decode_len(out) > 2 and len(server.submissions) == 1


def test_wrong_duration_is_rejected(server, project, monkeypatch):
    import hosted_servers

    real = hosted_servers.make_mp4
    monkeypatch.setattr(hosted_servers, "make_mp4", lambda seconds, **k: real(seconds + 2, **k))
    backend = make_backend(server, project, download_retries=0)
    with pytest.raises(GenerationError, match="expected .* s ± 0.5 s"):
        backend.generate(make_request(backend), project.store_dir / "x.mp4")


def test_job_timeout_keeps_job_for_next_run(server, project):
    server.polls_to_finish = None  # never finishes until told
    backend = make_backend(server, project, timeout=0.2)
    req = make_request(backend)
    with pytest.raises(GenerationError, match="still running .* will not be submitted again"):
        backend.generate(req, project.store_dir / "x.mp4")
    server.finish.set()
    make_backend(server, project).generate(req, project.store_dir / "x.mp4")
    assert len(server.submissions) == 1


# ---------------------------------------------------------------------------------------------------
# lost replies: resolved by lookup where the provider can list jobs, otherwise the user decides

LISTS = {"openai-videos", "luma", "replicate"}


def test_submit_reply_lost_after_job_created(provider, server, project):
    server.faults = {"submit": [("timeout", 1.0)]}
    backend = make_backend(server, project, request_timeout=0.3)
    req = make_request(backend)
    out = project.store_dir / "x.mp4"
    if provider in LISTS:
        backend.generate(req, out)  # found by listing: no second job
        assert len(server.submissions) == 1
        return
    with pytest.raises(UnknownOutcomeError, match="resubmit_unknown: true") as e:
        backend.generate(req, out)
    assert req.key() in str(e.value)
    assert Journal(project.store_dir / "jobs.sqlite").get(req.key()).state == "unknown"
    with pytest.raises(UnknownOutcomeError):  # still refuses on the next run
        make_backend(server, project).generate(req, out)
    assert len(server.submissions) == 1
    make_backend(server, project, resubmit_unknown=True).generate(req, out)
    assert len(server.submissions) == 2  # the user chose to pay again


def test_submit_500_before_job_created(provider, server, project):
    server.faults = {"submit": [("status", 500)]}
    backend = make_backend(server, project)
    req = make_request(backend)
    out = project.store_dir / "x.mp4"
    if provider in LISTS:
        backend.generate(req, out)  # listing shows no job: safe to send
        assert len(server.submissions) == 1
        return
    with pytest.raises(UnknownOutcomeError, match="HTTP 500"):
        backend.generate(req, out)
    assert server.submissions == []


# ---------------------------------------------------------------------------------------------------
# SIGKILL between submit and poll


def _spawn_child(provider, server, project, **options):
    cfg = {"backend": provider, "store_dir": str(project.store_dir), "tests_dir": str(TESTS_DIR),
           "options": {**provider_options(server, project.store_dir), **options}}
    env = {**os.environ, ENV[provider]: KEY, "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(TESTS_DIR / "hosted_servers.py"), "child", json.dumps(cfg)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait(cond, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def _row_state(project, key):
    db = project.store_dir / "jobs.sqlite"
    if not db.exists():
        return None
    with sqlite3.connect(str(db), timeout=5) as c:
        row = c.execute("SELECT state FROM jobs WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def test_sigkill_while_polling_resumes_without_resubmitting(provider, server, project):
    server.polls_to_finish = None  # the job runs until released
    child = _spawn_child(provider, server, project)
    backend = make_backend(server, project)
    req = make_request(backend)
    try:
        _wait(lambda: len(server.submissions) == 1 and _row_state(project, req.key()) == "submitted"
              and server.submissions[0]["polls"] >= 1)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    server.finish.set()
    ref = ClipStore(project.store_dir).make(req, lambda tmp: backend.generate(req, tmp))
    assert len(server.submissions) == 1  # 0 duplicate submissions
    assert ref.provenance["job_id"] == job_ref(server.submissions[0])


def test_sigkill_between_send_and_reply(provider, server, project):
    server.hold_submit.set()
    child = _spawn_child(provider, server, project)
    backend = make_backend(server, project)
    req = make_request(backend)
    try:
        _wait(lambda: len(server.submissions) == 1)
        assert _row_state(project, req.key()) == "submitting"  # the intent was journaled before sending
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    server.hold_submit.clear()
    server.release.set()
    store = ClipStore(project.store_dir)
    if provider in LISTS:
        ref = store.make(req, lambda tmp: backend.generate(req, tmp))
        assert len(server.submissions) == 1 and ref.provenance["job_id"] == job_ref(server.submissions[0])
        return
    with pytest.raises(UnknownOutcomeError, match="resubmit_unknown: true"):
        store.make(req, lambda tmp: backend.generate(req, tmp))
    assert len(server.submissions) == 1
    forced = make_backend(server, project, resubmit_unknown=True)
    store.make(req, lambda tmp: forced.generate(req, tmp))
    assert len(server.submissions) == 2


# ---------------------------------------------------------------------------------------------------
# concurrency


def test_threads_share_one_backend(server, project):
    backend = make_backend(server, project, max_concurrent=3)
    assert backend.max_concurrent == 3
    reqs = [make_request(backend, prompt=f"shot {i}", seed=i) for i in range(6)] * 2  # duplicates on purpose
    errors = []

    def run(i, r):
        try:
            backend.generate(r, project.store_dir / f"out{i}.mp4")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(reqs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(server.submissions) == 6  # the same key twice never pays twice


# ---------------------------------------------------------------------------------------------------
# keys


def test_key_never_written_anywhere(server, project, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    server.outcomes = [("moderation", "blocked")]
    server.faults = {"poll": [("status", 500)], "download": [("drop_mid",)]}
    backend = make_backend(server, project)
    store = ClipStore(project.store_dir)
    messages = []
    for i in range(3):
        req = make_request(backend, prompt=f"shot {i}")
        try:
            store.make(req, lambda tmp, r=req: backend.generate(r, tmp))
        except SongreelError as e:
            messages.append(str(e))
    assert messages  # the moderated one failed
    backend.close()
    out, err = capfd.readouterr()
    blobs = [out, err, caplog.text, *messages]
    for path in project.base_dir.rglob("*"):
        if path.is_file():
            blobs.append(path.read_bytes().decode("latin-1"))
    assert all(KEY not in b for b in blobs)
    assert any(p.name == "jobs.sqlite" for p in project.store_dir.iterdir())
    # submits, polls, retries and downloads are logged, and none of those lines holds the key
    said = [r.getMessage() for r in caplog.records if r.name.startswith("songreel.generate.hosted")]
    for what in ("submitting", "submitted as job", "poll 1 of job", "downloading job", "retry 1 of"):
        assert any(what in m for m in said), (what, said)
    assert all(KEY not in m for m in said)


def test_missing_key_names_the_variable(provider, project, monkeypatch):
    monkeypatch.delenv(ENV[provider], raising=False)
    srv = STANDINS[provider](KEY)
    try:
        backend = make_backend(srv, project)
        with pytest.raises(MissingKeyError, match=ENV[provider]) as e:
            backend.generate(make_request(backend), project.store_dir / "x.mp4")
        assert isinstance(e.value, InputError) and "\n" not in str(e.value)
        assert srv.submissions == []
        if (project.store_dir / "jobs.sqlite").exists():
            assert Journal(project.store_dir / "jobs.sqlite").rows() == []  # nothing journaled either
    finally:
        srv.stop()


def test_key_in_storyboard_is_refused(provider, project):
    with pytest.raises(InputError, match=ENV[provider]) as e:
        registry.create(BackendSpec(name=provider, options={"api_key": KEY}), project)
    assert KEY not in str(e.value)


# ---------------------------------------------------------------------------------------------------
# prices


def test_prices_and_estimate(server, project):
    backend = make_backend(server, project)
    reqs = [make_request(backend, seconds=s) for s in (3.0, 4.5, 7.9)]
    billed = sum(EXPECTED[server.provider].values())
    total = prices.estimate_cost(reqs, backend)
    if server.provider == "replicate":  # no list price for gateway models: the estimate says "unknown"
        assert total is None
        override = make_backend(server, project, price_per_second=1.0)
        assert prices.estimate_cost(reqs, override) == pytest.approx(billed)
        return
    p = prices.price(server.provider, backend.model)
    assert p is not None and p.source and p.checked
    assert total == pytest.approx(p.dollars_per_second(1280, 720) * billed, rel=1e-3)
    assert prices.estimate_cost([3.0, 4.5, 7.9], backend) == pytest.approx(total, rel=1e-3)
    override = make_backend(server, project, price_per_second=1.0)
    assert prices.estimate_cost(reqs, override) == pytest.approx(billed)
    unpriced = make_backend(server, project, model="my-local-model")
    assert prices.estimate_cost(reqs, unpriced) is None


def test_estimate_function():
    assert prices.estimate("veo", "veo-3.1-generate-001", 8) == pytest.approx(3.2)
    assert prices.estimate("veo", "veo-3.1-generate-001", 8, resolution="4k") == pytest.approx(4.8)
    assert all(p.source and len(p.checked) == 10 for p in prices.PRICES.values())
    assert prices.estimate("openai-videos", "sora-2-pro", 4, width=1792, height=1024) == pytest.approx(2.0)
    assert prices.estimate("luma", "ray-2", 5, width=1280, height=720) == pytest.approx(0.708, abs=0.01)
    assert prices.estimate("nobody", "x", 4) is None
    assert prices.estimate("nobody", "x", 4, price_per_second=0.5) == 2.0


def test_stand_in_video_has_requested_length():
    assert decode_len_bytes(make_mp4(6)) == pytest.approx(6.0)


def decode_len_bytes(data: bytes) -> float:
    import io

    import av

    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        return sum(1 for _ in c.decode(s)) / float(s.average_rate)


# ---------------------------------------------------------------------------------------------------
# end to end: a 3-shot storyboard rendered through songreel.reel against each stand-in


def test_render_storyboard_end_to_end(song_120, tmp_path, monkeypatch):
    from songreel import reel
    from conftest import write_storyboard

    folder = tmp_path / "film"  # one folder: the song analysis is cached once for all providers
    for provider in [p for p in ENV if p != "openai-videos" or SPEC_PATH.exists()]:
        monkeypatch.setenv(ENV[provider], KEY)
        server = STANDINS[provider](KEY)
        try:
            opts = provider_options(server, folder / ".songreel")
            backend = "{" + ", ".join([f"name: {provider}"] + [f"{k}: {json.dumps(v)}" for k, v in opts.items()]) + "}"
            body = (f"bpm: 120\nbackend: {backend}\nshots:\n"
                    "  - prompt: a lighthouse at dusk\n    length: 1 bar\n"
                    "  - prompt: waves break on the rocks\n    length: 1 bar\n"
                    "  - prompt: the sun rises over the sea, a long slow pan\n")
            sb = write_storyboard(folder, body, song=song_120, name=f"{provider}.yaml")
            res = reel.render(sb, tmp_path / f"{provider}.mp4")
            assert res.video.exists() and decode_len(res.video) == pytest.approx(16.5, abs=0.1)
            made = len(server.submissions)
            assert made >= 3 and server.errors == [] and not server.cdn_auth_seen
            plan = res.edit.plan
            assert made == sum(len(s.segments) for s in plan.shots)
            # the last shot (12.5 s) is longer than any provider's clip: its segment 2 is conditioned on
            # exactly the stored last frame of segment 1
            assert len(plan.shots[-1].segments) >= 2
            chained = [s for s in server.submissions if s["image"] is not None]
            assert len(chained) == len(plan.shots[-1].segments) - 1
            frames = {p.read_bytes() for p in (folder / ".songreel" / "frames").glob("*.png")}
            if provider != "openai-videos":  # (openai: scaled to the output size, see test_three_segments_chained)
                assert all(s["image"] in frames for s in chained)
            if provider == "veo":
                res2 = reel.render(sb, tmp_path / f"{provider}-again.mp4", force=True)
                assert len(server.submissions) == made  # nothing paid for twice
                assert res2.video.exists()
            blobs = [p.read_bytes() for p in folder.rglob("*") if p.is_file()]
            blobs += [p.read_bytes() for p in tmp_path.glob("*") if p.is_file()]
            assert all(KEY.encode() not in b for b in blobs)
        finally:
            server.stop()
