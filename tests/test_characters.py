"""Characters with reference images and looks: storyboard, plan, keys, the animatic's insets, and
the image-first workflow (keyframes, contact sheet, character sheets) with tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import write_storyboard

import songreel
from songreel.errors import InputError, MissingFileError, StoryboardError


def _png(path: Path, colour, size=(64, 64)) -> Path:
    """A reference picture: a flat colour with a darker square, so thumbnails are easy to spot."""
    px = np.zeros((size[1], size[0], 3), np.uint8)
    px[:] = colour
    px[size[1] // 4: 3 * size[1] // 4, size[0] // 4: 3 * size[0] // 4] = np.array(colour) // 3
    Image.fromarray(px).save(path)
    return path


COUPLE = """sections:
  - {at: "0:00", label: intro}
  - {at: "0:04", label: verse}
  - {at: "0:08", label: chorus}
ages: {intro: teen, verse: 30s, chorus: old}
characters:
  her:
    description: a girl with short red hair
    ref: her.png
    looks:
      teen: {description: a teenage girl with short red hair, ref: her-teen.png}
      30s: a woman in her thirties with short red hair
      old: {description: an old woman with short white hair, ref: [her-old.png]}
  him:
    description: a tall boy in a denim jacket
    ref: [him.png]
    looks:
      teen: a teenage boy in a denim jacket
      30s: a man in a denim jacket
      old: {description: an old man in a denim jacket, ref: him-old.png}
  city: a small seaside town
shots:
  - {prompt: "{her} and {him} at the school dance", length: 2 bars}
  - {prompt: "{her} and {him} on a street, {city}", length: 2 bars}
  - {prompt: "{her} alone by the sea", length: 2 bars, age: teen}
  - {prompt: "{her} and {him} on a bench", length: 2 bars}
"""


def _couple(folder: Path, song: Path, extra: str = "", video="{width: 96, height: 64, fps: 24}") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _png(folder / "her.png", (200, 60, 40))
    _png(folder / "her-teen.png", (220, 120, 60))
    _png(folder / "her-old.png", (180, 180, 190))
    _png(folder / "him.png", (40, 60, 200))
    _png(folder / "him-old.png", (90, 90, 140))
    return write_storyboard(folder, extra + COUPLE, song=song, video=video)


def test_looks_by_section_and_shot_resolve_descriptions_and_references(tmp_path, song_120):
    sb = songreel.load(_couple(tmp_path, song_120))
    plan = songreel.plan(sb)
    looks = [[(m.name, m.look) for m in s.cast] for s in plan.shots]
    assert looks == [[("her", "teen"), ("him", "teen")], [("her", "30s"), ("him", "30s"), ("city", "")],
                     [("her", "teen")], [("her", "old"), ("him", "old")]]
    refs = [[p.name for m in s.cast for p in m.references] for s in plan.shots]
    # a look without ref: keeps the character's own pictures; a look with ref: replaces them
    assert refs == [["her-teen.png", "him.png"], ["her.png", "him.png"], ["her-teen.png"],
                    ["her-old.png", "him-old.png"]]
    assert plan.shots[0].prompt.startswith("a teenage girl with short red hair and a teenage boy")
    assert "a small seaside town" in plan.shots[1].prompt          # a text-only character still expands
    assert plan.shots[3].prompt.startswith("an old woman with short white hair and an old man")
    doc = plan.to_dict()["shots"][3]["cast"]
    assert doc[0]["look"] == "old" and doc[0]["references"][0].endswith("her-old.png")


def test_bad_characters_one_line_each(tmp_path, song_120):
    p = _couple(tmp_path, song_120)
    text = p.read_text()
    cases = [
        (text.replace("ref: her.png", "ref: nobody.png"), MissingFileError, "characters.her.ref[0]: "),
        (text.replace("age: teen", "age: teenn"), StoryboardError, 'unknown look "teenn" for her (did you mean "teen"?)'),
        (text.replace("chorus: old}", "chorus: olde}"), StoryboardError, "ages.chorus: unknown look"),
    ]
    (tmp_path / "junk.png").write_text("not a picture")
    cases.append((text.replace("ref: her.png", "ref: junk.png"), StoryboardError, "not a readable image"))
    for body, cls, needle in cases:
        p.write_text(body)
        with pytest.raises(cls) as e:
            songreel.load(p)
        assert needle in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_text_only_keys_are_unchanged(tmp_path, song_120):
    """Shots without references keep the keys they would have had without the characters' pictures (pinned:
    a key that moves regenerates every clip a user has; the animatic's version is part of it)."""
    from songreel.generate.runner import Backends, resolve_keys
    from songreel.generate.store import ClipStore
    from songreel.reel import analyze_storyboard_song, project, store_dir

    p = write_storyboard(tmp_path, """characters:
  her: a girl with red hair
shots:
  - {prompt: "{her} at school", length: 2 bars}
  - {prompt: a quiet street at night, length: 2 bars}
""", song=song_120, video="{width: 96, height: 64, fps: 24}")
    p.write_text(p.read_text().replace("encode: {preset: ultrafast}\n", ""))
    sb = songreel.load(p)
    b = Backends(project.project_info(sb))
    keys = resolve_keys(project.full_plan(sb, analyze_storyboard_song(sb), b), ClipStore(store_dir(sb)), b)
    assert keys[(0, 0)] == ["c6e5604209d18b014c56fa578607d613"]
    assert keys[(1, 0)] == ["727b8d979a1e52009645c1769d416061"]


