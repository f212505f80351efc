"""The store keeps each clip's final frames losslessly but compressed, and can shrink older tails."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np

from songreel.generate.base import TAIL_FRAMES, GenerationResult
from songreel.generate.store import ClipStore
from songreel.media import ClipWriter
from songreel.schema.clip import GenerationRequest

W, H = 160, 96


def frames(n: int, seed: int) -> np.ndarray:
    """Noisy frames (real footage does not compress to nothing; neither should the test)."""
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, W, dtype=np.float32)[None, :, None]
    return np.stack([np.clip(base + rng.normal(0, 12, (H, W, 3)) + 3 * i, 0, 255).astype(np.uint8)
                     for i in range(n)])


def request(seed: int) -> GenerationRequest:
    return GenerationRequest(backend="test", model="m", version="1", prompt=f"shot {seed}", negative="", seed=seed,
                             frames=24, fps=Fraction(24), width=W, height=H)


def producer(px: np.ndarray, *, give_tail: bool = True):
    def produce(tmp):
        with ClipWriter(tmp, W, H, Fraction(24), preset="ultrafast") as w:
            for f in px:
                w.write(f)
        return GenerationResult(tmp, len(px), Fraction(24), W, H, tail_frames=px[-TAIL_FRAMES:] if give_tail else None)
    return produce


def test_tails_are_lossless_compressed_pngs(tmp_path):
    store = ClipStore(tmp_path / ".songreel")
    px = frames(24, 1)
    ref = store.make(request(1), producer(px))
    assert ref.tail.path.suffix == ".png" and ref.tail.frames == TAIL_FRAMES
    assert np.array_equal(ref.tail.load(), px[-TAIL_FRAMES:])            # lossless, in order
    assert np.array_equal(ref.last_frame.load(), px[-1])
    assert ref.tail.path.stat().st_size < 0.8 * px[-TAIL_FRAMES:].nbytes
    # a fresh process finds the same clip and the same tail
    again = ClipStore(tmp_path / ".songreel").get(ref.key)
    assert again is not None and again.tail == ref.tail and np.array_equal(again.tail.load(), px[-TAIL_FRAMES:])
    # a backend that chains by image only needs the last frame: no second file
    one = store.make(request(2), producer(frames(24, 2), give_tail=False), tail_frames=1)
    assert one.tail == one.last_frame and one.tail.frames == 1
    assert not list(store.frames.glob("*.npy"))


def test_trim_tails_rewrites_old_npy_tails_without_changing_keys(tmp_path):
    store = ClipStore(tmp_path / ".songreel")
    px = {s: frames(24, s) for s in (1, 2)}
    refs = {s: store.make(request(s), producer(px[s])) for s in (1, 2)}
    # as an older songreel left them: raw .npy tails named by the same pixel hash
    for s, ref in refs.items():
        old = ref.tail.path.with_suffix(".npy")
        np.save(old, px[s][-TAIL_FRAMES:])
        ref.tail.path.unlink()
        doc = json.loads(store.meta_path(ref.key).read_text())
        doc["clip"]["tail"]["path"] = str(old)
        store.meta_path(ref.key).write_text(json.dumps(doc))
    npy_bytes = sum(p.stat().st_size for p in store.frames.glob("*.npy"))
    assert store.trim_tails(dry_run=True)["clips"] == sorted(r.key for r in refs.values())
    assert len(list(store.frames.glob("*.npy"))) == 2                     # dry run changed nothing

    out = store.trim_tails()
    assert sorted(out["clips"]) == sorted(r.key for r in refs.values()) and len(out["removed"]) == 2
    assert 0 < out["bytes"] < npy_bytes and not list(store.frames.glob("*.npy"))
    for s, ref in refs.items():
        got = store.get(ref.key)
        assert got is not None and got.tail.sha256 == ref.tail.sha256  # successors' keys unchanged
        assert np.array_equal(got.tail.load(), px[s][-TAIL_FRAMES:])
    assert store.trim_tails()["clips"] == []                              # nothing left to do

    # cut the tails to the last frame, except for a clip a video prefix still continues from
    keep = {refs[1].key}
    out = store.trim_tails(frames=1, keep=keep)
    assert out["clips"] == [refs[2].key]
    assert store.get(refs[1].key).tail.frames == TAIL_FRAMES
    t2 = store.get(refs[2].key)
    assert t2.tail.frames == 1 and t2.tail == t2.last_frame and np.array_equal(t2.tail.load(), px[2][-1])
    # gc keeps what the kept clips refer to
    gone = store.gc({r.key for r in refs.values()})
    assert gone["frames"] == []
