"""The newer diffusers families, on tiny random-weight pipelines loaded with from_pretrained(folder).

LTX-2 (two stages, keyframes, prefix), Wan VACE (reference images, keyframes, prefix), Wan 2.2 A14B,
SkyReels-V2 DF (continuation), HunyuanVideo 1.5, SANA-Video, Kandinsky 5, FramePack (its frame rule
on the real class); every route's call checked against the installed pipelines' signatures; the
frame-count check; the dtype fixes.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import inspect

import numpy as np
import pytest

# songreel imports no torch / diffusers at import time; test_diffusers_backend skips itself (and so
# this module) without torch, diffusers or transformers, as the checks below do
from songreel.errors import GenerationError, InputError, MissingFileError
from songreel.generate import diffusers_presets as P
from songreel.generate import diffusers_routes as routes
from songreel.generate import diffusers_source as ds
from songreel.generate import diffusers_video as dv
from songreel.generate.diffusers_profiles import CLASS_PROFILES
from songreel.schema.clip import GenerationRequest
from songreel.schema.storyboard import BackendSpec
from test_diffusers_backend import Spy, backend, decode, request

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")
torch.set_num_threads(1)

pytest_plugins = ["diffusers_fixtures"]  # tiny, project, store


def frame(store, seed=0, shape=(32, 32, 3)):
    return store.put_frame(np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8))


# -- the contract with the installed diffusers -------------------------------------------------------

def _profiles():
    seen = {}
    for name, p in P.PRESETS.items():
        seen.setdefault(p.profile, name)
    for cls, p in CLASS_PROFILES.items():
        seen.setdefault(p, cls)
    return [(label, p) for p, label in seen.items()]


@pytest.mark.parametrize("label, profile", _profiles(), ids=[x[0] for x in _profiles()])
def test_every_route_call_matches_the_installed_signature(label, profile, store):
    """Build every route each profile supports and check each argument against ``__call__``."""
    import diffusers

    first, last = frame(store, 1), frame(store, 2)
    tail = store.put_frames(np.random.default_rng(3).integers(0, 255, (9, 32, 32, 3), dtype=np.uint8))
    n = profile.frame_multiple + profile.frame_offset
    cases = {"t2v": {}, "i2v": {"first_frame": first}, "flf2v": {"first_frame": first, "last_frame": last},
             "prefix": {"prefix": tail}, "reference": {}}
    for mode, cond in cases.items():
        cls_name = {"t2v": profile.t2v, "i2v": profile.i2v, "flf2v": profile.flf2v, "prefix": profile.prefix,
                    "reference": profile.reference}[mode]
        if cls_name is None:
            continue
        cls = getattr(diffusers, cls_name)  # the class exists in this diffusers
        req = GenerationRequest(backend="diffusers", model=label, version="2", prompt="a car", negative="", seed=1,
                                frames=n, fps=profile.fps, width=64, height=64, **cond)
        route = routes.Route(mode, cls_name)
        refs = [np.zeros((32, 32, 3), np.uint8)] if mode == "reference" else []
        for two in ((False, True) if profile.two_stage else (False,)):
            call = routes.build(profile, route, req, steps=2, guidance=1.0, fps=float(profile.fps),
                                explicit_steps=False, references=refs, two_stage=two)
            accepted = set(inspect.signature(cls.__call__).parameters)
            assert set(call.kwargs) <= accepted, (cls_name, mode, set(call.kwargs) - accepted)
            assert {"prompt", "negative_prompt", "generator", "output_type"} <= accepted
            if call.stage2:
                assert set(call.stage2) | {"latents", "audio_latents", "num_frames", "frame_rate"} <= accepted
    assert set(inspect.signature(getattr(diffusers, profile.t2v or profile.i2v).__init__).parameters) > {"self"}


def test_preset_components_and_upsampler_exist():
    import importlib

    import diffusers
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel  # noqa: F401
    from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

    assert {"frames", "index", "strength"} <= set(inspect.signature(LTX2VideoCondition).parameters)
    assert {"latents", "output_type"} <= set(inspect.signature(diffusers.LTX2LatentUpsamplePipeline.__call__).parameters)
    for p in P.PRESETS.values():
        for c in p.components:
            assert hasattr(importlib.import_module(c.library), c.class_name), c
        assert not any(r.startswith("THUDM/") for r in p.repos())  # now zai-org/
    assert P.get("cogvideox-5b").hub_id == "zai-org/CogVideoX-5b"
    assert ("use_dynamic_cfg", True) in P.get("cogvideox-5b").profile.call


# -- FramePack: its frame rule, on the real class ----------------------------------------------------

@pytest.mark.parametrize("asked", [33, 34, 66])
def test_framepack_returns_36k_plus_1(tiny, asked):
    from diffusers import HunyuanVideoFramepackPipeline

    pipe = HunyuanVideoFramepackPipeline.from_pretrained(str(tiny("framepack")))
    pipe.set_progress_bar_config(disable=True)
    image = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    from PIL import Image

    out = pipe(image=Image.fromarray(image), prompt="a car", height=32, width=32, num_frames=asked,
               num_inference_steps=1, guidance_scale=9.0, generator=torch.Generator().manual_seed(0),
               output_type="np").frames
    assert out.shape[1] == routes.framepack_returns(asked) == 36 * -(-asked // 33) + 1


def test_framepack_clip_has_exactly_the_planned_frames(tiny, project, store):
    b = backend(project, tiny("framepack"))
    caps = b.capabilities()
    assert (caps.frame_multiple, caps.frame_offset, caps.native_fps) == (36, 1, 30)
    spy = Spy(b)
    first, last = frame(store, 1), frame(store, 2)
    req = request(b, project_frames=50, first_frame=first, last_frame=last)  # 50 at 24 → 63 at 30 → 73
    assert req.frames == 73
    ref = store.make(req, lambda tmp: b.generate(req, tmp))
    assert spy.calls[0][1]["num_frames"] == 66 and ref.frames == 73 == len(decode(ref.path)[0])
    assert np.array_equal(np.asarray(spy.calls[0][1]["last_image"]), last.load())


# -- the frame-count check ---------------------------------------------------------------------------

def test_a_pipeline_returning_other_than_asked_is_an_error(tiny, project, monkeypatch):
    b = backend(project, tiny("wan-vace"))
    orig = b._pipeline

    def short(class_name):
        pipe = orig(class_name)

        class Proxy:
            def __call__(self, **kw):
                out = pipe(**kw)
                out.frames = out.frames[:, :-4]
                return out

        return Proxy()

    monkeypatch.setattr(b, "_pipeline", short)
    req = request(b)
    with pytest.raises(GenerationError, match=r"returned 5 frames for num_frames=9; expected 9"):
        b.generate(req, project.base_dir / "x.mp4")
    assert not (project.base_dir / "x.mp4").exists()


# -- LTX-2 -------------------------------------------------------------------------------------------

@pytest.mark.slow  # ~10-40 s on 2 busy cores: stage 2 runs at 64x64
def test_ltx2_two_stages_keyframes_and_prefix(tiny, project, store):
    b = backend(project, tiny("ltx2"), width=64, height=64)
    caps = b.capabilities()
    assert caps.size_multiple == 64 and caps.first_frame and caps.last_frame and caps.video_prefix == 9
    assert b.two_stage and b.key_context()["two_stage"] is True
    spy = Spy(b)
    req0 = request(b, seed=1)
    ref0 = store.make(req0, lambda tmp: b.generate(req0, tmp))
    (_, kw1), (_, kw2) = spy.calls[:2]
    assert kw1["output_type"] == "latent" and (kw1["width"], kw1["height"]) == (32, 32)  # stage 1 at half size
    assert kw2["latents"].shape[-1] == 2 * 32 // 4 and kw2["sigmas"] == [0.909375, 0.725, 0.421875]
    frames, rate = decode(ref0.path)
    assert frames[0].shape == (64, 64, 3) and len(frames) == req0.frames and rate == 24
    assert ref0.provenance["stages"] == 2
    # first + last as keyframes (latent index 0 and -1); a last frame alone is allowed
    last = frame(store, 5, (64, 64, 3))
    req1 = request(b, seed=2, first_frame=ref0.last_frame, last_frame=last)
    store.make(req1, lambda tmp: b.generate(req1, tmp))
    conds = spy.calls[2][1]["conditions"]
    assert [c.index for c in conds] == [0, -1] and conds[0].frames.size == (32, 32)
    req2 = request(b, seed=3, last_frame=last)
    store.make(req2, lambda tmp: b.generate(req2, tmp))
    assert [c.index for c in spy.calls[4][1]["conditions"]] == [-1]
    # continuation: the last 9 frames at index 0, 8 re-made frames dropped
    req3 = request(b, seed=4, prefix=ref0.tail)
    ref3 = store.make(req3, lambda tmp: b.generate(req3, tmp))
    cond = spy.calls[6][1]["conditions"][0]
    assert cond.index == 0 and len(cond.frames) == 9
    assert ref3.frames == req3.frames and ref3.provenance["frames_dropped"] == 8
    assert spy.calls[6][1]["num_frames"] == req3.frames + 8


@pytest.mark.slow  # the LTX-2 tiny pipeline takes seconds to build on 2 busy cores
def test_ltx2_one_stage_on_request(tiny, project, store):
    b = backend(project, tiny("ltx2"), two_stage=False)
    assert not b.two_stage and b.capabilities().size_multiple == 64
    spy = Spy(b)
    req = request(b)
    ref = store.make(req, lambda tmp: b.generate(req, tmp))
    assert len(spy.calls) == 1 and spy.calls[0][1]["width"] == req.width
    assert ref.provenance["stages"] == 1 and len(decode(ref.path)[0]) == req.frames


def test_ltx2_two_stage_needs_an_upsampler(tiny, project, tmp_path):
    import shutil

    folder = tmp_path / "no-upsampler"
    shutil.copytree(tiny("ltx2"), folder, ignore=shutil.ignore_patterns("latent_upsampler"))
    assert not backend(project, folder).two_stage
    with pytest.raises(InputError, match=r"backend\.two_stage: got true but .* has no latent_upsampler"):
        backend(project, folder, two_stage=True).two_stage  # noqa: B018


# -- Wan VACE ----------------------------------------------------------------------------------------

def test_vace_routes_and_reference_images(tiny, project, store):
    from PIL import Image

    face = project.base_dir / "lead.png"
    Image.fromarray(np.full((48, 40, 3), 200, np.uint8)).save(face)
    b = backend(project, tiny("wan-vace"), reference_images=["lead.png"])
    caps = b.capabilities()
    assert caps.first_frame and caps.last_frame and caps.video_prefix == 9
    spy = Spy(b)
    req0 = request(b, seed=1)
    ref0 = store.make(req0, lambda tmp: b.generate(req0, tmp))
    kw = spy.calls[0][1]
    assert len(kw["reference_images"]) == 1 and kw["reference_images"][0].size == (32, 32)
    assert "video" not in kw and ref0.provenance["mode"] == "reference"
    # a keyframe at the last index alone: control video grey, mask white except the last frame
    last = frame(store, 4)
    req1 = request(b, seed=2, last_frame=last)
    store.make(req1, lambda tmp: b.generate(req1, tmp))
    kw = spy.calls[1][1]
    masks = [np.asarray(m) for m in kw["mask"]]
    assert len(kw["video"]) == req1.frames and masks[-1].max() == 0 and all(m.min() == 255 for m in masks[:-1])
    assert np.array_equal(np.asarray(kw["video"][-1]), last.load())
    # chaining by video prefix: three segments, each starting on the previous one's tail
    refs = [ref0]
    for n in range(2):
        req = request(b, seed=10 + n, prefix=refs[-1].tail)
        refs.append(store.make(req, lambda tmp, r=req: b.generate(r, tmp)))
        kw = spy.calls[-1][1]
        tail = refs[-2].tail.load()
        assert all(np.array_equal(np.asarray(kw["video"][i]), tail[i]) for i in range(9))
        assert refs[-1].frames == req.frames and refs[-1].provenance["frames_dropped"] == 8
    # the key follows the reference image's content, not its name
    ctx = b.key_context()["reference_images"]
    Image.fromarray(np.full((48, 40, 3), 10, np.uint8)).save(face)
    assert backend(project, tiny("wan-vace"), reference_images=["lead.png"]).key_context()["reference_images"] != ctx


def test_reference_images_errors(tiny, project):
    with pytest.raises(MissingFileError, match=r'backend\.reference_images\[0\]: got "nope\.png": no such file'):
        backend(project, tiny("wan-vace"), reference_images=["nope.png"])
    (project.base_dir / "a.png").write_bytes(b"x")
    with pytest.raises(InputError, match=r"takes no reference images; presets that do: wan2\.1-vace-14b"):
        backend(project, tiny("wan-t2v"), reference_images=["a.png"])


def test_reference_images_on_a_hub_model_that_takes_none(tiny, project, monkeypatch):
    """A hub id's profile is read from its model_index.json when first needed, after the constructor's
    reference check: the route refuses the references with the same one line (it used to pick a
    ``None`` pipeline class and fail with a TypeError after loading the weights)."""
    folder = tiny("wan-t2v")
    monkeypatch.setattr(ds.ModelSource, "hub_file", lambda self, repo, filename: str(folder / filename))
    from PIL import Image

    Image.new("RGB", (32, 32), (200, 40, 40)).save(project.base_dir / "a.png")
    b = backend(project, "someone/tiny-wan", reference_images=["a.png"])
    with pytest.raises(InputError, match=r'^backend\.reference_images: "someone/tiny-wan" takes no reference '
                                         r"images; presets that do: wan2\.1-vace-14b"):
        b.generate(request(b), project.base_dir / "x.mp4")
    assert b.pipelines.loaded() == []  # refused before any weights load


# -- SkyReels-V2 diffusion forcing --------------------------------------------------------------------

def test_skyreels_df_text_image_and_continuation_chain(tiny, project, store):
    b = backend(project, tiny("skyreels-df"))
    caps = b.capabilities()
    assert caps.native_fps == 24 and caps.first_frame and caps.last_frame and caps.video_prefix == 9
    spy = Spy(b)
    refs = [store.make(request(b, seed=1), lambda tmp: b.generate(request(b, seed=1), tmp))]
    assert spy.calls[0][0] == "SkyReelsV2DiffusionForcingPipeline" and spy.calls[0][1]["fps"] == 24
    for n in range(2):
        req = request(b, seed=10 + n, prefix=refs[-1].tail)
        refs.append(store.make(req, lambda tmp, r=req: b.generate(r, tmp)))
        name, kw = spy.calls[-1]
        assert name == "SkyReelsV2DiffusionForcingVideoToVideoPipeline" and kw["overlap_history"] == 9
        assert all(np.array_equal(np.asarray(im), refs[-2].tail.load()[i]) for i, im in enumerate(kw["video"]))
        assert refs[-1].frames == req.frames == len(decode(refs[-1].path)[0])
    req = request(b, seed=5, first_frame=refs[-1].last_frame, last_frame=refs[0].last_frame)
    store.make(req, lambda tmp: b.generate(req, tmp))
    assert spy.calls[-1][0] == "SkyReelsV2DiffusionForcingImageToVideoPipeline"
    assert {"image", "last_image"} <= set(spy.calls[-1][1])


# -- the text-first families ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind, pipeline, rate", [
    ("wan-a14b", "WanPipeline", 16), ("hunyuan15-t2v", "HunyuanVideo15Pipeline", 24),
    ("sana-video", "SanaVideoPipeline", 16), ("kandinsky5", "Kandinsky5T2VPipeline", 24)])
def test_text_to_video_families(tiny, project, store, kind, pipeline, rate):
    b = backend(project, tiny(kind), guidance=2.5)
    spy = Spy(b)
    req = request(b)
    ref = store.make(req, lambda tmp: b.generate(req, tmp))
    name, kw = spy.calls[0]
    frames, got_rate = decode(ref.path)
    assert name == pipeline and got_rate == rate and len(frames) == req.frames
    assert frames[0].shape == (req.height, req.width, 3)
    if kind == "sana-video":
        assert kw["frames"] == req.frames and "num_frames" not in kw
    if kind == "hunyuan15-t2v":
        assert "guidance_scale" not in kw and b._pipes[pipeline].guider.guidance_scale == 2.5
    if kind == "wan-a14b":
        assert kw["guidance_scale_2"] == 3.0 and b._pipes[pipeline].transformer_2 is not None


def test_hunyuan15_image_to_video(tiny, project, store):
    b = backend(project, tiny("hunyuan15-i2v"))
    assert b.capabilities().first_frame
    spy = Spy(b)
    with pytest.raises(InputError, match="needs a first frame"):
        b.generate(request(b), project.base_dir / "x.mp4")
    req = request(b, first_frame=frame(store, 1))
    ref = store.make(req, lambda tmp: b.generate(req, tmp))
    assert "height" not in spy.calls[0][1] and "image" in spy.calls[0][1]  # it sizes from the image
    assert len(decode(ref.path)[0]) == req.frames


# -- the dtype fixes ---------------------------------------------------------------------------------

def test_wan_i2v_keeps_vae_and_image_encoder_in_fp32(tiny, project):
    b = backend(project, tiny("wan-i2v"), dtype="bf16", device="cpu")
    pipe = b._pipeline("WanImageToVideoPipeline")
    assert pipe.transformer.dtype == torch.bfloat16 and pipe.text_encoder.dtype == torch.bfloat16
    assert pipe.vae.dtype == torch.float32 and pipe.image_encoder.dtype == torch.float32


@pytest.mark.parametrize("version, kw", [("4.48.0", "torch_dtype"), ("4.55.4", "torch_dtype"),
                                         ("4.56.0", "dtype"), ("5.24.0", "dtype")])
def test_transformers_dtype_keyword_follows_its_version(monkeypatch, version, kw):
    import transformers

    from songreel.generate.diffusers_loading import transformers_dtype_kw

    monkeypatch.setattr(transformers, "__version__", version)
    assert list(transformers_dtype_kw(torch.bfloat16)) == [kw]


def test_options_model_is_the_docs_table():
    from songreel.generate.options import options_table

    rows = {r[0]: r for r in options_table(dv.DiffusersOptions)}
    assert {"model", "steps", "offload", "two_stage", "reference_images"} <= set(rows)
    assert "interpolate" not in rows  # retiming belongs to assembly
    assert dv.DiffusersBackend.Options is dv.DiffusersOptions
    with pytest.raises(InputError, match=r'backend\.dtype: got "int8", expected auto'):
        dv.DiffusersBackend(BackendSpec(name="diffusers", options={"dtype": "int8"}),
                            project=type("P", (), {"base_dir": None})())


# -- models list and doctor ------------------------------------------------------------------------------

def test_models_list_shows_gpu_weights_per_offload_mode(monkeypatch):
    from typer.testing import CliRunner

    from songreel.cli import models
    from songreel.generate import diffusers_source as ds

    monkeypatch.setattr(ds, "hub_reachable", lambda timeout=2.0: False)
    r = CliRunner().invoke(models.app, ["list"])
    assert r.exit_code == 0, r.output
    for name in P.PRESETS:
        assert f"{name}  [" in r.output
    ltx2 = r.output.split("ltx-2  [")[1].split("\n\n")[0]
    assert "GPU weights by offload" in ltx2 and "none 63.8 GB, model 38.0 GB" in ltx2
    assert "keyframes at an index" in ltx2 and "video prefix" in ltx2


def test_memory_estimates_follow_offload_modes():
    for p in P.PRESETS.values():
        need = [P.gpu_weights_gb(p, m) for m in P.OFFLOAD_MODES]
        assert need == sorted(need, reverse=True) and need[0] > 0, p.name
        assert P.cpu_weights_gb(p) >= need[1]
    a14b = P.get("wan2.2-t2v-a14b")
    assert P.gpu_weights_gb(a14b, "model") == 28.0  # one 14B expert at a time


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_doctor_reports_versions_and_advice():
    import diffusers
    from typer.testing import CliRunner

    from songreel.cli.doctor import advice
    from songreel.cli.main import app

    r = CliRunner().invoke(app, ["doctor"])
    assert r.exit_code == 0, r.output
    assert f"diffusers {diffusers.__version__}" in r.output and f"torch {torch.__version__}" in r.output
    assert "GPU: none visible to torch" in r.output and "sana-video-2b-480p: 9.7 / 5.2" in r.output
    assert advice(P.get("sana-video-2b-480p"), 24.0) == "fits without offload"
    assert advice(P.get("ltx-2"), 24.0) == "use offload: group"
    assert advice(P.get("ltx-2"), 80.0) == "fits without offload"
    assert advice(P.get("wan2.2-t2v-a14b"), 48.0) == "use offload: model"


def test_outpaint_options_are_checked_at_the_door():
    from songreel.generate.outpaint import Outpainter, OutpaintOptions

    with pytest.raises(InputError, match=r'zoom\.inpaint\.stepz: unknown outpaint option \(did you mean "steps"\?\)'):
        Outpainter({"model": "a/b", "stepz": 3})
    with pytest.raises(InputError, match=r'zoom\.inpaint\.overlap: got "wide", expected a number$'):
        Outpainter({"model": "a/b", "overlap": "wide"})
    with pytest.raises(InputError, match=r"zoom\.inpaint\.dtype: got 'int8', expected auto"):
        Outpainter({"model": "a/b", "dtype": "int8"})
    assert Outpainter({"model": "a/b", "dtype": "bf16"}).options.dtype == "bfloat16"
    assert "overlap" in OutpaintOptions.model_fields


def test_cogvideox_runs_with_dynamic_cfg(tiny, project, store):
    """CogVideoX 1.0 is fixed at 720x480x49; the tiny one is asked for 16x16x9 directly."""
    b = backend(project, tiny("cogvideox"))
    assert b.capabilities().sizes == ((720, 480),)
    spy = Spy(b)
    req = GenerationRequest(backend=b.name, model=b.model, version=b.version, prompt="a red car", negative="",
                            seed=1, frames=9, fps=b.capabilities().native_fps, width=16, height=16,
                            context=b.key_context())
    ref = store.make(req, lambda tmp: b.generate(req, tmp))
    assert spy.calls[0][1]["use_dynamic_cfg"] is True and spy.calls[0][1]["guidance_scale"] == 6.0
    assert ref.frames == 9 == len(decode(ref.path)[0])


def test_vace_takes_a_shots_character_references(tiny, project, store):
    """Characters' reference pictures arrive as request.references and reach VACE's reference_images."""
    from PIL import Image

    her = project.base_dir / "her-old.png"
    Image.fromarray(np.full((40, 40, 3), (180, 60, 20), np.uint8)).save(her)
    b = backend(project, tiny("wan-vace"))
    assert b.capabilities().max_references == dv.MAX_REFERENCES
    assert backend(project, tiny("wan-t2v")).capabilities().max_references == 0
    spy = Spy(b)
    req = request(b, seed=3, references=(her,))
    ref = store.make(req, lambda tmp: b.generate(req, tmp))
    kw = spy.calls[0][1]
    assert ref.provenance["mode"] == "reference" and len(kw["reference_images"]) == 1
    got = np.asarray(kw["reference_images"][0])
    assert got.shape[:2] == (32, 32) and np.abs(got.astype(int) - (180, 60, 20)).max() <= 2
    # the key follows the picture's content: another picture, another clip
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(her)
    assert request(b, seed=3, references=(her,)).key != req.key
    # the backend's own reference_images leave room for the shot's
    (project.base_dir / "style.png").write_bytes(her.read_bytes())
    assert backend(project, tiny("wan-vace"), reference_images=["style.png"]).capabilities().max_references == \
        dv.MAX_REFERENCES - 1
