"""`incident-svc retention`: what the retention policy would change, doing it, and matching
an address to the proof kept about it."""

from __future__ import annotations

from typing import Any

import typer

from incident_svc.cli.output import JSON_OPTION, console, print_json, print_table
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.config import Settings
from incident_svc.services.auditlog import retention_key
from incident_svc.services.privacy import retention, subjects

app = typer.Typer(
    help="Keep personal data no longer than the retention policy says.", no_args_is_help=True
)


_WHAT = {
    "delivery_address": "campaigns ended",
    "recipient_address": "campaigns ended",
    "bounce_report": "reports received",
    "exposure": "incidents closed",
    "former_subject": "people left the inventory",
}


@app.command()
def plan(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
    """Show what `retention run` would change now: rows per kind (delivery and audience
    addresses, bounce reports, exposures, former subjects) and per day (the campaign ended, the
    report was received, the incident closed, the person left). Former subjects that something
    still needs are listed as held, with the reason. Changes nothing."""

    async def work(settings: Settings) -> list[retention.KindPlan]:
        return await retention.plan(settings)

    plans = with_db(ctx, work)
    if json_output:
        print_json([p.as_dict() for p in plans])
        return
    for p in plans:
        console.print(
            f"{p.kind}: {p.rows} row(s) past {p.days} days ({_WHAT[p.kind]} before "
            f"{p.cutoff.date().isoformat()})",
            markup=False,
        )
        if p.by_date:
            print_table(p.by_date, list(p.by_date[0]))
        for held in p.held:
            console.print(f"  held: {held}", markup=False)


@app.command()
def run(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
    """Do what `retention plan` shows: pseudonymise expired addresses, empty old bounce
    reports, move old exposures to pseudonymous rows, erase former subjects. A batch per short
    transaction, each audited (`retention.batch`); a run stopped anywhere is continued by the
    next. Needs the retention key (exit 2 without it)."""
    actor = state(ctx).actor

    async def work(settings: Settings) -> list[retention.RunResult]:
        return await retention.run(
            settings,
            key=retention_key.require(settings),
            audit_key=hmac_key(settings),
            actor=actor,
        )

    results = with_db(ctx, work)
    if json_output:
        print_json([r.as_dict() for r in results])
        return
    for r in results:
        console.print(
            f"{r.kind}: {r.rows} row(s) done in {r.batches} batch(es), {r.seconds:.2f} s; "
            f"longest statement {r.longest_statement_ms:.1f} ms, longest lock "
            f"{r.longest_batch_ms:.1f} ms"
            + (
                f"; {r.cancelled} batch(es) past the lock limit redone smaller"
                if r.cancelled
                else ""
            ),
            markup=False,
        )
        for held in r.held:
            console.print(f"  held: {held}", markup=False)


@app.command()
def match(
    ctx: typer.Context,
    address: str = typer.Option(..., "--address", help="The address a person presents."),
    json_output: bool = JSON_OPTION,
) -> None:
    """The notices, approved audiences and expired exposures kept for an address, in clear or
    pseudonymised (the address is hashed with the retention key, in any case)."""
    subjects.check_address(address)

    async def work(settings: Settings) -> dict[str, Any]:
        return await subjects.match(address, key=retention_key.require(settings))

    found = with_db(ctx, work)
    if json_output:
        print_json(found)
        return
    console.print(f"pseudonym: {found['pseudonym']}", markup=False)
    print_table(
        found["notices"],
        ["campaign_id", "incident", "recipient_ref", "status", "sent_at", "content_hash"],
    )
    console.print(f"approved audiences: {len(found['approved_audiences'])}", markup=False)
    if found["exposures"]:  # expired or erased: the incidents that affected them
        print_table(found["exposures"], ["incident", "jurisdiction", "exposed_at", "expired_at"])


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="retention")
