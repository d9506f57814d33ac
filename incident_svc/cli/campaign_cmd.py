"""`incident-svc campaign`: not built yet (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from incident_svc.cli.placeholders import placeholder


def register(app: typer.Typer) -> None:
    app.add_typer(
        placeholder("Create, approve, schedule and send notice campaigns."), name="campaign"
    )
