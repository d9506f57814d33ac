"""`incident-svc mailsink`: not built yet (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from incident_svc.cli.placeholders import placeholder_command


def register(app: typer.Typer) -> None:
    app.command(
        "mailsink",
        help="Run the development mail sink (aiosmtpd writing a Maildir). (not built yet)",
    )(placeholder_command("mailsink"))
