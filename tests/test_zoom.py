"""Infinite zoom: plan on the beat grid, the compositor on synthetic nested images with known geometry,
the nesting routes (animatic, chain, outpaint on a tiny inpaint pipeline), and the demo."""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest

from conftest import cut_frames, decode_gray_small
from songreel.assemble.zoom import compose_zoom, split_planes
from songreel.generate.base import Capabilities, GenerationResult, ProjectInfo
from songreel.generate.outpaint import shrink_into_centre
from songreel.generate.store import ClipStore
from songreel.generate.zoom_nesting import centre_crop, frame_at, generate_zoom
from songreel.ingest.storyboard import load_storyboard
from songreel.media import ClipWriter
from songreel.plan.planner import make_plan
from songreel.plan.zoom import plan_zoom
from songreel.schema.analysis import Analysis, Section
from songreel.schema.clip import ClipRef
from songreel.schema.edit import Edit

W, H = 160, 90


def grid_analysis(*, bpm=120.0, duration=8.0, meter=4, rms=None, rate=0.0) -> Analysis:
    period = 60.0 / bpm
    n = int(duration / period) + 2
    beats = tuple(round(i * period, 9) for i in range(n))
    return Analysis(duration=duration, tempo=bpm, meter=meter, beats=beats, downbeats=beats[::meter],
                    sections=(Section(0.0, duration, "song"),), envelope_rate=rate, rms=tuple(rms or ()))


def zoom_plan(tmp_path, shots: str, *, zoom="{per: 1 bar, factor: 2}", duration=8.0, analysis=None,
              size=(W, H), backend="animatic"):
    p = tmp_path / "sb.yaml"
    p.write_text(f"songreel: 1\nsong: song.wav\nvideo: {{width: {size[0]}, height: {size[1]}, fps: 24}}\n"
                 f"backend: {backend}\nlook: infinite-zoom\nzoom: {zoom}\nshots:\n{shots}", encoding="utf-8")
    sb = load_storyboard(p)
    a = analysis or grid_analysis(duration=duration)
    return plan_zoom(make_plan(sb, a), sb, a), a


FOUR_BARS = "".join(f"  - prompt: level {k}\n    length: 1 bar\n" for k in range(3)) + "  - prompt: level 3\n"


# ---------------------------------------------------------------------------------------------------
# synthetic nested stills with known geometry


