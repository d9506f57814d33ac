"""`incident-svc incident affected`: resolve, store and explain who an incident affects."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Adds the `affected` command to the `incident` group (filled in with scope resolution)."""
