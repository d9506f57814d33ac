"""`incident-svc audit`: read, verify and export the tamper-evident audit log."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer

from incident_svc.cli import audit_witness_cmd
from incident_svc.cli.output import JSON_OPTION, console, print_json, print_table
from incident_svc.cli.params import aware_time
from incident_svc.cli.runtime import with_db
from incident_svc.config import Settings
from incident_svc.domain.audit_chain import Link
from incident_svc.services.auditlog import audit
from incident_svc.services.files.export_file import check_target

app = typer.Typer(
    help="Read, verify, checkpoint and export the tamper-evident audit log.", no_args_is_help=True
)


@app.command("log")
def log_(
    ctx: typer.Context,
    incident: str | None = typer.Option(
        None, "--incident", help="Only events about this incident (INC-...)."
    ),
    since: datetime | None = typer.Option(
        None,
        "--since",
        parser=aware_time,
        help="Only events at or after this time (ISO 8601 with offset).",
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many events."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Show audit events, oldest first: who did what, to what, when."""

    async def work(settings: Settings) -> list[Link]:
        return await audit.events(incident_ref=incident, since=since, limit=limit)

    links = with_db(ctx, work)
    if json_output:
        print_json([_as_dict(link) for link in links])
        return
    print_table(
        (
            {
                **link.__dict__,
                "at": link.at[:19] + "Z" if link.at.endswith("Z") else link.at,
                "target": f"{link.target_type}:{link.target_id}",
                "details": _short(link.details),
            }
            for link in links
        ),
        ["seq", "at", "actor", "action", "target", "details"],
    )


def _as_dict(link: Link) -> dict[str, object]:
    data: dict[str, object] = dict(link.__dict__)
    data["details"] = json.loads(link.details)
    return data


def _short(details: str, width: int = 80) -> str:
    return details if len(details) <= width else details[: width - 1] + "…"


app.command("verify")(audit_witness_cmd.verify)
app.command("checkpoint")(audit_witness_cmd.checkpoint)


@app.command()
def export(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Where to write the JSON Lines file."),
    force: bool = typer.Option(False, "--force", help="Replace an existing FILE."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Write the whole chain to FILE as JSON Lines, verifiable elsewhere (see docs/audit.md)."""
    check_target(file, force=force)

    async def work(settings: Settings) -> int:
        return await audit.export(file, force=force)

    written = with_db(ctx, work)
    if json_output:
        print_json({"file": str(file), "events": written})
    else:
        console.print(f"wrote {written} events to {file}", markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")
