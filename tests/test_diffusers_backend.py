"""The diffusers backend on tiny random-weight pipelines, loaded with from_pretrained(folder) as users do."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

# songreel imports no torch / diffusers at import time (test_import_discipline), so these come first
from songreel.errors import InputError, MissingFileError, UnknownNameError
from songreel.generate import diffusers_source as ds
from songreel.generate import diffusers_video as dv
from songreel.generate.base import native_request_frames, round_size
from songreel.schema.clip import GenerationRequest
from songreel.schema.storyboard import BackendSpec

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")
torch.set_num_threads(1)

pytest_plugins = ["diffusers_fixtures"]  # tiny, project, store

SIZE = {"width": 32, "height": 32, "steps": 2}


def backend(project, model, **opts):
    return dv.DiffusersBackend(BackendSpec(name="diffusers", options={"model": str(model), **SIZE, **opts}),
                               project=project)


def request(b, project_frames=12, seed=1, **kw):
    caps = b.capabilities()
    frames, fps = native_request_frames(project_frames, Fraction(24), caps)
    w, h = round_size(32, 32, caps)
    return GenerationRequest(backend=b.name, model=b.model, version=b.version, prompt="a red car on a road",
                             negative="blurry", seed=seed, frames=frames, fps=fps, width=w, height=h,
                             context=b.key_context(), **kw)


class Spy:
    """Wraps the backend's pipelines and records every call's keyword arguments."""

    def __init__(self, b):
        self.calls: list = []
        orig = b._pipeline

        def wrapped(class_name):
            pipe = orig(class_name)
            spy = self

            class Proxy:
                def __call__(self, **kw):
                    spy.calls.append((type(pipe).__name__, kw))
                    return pipe(**kw)

                def __getattr__(self, name):
                    return getattr(pipe, name)

                def __setattr__(self, name, value):
                    setattr(pipe, name, value)

            return Proxy()

        b._pipeline = wrapped


def decode(path: Path):
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
        return frames, s.average_rate


def legal(n, m, o):
    return n >= o and (n - o) % m == 0


# ---------------------------------------------------------------------------------------------------


def test_import_discipline():
    code = ("import sys, songreel, songreel.generate.registry, songreel.generate.diffusers_presets, "
            "songreel.generate.diffusers_video, songreel.cli.models; "
            "bad = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_t2v_wan_clip(tiny, project, store):
    b = backend(project, tiny("wan-t2v"))
    caps = b.capabilities()
    assert caps.native_fps == 16 and (caps.frame_multiple, caps.frame_offset) == (4, 1)
    assert not caps.first_frame and caps.video_prefix == 0
    req = request(b, project_frames=20)  # 20 project frames at 24 fps = 13.3 native → 17 (4k+1)
    assert req.frames == 17
    t = time.monotonic()
    ref = store.make(req, lambda tmp: b.generate(req, tmp))
    assert time.monotonic() - t < 30
    frames, rate = decode(ref.path)
    assert len(frames) >= req.frames and ref.frames >= req.frames and legal(ref.frames, 4, 1)
    assert rate == 16 and frames[0].shape == (32, 32, 3)
    assert ref.provenance["pipeline"] == "WanPipeline" and ref.provenance["mode"] == "t2v"
    # the lossless last frame is the generated pixels, not a decode of the lossy MP4
    assert np.abs(ref.last_frame.load().astype(int) - frames[-1].astype(int)).mean() < 20
    b.close()


@pytest.mark.parametrize("project_frames", [1, 9, 30])
def test_frame_counts_obey_rule(tiny, project, store, project_frames):
    b = backend(project, tiny("ltx"))
    req = request(b, project_frames=project_frames)
    assert legal(req.frames, 8, 1) and req.frames >= project_frames
    ref = store.make(req, lambda tmp: b.generate(req, tmp))
    assert ref.frames >= req.frames and legal(ref.frames, 8, 1)
    assert len(decode(ref.path)[0]) == ref.frames


def test_i2v_chaining_three_segments_bit_exact(tiny, project, store):
    """Wan 2.2 TI2V layout: segment 0 text-to-video, then image-to-video on the same weights."""
    b = backend(project, tiny("wan-ti2v"))
    caps = b.capabilities()
    assert caps.first_frame and caps.native_fps == 24 and caps.size_multiple == 32
    spy = Spy(b)
    refs = []
    for n in range(3):
        first = refs[-1].last_frame if refs else None
        req = request(b, seed=10 + n, first_frame=first)
        refs.append(store.make(req, lambda tmp, r=req: b.generate(r, tmp)))
    assert [c[0] for c in spy.calls] == ["WanPipeline", "WanImageToVideoPipeline", "WanImageToVideoPipeline"]
    assert "image" not in spy.calls[0][1]
    for n in (1, 2):
        given = np.asarray(spy.calls[n][1]["image"])
        assert np.array_equal(given, refs[n - 1].last_frame.load())           # bit-exact chaining
        assert np.array_equal(given, refs[n - 1].tail.load()[-1])
    # the three pipelines share one set of weights
    assert len({id(p.transformer) for p in b._pipes.values()}) == 1
    b.close()
    assert not b._pipes


def test_first_and_last_frame_wan_flf2v(tiny, project, store):
    b = backend(project, tiny("wan-flf2v"))
    caps = b.capabilities()
    assert caps.last_frame and not caps.first_frame  # FLF2V weights need both
    rng = np.random.default_rng(0)
    first = store.put_frame(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    last = store.put_frame(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))  # other size: cover-cropped
    spy = Spy(b)
    req = request(b, first_frame=first, last_frame=last)
    ref = store.make(req, lambda tmp: b.generate(req, tmp))
    name, kw = spy.calls[0]
    assert name == "WanImageToVideoPipeline"
    assert np.array_equal(np.asarray(kw["image"]), first.load())
    assert np.asarray(kw["last_image"]).shape == (32, 32, 3)
    assert ref.frames >= req.frames and ref.provenance["mode"] == "flf2v"
    with pytest.raises(InputError, match="no last frame"):
        b.generate(request(b, first_frame=first), project.base_dir / "x.mp4")


def test_ltx_video_prefix_continuation(tiny, project, store):
    b = backend(project, tiny("ltx"))
    caps = b.capabilities()
    assert caps.video_prefix == 9 and caps.first_frame and caps.last_frame
    spy = Spy(b)
    req0 = request(b, project_frames=12, seed=1)
    ref0 = store.make(req0, lambda tmp: b.generate(req0, tmp))
    req1 = request(b, project_frames=12, seed=2, prefix=ref0.tail)
    ref1 = store.make(req1, lambda tmp: b.generate(req1, tmp))
    cond = spy.calls[1][1]["conditions"]
    assert len(cond) == 1 and cond[0].frame_index == 0 and len(cond[0].video) == 9
    tail = ref0.tail.load()
    assert all(np.array_equal(np.asarray(im), tail[i]) for i, im in enumerate(cond[0].video))
    # the re-made prefix frames are dropped except the last: the clip still has the frames asked for
    assert ref1.frames == req1.frames and ref1.provenance["frames_dropped"] == 8
    assert spy.calls[1][1]["num_frames"] == req1.frames + 8
    # a last frame goes in as a condition at the last index
    req2 = request(b, seed=3, last_frame=ref0.last_frame)
    store.make(req2, lambda tmp: b.generate(req2, tmp))
    cond = spy.calls[2][1]["conditions"]
    assert cond[-1].frame_index == spy.calls[2][1]["num_frames"] - 1


def test_store_reuses_clip(tiny, project, store):
    b = backend(project, tiny("ltx"))
    req = request(b, seed=99)
    first = store.make(req, lambda tmp: b.generate(req, tmp))
    assert not first.reused

    def boom(tmp):
        raise AssertionError("generate must not run for a stored clip")

    again = store.make(req, boom)
    assert again.reused and again.key == first.key and again.path == first.path


def test_key_context_changes_with_pixel_options(tiny, project):
    a = backend(project, tiny("ltx"))
    b = backend(project, tiny("ltx"), steps=3)
    c = backend(project, tiny("ltx"), offload="model", device="auto")
    assert a.key_context() != b.key_context()
    assert a.key_context() == c.key_context()  # device / offload do not change the key
    assert request(a).key() != request(b).key()


def test_registry_creates_it(tiny, project):
    from songreel.generate import registry

    b = registry.create(BackendSpec(name="diffusers", options={"model": str(tiny("ltx"))}), project)
    assert isinstance(b, dv.DiffusersBackend) and b.capabilities().frame_multiple == 8


def test_relative_folder_resolves_against_storyboard(tiny, project):
    import shutil

    shutil.copytree(tiny("ltx"), project.base_dir / "models" / "tiny-ltx")
    b = backend(project, "models/tiny-ltx")
    assert b.folder == (project.base_dir / "models" / "tiny-ltx").resolve()


# -- errors ------------------------------------------------------------------------------------------


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    return tmp_path / "hf-cache"


@pytest.mark.parametrize("offline", [False, True])
@pytest.mark.parametrize("model", ["wan2.1-t2v-1.3b", "someone/not-here", "models/wan"])
def test_missing_model_fails_fast_with_clear_message(project, empty_cache, monkeypatch, offline, model):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    monkeypatch.setattr(ds, "_REACHABLE", {})
    monkeypatch.setattr(ds, "hub_reachable", lambda timeout=2.0: False)  # as here: no network
    b = dv.DiffusersBackend(BackendSpec(name="diffusers", options={"model": model}), project=project)
    t = time.monotonic()
    with pytest.raises(MissingFileError) as e:
        b.capabilities()
        b.generate(request(b), project.base_dir / "x.mp4")
    took = time.monotonic() - t
    msg = str(e.value)
    assert took < 2.0, took
    assert "\n" not in msg and "not in the local Hugging Face cache" in msg
    assert "songreel models pull" in msg and "HF_HUB_OFFLINE" in msg and "local folder" in msg
    assert msg.startswith("backend.model:")


def test_hub_reachable_answers_fast_here():
    t = time.monotonic()
    ds.hub_reachable()
    assert time.monotonic() - t < 3.0


def test_unknown_preset_and_missing_folder(project):
    with pytest.raises(UnknownNameError, match=r'wan2\.1-t2v-13b.*did you mean "wan2\.1-t2v-1\.3b"'):
        dv.DiffusersBackend(BackendSpec(name="diffusers", options={"model": "wan2.1-t2v-13b"}), project=project)
    with pytest.raises(MissingFileError, match="no such folder"):
        dv.DiffusersBackend(BackendSpec(name="diffusers", options={"model": "./nope/model"}), project=project)


@pytest.mark.parametrize("opts, match", [
    ({"stepz": 3}, r'backend\.stepz: unknown diffusers option \(did you mean "steps"\?\); accepted: compile, '),
    ({"steps": 0}, r"backend\.steps: got 0, expected a number >= 1"),
    ({"steps": 2.5}, r"backend\.steps: got 2\.5, expected an integer"),
    ({"guidance": "high"}, r'backend\.guidance: got "high", expected a number'),
    ({"two_stage": "yes"}, r'backend\.two_stage: got "yes", expected true or false'),
    ({"steps": "ten"}, r'backend\.steps: got "ten"'),
    ({"offload": "cpu"}, r'backend\.offload: got "cpu", expected .none., .model., .group. or .sequential.'),
    ({"dtype": "int8"}, r"backend\.dtype: got \"int8\""),
    ({"device": "tpu"}, r'backend\.device: got "tpu", expected cpu, cuda'),
    ({"vae_tiling": "yes"}, r"backend\.vae_tiling"),
    ({"fps": -3}, r"backend\.fps: got -3"),
])
def test_option_errors(project, opts, match):
    with pytest.raises(InputError, match=match):
        dv.DiffusersBackend(BackendSpec(name="diffusers", options={"model": "wan2.1-t2v-1.3b", **opts}),
                            project=project)


def test_field_names_the_shot(project):
    with pytest.raises(InputError, match=r"^shots\[2\]\.backend\.steps: got 0"):
        dv.DiffusersBackend(BackendSpec(name="diffusers", options={"steps": 0}), project=project,
                            field="shots[2].backend")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_asked_but_absent(tiny, project):
    b = backend(project, tiny("ltx"), device="cuda")
    with pytest.raises(InputError, match=r'backend\.device: got "cuda" but torch .* sees no CUDA GPU'):
        b.key_context()


def test_unsupported_conditioning_is_a_clear_error(tiny, project, store):
    b = backend(project, tiny("wan-t2v"))
    frame = store.put_frame(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(InputError, match=r"cannot start from an image; presets that can: .*wan2\.2-ti2v-5b"):
        b.generate(request(b, first_frame=frame), project.base_dir / "x.mp4")
    with pytest.raises(InputError, match=r"cannot continue from a video prefix; presets that can: ltx-video"):
        b.generate(request(b, prefix=store.put_frames(np.zeros((9, 32, 32, 3), np.uint8))),
                   project.base_dir / "x.mp4")
    i2v_only = dv.DiffusersBackend(BackendSpec(name="diffusers", options={"model": "cogvideox-5b-i2v"}),
                                   project=project)
    with pytest.raises(InputError, match="needs a first frame"):
        i2v_only.generate(request(i2v_only), project.base_dir / "x.mp4")


def test_preset_capabilities_without_weights(project):
    from songreel.generate import diffusers_presets as P

    for name, p in P.PRESETS.items():
        b = dv.DiffusersBackend(BackendSpec(name="diffusers", options={"model": name}), project=project)
        caps = b.capabilities()
        assert caps.native_fps == p.profile.fps
        frames, _ = native_request_frames(48, Fraction(24), caps)
        assert legal(frames, caps.frame_multiple, caps.frame_offset) and frames <= caps.max_frames
        w, h = round_size(1920, 1080, caps)
        assert w % caps.size_multiple == 0 and h % caps.size_multiple == 0 and w > h
        # a 1080p project asks for the model's trained area, not 1080p
        assert w * h <= p.profile.width * p.profile.height * 1.05
    assert P.get("wan2.2-ti2v-5b").profile.i2v == "WanImageToVideoPipeline"
    assert P.get("ltx-video-0.9.8-distilled").hub_id == "Lightricks/LTX-Video-0.9.8-13B-distilled"


# -- CLI ---------------------------------------------------------------------------------------------


def test_cli_models_list_and_pull(empty_cache, monkeypatch):
    from typer.testing import CliRunner

    from songreel.cli import models

    monkeypatch.setattr(ds, "hub_reachable", lambda timeout=2.0: False)
    r = CliRunner().invoke(models.app, ["list"])
    assert r.exit_code == 0, r.output
    assert "wan2.2-ti2v-5b  [not downloaded]" in r.output and "Wan-AI/Wan2.2-TI2V-5B-Diffusers" in r.output
    t = time.monotonic()
    r = CliRunner().invoke(models.app, ["pull", "wan2.1-t2v-1.3b"])
    assert r.exit_code == 2 and "cannot reach" in r.output and time.monotonic() - t < 2
    r = CliRunner().invoke(models.app, ["pull", "wan2.1-t2v-13b"])
    assert r.exit_code == 2 and 'did you mean "wan2.1-t2v-1.3b"' in r.output
