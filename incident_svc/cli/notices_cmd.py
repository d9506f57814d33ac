"""`incident-svc incident notices`: who was sent which notice about an incident, and how it ended."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from incident_svc.cli.output import JSON_OPTION, console, print_json, print_table
from incident_svc.cli.runtime import with_db
from incident_svc.config import Settings
from incident_svc.services.delivery import notice_history

SHOWN = ("recipient_ref", "kind", "campaign", "channel", "address", "sent_at", "outcome")


def notices_command(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The incident (INC-...)."),
    subject: str | None = typer.Option(
        None, "--subject", help="Only this person's (or account's, for holder notices) notices."
    ),
    export: Path | None = typer.Option(
        None, "--export", dir_okay=False, help="Write every row to this .csv or .jsonl file."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing --export file."),
    limit: int = typer.Option(200, "--limit", min=1, help="Rows to print (the export has all)."),
    json_output: bool = JSON_OPTION,
) -> None:
    """The notice history of an incident: per person and account holder, which notice they
    were sent, when, by which channel, with which content digest (SHA-256 of the bytes sent),
    and how it ended (accepted, bounced, complained, failed, substituted, pending, cancelled).

    Example: incident-svc incident notices INC-2026-0007 --subject S-1042
    """
    if export is not None:
        notice_history.export_format(export)

    async def work(settings: Settings) -> tuple[list[dict[str, Any]], int, int | None]:
        shown: list[dict[str, Any]] = []
        total = 0
        async for row in notice_history.rows(ref, subject_ref=subject):
            total += 1
            if len(shown) < limit:
                shown.append(row)
        written = None
        if export is not None:
            written = await notice_history.export(
                ref, path=export, subject_ref=subject, force=force
            )
        return shown, total, written

    shown, total, written = with_db(ctx, work)
    if json_output:
        print_json(
            {
                "incident": ref,
                "subject": subject,
                "total": total,
                "notices": shown,
                "export": str(export) if export else None,
                "exported": written,
            }
        )
        return
    rows = [{key: _printable(row[key]) for key in SHOWN} for row in shown]
    print_table(rows, SHOWN, title=f"{_printable(ref)}: {total:,} notice(s)")
    if total > len(shown):
        console.print(f"{total - len(shown):,} more: use --export FILE for all", markup=False)
    if export is not None:
        console.print(f"wrote {written:,} notices to {export}", markup=False)


def _printable(value: Any) -> Any:
    """Values from data as one line of visible characters (escapes for the others)."""
    if isinstance(value, str) and not value.isprintable():
        return repr(value)[1:-1]
    return value


def register(app: typer.Typer) -> None:
    """Adds the `notices` command to the `incident` group."""
    app.command("notices")(notices_command)
