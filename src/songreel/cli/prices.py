"""``songreel prices``: the list prices songreel estimates with, each with its source and the date it was read.

Mounted by the main CLI; needs no hosted extra (the price table imports no network client).
"""

from __future__ import annotations

import typer

app = typer.Typer(name="prices", add_completion=False, invoke_without_command=True,
                  help="The list prices behind every cost estimate, with their sources and dates.")


@app.callback(invoke_without_command=True)
def prices(as_json: bool = typer.Option(False, "--json", help="Print JSON for tools.")):
    """Every price in the table: backend, model, price, the date it was read, and where."""
    from rich.table import Table

    from ..generate.hosted.prices import rows
    from .main import _escape, out_console

    table = rows()
    if as_json:
        import json

        print(json.dumps([{"backend": b, "model": m, "price": p, "checked": c, "source": s}
                          for b, m, p, c, s in table]))
        return
    t = Table("backend", "model", "price", "read on", "source")
    for b, m, p, c, s in table:
        t.add_row(b, m, _escape(p), c, _escape(s))
    out_console.print(t)
    out_console.print("Set price_per_second: on a backend for a model without a price (gateway models, your own "
                      "server) or for a negotiated rate.")
