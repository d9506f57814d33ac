"""`incident-svc bounces`: ingest returned reports; switch on substitute notice."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from incident_svc.cli.output import JSON_OPTION, console, err_console, print_fields, print_json
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.config import Settings
from incident_svc.services.bounce import bounce_folder, substitute
from incident_svc.services.bounce.bounces import IngestResult

app = typer.Typer(
    help="Delivery status notifications and abuse reports that come back after acceptance.",
    no_args_is_help=True,
)


@app.command()
def ingest(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="A Maildir (with new/ and cur/) or an mbox file."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Read every report in PATH, map each to its delivery, record it and what it changes.

    Idempotent: a report already ingested (same bytes) changes nothing. Each report that
    cannot be used is named on one line of stderr; the others are ingested all the same.
    Bounced people then get their substitute notice (a personal banner).

    Examples:

        incident-svc bounces ingest /var/mail/bounces

        incident-svc bounces ingest returned.mbox --json
    """
    actor = state(ctx).actor

    async def work(settings: Settings) -> dict[str, object]:
        kind = bounce_folder.folder_format(path)
        total = bounce_folder.count(path, kind)
        if json_output:
            found = await bounce_folder.ingest_folder(
                path, settings=settings, actor=actor, progress=_complain
            )
        else:
            found = await _with_bar(path, total, settings, actor)
        summary = found.as_dict()
        summary["substituted"] = len(
            await substitute.publish(settings=settings, key=hmac_key(settings), actor=actor)
        )
        return summary

    summary = with_db(ctx, work)
    if json_output:
        print_json(summary)
    else:
        print_fields(summary)


async def _with_bar(
    path: Path, total: int | None, settings: Settings, actor: str
) -> bounce_folder.FolderSummary:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("reports", total=total)

        def advance(results: list[IngestResult]) -> None:
            _complain(results)
            bar.advance(task, len(results))

        return await bounce_folder.ingest_folder(
            path, settings=settings, actor=actor, progress=advance
        )


def _complain(results: list[IngestResult]) -> None:
    for result in results:
        if result.bad:
            err_console.print(f"{result.source}: {result.status}: {result.reason}", markup=False)


@app.command("substitute")
def substitute_cmd(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
    """Switch on the personal banner of everyone whose notice bounced or never reached them.

    `bounces ingest` does this after every run; run it after a campaign ends to cover the
    notices that failed at the relay.
    """
    actor = state(ctx).actor

    async def work(settings: Settings) -> list[int]:
        return await substitute.publish(settings=settings, key=hmac_key(settings), actor=actor)

    created = with_db(ctx, work)
    if json_output:
        print_json({"banners": created})
    else:
        console.print(f"{len(created)} personal banner(s) switched on", markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bounces")