def pattern(seed: int, w=W, h=H) -> np.ndarray:
    """A distinctive smooth texture (sinusoids + discs), different per seed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        for _ in range(4):
            fx, fy = rng.uniform(0.03, 0.25, 2)
            img[..., c] += np.sin(xx * fx + yy * fy + rng.uniform(0, 6.3)) * rng.uniform(20, 40)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(4, 14)
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] += rng.uniform(-60, 60, 3)
    return np.clip(img + 128, 0, 255).astype(np.uint8)


def nested_stack(layout, w=W, h=H) -> list[np.ndarray]:
    """Level images, outermost first, each holding the next one exactly downscaled in its centre."""
    L = len(layout.levels)
    imgs = [None] * L
    imgs[L - 1] = pattern(L - 1, w, h)
    for g in range(L - 2, -1, -1):
        known, (x0, y0, x1, y1) = shrink_into_centre(imgs[g + 1], layout.levels[g].ratio)
        img = pattern(g, w, h)
        img[y0:y1, x0:x1] = known[y0:y1, x0:x1]
        imgs[g] = img
    return imgs


def still_clip(rgb: np.ndarray, path: Path, fps=Fraction(24), nested=True) -> ClipRef:
    with ClipWriter(path, rgb.shape[1], rgb.shape[0], fps, crf=0, preset="ultrafast") as cw:
        cw.write(rgb)
    ctx = {"zoom_nested": True} if nested else {}
    return ClipRef(key=path.stem, path=path, frames=1, fps=fps, width=rgb.shape[1], height=rgb.shape[0],
                   provenance={"context": ctx})


def still_edit(tmp_path, plan, analysis, imgs):
    layout = plan.layout
    clips = [[None] * len(s.segments) for s in plan.shots]
    for lv in layout.levels:
        clips[lv.shot][lv.sub] = still_clip(imgs[lv.index], tmp_path / f"level{lv.index}.mp4")
    return Edit(plan=plan, song=tmp_path / "song.wav", clips=tuple(tuple(c) for c in clips), analysis=analysis)


def luma(frames) -> np.ndarray:
    return np.stack([split_planes(p, W, H)[0].astype(np.float32) for p in frames])


def measure_scale(a: np.ndarray, b: np.ndarray, lo=0.8, hi=1.25) -> float:
    """The magnification ``m`` that best maps luma frame ``a`` onto ``b`` about the centre
    (``b(x) = a(c + (x - c) / m)``), by golden-section search on the mean squared error of the middle."""
    from PIL import Image

    h, w = a.shape
    e = max(h, w) // 3
    im = Image.fromarray(np.pad(a.astype(np.float32), e, mode="edge"))
    m0, m1 = slice(h // 6, h - h // 6), slice(w // 6, w - w // 6)

    def err(m):
        box = (e + w / 2 - w / (2 * m), e + h / 2 - h / (2 * m), e + w / 2 + w / (2 * m), e + h / 2 + h / (2 * m))
        pred = np.asarray(im.resize((w, h), Image.Resampling.BICUBIC, box=box))
        return float(((pred[m0, m1] - b[m0, m1]) ** 2).mean())

    g = (math.sqrt(5) - 1) / 2
    x0, x1 = lo, hi
    for _ in range(40):
        c, d = x1 - g * (x1 - x0), x0 + g * (x1 - x0)
        if err(c) < err(d):
            x1 = d
        else:
            x0 = c
    return (x0 + x1) / 2


@pytest.fixture(scope="module")
def nested_render(tmp_path_factory):
    d = tmp_path_factory.mktemp("zoom-nested")
    plan, a = zoom_plan(d, FOUR_BARS)
    imgs = nested_stack(plan.layout)
    edit = still_edit(d, plan, a, imgs)
    frames = list(compose_zoom(edit))
    return plan, imgs, frames


def test_plan_zoom_keeps_frames_and_lines_levels_up_with_shots(tmp_path):
    plan, _ = zoom_plan(tmp_path, FOUR_BARS)
    layout = plan.layout
    assert plan.total_frames == 192 and [s.start for s in plan.shots] == [0, 48, 96, 144]
    # one level per bar at factor 2: each shot fills the frame exactly on its start frame (a downbeat)
    for shot in plan.shots:
        first = layout.levels_of(shot.index)[0]
        assert first.own_start == shot.start
        assert layout.scale(first.index, shot.start) == pytest.approx(1.0, abs=1e-12)
        assert shot.transition is None
        assert [g.start for g in shot.segments] == [lv.clip_start for lv in layout.levels_of(shot.index)]
    assert [round(lv.ratio, 9) for lv in layout.levels] == [2.0] * 4
    # the clip of a level starts before its shot, once the level is 1/8 of the frame wide
    # (3 bars = 1/8 before its start: frame 0 for the last level; 2 bars before for the third)
    assert plan.shots[3].head == 144 and plan.shots[3].segments[0].start == 0
    assert plan.shots[2].head == 96 and plan.shots[1].head == 48


def test_zoom_speed_follows_the_beat_grid(tmp_path):
    # 120 BPM: a beat every 12 frames; factor 2 per bar = 2^(1/4) per beat, exponential in between
    plan, _ = zoom_plan(tmp_path, FOUR_BARS)
    lam = np.array(plan.layout.lam)
    beats = np.arange(0, 192, 12)
    assert np.allclose(lam[beats], np.log(2) * np.arange(len(beats)) / 4, atol=1e-9)
    assert np.allclose(np.diff(lam), np.log(2) / 48, rtol=1e-9)
    # per in beats, factor 3
    plan, _ = zoom_plan(tmp_path, FOUR_BARS, zoom="{per: 2 beats, factor: 3}")
    lam = np.array(plan.layout.lam)
    assert lam[24] == pytest.approx(math.log(3), rel=1e-9)


def test_energy_makes_the_zoom_faster_where_the_song_is_loud(tmp_path):
    rate = 50.0
    rms = [0.1] * 200 + [0.9] * 200          # quiet first 4 s, loud last 4 s
    a = grid_analysis(rms=rms, rate=rate)
    plan, _ = zoom_plan(tmp_path, FOUR_BARS, zoom="{per: 1 bar, factor: 2, energy: 1}", analysis=a)
    layout = plan.layout
    lam = np.array(layout.lam)
    assert np.all(np.diff(lam) > 0)                                    # never stops, never reverses
    assert np.diff(lam)[150] > 3 * np.diff(lam)[30]                     # faster in the loud half
    assert abs(lam[-1] - 4 * math.log(2)) < 0.15 * 4 * math.log(2)      # same mean speed
    for shot in plan.shots:                                             # shots still start full frame
        assert layout.scale(layout.levels_of(shot.index)[0].index, shot.start) == pytest.approx(1.0)
    # levels re-split: the loud shots get more levels so no picture is magnified far beyond the factor
    assert max(lv.ratio for lv in layout.levels) < 2.0 * 1.5


def test_no_cut_and_no_frame_difference_spike_at_level_boundaries(nested_render):
    plan, imgs, frames = nested_render
    assert len(frames) == plan.total_frames
    y = luma(frames)
    d = np.abs(np.diff(y, axis=0)).mean(axis=(1, 2))
    assert d.max() <= 2.0 * np.median(d), (d.max(), np.median(d))
    for boundary in (48, 96, 144):
        assert d[boundary - 1] <= 1.5 * np.median(d)
    small = np.stack([np.asarray(__import__("PIL.Image").Image.fromarray(f.astype(np.uint8)).resize((64, 36)))
                      for f in y]).astype(np.float32)
    assert cut_frames(small) == []


def test_scale_between_frames_matches_the_planned_exponential(nested_render):
    plan, imgs, frames = nested_render
    layout = plan.layout
    y = luma(frames)
    for f in (5, 30, 47, 48, 70, 100, 143, 150):       # inside levels and across hand-overs
        want = layout.planned_ratio(f)
        got = measure_scale(y[f], y[f + 1])
        assert abs(got / want - 1) <= 0.01, (f, got, want)
    # over one beat (12 frames) the scale is 2^(1/4) within 1 %
    for f in (10, 40, 90):
        got = measure_scale(y[f], y[f + 12], lo=1.05, hi=1.35)
        assert abs(got / 2 ** 0.25 - 1) <= 0.01, (f, got)


def test_frame_on_a_shot_start_is_that_level_exactly(nested_render):
    plan, imgs, frames = nested_render
    layout = plan.layout
    from PIL import Image

    for shot in plan.shots:
        lv = layout.levels_of(shot.index)[0]
        got = split_planes(frames[shot.start], W, H)[0].astype(np.float32)
        want = np.asarray(Image.fromarray(imgs[lv.index]).convert("YCbCr"))[..., 0].astype(np.float32)
        assert np.abs(got - want).mean() < 4.0


def test_zoom_out_reverses(tmp_path):
    plan, a = zoom_plan(tmp_path, FOUR_BARS, zoom="{per: 1 bar, factor: 2, direction: out}")
    layout = plan.layout
    L = len(layout.levels)
    assert layout.current(0) == L - 1 and layout.current(plan.total_frames - 1) == 0
    # shot 0 is the innermost level; each shot's level fills the frame exactly on its last frame
    assert layout.levels[L - 1].shot == 0 and layout.levels[0].shot == 3
    for shot in plan.shots:
        lv = layout.levels_of(shot.index)[-1]
        assert layout.scale(lv.index, shot.end - 1) == pytest.approx(1.0, abs=1e-12)
    imgs = nested_stack(layout)
    frames = list(compose_zoom(still_edit(tmp_path, plan, a, imgs)))
    y = luma(frames)
    d = np.abs(np.diff(y, axis=0)).mean(axis=(1, 2))
    assert d.max() <= 2.0 * np.median(d)
    for f in (20, 47, 100):
        want = layout.planned_ratio(f)
        assert want < 1
        assert abs(measure_scale(y[f], y[f + 1], lo=0.8, hi=1.1) / want - 1) <= 0.01


# ---------------------------------------------------------------------------------------------------
# nesting routes


class _Backends:
    """Stand-in for runner.Backends holding one test-double backend."""

    def __init__(self, backend, base_dir: Path):
        self.backend = backend
        self.project = ProjectInfo(W, H, Fraction(24), base_dir, base_dir / ".songreel")

    def get(self, spec, *, field="backend"):
        return self.backend

    def close(self):
        pass


class FirstFrameRecorder:
    """An image-to-video test double: frame 0 is the first frame it is given, then a drifting dot."""

    name = "recorder"
    version = "1"
    model = "double"

    def __init__(self):
        self.requests = []

    def capabilities(self):
        return Capabilities(first_frame=True, size_multiple=2)

    def generate(self, req, out):
        self.requests.append(req)
        rng = np.random.default_rng(req.seed)
        base = req.first_frame.load() if req.first_frame is not None else pattern(int(rng.integers(1 << 30)))
        frames = []
        with ClipWriter(out, req.width, req.height, req.fps, crf=4, preset="ultrafast") as cw:
            for i in range(req.frames):
                img = base.copy()
                if i:
                    x = 10 + i % (req.width - 20)
                    img[40:44, x:x + 4] = 255
                cw.write(img)
                frames.append(img)
        return GenerationResult(out, req.frames, req.fps, req.width, req.height, tail_frames=np.stack(frames[-9:]))


def test_chain_route_starts_each_level_from_the_centre_of_the_previous(tmp_path):
    plan, a = zoom_plan(tmp_path, FOUR_BARS, backend="recorder")
    layout = plan.layout
    rec = FirstFrameRecorder()
    store = ClipStore(tmp_path / ".songreel")
    summary = generate_zoom(plan, store, _Backends(rec, tmp_path))
    assert not summary.failed and summary.generated == 4
    assert [r.first_frame is None for r in rec.requests] == [True, False, False, False]
    levels = sorted(layout.levels, key=lambda lv: lv.own_start)
    for prev, lv, req in zip(levels, levels[1:], rec.requests[1:]):
        assert req.context["zoom_start"] == lv.own_start          # starts at the hand-over, not before
        prev_ref = summary.clips[prev.shot][prev.sub]
        # the previous clip covers its span + 1 frame: its last frame is the hand-over frame
        assert prev_ref.frames == prev.own_end + 1 - prev.own_start
        want = centre_crop(frame_at(prev_ref, prev_ref.frames - 1), prev.ratio, W, H)
        assert np.array_equal(req.first_frame.load(), want)
    edit = Edit(plan=plan, song=tmp_path / "song.wav", clips=tuple(summary.clips), analysis=a)
    frames = list(compose_zoom(edit))
    y = luma(frames)
    d = np.abs(np.diff(y, axis=0)).mean(axis=(1, 2))
    for boundary in (48, 96, 144):       # the hand-over frame continues the magnified outer level
        assert d[boundary - 1] <= 2.0 * np.median(d), (boundary, d[boundary - 1], np.median(d))
    # second pass reuses everything
    again = generate_zoom(plan, store, _Backends(FirstFrameRecorder(), tmp_path))
    assert again.reused == 4 and again.generated == 0


def test_chain_refuses_to_zoom_out(tmp_path):
    from songreel.errors import InputError

    plan, _ = zoom_plan(tmp_path, FOUR_BARS, backend="recorder",
                        zoom="{per: 1 bar, factor: 2, direction: out, nesting: chain}")
    with pytest.raises(InputError, match="zooms in only"):
        generate_zoom(plan, ClipStore(tmp_path / ".s"), _Backends(FirstFrameRecorder(), tmp_path))


def test_animatic_route_renders_nested_procedural_levels(tmp_path):
    plan, a = zoom_plan(tmp_path, FOUR_BARS)
    from songreel.generate.runner import Backends

    backends = Backends(ProjectInfo(W, H, Fraction(24), tmp_path, tmp_path / ".songreel"))
    summary = generate_zoom(plan, ClipStore(tmp_path / ".songreel"), backends)
    assert not summary.failed and summary.generated == 4
    for shot, clips in zip(plan.shots, summary.clips):
        assert [c.frames for c in clips] == [g.frames for g in shot.segments]
        assert clips[0].provenance["context"]["zoom_route"] == "animatic"
    frames = list(compose_zoom(Edit(plan=plan, song=tmp_path / "s.wav", clips=tuple(summary.clips), analysis=a)))
    y = luma(frames)
    d = np.abs(np.diff(y, axis=0)).mean(axis=(1, 2))
    assert len(frames) == plan.total_frames and d.max() <= 2.0 * np.median(d)


@pytest.fixture(scope="module")
def tiny_inpaint(tmp_path_factory):
    pytest.importorskip("diffusers")
    import torch

    torch.set_num_threads(1)
    from songreel.generate.tiny_models import save_tiny

    return save_tiny("sd-inpaint", tmp_path_factory.mktemp("tiny") / "sd-inpaint")


def test_outpaint_route_end_to_end_on_a_tiny_inpaint_pipeline(tmp_path, tiny_inpaint):
    plan, a = zoom_plan(tmp_path, "  - prompt: a red car\n    length: 1 bar\n  - prompt: a city street at night\n"
                                  "    length: 1 bar\n  - prompt: a blue sky over the sea\n", duration=6.0)
    layout = plan.layout
    from songreel.generate.runner import Backends

    backends = Backends(ProjectInfo(W, H, Fraction(24), tmp_path, tmp_path / ".songreel"))
    store = ClipStore(tmp_path / ".songreel")
    summary = generate_zoom(plan, store, backends, inpaint={"model": str(tiny_inpaint), "steps": 2})
    assert not summary.failed, summary.failed
    keys = [summary.clips[lv.shot][lv.sub].last_frame.load() for lv in layout.levels]
    # the centre of each outer keyframe is the inner keyframe downscaled (the known centre pasted back)
    for g in range(len(keys) - 1):
        known, (x0, y0, x1, y1) = shrink_into_centre(keys[g + 1], layout.levels[g].ratio)
        m = max(1, round(0.04 * (x1 - x0)))
        inner = (slice(y0 + m, y1 - m), slice(x0 + m, x1 - m))
        assert np.array_equal(keys[g][inner], known[inner])
        # and the border was really inpainted (not left as the grey/edge fill)
        assert keys[g][:y0].std() > 1.0
    edit = Edit(plan=plan, song=tmp_path / "s.wav", clips=tuple(summary.clips), analysis=a)
    frames = list(compose_zoom(edit))
    assert len(frames) == plan.total_frames
    y = luma(frames)
    d = np.abs(np.diff(y, axis=0)).mean(axis=(1, 2))
    assert d.max() <= 2.0 * np.median(d) + 0.5
    # resumable: the keyframes and stills come back from the store
    again = generate_zoom(plan, store, backends, inpaint={"model": str(tiny_inpaint), "steps": 2})
    assert again.generated == 0 and again.reused == len(layout.levels)


def test_outpaint_without_a_model_says_what_to_set(tmp_path):
    from songreel.errors import InputError
    from songreel.generate.runner import Backends

    plan, _ = zoom_plan(tmp_path, FOUR_BARS, zoom="{per: 1 bar, factor: 2, nesting: outpaint}")
    backends = Backends(ProjectInfo(W, H, Fraction(24), tmp_path, tmp_path / ".songreel"))
    with pytest.raises(InputError, match="inpaint"):
        generate_zoom(plan, ClipStore(tmp_path / ".s"), backends)


def test_a_forced_outpaint_route_without_a_model_says_what_to_set(tmp_path):
    from songreel.errors import InputError
    from songreel.generate.runner import Backends

    plan, _ = zoom_plan(tmp_path, FOUR_BARS)
    backends = Backends(ProjectInfo(W, H, Fraction(24), tmp_path, tmp_path / ".songreel"))
    with pytest.raises(InputError, match="inpaint"):
        generate_zoom(plan, ClipStore(tmp_path / ".s"), backends, route="outpaint")


def test_animatic_route_lays_out_a_plan_that_has_no_layout_yet(tmp_path):
    from songreel.generate.runner import Backends

    plan, _ = zoom_plan(tmp_path, FOUR_BARS)
    backends = Backends(ProjectInfo(W, H, Fraction(24), tmp_path, tmp_path / ".songreel"))
    laid_out = generate_zoom(plan, ClipStore(tmp_path / ".a"), backends)
    summary = generate_zoom(plan.with_(layout=None), ClipStore(tmp_path / ".b"), backends)
    assert not summary.failed and summary.generated == 4
    assert [[c.key for c in clips] for clips in summary.clips] == [[c.key for c in clips] for clips in laid_out.clips]


# ---------------------------------------------------------------------------------------------------
# the demo, end to end


def test_demo_infinite_zoom_renders_a_continuous_zoom(tmp_path):
    from songreel import reel
    from songreel.demo import write_demo

    sb = write_demo(tmp_path, width=W, height=H, look="infinite-zoom")
    res = reel.render(sb, tmp_path / "out.mp4")
    plan = res.edit.plan
    assert plan.look == "infinite-zoom"
    gray = decode_gray_small(res.video)
    assert len(gray) == plan.total_frames
    assert cut_frames(gray) == []
    d = np.abs(np.diff(gray, axis=0)).mean(axis=(1, 2))
    assert d.max() <= 2.0 * np.median(d), (d.max(), np.median(d))
    # the zoom is on the beat: every shot starts exactly full frame on its (beat) frame
    layout = plan.layout
    for shot in plan.shots:
        assert shot.start in plan.beat_frames or shot.start == 0
        assert layout.scale(layout.levels_of(shot.index)[0].index, shot.start) == pytest.approx(1.0)


def test_chain_route_on_a_tiny_wan_image_to_video_model(tmp_path):
    pytest.importorskip("diffusers")
    import torch

    torch.set_num_threads(1)
    from songreel.generate.runner import Backends
    from songreel.generate.tiny_models import save_tiny

    folder = save_tiny("wan-ti2v", tmp_path / "wan")
    shots = "  - prompt: a red car on a road\n    length: 1 bar\n  - prompt: a woman walking in the rain\n"
    plan, a = zoom_plan(tmp_path, shots, duration=4.0,
                        backend=f"{{name: diffusers, model: {folder}, steps: 2, width: 32, height: 32}}")
    layout = plan.layout
    backends = Backends(ProjectInfo(W, H, Fraction(24), tmp_path, tmp_path / ".songreel"))
    try:
        summary = generate_zoom(plan, ClipStore(tmp_path / ".songreel"), backends)
    finally:
        backends.close()
    assert not summary.failed, summary.failed
    refs = [summary.clips[lv.shot][lv.sub] for lv in sorted(layout.levels, key=lambda lv: lv.own_start)]
    assert [r.provenance["context"]["zoom_route"] for r in refs] == ["chain"] * len(refs)
    assert refs[0].provenance["mode"] == "t2v" and all(r.provenance["mode"] == "i2v" for r in refs[1:])
    frames = list(compose_zoom(Edit(plan=plan, song=tmp_path / "s.wav", clips=tuple(summary.clips), analysis=a)))
    assert len(frames) == plan.total_frames
