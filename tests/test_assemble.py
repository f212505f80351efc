"""The stitcher, checked by decoding what it wrote: transitions, camera moves, pulses, colour match,
frame-rate conversion, the pass-through path, seams and encode options.

Edits are built directly (plan + clips) on tiny frames, so every test runs in about a second.
"""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from conftest import cut_frames
from songreel.assemble import assemble, compose_frames
from songreel.assemble.camera import CameraMove, PulseEnvelope
from songreel.plan.look import parse_camera, resolve_look
from songreel.assemble.transitions import Crossfade, ZoomThrough, mix
from songreel.errors import InputError, UnknownNameError
from songreel.media import ClipWriter
from songreel.schema.analysis import Analysis
from songreel.schema.clip import ClipRef
from songreel.schema.edit import Edit
from songreel.schema.plan import Plan, PlannedShot, PlannedTransition, Segment
from songreel.schema.storyboard import BackendSpec, EncodeSpec, ShotSpec

W, H = 160, 96
FPS = Fraction(24)


# ------------------------------------------------------------------------------------------------
# helpers


def write_song(path: Path, seconds: float, rate: int = 22050) -> Path:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    pcm = (0.2 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def pattern(kind: str, k: int = 0, w: int = W, h: int = H) -> np.ndarray:
    """Test pictures (RGB uint8)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "black":
        return np.zeros((h, w, 3), np.uint8)
    if kind == "white":
        return np.full((h, w, 3), 255, np.uint8)
    if kind == "square":  # a centred white square on black, side h/4
        img = np.zeros((h, w, 3), np.uint8)
        s = h // 8
        img[h // 2 - s:h // 2 + s, w // 2 - s:w // 2 + s] = 255
        return img
    if kind.startswith("texture"):  # smooth texture, different per seed
        seed = int(kind[7:] or 0)
        g = (np.sin(xx / (5 + seed) + seed) + np.cos(yy / (4 + 2 * seed)) + np.sin((xx + yy) / 9.0)) / 3
        v = (g * 90 + 128).clip(0, 255)
        return np.stack([v, np.roll(v, 7, axis=1), 255 - v], axis=-1).astype(np.uint8)
    if kind.startswith("tint"):  # texture with a colour cast
        base = pattern("texture1", w=w, h=h).astype(np.float32)
        cast = {"tint-red": (1.3, 0.8, 0.7), "tint-blue": (0.6, 0.8, 1.3)}[kind]
        return (base * np.array(cast)).clip(0, 255).astype(np.uint8)
    if kind == "ramp":  # flat grey that steps with the frame index
        return np.full((h, w, 3), 20 + 10 * k, np.uint8)
    if kind.startswith("pan"):  # texture moving right 6 px a frame ("pan3": frame k at 3 px a frame)
        step = 3 if kind == "pan3" else 6
        return np.roll(pattern("texture2", w=w, h=h), step * k, axis=1)
    raise ValueError(kind)


def write_clip(path: Path, kind: str, frames: int, *, fps=FPS, w: int = W, h: int = H) -> ClipRef:
    with ClipWriter(path, w, h, Fraction(fps), crf=4, preset="ultrafast") as cw:
        for k in range(frames):
            cw.write(pattern(kind, k, w, h))
    return ClipRef(key=path.stem, path=path, frames=frames, fps=Fraction(fps), width=w, height=h)


def make_edit(tmp: Path, shots: list[dict], *, total: int, analysis=None, transitions=None, w=W, h=H,
              color_match=None) -> Edit:
    """``shots``: dicts with ``end`` (cut frame), ``kind`` (pattern), optional ``camera``, ``pulse``,
    ``clip_fps``, ``trans`` (kind, frames) into the next shot, ``interpolate``."""
    planned, refs = [], []
    cuts = [0] + [s["end"] for s in shots[:-1]] + [total]
    trans = []
    for i, s in enumerate(shots[:-1]):
        kind, n = s.get("trans", ("cut", 0))
        cut = cuts[i + 1]
        trans.append(PlannedTransition(kind, cut - n // 2 if n else cut, n, cut))
    trans.append(None)
    for i, s in enumerate(shots):
        start, end = cuts[i], cuts[i + 1]
        head = (start - trans[i - 1].start) if i > 0 and trans[i - 1].frames and trans[i - 1].kind in (
            "crossfade", "zoom", "whip", "slide") else 0
        tail = (trans[i].end - end) if trans[i] is not None and trans[i].frames and trans[i].kind in (
            "crossfade", "zoom", "whip", "slide") else 0
        spec = ShotSpec(prompt=f"shot {i}", camera=s.get("camera"), pulse=s.get("pulse", 0.0))
        if "interpolate" in s:  # unvalidated, so that the planner's own check is what refuses a bad one
            spec = spec.model_copy(update={"interpolate": s["interpolate"]})
        planned.append(PlannedShot(index=i, name=f"shot {i + 1}", spec=spec, prompt=spec.prompt, negative="",
                                   seed=i, backend=BackendSpec(name="animatic"), start=start, end=end,
                                   head=head, tail=tail, transition=trans[i],
                                   segments=(Segment(0, start - head, end + tail - start + head),)))
        clip_fps = Fraction(s.get("clip_fps", FPS))
        n = int(np.ceil((end + tail - start + head) * clip_fps / FPS)) + 1
        refs.append((write_clip(tmp / f"clip{i}.mp4", s["kind"], n, fps=clip_fps, w=w, h=h),))
    plan = Plan(title="t", fps=FPS, width=w, height=h, duration=total / 24, total_frames=total, tempo=120.0,
                meter=4, beat_frames=tuple(range(0, total, 12)), downbeat_beats=(), sections=(),
                shots=tuple(planned), encode=EncodeSpec(preset="ultrafast", crf=10),
                color_match=color_match or 0.0)
    plan = resolve_look(plan)  # camera, pulse and retiming resolved as the planner does
    song = write_song(tmp / "song.wav", total / 24 + 0.1)
    return Edit(plan=plan, song=song, clips=tuple(refs), analysis=analysis)


def decode_y(path: Path) -> np.ndarray:
    """All frames' luma planes (n, H, W) float32, full size (tiny frames)."""
    import av

    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="gray").astype(np.float32) for f in c.decode(video=0)])


