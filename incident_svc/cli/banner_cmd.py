"""`incident-svc banner`: not built yet (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from incident_svc.cli.placeholders import placeholder


def register(app: typer.Typer) -> None:
    app.add_typer(
        placeholder("Publish, list and withdraw website banners; mint feed tokens."), name="banner"
    )
