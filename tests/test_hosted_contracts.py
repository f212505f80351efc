"""Each provider's request bodies against its current published contract, point by point.

The stand-ins in ``hosted_servers.py`` refuse what a contract does not document (with the provider's
error shape); these tests check both sides: songreel sends only documented fields, and the stand-in
really refuses the undocumented ones (so the other tests could fail).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")

from hosted_servers import STANDINS  # noqa: E402
from test_hosted import ENV, KEY, decode_len, make_backend, make_request  # noqa: E402

from songreel.errors import GenerationError, InputError  # noqa: E402
from songreel.generate import registry  # noqa: E402
from songreel.generate.base import ProjectInfo, round_size  # noqa: E402
from songreel.generate.hosted import prices  # noqa: E402
from songreel.generate.store import ClipStore  # noqa: E402
from songreel.schema.storyboard import BackendSpec  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def project(tmp_path):
    from fractions import Fraction

    store_dir = tmp_path / "proj" / ".songreel"
    return ProjectInfo(width=1280, height=720, fps=Fraction(24), base_dir=tmp_path / "proj", store_dir=store_dir)


@pytest.fixture
def stand_in(monkeypatch):
    made = []

    def start(provider):
        monkeypatch.setenv(ENV[provider], KEY)
        srv = STANDINS[provider](KEY)
        made.append(srv)
        return srv

    yield start
    for srv in made:
        srv.stop()
        assert srv.errors == [], srv.errors


def ref_images(folder: Path, n: int) -> tuple:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"char{i}.png"
        Image.fromarray(np.full((64, 48, 3), 40 * i + 20, np.uint8)).save(p)
        out.append(p)
    return tuple(out)


def post(server, path, body, **headers):
    return httpx.post(server.origin + path, json=body, headers=headers, timeout=10)


def make(backend, req, project):
    return ClipStore(project.store_dir).make(req, lambda tmp: backend.generate(req, tmp))


# ---------------------------------------------------------------------------------------------------
# Veo (Gemini API)


def test_veo_sends_no_seed_and_defaults_to_a_stable_model(stand_in, project):
    srv = stand_in("veo")
    backend = make_backend(srv, project, model=None)
    assert backend.model == "veo-3.1-fast-generate-001"
    make(backend, make_request(backend, seed=12345), project)
    params = srv.submissions[0]["request"]["parameters"]
    assert "seed" not in params and set(params) <= srv.PARAMETERS
    # the stand-in refuses seed as the Gemini API does
    r = post(srv, "/v1beta/models/veo-3.1-fast-generate-001:predictLongRunning",
             {"instances": [{"prompt": "x"}], "parameters": {"durationSeconds": 4, "seed": 1}},
             **{"x-goog-api-key": KEY})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT" and "seed" in r.text


def test_veo_reference_images_and_4k(stand_in, project, tmp_path):
    srv = stand_in("veo")
    refs = ref_images(tmp_path / "chars", 4)
    backend = make_backend(srv, project, model="veo-3.1-generate-001", resolution="4k")
    caps = backend.capabilities()
    assert caps.sizes == ((3840, 2160), (2160, 3840)) and [int(d) for d in caps.durations] == [8]
    assert round_size(1280, 720, caps) == (3840, 2160)
    req = make_request(backend, seconds=3.0).with_(references=refs)
    ref = make(backend, req, project)
    sent = srv.submissions[0]["request"]
    assert sent["parameters"]["resolution"] == "4k" and sent["parameters"]["durationSeconds"] == 8
    assert srv.submissions[0]["refs"] == [p.read_bytes() for p in refs[:3]]  # at most 3, byte for byte
    assert abs(decode_len(ref.path) - 8) < 0.05
    assert ref.provenance["estimated_dollars"] == pytest.approx(8 * 0.60)  # 4k standard
    # a chained segment starts from its first frame: the API takes no references with an image
    frame = ClipStore(project.store_dir).put_frame(np.zeros((720, 1280, 3), np.uint8))
    make(backend, make_request(backend, seconds=8.0, first_frame=frame, segment=1).with_(references=refs), project)
    assert "referenceImages" not in srv.submissions[1]["request"]["instances"][0]
    # references are part of the clip's key
    assert req.key() != req.with_(references=refs[:2]).key() and req.with_(references=()).key() != req.key()


# ---------------------------------------------------------------------------------------------------
# Runway


def test_runway_seed_only_where_the_model_has_one(stand_in, project):
    srv = stand_in("runway")
    for model, has_seed in (("gen4.5", True), ("veo3.1", False), ("veo3", False)):
        backend = make_backend(srv, project, model=model)
        make(backend, make_request(backend, seconds=4.0, prompt=f"shot on {model}"), project)
        assert ("seed" in srv.submissions[-1]["request"]) is has_seed, model
    r = post(srv, "/v1/text_to_video", {"model": "veo3.1", "promptText": "x", "ratio": "1280:720", "duration": 4,
                                        "seed": 3}, authorization=f"Bearer {KEY}", **{"x-runway-version": "2024-11-06"})
    assert r.status_code == 400 and "seed" in r.json()["issues"][0]["message"]


def test_runway_gen45_text_only_ratios(stand_in, project):
    srv = stand_in("runway")
    backend = make_backend(srv, project)
    caps = backend.capabilities()
    assert set(caps.sizes) == {(1280, 720), (720, 1280)}
    for w, h in ((960, 720), (720, 720), (720, 1280)):  # 4:3, square and portrait projects
        size = round_size(w, h, caps)
        req = make_request(backend, prompt=f"{w}x{h}").with_(width=size[0], height=size[1])
        make(backend, req, project)
        assert srv.submissions[-1]["request"]["ratio"] in ("1280:720", "720:1280")
    r = post(srv, "/v1/text_to_video", {"model": "gen4.5", "promptText": "x", "ratio": "960:960", "duration": 4},
             authorization=f"Bearer {KEY}", **{"x-runway-version": "2024-11-06"})
    assert r.status_code == 400 and "960:960" in r.text


def test_runway_prompt_limit_counts_utf16_code_units(stand_in, project):
    srv = stand_in("runway")
    backend = make_backend(srv, project)
    make(backend, make_request(backend, prompt="\U0001F30A" * 500), project)  # 1000 units: accepted
    with pytest.raises(GenerationError, match="1002 UTF-16 code units long .501 characters.*at most 1000"):
        backend.generate(make_request(backend, prompt="\U0001F30A" * 501), project.store_dir / "x.mp4")
    assert len(srv.submissions) == 1


def test_runway_references_on_seedance(stand_in, project, tmp_path):
    srv = stand_in("runway")
    refs = ref_images(tmp_path / "chars", 2)
    backend = make_backend(srv, project, model="seedance2")
    make(backend, make_request(backend, seconds=4.0).with_(references=refs), project)
    assert srv.submissions[0]["refs"] == [p.read_bytes() for p in refs]


# ---------------------------------------------------------------------------------------------------
# Luma


def test_luma_never_sends_data_urls(stand_in, project):
    srv = stand_in("luma")
    backend = make_backend(srv, project, frame_url=None)
    caps = backend.capabilities()
    assert not caps.first_frame and not caps.last_frame  # no URL: no keyframes, chained shots go independent
    frame = ClipStore(project.store_dir).put_frame(np.zeros((720, 1280, 3), np.uint8))
    with pytest.raises(GenerationError, match="frame_url: https://"):
        backend.generate(make_request(backend, first_frame=frame), project.store_dir / "x.mp4")
    assert srv.submissions == []
    r = post(srv, "/dream-machine/v1/generations/video",
             {"prompt": "x", "model": "ray-2", "duration": "5s",
              "keyframes": {"frame0": {"type": "image", "url": "data:image/png;base64,AAAA"}}},
             authorization=f"Bearer {KEY}")
    assert r.status_code == 400 and "http(s)" in r.json()["detail"]


def test_luma_reference_becomes_the_opening_keyframe_by_url(stand_in, project, tmp_path):
    srv = stand_in("luma")
    refs = ref_images(tmp_path / "chars", 2)
    backend = make_backend(srv, project, resolution="4k")
    assert (3840, 2160) in backend.capabilities().sizes
    make(backend, make_request(backend).with_(references=refs), project)
    kf = srv.submissions[0]["request"]["keyframes"]["frame0"]
    assert kf["url"].startswith(srv.storage_url + "/ref-")
    assert srv.submissions[0]["image"] == refs[0].read_bytes()  # what Luma fetched from your storage


def test_luma_bad_resolution_names_the_field(project):
    with pytest.raises(InputError) as e:
        registry.create(BackendSpec(name="luma", options={"resolution": "8k"}), project, field="story.yaml:4: backend")
    assert str(e.value) == ('story.yaml:4: backend.resolution: got "8k", expected '
                            "'540p', '720p', '1080p' or '4k'")


# ---------------------------------------------------------------------------------------------------
# OpenAI videos contract, the gateway, options


def test_openai_videos_needs_base_url(project):
    with pytest.raises(InputError, match=r"backend.base_url: missing; openai-videos has no default service"):
        registry.create(BackendSpec(name="openai-videos", options={}), project)


@pytest.mark.parametrize("model,first,last", [
    ("kwaivgi/kling-v2.1", "start_image", None),
    ("bytedance/seedance-1.5-pro", "image", "last_frame_image"),
    ("kwaivgi/kling-v2.5-turbo-pro", "start_image", None),
    ("minimax/hailuo-02", "first_frame_image", "last_frame_image"),
    ("bytedance/seedance-1-pro", "image", "last_frame_image"),
    ("wan-video/wan-2.5-i2v", "image", None),
])
def test_gateway_reaches_each_family(stand_in, project, model, first, last):
    srv = stand_in("replicate")
    backend = make_backend(srv, project, model=model)
    store = ClipStore(project.store_dir)
    f0 = store.put_frame(np.random.default_rng(1).integers(0, 255, (720, 1280, 3), dtype=np.uint8))  # > 256 KiB
    f1 = store.put_frame(np.full((72, 128, 3), 7, np.uint8))
    req = make_request(backend, seconds=4.0, first_frame=f0, last_frame=f1 if last else None)
    ref = make(backend, req, project)
    inputs = srv.submissions[0]["request"]["input"]
    assert inputs[first].startswith(srv.origin + "/v1/files/")  # large: uploaded first
    assert srv.submissions[0]["image"] == f0.path.read_bytes()
    if last:
        assert inputs[last].startswith("data:image/png;base64,") and srv.submissions[0]["last"] == f1.path.read_bytes()
    assert abs(decode_len(ref.path) - ref.provenance["billed_seconds"]) < 0.05


def test_gateway_kling_end_frame_needs_pro_mode(stand_in, project):
    srv = stand_in("replicate")
    plain = make_backend(srv, project, model="kwaivgi/kling-v2.1")
    assert not plain.capabilities().last_frame
    pro = make_backend(srv, project, model="kwaivgi/kling-v2.1", inputs={"mode": "pro"}, last_frame=True)
    store = ClipStore(project.store_dir)
    f0, f1 = store.put_frame(np.zeros((72, 128, 3), np.uint8)), store.put_frame(np.full((72, 128, 3), 9, np.uint8))
    make(pro, make_request(pro, seconds=5.0, first_frame=f0, last_frame=f1), project)
    assert srv.submissions[0]["request"]["input"]["mode"] == "pro" and srv.submissions[0]["last"] == f1.path.read_bytes()


def test_gateway_references_on_seedance_lite(stand_in, project, tmp_path):
    srv = stand_in("replicate")
    refs = ref_images(tmp_path / "chars", 2)
    backend = make_backend(srv, project, model="bytedance/seedance-1-lite")
    make(backend, make_request(backend, seconds=4.0).with_(references=refs), project)
    assert srv.submissions[0]["refs"] == [p.read_bytes() for p in refs]
    frame = ClipStore(project.store_dir).put_frame(np.zeros((72, 128, 3), np.uint8))
    make(backend, make_request(backend, seconds=4.0, first_frame=frame, segment=1).with_(references=refs), project)
    assert "reference_images" not in srv.submissions[1]["request"]["input"]  # not with a first frame


def test_gateway_text_to_video_and_unknown_models(stand_in, project):
    srv = stand_in("replicate")
    backend = make_backend(srv, project, model="wan-video/wan-2.5-t2v")
    make(backend, make_request(backend, seconds=4.0), project)
    assert srv.submissions[0]["request"]["input"]["size"] == "1280*720"
    assert srv.submissions[0]["request"]["input"]["duration"] == 5
    with pytest.raises(InputError, match="does not know \"someone/new-model\"; give its clip lengths"):
        make_backend(srv, project, model="someone/new-model")
    with pytest.raises(InputError, match='got role "first_fram" \\(did you mean "first_frame"\\?\\)'):
        make_backend(srv, project, fields={"first_fram": "image"}, durations=[5], sizes=[[1280, 720]])
    custom = make_backend(srv, project, model="someone/new-model", durations=[4, 8], sizes=[[1280, 720]],
                          fields={"first_frame": "img", "seed": "noise_seed"})
    assert custom.capabilities().first_frame and [int(d) for d in custom.capabilities().durations] == [4, 8]


@pytest.mark.parametrize("provider", ["veo", "runway", "luma", "openai-videos", "replicate"])
def test_option_typos_and_types_are_one_line(project, provider):
    opts = {"base_url": "http://127.0.0.1:9/v1"}
    with pytest.raises(InputError) as e:
        registry.create(BackendSpec(name=provider, options={**opts, "max_concurent": 4}), project)
    assert str(e.value).startswith('backend.max_concurent: unknown ' + provider +
                                   ' option (did you mean "max_concurrent"?); accepted: ')
    with pytest.raises(InputError) as e:
        registry.create(BackendSpec(name=provider, options={**opts, "max_concurrent": "four"}), project)
    assert str(e.value) == 'backend.max_concurrent: got "four", expected an integer'


# ---------------------------------------------------------------------------------------------------
# spend


def test_cost_is_journaled_and_summed_per_backend(stand_in, project):
    srv = stand_in("veo")
    backend = make_backend(srv, project)
    for i in range(2):
        make(backend, make_request(backend, prompt=f"shot {i}", seconds=3.0 + 3 * i), project)
    spend = prices.spend_by_backend(project.store_dir)
    assert spend["veo"]["jobs"] == 2 and spend["veo"]["estimated_dollars"] == pytest.approx((4 + 6) * 0.15)
    assert spend["veo"]["reported_dollars"] is None  # Veo reports no cost per job
    srv2 = stand_in("replicate")
    gw = make_backend(srv2, project, price_per_second=0.05)
    make(gw, make_request(gw, seconds=4.0), project)
    spend = prices.spend_by_backend(project.store_dir)
    assert spend["replicate"]["estimated_dollars"] == pytest.approx(0.2) and set(spend) == {"veo", "replicate"}


def test_reported_cost_is_journaled_beside_the_estimate(tmp_path):
    """A provider that reports what a job cost (none of the five does today) has it journaled."""
    from songreel.generate.hosted.journal import SUBMITTED, Journal

    j = Journal(tmp_path / "jobs.sqlite")
    j.claim("k1", provider="p", model="m", digest="d", seconds=5, dollars=0.5)
    j.submitted("k1", "job-1")
    j.cost("k1", 0.42)
    j.claim("k2", provider="p", model="m", digest="d", seconds=5, dollars=None)  # never sent: not spent
    row = j.get("k1")
    assert row.state == SUBMITTED and row.est_cost == 0.5 and row.cost == 0.42
    assert j.spend() == {"p": {"jobs": 1, "estimated_dollars": 0.5, "unpriced_jobs": 0, "reported_dollars": 0.42,
                               "reported_jobs": 1, "seconds": 5.0}}
    j.close()


def test_journal_written_before_costs_gains_the_columns(tmp_path):
    import sqlite3

    from songreel.generate.hosted.journal import Journal

    db = sqlite3.connect(tmp_path / "jobs.sqlite")
    db.execute("CREATE TABLE jobs (key TEXT PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL, digest TEXT "
               "NOT NULL, state TEXT NOT NULL, provider_id TEXT, owner TEXT NOT NULL, seconds REAL, created REAL NOT "
               "NULL, updated REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 1, error TEXT)")
    db.execute("INSERT INTO jobs VALUES ('k', 'veo', 'm', 'd', 'done', 'op1', 'h:1', 8, 1, 1, 1, NULL)")
    db.commit()
    db.close()
    j = Journal(tmp_path / "jobs.sqlite")
    assert j.get("k").provider_id == "op1" and j.get("k").est_cost is None
    assert j.spend()["veo"]["jobs"] == 1 and j.spend()["veo"]["unpriced_jobs"] == 1
    j.close()


def test_store_info_shows_spend_and_confirmation_shows_largest_shots(stand_in, project, monkeypatch):
    from typer.testing import CliRunner

    from songreel.cli.main import app
    from songreel.cli.shell import spend_text as _spend_text
    from songreel.generate.runner import SpendEstimate

    srv = stand_in("veo")
    backend = make_backend(srv, project)
    make(backend, make_request(backend, seconds=7.0), project)
    monkeypatch.chdir(project.base_dir)
    r = CliRunner().invoke(app, ["store", "info"])
    assert r.exit_code == 0, r.output
    assert "spend veo: 1 jobs, 8 s, estimated $1.20" in r.stdout
    est = SpendEstimate(9.6, 5, 0, [], {"intro": 1.2, "chorus": 4.8, "verse": 2.4, "outro": 1.2})
    assert _spend_text(est) == ("5 new clips (0 reused) will cost about $9.60; "
                                "largest: chorus $4.80, verse $2.40, outro $1.20")


def test_prices_and_plans_need_no_httpx(tmp_path):
    """A price, an estimate and a backend for planning without the hosted extra (httpx hidden)."""
    code = (
        "import sys; sys.modules['httpx'] = None\n"
        "from fractions import Fraction\n"
        "from pathlib import Path\n"
        "from songreel.generate import registry\n"
        "from songreel.generate.base import ProjectInfo\n"
        "from songreel.generate.hosted import prices\n"
        "from songreel.schema.storyboard import BackendSpec\n"
        f"p = ProjectInfo(1280, 720, Fraction(24), Path({str(tmp_path)!r}), Path({str(tmp_path)!r}) / '.songreel')\n"
        "b = registry.create(BackendSpec(name='veo', options={}), p)\n"
        "print(prices.estimate_cost([3.0, 7.0], b))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert float(r.stdout.strip()) == pytest.approx((4 + 8) * 0.15)


def test_render_without_the_hosted_extra_stops_before_anything_is_sent(stand_in, project, monkeypatch):
    from songreel.errors import MissingExtraError

    srv = stand_in("runway")
    backend = make_backend(srv, project)  # planning works without httpx
    monkeypatch.setattr(registry, "missing_modules", lambda name: ["httpx"])
    with pytest.raises(MissingExtraError, match=r"pip install 'songreel\[hosted\]'"):
        backend.generate(make_request(backend), project.store_dir / "x.mp4")
    from songreel.generate.hosted.journal import Journal

    assert srv.submissions == [] and Journal(project.store_dir / "jobs.sqlite").rows() == []  # no intent either


def test_songreel_prices_command():
    from typer.testing import CliRunner

    from songreel.cli.main import app

    r = CliRunner().invoke(app, ["prices", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert {(x["backend"], x["model"]) for x in rows} == set(prices.PRICES)
    assert all(x["source"] and x["checked"] for x in rows)


def test_logs_name_jobs_never_keys(stand_in, project, caplog):
    caplog.set_level(logging.DEBUG, logger="songreel")
    srv = stand_in("replicate")
    srv.faults = {"poll": [("status", 503)]}
    backend = make_backend(srv, project)
    make(backend, make_request(backend), project)
    text = caplog.text
    assert srv.submissions[0]["id"] in text and "retry 1 of" in text and "downloading job" in text
    assert KEY not in text
