"""Model-free measures of one shot, computed in a single pass over its small frames.

Each frame is seen once and then dropped: :class:`ShotMeter` keeps per-frame scalars (luma mean and
spread, change from the previous frame, structural similarity, optical-flow magnitude) and per-segment
colour sums, plus the previous frame and the shot's first and last frames. :meth:`ShotMeter.finish`
turns them into the JSON-ready measures that :mod:`.flags` judges.

Units: luma and chroma in the codec's 8-bit code values (Y'CbCr as stored: black is 16, white 235,
chroma centred on 128), motion in percent of the frame width per clip frame, times in project frames.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np

from .frames import SmallFrame

#: a frame is dark when its mean luma is below this and less than 1% of it is above DARK_PEAK (code
#: values of the codec's luma: black is 16, white 235)
DARK_MEAN = 28.0
DARK_PEAK = 48.0
#: a frame is blank when it is one flat grey: luma spread below BLANK_STD and mean |chroma| below
#: BLANK_CHROMA (a flat saturated colour is a picture, not a filtered one)
BLANK_STD = 2.5
BLANK_CHROMA = 6.0
#: a frame is "still" when it differs from the frame STILL_LAG frames before it (same segment) by less
#: than this mean |Δluma| and their SSIM is above STILL_SSIM: comparing across a second tells a
#: slow drift (which adds up) from a frozen picture (which does not)
STILL_MAD = 0.4
STILL_SSIM = 0.995
STILL_LAG = 24
#: optical flow runs on frames this wide (the motion-energy curve needs timing, not detail)
FLOW_WIDTH = 48


_CV2: list = []


def _cv2():
    """OpenCV (``pip install 'songreel[flow]'``) or None."""
    if not _CV2:
        try:
            import cv2

            _CV2.append(cv2)
        except ImportError:
            _CV2.append(None)
    return _CV2[0]


def _box(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over ``(2r+1)^2`` windows, valid region only (OpenCV's box filter, else an integral image)."""
    k = 2 * r + 1
    cv2 = _cv2()
    if cv2 is not None:
        return cv2.blur(x, (k, k), borderType=cv2.BORDER_REFLECT)[r:-r or None, r:-r or None]
    c = np.cumsum(np.cumsum(np.pad(x, ((1, 0), (1, 0))), axis=0), axis=1)
    return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / float(k * k)


