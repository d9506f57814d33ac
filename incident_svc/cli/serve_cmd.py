"""`incident-svc serve`: not built yet (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from incident_svc.cli.placeholders import placeholder_command


def register(app: typer.Typer) -> None:
    app.command(
        "serve", help="Run the service: scheduler, dispatcher and banner feed. (not built yet)"
    )(placeholder_command("serve"))
