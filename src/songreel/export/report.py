"""The sync report: checked, not hoped. Written beside every render as ``OUT.report.json``."""

from __future__ import annotations

import bisect
import json
from pathlib import Path
from typing import Optional

from ..schema.analysis import Analysis
from ..schema.plan import Plan

SCHEMA = "songreel.Report.1"


def cut_errors_ms(plan: Plan, analysis: Analysis) -> list[float]:
    """For every cut, |cut time - nearest beat time| in milliseconds (beats from the analysis, in seconds)."""
    beats = sorted(analysis.beats)
    out = []
    for cut in plan.cuts:
        t = float(plan.seconds(cut))
        k = bisect.bisect_left(beats, t)
        near = [beats[j] for j in (k - 1, k) if 0 <= j < len(beats)]
        out.append(min(abs(t - b) for b in near) * 1000.0 if near else float("nan"))
    return out


def sync_section(plan: Plan, analysis: Analysis, probe: dict) -> dict:
    """The ``sync`` block: measured from the written file, not from the plan alone."""
    errors = cut_errors_ms(plan, analysis)
    return {
        "max_cut_error_ms": round(max(errors), 3) if errors else 0.0,
        "mean_cut_error_ms": round(sum(errors) / len(errors), 3) if errors else 0.0,
        "half_frame_ms": round(500.0 / float(plan.fps), 3),
        "length_delta_ms": round((probe["video_seconds"] - probe["audio_seconds"]) * 1000.0, 3),
        "video_frames": probe["video_frames"],
        "expected_frames": plan.total_frames,
        "video_seconds": round(probe["video_seconds"], 6),
        "audio_seconds": round(probe["audio_seconds"], 6),
        "song_seconds": round(plan.duration, 6),
        "audio_codec": probe.get("audio_codec"),
    }


def build_report(plan: Plan, analysis: Analysis, probe: dict, *, generated: int, reused: int,
                 failed: Optional[dict] = None, timing: Optional[dict] = None, extra: Optional[dict] = None) -> dict:
    """The whole report document."""
    doc = {
        "schema": SCHEMA,
        "title": plan.title,
        "sync": sync_section(plan, analysis, probe),
        "shots": {"total": len(plan.shots), "generated": generated, "reused": reused,
                  "failed": {str(k): v for k, v in (failed or {}).items()}},
        "song": {"tempo": round(analysis.tempo, 3), "meter": analysis.meter, "tracker": analysis.tracker},
        "timing": {k: round(v, 3) for k, v in (timing or {}).items()},
        "warnings": list(plan.warnings),
    }
    if extra:
        doc.update(extra)
    seams = doc.get("seams") or []
    if seams:  # the worst joins first, so a director knows where to look
        doc["seams_flagged"] = sorted((s for s in seams if s.get("flagged")), key=lambda s: -s.get("score", 0))
    return doc


def write_report(doc: dict, path: Path) -> Path:
    """Write the report atomically."""
    from ..fileio import atomic_write_bytes

    atomic_write_bytes(Path(path), (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode())
    return Path(path)


def report_path(video: Path) -> Path:
    """``out.mp4`` -> ``out.report.json``."""
    video = Path(video)
    return video.with_name(video.stem + ".report.json")
