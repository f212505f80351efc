"""A full `songreel render` of a 3-shot storyboard on a tiny random-weight diffusers model."""

from __future__ import annotations

import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("librosa")
torch.set_num_threads(1)


@pytest.mark.slow  # 8-22 s on 2 busy cores (song analysis + 9 tiny clips + assembly)
@pytest.mark.parametrize("kind, chained_mode", [("ltx", "prefix"), ("wan-ti2v", "i2v")])
def test_render_three_shots_on_tiny_model(song_120, tmp_path, kind, chained_mode):
    import av

    from conftest import write_storyboard

    reel = pytest.importorskip("songreel.reel")
    from songreel.generate.tiny_models import save_tiny

    save_tiny(kind, tmp_path / "film" / "models" / kind)
    # max_frames keeps clips short so long shots are split into chained segments
    backend = f"{{name: diffusers, model: models/{kind}, steps: 2, width: 32, height: 32, max_frames: 49}}"
    body = (f"bpm: 120\nbackend: {backend}\nshots:\n"
            "  - prompt: a red car on a road at night\n    length: 2 bars\n"
            "  - prompt: a woman walking in the rain\n    length: 2 bars\n"
            "  - prompt: the camera pans over snow mountain\n")
    sb = write_storyboard(tmp_path / "film", body, song=song_120)
    res = reel.render(sb, tmp_path / "out.mp4")
    with av.open(str(res.video)) as c:
        v = c.streams.video[0]
        n = sum(1 for _ in c.decode(v))
        assert (v.width, v.height) == (320, 180) and c.streams.audio
    assert n == pytest.approx(16.5 * 24, abs=2)
    plan = res.edit.plan
    assert sum(len(s.segments) for s in plan.shots) > 3  # at least one shot was chained
    metas = [json.loads(p.read_text())["clip"] for p in (tmp_path / "film" / ".songreel" / "clips").glob("*.json")]
    modes = sorted(m["provenance"]["mode"] for m in metas)
    assert "t2v" in modes and chained_mode in modes
    # a second render reuses every clip
    res2 = reel.render(sb, tmp_path / "again.mp4")
    assert res2.report["shots"]["generated"] == 0 and res2.report["shots"]["reused"] == len(metas)
    assert len(list((tmp_path / "film" / ".songreel" / "clips").glob("*.json"))) == len(metas)