def ssim(a: np.ndarray, b: np.ndarray, *, radius: int = 3) -> float:
    """Mean structural similarity of two luma images (float, 0..255) over 7x7 windows.

    Returns 1.0 for identical images; lower is less alike (can go slightly below 0).
    """
    if min(a.shape) <= 2 * radius + 1:
        radius = max(0, (min(a.shape) - 2) // 2)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    ma, mb = _box(a, radius), _box(b, radius)
    va = _box(a * a, radius) - ma * ma
    vb = _box(b * b, radius) - mb * mb
    cov = _box(a * b, radius) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return float(s.mean())




def hist_distance(h1: np.ndarray, h2: np.ndarray) -> float:
    """Bhattacharyya distance of two histograms (0 = same distribution, 1 = disjoint)."""
    p = h1 / max(float(h1.sum()), 1e-9)
    q = h2 / max(float(h2.sum()), 1e-9)
    bc = float(np.sqrt(p * q).sum())
    return float(math.sqrt(max(0.0, 1.0 - min(bc, 1.0))))


class _SegmentColour:
    """Running colour sums of one segment."""

    def __init__(self) -> None:
        self.n = 0
        self.sum = np.zeros(5)  # Y, Y^2 (per frame spread, averaged), U, V, saturation
        self.hist = np.zeros((8, 8, 8))

    def add(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        self.n += 1
        sat = np.sqrt((u - 128.0) ** 2 + (v - 128.0) ** 2)
        self.sum += (float(y.mean()), float(y.std()), float(u.mean()), float(v.mean()), float(sat.mean()))
        h, w = u.shape
        q = [np.clip(p, 0, 255).astype(np.intp) // 32 for p in (y[: 2 * h: 2, : 2 * w: 2], u, v)]
        self.hist += np.bincount((q[0] * 64 + q[1] * 8 + q[2]).ravel(), minlength=512).reshape(8, 8, 8)

    def means(self) -> np.ndarray:
        return self.sum / max(self.n, 1)


class ShotMeter:
    """Accumulates the measures of one shot, frame by frame.

    Parameters
    ----------
    beats, downbeats : sequence of int
        Project frames of the song's beats and bar starts (``Plan.beat_frames``).
    span : (float, float), optional
        The project frames ``[start, end)`` the motion-vs-beat measure looks at.
    flow : bool
        Optical-flow magnitude through OpenCV when it is installed; else (or when False) motion
        energy is the mean absolute luma change.
    lag : int
        Frames between the two pictures compared for stillness (shorter for short shots).
    """

    def __init__(self, *, beats: Sequence[int] = (), downbeats: Sequence[int] = (),
                 span: tuple | None = None, flow: bool = True, lag: int = STILL_LAG):
        self.beats = np.asarray(sorted(beats), dtype=np.float64)
        self.downbeats = np.asarray(sorted(downbeats), dtype=np.float64)
        self.span = span
        self.cv2 = _cv2() if flow else None
        self.times: list = []
        self.luma: list = []
        self.dark: list = []
        self.diffs: list = []      # (time, mad, ssim) between consecutive frames of one segment
        self.motion: list = []     # (time, energy)
        self.bounds: list = []     # (time, mad, ssim, segment) across chained boundaries
        self.colour: dict = {}
        self.prev: SmallFrame | None = None
        self.prev_y: np.ndarray | None = None
        self.recent: deque = deque(maxlen=max(1, int(lag)))   # (segment, luma) of the last frames
        self.still: list = []

    @property
    def method(self) -> str:
        """How motion energy is measured: ``farneback`` (optical flow) or ``difference``."""
        return "farneback" if self.cv2 is not None else "difference"

    def add(self, f: SmallFrame) -> None:
        """Take one frame (in order)."""
        y, u, v = f.y, f.u, f.v
        self.times.append(f.time)
        self.luma.append((float(y.mean()), float(y.std())))
        mean, std = float(y.mean()), float(y.std())
        # a flat grey needs enough pixels to call it flat (a 1x1-pixel clip is always "flat")
        grey = y.size >= 64 and float(np.abs(u - 128.0).mean() + np.abs(v - 128.0).mean()) < BLANK_CHROMA
        self.dark.append(bool((mean < DARK_MEAN and (y > DARK_PEAK).mean() < 0.01) or (std < BLANK_STD and grey)))
        self.colour.setdefault(f.segment, _SegmentColour()).add(y, u, v)
        if self.prev is not None and self.prev_y is not None:
            mad = float(np.abs(y - self.prev_y).mean())
            boundary = f.first and f.segment != self.prev.segment
            s = ssim(self.prev_y, y) if boundary else None
            if boundary:
                self.bounds.append((f.time, mad, s, f.segment))
            else:
                self.diffs.append((f.time, mad, s))
                self.motion.append((f.time, self._energy(self.prev_y, y, mad)))
        if len(self.recent) == self.recent.maxlen and self.recent[0][0] == f.segment:
            old = self.recent[0][1]
            lag_mad = float(np.abs(y - old).mean())
            # SSIM only where the pixels barely changed: it decides stillness, not motion
            self.still.append(bool(lag_mad < STILL_MAD and ssim(old, y) > STILL_SSIM))
        self.recent.append((f.segment, y))
        self.prev, self.prev_y = f, y

    def _energy(self, a: np.ndarray, b: np.ndarray, mad: float) -> float:
        if self.cv2 is None:
            return mad
        cv2 = self.cv2
        w = min(FLOW_WIDTH, a.shape[1])
        h = max(8, round(a.shape[0] * w / a.shape[1]))
        small = [cv2.resize(np.clip(x, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_AREA) for x in (a, b)]
        flow = cv2.calcOpticalFlowFarneback(small[0], small[1], None, 0.5, 1, 7, 2, 5, 1.1, 0)
        return float(np.hypot(flow[..., 0], flow[..., 1]).mean()) * 100.0 / w

    @property
    def last_y(self) -> np.ndarray | None:
        """Luma of the last frame taken."""
        return self.prev_y

    def finish(self) -> dict:
        """The shot's measures (JSON-ready; ``None`` where a measure does not apply)."""
        n = len(self.times)
        out: dict = {"frames": n, "motion_method": self.method}
        if n == 0:
            return out
        luma = np.asarray(self.luma)
        out["luma_mean"] = round(float(luma[:, 0].mean()), 2)
        out["black_fraction"] = round(float(np.mean(self.dark)), 3)
        mads = np.asarray([d[1] for d in self.diffs]) if self.diffs else np.zeros(0)
        out["still_fraction"] = round(float(np.mean(self.still)), 3) if self.still else None
        if mads.size:
            out["change_median"] = round(float(np.median(mads)), 3)
            out["change_p90"] = round(float(np.percentile(mads, 90)), 3)
        else:
            out["change_median"] = out["change_p90"] = None
        out["flicker"] = _flicker(luma[:, 0], self.segments_of())
        out.update(self._seams(mads))
        out.update(self._drift())
        out.update(self._beat())
        return out

    def segments_of(self) -> list:
        seg, cur = [], 0
        bounds = {b[0] for b in self.bounds}
        for t in self.times:
            if t in bounds:
                cur += 1
            seg.append(cur)
        return seg

    def _seams(self, mads: np.ndarray) -> dict:
        if not self.bounds:
            return {"seam_jump": None, "seam_ratio": None, "seam_ssim": None, "seam_frame": None}
        base = max(float(np.percentile(mads, 90)) if mads.size else 0.0, 1.0)
        worst = max(self.bounds, key=lambda b: b[1])
        return {"seam_jump": round(worst[1], 2), "seam_ratio": round(worst[1] / base, 2),
                "seam_ssim": round(worst[2], 3), "seam_frame": math.floor(worst[0])}

    def _drift(self) -> dict:
        keys = ("drift_luma", "drift_contrast", "drift_chroma", "drift_saturation", "drift_hist")
        if len(self.colour) < 2:
            return dict.fromkeys(keys)
        segs = [self.colour[k] for k in sorted(self.colour)]
        m0 = segs[0].means()
        worst = dict.fromkeys(keys, 0.0)
        for s in segs[1:]:
            m = s.means()
            worst["drift_luma"] = max(worst["drift_luma"], abs(m[0] - m0[0]))
            worst["drift_contrast"] = max(worst["drift_contrast"], abs(m[1] - m0[1]) / max(m0[1], 4.0))
            worst["drift_chroma"] = max(worst["drift_chroma"], float(math.hypot(m[2] - m0[2], m[3] - m0[3])))
            worst["drift_saturation"] = max(worst["drift_saturation"], abs(m[4] - m0[4]))
            worst["drift_hist"] = max(worst["drift_hist"], hist_distance(segs[0].hist, s.hist))
        return {k: round(float(v), 3) for k, v in worst.items()}

    def _beat(self) -> dict:
        out: dict = {"motion_mean": None, "motion_peaks": 0, "beat_alignment": None, "downbeat_alignment": None}
        if not self.motion:
            return out
        t = np.asarray([m[0] for m in self.motion])
        e = np.asarray([m[1] for m in self.motion])
        if self.span is not None:
            keep = (t >= self.span[0]) & (t < self.span[1])
            t, e = t[keep], e[keep]
        if t.size == 0:
            return out
        out["motion_mean"] = round(float(e.mean()), 3)
        peaks = motion_peaks(t, e)
        out["motion_peaks"] = len(peaks)
        if len(peaks) >= MIN_PEAKS and self.beats.size >= 2:
            period = float(np.median(np.diff(self.beats)))
            out["beat_alignment"] = round(alignment(peaks, self.beats, period), 3)
            if self.downbeats.size:
                out["downbeat_alignment"] = round(alignment(peaks, self.downbeats, period), 3)
        return out


#: fewest motion peaks for the beat measure to judge a shot
MIN_PEAKS = 3


def motion_peaks(t: np.ndarray, e: np.ndarray) -> list:
    """Times of the distinct peaks of a motion-energy curve.

    The curve is smoothed over 3 frames; a peak is a local maximum standing out from the curve's
    spread (above its median by at least a third of the 5th-95th percentile range), and the curve
    must vary (that range at least half its median), so steady motion has no peaks.
    """
    if e.size < 5:
        return []
    s = np.convolve(np.pad(e, 1, mode="edge"), np.ones(3) / 3.0, mode="valid")
    lo, hi, med = np.percentile(s, 5), np.percentile(s, 95), float(np.median(s))
    spread = hi - lo
    if spread <= 0.5 * max(med, 1e-3) or spread < 0.05:
        return []
    thr = med + spread / 3.0
    return [float(t[k]) for k in range(1, s.size - 1) if s[k] > s[k - 1] and s[k] >= s[k + 1] and s[k] > thr]


def alignment(peaks, beats: np.ndarray, period: float) -> float:
    """Beat-alignment score: mean of ``exp(-d^2 / (2 sigma^2))`` over peaks, ``d`` the distance to the
    nearest beat, ``sigma`` a sixth of the beat period (1.0 on the beat; ~0.42 by chance)."""
    sigma = max(period / 6.0, 0.5)
    p = np.asarray(peaks)[:, None]
    d = np.min(np.abs(p - beats[None, :]), axis=1)
    return float(np.mean(np.exp(-(d ** 2) / (2 * sigma ** 2))))


def _flicker(luma: np.ndarray, segs) -> float | None:
    """90th percentile, over frame triples inside one segment, of the brightness reversal at the middle
    frame: ``min(|L_t - L_{t-1}|, |L_{t+1} - L_t|)`` where the mean luma ``L`` goes up then down (or down
    then up), else 0. A fade, even one stepped by repeated frames, never reverses; flicker always does."""
    if luma.size < 3:
        return None
    segs = np.asarray(segs)
    same = (segs[:-2] == segs[1:-1]) & (segs[1:-1] == segs[2:])
    d1, d2 = luma[1:-1] - luma[:-2], luma[2:] - luma[1:-1]
    r = np.where(d1 * d2 < 0, np.minimum(np.abs(d1), np.abs(d2)), 0.0)[same]
    return round(float(np.percentile(r, 90)), 3) if r.size else None
