"""``songreel review``: the report card of a storyboard's shots, worst first, and a sheet with the flags.

Also the lines ``songreel render`` prints about the card and about ``--retake-worst``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .shell import RichProgress, default_storyboard, escape, out_console, run


def review(storyboard: Path | None = typer.Argument(None, help="The storyboard YAML (default: the only one in "
                                                       "this folder).", readable=False),
           sheet: Path | None = typer.Option(None, "--sheet", help="The contact sheet to write (default: "
                                                "<storyboard>.review.png beside the storyboard)."),
           show: int = typer.Option(5, "--show", min=1, help="How many of the worst shots to list.")):
    """Score every shot (black, frozen, flicker, seam, colour drift, identity, off-beat); list the worst
    with reasons and draw a contact sheet with the flags on it. Clips are made or reused as for a render;
    nothing is encoded."""
    import songreel

    def go():
        sb = default_storyboard(storyboard)
        png = sheet if sheet is not None else Path(sb).with_name(Path(sb).stem + ".review.png")
        with RichProgress() as p:
            return songreel.review(sb, sheet=png, progress=p)

    report = run(go)
    print_card(report, show=show)
    out_console.print(f"contact sheet: {escape(str(report.sheet))}")


def print_card(report, *, show: int = 5, indent: str = "") -> None:
    """The worst shots with their reasons (``report`` is a :class:`~songreel.schema.qa.QAReport`)."""
    n = len(report.shots)
    if not report.worst:
        out_console.print(f"{indent}[green]qa:[/] no shot flagged ({n} scored)")
    else:
        out_console.print(f"{indent}[bold]qa:[/] {len(report.worst)} of {n} shots flagged, worst first:")
        for number in report.worst[:show]:
            card = report.shot(number)
            out_console.print(f"{indent}  shot {number}  score {card.score:.2f}  take {card.take + 1}")
            for flag in card.flags:
                out_console.print(f"{indent}    [red]{flag}[/]: {escape(card.reasons.get(flag, ''))}")
        if len(report.worst) > show:
            out_console.print(f"{indent}  ... and {len(report.worst) - show} more (see the report's qa section)")
    for note in report.notes:
        out_console.print(f"{indent}[yellow]note:[/] {escape(note)}")


def print_render_card(data: dict) -> None:
    """What ``songreel render`` adds to its summary: the card, and the retakes before/after."""
    from ..schema.qa import QAReport

    if "qa" in data:
        print_card(QAReport.from_dict(data["qa"]), show=3, indent="  ")
    retake = data.get("retake")
    if not retake:
        return
    for row in retake["shots"]:
        b, a = row["before"], row["after"]
        kept = "new take kept" if row["kept"] == "new" else "old take kept"
        cost = f", ${row['dollars']:.2f}" if row["dollars"] else ""
        out_console.print(f"  retake shot {row['shot']}: take {b['take']} {b['score']:.2f} "
                          f"({', '.join(b['flags']) or 'clean'}) -> take {a['take']} {a['score']:.2f} "
                          f"({', '.join(a['flags']) or 'clean'}); {kept}{cost}")
    if retake.get("budget") is not None:
        out_console.print(f"  retakes spent ${retake['spent']:.2f} of ${retake['budget']:.2f}")
    for note in retake.get("notes", ()):
        out_console.print(f"  [yellow]note:[/] {escape(note)}")