def _first_frame(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            return f.to_ndarray(format="rgb24").astype(np.float32)
    raise AssertionError("no frames")


def test_animatic_draws_references_top_right_only(tmp_path):
    from songreel.generate.animatic import AnimaticBackend
    from songreel.generate.base import ProjectInfo
    from songreel.schema.clip import GenerationRequest
    from songreel.schema.storyboard import BackendSpec

    b = AnimaticBackend(BackendSpec(name="animatic", options={"caption": False}),
                        project=ProjectInfo(160, 96, 24, tmp_path, tmp_path))
    ref = _png(tmp_path / "r.png", (250, 20, 20))
    base = GenerationRequest("animatic", "procedural", "1", "a street", "", 3, 4, 24, 160, 96)
    with_ref = base.with_(references=(ref,))
    assert base.key() != with_ref.key()
    b.generate(base, tmp_path / "a.mp4")
    b.generate(with_ref, tmp_path / "b.mp4")
    a, r = _first_frame(tmp_path / "a.mp4"), _first_frame(tmp_path / "b.mp4")
    th = 96 // 5
    inset = r[2:2 + th, 160 - th - 2:158]
    assert np.abs(inset - a[2:2 + th, 160 - th - 2:158]).mean() > 40   # the thumbnail is there ...
    assert inset[..., 0].mean() > inset[..., 2].mean() + 60             # ... and it is the red reference
    assert np.abs(r[40:, :100] - a[40:, :100]).mean() < 2                # the rest of the frame is unchanged


def _clip_keys(res) -> list:
    return [tuple(c.key for c in clips) for clips in res.edit.clips]


def test_editing_one_reference_regenerates_only_its_shots(tmp_path, song_120):
    p = _couple(tmp_path, song_120)
    first = songreel.render(p, tmp_path / "a.mp4")
    _png(tmp_path / "her-old.png", (10, 200, 10))            # only shot 4 shows her when old
    second = songreel.render(p, tmp_path / "b.mp4", force=True)
    changed = [i for i, (x, y) in enumerate(zip(_clip_keys(first), _clip_keys(second))) if x != y]
    assert changed == [3]
    assert second.report.shots.generated == 1
    # the lock file records the new key of that shot only
    lock = json.loads(p.with_suffix(".lock.json").read_text())
    assert json.dumps(lock).count(second.edit.clips[3][0].key) >= 1


def test_too_many_references_for_the_backend(tmp_path, song_120):
    p = _couple(tmp_path, song_120)
    for k in range(5):
        _png(tmp_path / f"x{k}.png", (k * 40, 50, 50))
    text = p.read_text().replace("ref: [him.png]", "ref: [him.png, x0.png, x1.png, x2.png, x3.png]")
    p.write_text(text)
    with pytest.raises(InputError) as e:
        songreel.plan(p)
    msg = str(e.value)
    assert "shots[0]: 6 reference images (her (teen): 1, him (teen): 5), but backend 'animatic' takes 4" in msg
    p.write_text(text.replace("shots:\n", "keyframes: true\nshots:\n"))   # image-first: the keyframe carries them
    songreel.plan(p)


def test_image_first_with_procedural_images(tmp_path, song_120):
    p = _couple(tmp_path, song_120, extra="keyframes: true\n")
    r = songreel.keyframes(p)
    assert [k.shot for k in r.keyframes] == [0, 1, 2, 3] and all(k.made for k in r.keyframes)
    with Image.open(r.contact_sheet) as im:
        assert im.size[0] > 4 * 320 and im.format == "PNG"
    again = songreel.keyframes(p, reroll=["3"])
    assert [k.made for k in again.keyframes] == [False, False, True, False]
    assert again.keyframes[2].take == 1 and again.keyframes[2].path != r.keyframes[2].path
    res = songreel.render(p, tmp_path / "out.mp4")
    for kf, clips in zip(again.keyframes, res.edit.clips):   # each shot opens on its approved keyframe
        with Image.open(kf.path) as im:
            sha = _pixels_sha(np.asarray(im.convert("RGB")))
        assert clips[0].provenance["first_frame"] == sha


def _pixels_sha(px: np.ndarray) -> str:
    from songreel.generate.store import _pixels_sha as sha

    return sha(np.ascontiguousarray(px, dtype=np.uint8))


def test_procedural_character_sheet_rerolls_like_a_take(tmp_path, song_120):
    p = _couple(tmp_path, song_120)
    a = songreel.character_sheet(p, "city")
    assert a.made and a.path.suffix == ".png"
    assert not songreel.character_sheet(p, "city").made
    b = songreel.character_sheet(p, "city", seed=a.seed + 1)
    assert b.made and b.key != a.key
    with pytest.raises(songreel.UnknownNameError, match='did you mean "city"'):
        songreel.character_sheet(p, "citty")


@pytest.fixture(scope="module")
def tiny_image_model(tmp_path_factory):
    pytest.importorskip("diffusers")
    import torch

    torch.set_num_threads(1)
    from songreel.generate.tiny_images import save_tiny_image_model

    return save_tiny_image_model(tmp_path_factory.mktemp("tiny") / "flux2-klein")


@pytest.mark.slow
def test_image_first_with_a_tiny_diffusers_model(tmp_path, song_120, tiny_image_model, monkeypatch):
    """Two characters across three ages, keyframes by a tiny FLUX.2 [klein] loaded from its folder:
    each call gets exactly its shot's reference pictures; editing one reference remakes only its
    keyframes; the render opens each shot on its keyframe; sheets come from the same model."""
    from diffusers import Flux2KleinPipeline

    calls: list = []
    real = Flux2KleinPipeline.__call__

    import functools

    @functools.wraps(real)   # keeps the signature: the image model reads which arguments it takes
    def spy(self, *args, **kwargs):
        refs = kwargs.get("image") or []
        calls.append((kwargs["prompt"], [_pixels_sha(np.asarray(im)) for im in refs]))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Flux2KleinPipeline, "__call__", spy)
    extra = f"keyframes: true\nimages: {{model: {tiny_image_model}, steps: 1, max_side: 64}}\n"
    p = _couple(tmp_path, song_120, extra=extra, video="{width: 64, height: 64, fps: 24}")

    def ref_sha(name):
        with Image.open(tmp_path / name) as im:
            return _pixels_sha(np.asarray(im.convert("RGB")))

    r = songreel.keyframes(p)
    assert len(calls) == 4
    assert calls[0][1] == [ref_sha("her-teen.png"), ref_sha("him.png")]
    assert calls[2][1] == [ref_sha("her-teen.png")]
    assert calls[3][1] == [ref_sha("her-old.png"), ref_sha("him-old.png")]
    with Image.open(r.contact_sheet) as im:
        assert im.size[0] > 4 * 320
    calls.clear()
    _png(tmp_path / "him-old.png", (0, 0, 0))
    again = songreel.keyframes(p)
    assert [k.made for k in again.keyframes] == [False, False, False, True] and len(calls) == 1
    res = songreel.render(p, tmp_path / "out.mp4")
    for kf, clips in zip(again.keyframes, res.edit.clips):
        with Image.open(kf.path) as im:
            assert clips[0].provenance["first_frame"] == _pixels_sha(np.asarray(im.convert("RGB")))
    calls.clear()
    sheet = songreel.character_sheet(p, "city")
    assert sheet.made and calls == [(calls[0][0], [])] and "a small seaside town" in calls[0][0]
    with Image.open(sheet.path) as im:
        assert im.size == (64, 48)
