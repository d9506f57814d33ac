"""`incident-svc demo`: not built yet (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from incident_svc.cli.placeholders import placeholder_command


def register(app: typer.Typer) -> None:
    app.command(
        "demo",
        help="Run the whole story on embedded defaults (SQLite, local mail sink). (not built yet)",
    )(placeholder_command("demo"))
