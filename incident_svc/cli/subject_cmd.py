"""`incident-svc subject`: one person's data, for an access request or an erasure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from incident_svc.cli.output import JSON_OPTION, console, print_fields, print_json
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain.pseudonym import ref_pseudonym
from incident_svc.services.auditlog import audit, retention_key
from incident_svc.services.files.export_file import export_file
from incident_svc.services.privacy import subjects

app = typer.Typer(
    help="Everything held about one person (access), and erasing them.", no_args_is_help=True
)
REF_ARG = typer.Argument(..., help="The subject's reference (external_ref), e.g. S-1042.")


@app.command("export")
def export_(
    ctx: typer.Context,
    ref: str = REF_ARG,
    out: Path = typer.Option(..., "--out", help="The JSON file to write (mode 0600)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out file."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Write everything held about one person as JSON: inventory row, holdings, exposures,
    notices with their proof and attempts, approved audiences, personal banners.

    Example: incident-svc subject export S-1042 --out s-1042.json
    """
    actor = state(ctx).actor
    subjects.check_ref(ref)

    async def work(settings: Settings) -> dict[str, Any]:
        key = retention_key.require(settings)
        data = await subjects.export(ref, key=key)
        with export_file(out, force=force) as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
            async with write_transaction() as conn:
                await audit.record(
                    conn,
                    actor=actor,
                    action="subject.exported",
                    target_type="subject",
                    target_id=ref_pseudonym(key, ref),
                    details={"notices": len(data["notices"]), "file": out.name},
                    key=hmac_key(settings),
                )
        return data

    data = with_db(ctx, work)
    summary = {"subject": ref, "file": str(out), "notices": len(data["notices"])}
    if json_output:
        print_json(summary)
    else:
        console.print(f"wrote {out}: {summary['notices']} notice(s)", markup=False)


@app.command()
def erase(
    ctx: typer.Context,
    ref: str = REF_ARG,
    reason: str = typer.Option(..., "--reason", help="Why (recorded in the audit log)."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Remove one person from the inventory and pseudonymise their history, keeping the proof
    of every notice sent to them.

    Refused (exit 6, nothing changed, the reason in one line) while something still needs
    them: a campaign approved, scheduled or sending with them in its audience or a notice to
    them pending; an open obligation of an incident they were affected by, for where they
    live (record it met or declined first: `incident-svc incident obligations INC`); a
    disclosure whose notice to them is still held.

    Example: incident-svc subject erase S-1042 --reason "erasure request #881"
    """
    actor = state(ctx).actor

    async def work(settings: Settings) -> dict[str, Any]:
        return await subjects.erase(
            ref,
            reason=reason,
            actor=actor,
            key=retention_key.require(settings),
            audit_key=hmac_key(settings),
            settings=settings,
        )

    result = with_db(ctx, work)
    if json_output:
        print_json(result)
    else:
        print_fields(result)


@app.command()
def leave(
    ctx: typer.Context,
    ref: str = REF_ARG,
    reason: str = typer.Option(..., "--reason", help="Why (recorded in the audit log)."),
    undo: bool = typer.Option(False, "--undo", help="They are in the inventory again."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Mark one person as no longer in the inventory (a former subject). Retention erases
    former subjects `retention.former_subject_days` after they left (default two years), as
    `subject erase` does, unless something still needs them then. Nothing else changes now.

    Example: incident-svc subject leave S-1042 --reason "account closed 2026-11-30"
    """
    actor = state(ctx).actor
    subjects.check_ref(ref)

    async def work(settings: Settings) -> dict[str, Any]:
        return await subjects.leave(
            ref, reason=reason, actor=actor, undo=undo, audit_key=hmac_key(settings)
        )

    result = with_db(ctx, work)
    if json_output:
        print_json(result)
    else:
        print_fields(result)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="subject")
