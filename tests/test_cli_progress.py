"""The ``render`` row of ``songreel render``'s progress: a real share done and time left from the
render's own estimate, only its note while nothing is measured, 100% when done."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

from conftest import write_storyboard

SHOTS = """\
shots:
  - prompt: "a school locker"
    length: 1 bar
  - prompt: "prom night"
    length: 1 bar
    transition: crossfade 6/24 s
  - prompt: "an old couple on a porch"
"""


def test_the_whole_render_row_counts_down_from_the_estimate():
    from songreel.cli.shell import whole_render

    row = SimpleNamespace(fields={"started": 100.0, "deadline": None, "done": False})
    assert whole_render(row, 105.0) is None
    row.fields["deadline"] = 120.0  # estimated at t=110: 10 s left after 10 s spent
    assert whole_render(row, 110.0) == (0.5, 10.0)
    frac, left = whole_render(row, 115.0)
    assert (frac, left) == (0.75, 5.0)
    assert whole_render(row, 130.0) == (0.99, 0.0)  # late: held short of done, nothing left
    row.fields["done"] = True
    assert whole_render(row, 131.0) == (1.0, 0.0)


def test_songreel_render_shows_the_share_done_and_time_left(tmp_path, song_120, monkeypatch):
    from rich.console import Console
    from typer.testing import CliRunner

    import songreel.cli.shell as shell
    from songreel.cli.main import app

    screen = io.StringIO()  # a terminal, so the live display (and its columns) really draws
    monkeypatch.setattr(shell, "console", Console(file=screen, force_terminal=True, width=200, color_system=None))
    rows: list = []
    real_eta = shell.RichProgress.eta

    def eta(self, seconds, note=""):
        real_eta(self, seconds, note)
        out = io.StringIO()
        Console(file=out, width=200, color_system=None).print(self.bar.make_tasks_table([self.row("render")]))
        rows.append(" ".join(out.getvalue().split()))

    monkeypatch.setattr(shell.RichProgress, "eta", eta)
    sb = write_storyboard(tmp_path, SHOTS, song=song_120, video="{width: 64, height: 36, fps: 24}")
    r = CliRunner().invoke(app, ["render", str(sb), "-o", str(tmp_path / "film.mp4")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "film.mp4").is_file()

    def percent(row):
        m = re.search(r"(\d+)%", row)
        return int(m.group(1)) if m else None

    # nothing measured yet (a fresh store): the note and no bar or share
    assert rows[0].startswith("render") and rows[0].endswith("measuring throughput...")
    assert percent(rows[0]) is None and "━" not in rows[0] and "-:--:--" in rows[0]
    # the assembly measures itself: a share between 0 and 100 and a time left
    measured = [row for row in rows if row.endswith("measured")]
    assert len(measured) >= 3
    shares = [percent(row) for row in measured]
    assert all(s is not None and 0 <= s < 100 for s in shares) and max(shares) > 0
    lefts = [re.search(r"eta (\d+):(\d\d):(\d\d)", row) for row in measured]
    assert all(m is not None for m in lefts)
    assert "━" in measured[-1]
    # and the last word: done, 100%, nothing left
    assert rows[-1].endswith("done") and percent(rows[-1]) == 100 and "eta 0:00:00" in rows[-1]
    drawn = screen.getvalue()
    assert "render" in drawn and "100%" in drawn and "done" in drawn