def square_width(y: np.ndarray) -> float:
    """Width of the bright centred square on the middle row (sub-pixel: summed brightness)."""
    row = y[y.shape[0] // 2].astype(np.float32)
    lo, hi = np.percentile(row, 5), row.max()
    return float(((row - lo) / max(hi - lo, 1)).clip(0, 1).sum())


def render(tmp: Path, edit: Edit, name="out.mp4", **kw):
    res = assemble(edit, tmp / name, **kw)
    return res, decode_y(res.path)


# ------------------------------------------------------------------------------------------------
# transitions, unit level


def _yuv(rgb: np.ndarray) -> np.ndarray:
    import av

    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()


def test_mix_is_exact_mean_at_half_and_endpoints_are_inputs():
    a = np.random.default_rng(0).integers(0, 256, (12, 8), dtype=np.uint8)
    b = np.random.default_rng(1).integers(0, 256, (12, 8), dtype=np.uint8)
    m = mix(a, b, 0.5).astype(int)
    assert np.abs(m - (a.astype(int) + b.astype(int)) / 2).max() <= 0.5
    assert mix(a, b, 0.0) is a and mix(a, b, 1.0) is b
    np.testing.assert_array_equal(Crossfade().apply(a, b, 0.5, before_cut=True, height=8), mix(a, b, 0.5))


def test_zoom_through_is_locked_and_starts_and_ends_on_the_shots():
    a, b = _yuv(pattern("texture1")), _yuv(pattern("texture2"))
    z = ZoomThrough()
    first = z.apply(a, b, 0.001, before_cut=True, height=H).astype(float)
    last = z.apply(a, b, 0.999, before_cut=False, height=H).astype(float)
    assert np.abs(first - a).mean() < 3 and np.abs(last - b).mean() < 3


def test_unknown_transition_and_camera_are_clear():
    from songreel.assemble.transitions import transition_for

    with pytest.raises(UnknownNameError, match='"spin".*accepted: cut, crossfade'):
        transition_for("spin")
    with pytest.raises(InputError, match='camera: got "wobble", expected push-in'):
        parse_camera("wobble")
    with pytest.raises(InputError, match="zoom factor in"):
        parse_camera("push-in 0.5")
    with pytest.raises(InputError, match="needs a direction"):
        parse_camera("pan")
    assert parse_camera("push-in 1.15") == CameraMove("push-in", 1.15)
    assert parse_camera("pan left") == CameraMove("pan", 0.1, "left")
    assert parse_camera("static") is None and parse_camera(None) is None


# ------------------------------------------------------------------------------------------------
# transitions, decoded


def test_crossfade_middle_frame_is_the_mean_of_both_shots(tmp_path):
    edit = make_edit(tmp_path, [dict(end=24, kind="texture1", trans=("crossfade", 11)), dict(kind="texture2")],
                     total=48)
    res, y = render(tmp_path, edit)
    t = edit.plan.shots[0].transition
    mid = t.start + 5                       # u = 6/12
    a, b = y[t.start - 1], y[t.end]         # the clean pictures either side (static clips)
    assert np.abs(y[mid] - (a + b) / 2).mean() < 1.5
    assert np.abs(y[mid] - a).mean() > 10 and np.abs(y[mid] - b).mean() > 10
    assert res.stats["transition_frames"] == 11


@pytest.mark.parametrize("kind,level", [("dip", 16), ("dip-white", 235)])
def test_dip_reaches_black_or_white_at_the_cut(tmp_path, kind, level):
    edit = make_edit(tmp_path, [dict(end=24, kind="texture1", trans=(kind, 12)), dict(kind="texture2")], total=48)
    res, y = render(tmp_path, edit)
    t = edit.plan.shots[0].transition
    means = y[t.start:t.end].mean(axis=(1, 2))
    closest = means[np.argmin(np.abs(means - level))]
    assert abs(closest - level) < 12, means
    # the cut still happens on the cut frame: shot 2's picture from there on
    assert np.abs(y[t.end] - y[t.end + 3]).mean() < 2


def test_zoom_through_has_no_frame_difference_spike(tmp_path):
    edit = make_edit(tmp_path, [dict(end=24, kind="texture1", trans=("zoom", 16)), dict(kind="texture2")], total=48)
    res, y = render(tmp_path, edit)
    t = edit.plan.shots[0].transition
    d = np.abs(np.diff(y[t.start - 1:t.end + 1], axis=0)).mean(axis=(1, 2))  # entering ... leaving
    assert len(d) == t.frames + 1
    assert d.max() <= 2 * np.median(d), d
    # and the zoom really moved the picture every frame
    assert d.min() > 0.5, d


@pytest.mark.parametrize("kind", ["slide", "whip"])
def test_slide_and_whip_move_monotonically(tmp_path, kind):
    edit = make_edit(tmp_path, [dict(end=24, kind="black", trans=(kind, 12)), dict(kind="white")], total=48)
    res, y = render(tmp_path, edit)
    t = edit.plan.shots[0].transition
    means = y[t.start - 1:t.end + 1].mean(axis=(1, 2))
    steps = np.diff(means)
    assert np.all(steps >= 0) and (steps > 0).sum() >= len(steps) - 2, means   # white enters steadily
    # white comes in from the right: in mid-transition the right half is brighter than the left
    mid = y[t.start + t.frames // 2]
    assert mid[:, W // 2:].mean() > mid[:, :W // 2].mean() + 50


def test_every_cut_stays_on_its_beat_frame(tmp_path):
    shots = [dict(end=12, kind="texture1"), dict(end=36, kind="texture2", trans=("zoom", 8)),
             dict(end=60, kind="texture3", camera="push-in 1.2"), dict(end=72, kind="texture4"),
             dict(kind="texture5")]
    edit = make_edit(tmp_path, shots, total=96)
    res, y = render(tmp_path, edit)
    assert len(y) == 96
    found = cut_frames(y)
    hard = [s.end for s in edit.plan.shots[:-1] if s.transition.kind == "cut"]
    assert set(hard) <= set(found), (hard, found)
    assert all(c % 12 == 0 for c in hard)


# ------------------------------------------------------------------------------------------------
# camera and pulse


def test_push_in_scale_increases_monotonically(tmp_path):
    edit = make_edit(tmp_path, [dict(kind="square", camera="push-in 1.5")], total=24)
    res, y = render(tmp_path, edit)
    widths = np.array([square_width(f) for f in y])
    assert np.all(np.diff(widths) > -0.3), widths
    assert widths[-1] / widths[0] == pytest.approx(1.5, rel=0.08)
    assert res.stats["moved_frames"] == 24 and res.stats["passthrough_frames"] == 0


def test_pull_out_and_pan(tmp_path):
    edit = make_edit(tmp_path, [dict(end=24, kind="square", camera="pull-out 1.4"),
                                dict(kind="square", camera="pan right 0.2")], total=48)
    res, y = render(tmp_path, edit)
    widths = np.array([square_width(f) for f in y[:24]])
    assert np.all(np.diff(widths) < 0.3) and widths[0] / widths[-1] == pytest.approx(1.4, rel=0.08)
    cols = [np.average(np.arange(W), weights=f[H // 2] - f[H // 2].min() + 1e-3) for f in y[24:]]
    assert np.all(np.diff(cols) < 0.05) and cols[0] - cols[-1] > 10   # pan right: the picture moves left


def test_pulse_follows_the_onsets(tmp_path):
    rate = 100.0
    env = np.zeros(300)
    onsets = [0.5, 1.25, 2.0]
    for t in onsets:
        env[int(t * rate)] = 1.0
    analysis = Analysis(duration=3.0, tempo=120.0, beats=(), downbeats=(), meter=4, sections=(),
                        envelope_rate=rate, onset_envelope=tuple(env.tolist()))
    edit = make_edit(tmp_path, [dict(kind="square", pulse=0.3)], total=72, analysis=analysis)
    res, y = render(tmp_path, edit)
    widths = np.array([square_width(f) for f in y])
    base = np.median(widths)
    for t in onsets:
        f = int(round(t * 24))
        assert widths[f] > base * 1.2, (f, widths[f - 2:f + 3], base)
        assert widths[f - 2] < base * 1.05          # nothing before the onset
    # and it decays between onsets
    assert widths[int(round(0.5 * 24)) + 8] < widths[int(round(0.5 * 24))]


def test_pulse_envelope_normalises_and_releases():
    env = PulseEnvelope([0, 0, 1, 0, 0, 0, 0, 0, 0, 0] * 10, rate=10.0, fps=10.0, release=0.15)
    assert env.at_frame(2) == pytest.approx(1.0)
    assert 0 < env.at_frame(3) < 1 and env.at_frame(3) > env.at_frame(4)


# ------------------------------------------------------------------------------------------------
# colour and seams


def test_color_match_lowers_the_seam_score(tmp_path):
    shots = [dict(end=24, kind="tint-red"), dict(kind="tint-blue")]
    plain, _ = render(tmp_path, make_edit(tmp_path, shots, total=48), "plain.mp4")
    (tmp_path / "m").mkdir()
    matched, _ = render(tmp_path / "m", make_edit(tmp_path / "m", shots, total=48, color_match=1.0))
    s0, s1 = plain.seams[0], matched.seams[0]
    assert s0["shots"] == [1, 2] and s0["kind"] == "cut" and s0["frame"] == 24
    assert s0["worst"] and not s0["flagged"]   # scores are reported; nothing is flagged (see SEAM_FLAG)
    assert s1["score"] < 0.3 * s0["score"], (s0, s1)
    assert matched.stats["color_frames"] == 48


def test_every_seam_is_reported(tmp_path):
    shots = [dict(end=12, kind="texture1", trans=("crossfade", 6)), dict(end=24, kind="texture1", trans=("dip", 4)),
             dict(end=36, kind="white"), dict(kind="black")]
    res, _ = render(tmp_path, make_edit(tmp_path, shots, total=48))
    assert [s["kind"] for s in res.seams] == ["crossfade", "dip", "cut"]
    assert [s["shots"] for s in res.seams] == [[1, 2], [2, 3], [3, 4]]
    assert res.seams[0]["score"] < 2 and not res.seams[0]["flagged"]          # same picture either side
    assert res.seams[2]["worst"] and res.seams[2]["luma_jump"] < -150 and not res.seams[2]["flagged"]


# ------------------------------------------------------------------------------------------------
# frame-rate conversion


def test_12fps_clip_is_blended_to_24fps_by_default(tmp_path):
    edit = make_edit(tmp_path, [dict(kind="ramp", clip_fps=12)], total=24)
    res, y = render(tmp_path, edit)
    m = y.mean(axis=(1, 2))
    steps = np.diff(m)
    assert np.all(steps > 0), m                     # every output frame is new: no duplicates
    assert steps.std() < 0.25 * steps.mean()        # half-steps: evenly spaced
    assert res.stats["blended_frames"] >= 11


def test_nearest_keeps_duplicates(tmp_path):
    edit = make_edit(tmp_path, [dict(kind="ramp", clip_fps=12, interpolate="nearest")], total=24)
    res, y = render(tmp_path, edit)
    steps = np.diff(y.mean(axis=(1, 2)))
    assert (np.abs(steps) < 0.5).sum() >= 10 and res.stats["blended_frames"] == 0


def test_flow_interpolation_moves_the_picture_instead_of_ghosting(tmp_path):
    pytest.importorskip("cv2")
    import av

    flow = make_edit(tmp_path, [dict(kind="pan", clip_fps=12, interpolate="flow")], total=12)
    _, yf = render(tmp_path, flow, "flow.mp4")
    (tmp_path / "b").mkdir()
    blend = make_edit(tmp_path / "b", [dict(kind="pan", clip_fps=12, interpolate="blend")], total=12)
    _, yb = render(tmp_path / "b", blend, "blend.mp4")
    err_f, err_b = [], []
    for k in (1, 3, 5, 7):                      # half-way frames: the truth is the texture moved 3 px more
        truth = av.VideoFrame.from_ndarray(pattern("pan3", k), format="rgb24").to_ndarray(format="gray")
        inner = (slice(8, -8), slice(16, -16))
        err_f.append(np.abs(yf[k][inner] - truth[inner]).mean())
        err_b.append(np.abs(yb[k][inner] - truth[inner]).mean())
    assert np.mean(err_f) < 0.6 * np.mean(err_b), (err_f, err_b)


def test_bad_interpolate_option(tmp_path):
    # refused when planned (the planner resolves the mode) ...
    with pytest.raises(InputError, match='interpolate: got "magic", expected one of auto, nearest, blend, flow'):
        make_edit(tmp_path, [dict(kind="ramp", interpolate="magic")], total=12)
    # ... and by assembly for a plan made some other way, before anything is written
    edit = make_edit(tmp_path, [dict(kind="ramp")], total=12)
    edit = edit.with_(plan=edit.plan.with_shot(0, interpolate="magic"))
    with pytest.raises(InputError, match='interpolate: got "magic", expected one of auto, nearest, blend, flow'):
        assemble(edit, tmp_path / "x.mp4")
    assert not list(tmp_path.glob(".x.tmp-*"))


# ------------------------------------------------------------------------------------------------
# fast path, encode options, compose_frames


def test_plain_shots_pass_decoded_frames_straight_to_the_encoder(tmp_path):
    shots = [dict(end=24, kind="texture1", trans=("crossfade", 6)), dict(end=48, kind="texture2"),
             dict(kind="texture3")]
    res, y = render(tmp_path, make_edit(tmp_path, shots, total=72))
    st = res.stats
    assert st["transition_frames"] == 6
    assert st["passthrough_frames"] == 72 - 6 and st["composed_frames"] == 6
    assert st["stream_copied_frames"] == 0
    assert len(y) == 72 and res.frames == 72
    # the output's keyframes are the encoder's choice, not copied from the clips' (pict_type cleared)
    import av

    with av.open(str(res.path)) as c:
        keys = [p.is_keyframe for p in c.demux(video=0) if p.size]
    assert keys[0] and sum(keys) <= 2


def test_h265_crf_and_preset(tmp_path):
    edit = make_edit(tmp_path, [dict(kind="texture1")], total=12)
    res = assemble(edit, tmp_path / "x.mp4", encode=EncodeSpec(codec="h265", crf=30, preset="ultrafast"))
    import av

    with av.open(str(res.path)) as c:
        assert c.streams.video[0].codec_context.name == "hevc"
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert sum(1 for _ in c.decode(video=0)) == 12
    assert res.stats["codec"] == "h265" and res.stats["crf"] == 30


def test_compose_frames_yields_planes(tmp_path):
    edit = make_edit(tmp_path, [dict(end=12, kind="texture1"), dict(kind="texture2")], total=24)
    frames = list(compose_frames(edit))
    assert len(frames) == 24 and all(isinstance(f, np.ndarray) and f.shape == (H * 3 // 2, W) for f in frames)


def test_storyboard_camera_typo_fails_before_generation(tmp_path, song_120):
    from conftest import write_storyboard
    from songreel.plan.look import check_storyboard
    from songreel.ingest.storyboard import load_storyboard

    sb = load_storyboard(write_storyboard(tmp_path, 'shots:\n  - prompt: "a"\n    camera: push-on 1.2\n',
                                          song=song_120))
    with pytest.raises(InputError, match=r'storyboard.yaml:\d+: shots\[0\].camera: got "push-on 1.2"'):
        check_storyboard(sb)


def test_storyboard_moves_transitions_and_colour_render_end_to_end(tmp_path, song_120):
    from conftest import decode_gray_small, write_storyboard
    from songreel import reel

    body = """\
color_match: 0.5
shots:
  - prompt: "a school locker, 1990s"
    length: 2 bars
    camera: push-in 1.2
    transition: zoom 1 beat
  - prompt: "prom night, slow dance"
    length: 4 beats
    pulse: 0.05
    transition: whip
  - prompt: "a road trip, summer"
    length: 1 bar
    camera: ken-burns
    transition: crossfade 1 beat ending on the beat
  - prompt: "an old couple on a porch"
    camera: pan left 0.1
"""
    sb = write_storyboard(tmp_path, body, song=song_120)
    res = reel.render(sb, tmp_path / "out.mp4")
    plan = res.edit.plan
    assert [s.transition.kind for s in plan.shots[:-1]] == ["zoom", "whip", "crossfade"]
    t = plan.shots[2].transition
    assert t.end == t.cut == 192                   # ending on the beat
    gray = decode_gray_small(res.video)
    assert len(gray) == plan.total_frames == 396


def test_zoom_level_clip_without_frames_is_a_media_error(tmp_path):
    """A zoom level's clip file with a video stream but no frames names the file (was AttributeError)."""
    import av

    from songreel.assemble.zoom import LevelSource
    from songreel.errors import MediaError

    path = tmp_path / "empty.mkv"
    with av.open(str(path), mode="w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        empty = av.Packet(b"")  # muxing it writes the header only: a video stream, no frames
        empty.stream, empty.pts, empty.dts = s, 0, 0
        c.mux(empty)
    clip = ClipRef(key="k", path=path, frames=1, fps=Fraction(FPS), width=W, height=H)
    src = LevelSource(clip, 0, Fraction(FPS), W, H)
    try:
        with pytest.raises(MediaError, match="empty.mkv"):
            src.picture(0)
    finally:
        src.close()


def test_joiner_closed_without_chunks_is_a_media_error(tmp_path):
    """Finishing a joined film that no chunk was added to names the film (was AttributeError on None)."""
    from songreel.assemble.encode import Joiner
    from songreel.errors import MediaError

    joiner = Joiner(tmp_path / "film.mp4", Fraction(FPS), EncodeSpec(), write_song(tmp_path / "song.wav", 1.0))
    try:
        with pytest.raises(MediaError, match="film.mp4"):
            joiner.close()
    finally:
        joiner.abort()
