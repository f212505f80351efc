"""The beat grid in musical coordinates: beat positions (float beat indices) <-> seconds <-> frames.

Beat index 0 is the first beat at or after 0 s; bar 1 starts at the first downbeat (``bar_one``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction

from ..schema.analysis import Analysis
from ..timebase import seconds_to_frame


@dataclass(frozen=True)
class Grid:
    """Beats of one song on one frame rate."""

    times: tuple[float, ...]          # beat times, seconds, increasing, all >= 0
    frames: tuple[int, ...]           # the same beats snapped to their nearest frame
    downbeats: tuple[int, ...]        # beat indices that start a bar
    meter: int
    fps: Fraction
    duration: float

    @classmethod
    def from_analysis(cls, analysis: Analysis, fps: Fraction) -> "Grid":
        times = [float(t) for t in analysis.beats if t >= -1e-9]
        times = [max(0.0, t) for t in times]
        if len(times) < 2:
            # a song too short or too quiet for a grid: fall back to the tempo from 0
            period = 60.0 / (analysis.tempo or 120.0)
            n = max(2, int(analysis.duration / period) + 1)
            times = [i * period for i in range(n)]
        downs: list[int] = []
        for d in analysis.downbeats:
            if d < -1e-9:
                continue
            i = min(range(len(times)), key=lambda k: abs(times[k] - d))
            if abs(times[i] - d) < 0.05 and (not downs or i > downs[-1]):
                downs.append(i)
        if not downs:
            downs = list(range(0, len(times), max(1, analysis.meter)))
        return cls(tuple(times), tuple(seconds_to_frame(t, fps) for t in times), tuple(downs),
                   max(1, analysis.meter), fps, float(analysis.duration))

    # -- conversions ---------------------------------------------------------------------------------

    @property
    def period(self) -> float:
        """Median beat period in seconds."""
        d = sorted(b - a for a, b in zip(self.times, self.times[1:]))
        return d[len(d) // 2] if d else 0.5

    def time_of(self, pos: float) -> float:
        """Seconds at beat position ``pos`` (fractions interpolate; beyond the ends extrapolate)."""
        t = self.times
        if pos <= 0:
            return t[0] + pos * (t[1] - t[0])
        if pos >= len(t) - 1:
            return t[-1] + (pos - (len(t) - 1)) * (t[-1] - t[-2])
        i = int(pos)
        return t[i] + (pos - i) * (t[i + 1] - t[i])

    def frame_of(self, pos: float) -> int:
        """Frame nearest beat position ``pos`` (integer positions use the snapped beat frames)."""
        if float(pos).is_integer() and 0 <= int(pos) < len(self.frames):
            return self.frames[int(pos)]
        return seconds_to_frame(self.time_of(pos), self.fps)

    def pos_of_time(self, seconds: float) -> float:
        """Fractional beat position of a time."""
        t = self.times
        if seconds <= t[0]:
            return (seconds - t[0]) / (t[1] - t[0])
        if seconds >= t[-1]:
            return len(t) - 1 + (seconds - t[-1]) / (t[-1] - t[-2])
        i = bisect.bisect_right(t, seconds) - 1
        return i + (seconds - t[i]) / (t[i + 1] - t[i])

    def nearest_beat(self, seconds: float) -> int:
        """Index of the beat nearest ``seconds`` (may be past the grid: extrapolated index)."""
        return int(round(self.pos_of_time(seconds)))

    @property
    def bar_one(self) -> int:
        """Beat index of bar 1's downbeat."""
        return self.downbeats[0]

    def bar_start(self, bar: int) -> int:
        """Beat index where bar ``bar`` (1-based) starts; extrapolates past the last downbeat."""
        if bar - 1 < len(self.downbeats):
            return self.downbeats[bar - 1]
        return self.downbeats[-1] + (bar - len(self.downbeats)) * self.meter

    def bars_from(self, pos: float, bars: Fraction) -> float:
        """Beat position ``bars`` bars after ``pos`` (on a downbeat: counts real bars; else meter beats)."""
        whole = int(bars)
        if float(pos).is_integer() and int(pos) in self.downbeats and whole == bars:
            k = self.downbeats.index(int(pos))
            if k + whole < len(self.downbeats):
                return float(self.downbeats[k + whole])
        return pos + float(bars) * self.meter

    def position(self, pos: float) -> str:
        """``bar.beat`` label of a beat position (bar 0 = lead-in before bar 1)."""
        p = int(round(pos))
        k = bisect.bisect_right(self.downbeats, p) - 1
        if k < 0:
            return f"0.{self.meter - (self.bar_one - p) % self.meter + 1 if (self.bar_one - p) % self.meter else 1}"
        beat = p - self.downbeats[k]
        bar = k + 1 + beat // self.meter
        return f"{bar}.{beat % self.meter + 1}"
