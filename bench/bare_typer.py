#!/usr/bin/env python3
"""The start-up baseline of issue 2: a bare Typer app with one command.

    python bench/bare_typer.py [--name NAME]

Typer's defaults, no imports of our own: what any Typer CLI pays before it
does anything.  bench/run.py times ``crm --version`` and ``crm client add``
side by side with it.
"""
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world"):
    """Say hello."""
    print(f"hello {name}")


if __name__ == "__main__":
    app()
