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

    import songreel

    from .shell import escape, out_console

    table = songreel.prices()
    if as_json:
        import json

        print(json.dumps(table))
        return
    t = Table("backend", "model", "price", "read on", "source")
    for row in table:
        t.add_row(escape(row["backend"]), escape(row["model"]), escape(row["price"]), row["checked"],
                  escape(row["source"]))
    out_console.print(t)
    out_console.print("Set price_per_second: on a backend for a model without a price (gateway models, your own "
                      "server) or for a negotiated rate.")
