"""`incident-svc accounts / subjects / holdings`: not built yet (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from incident_svc.cli.placeholders import placeholder


def register(app: typer.Typer) -> None:
    app.add_typer(placeholder("Import customer organisations (accounts)."), name="accounts")
    app.add_typer(placeholder("Import the people whose data we hold."), name="subjects")
    app.add_typer(
        placeholder("Import which systems hold which categories of each person's data."),
        name="holdings",
    )
