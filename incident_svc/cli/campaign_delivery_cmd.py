"""`campaign status`, `campaign ledger` and `campaign send`: follow and drive delivery."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from incident_svc.cli.campaign_args import (
    FINISHED,
    ID_ARG,
    run,
)
from incident_svc.cli.output import (
    JSON_OPTION,
    console,
    err_console,
    print_fields,
    print_json,
    print_table,
)
from incident_svc.config import Settings
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.models import Campaign
from incident_svc.runtime import wiring
from incident_svc.services.delivery import (
    campaign_start,
    campaign_views,
    ledger,
)
from incident_svc.services.delivery.outbox import BatchSummary
from incident_svc.services.relay.relay_state import relay_name


def status(
    ctx: typer.Context,
    campaign_id: int = ID_ARG,
    watch: bool = typer.Option(
        False, "--watch", help="Keep a live progress bar until the campaign ends."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Counts by state, send rate, time left and the latest failures.

    Example: incident-svc campaign status 3 --watch
    """
    if watch and not json_output:
        _watch(ctx, campaign_id)

    async def work(settings: Settings, actor: str, key: bytes | None) -> dict[str, Any]:
        return await campaign_views.status(
            campaign_id, relay=relay_name(settings.smtp), rate_limit=settings.smtp.rate_limit
        )

    data = run(ctx, work)
    if json_output:
        print_json(data)
        return
    hidden = {"counts", "latest_failures", "relay_down_since", "relay_next_probe_at"}
    print_fields({k: v for k, v in data.items() if k not in hidden})
    print_table(
        [{"state": k, "deliveries": v} for k, v in data["counts"].items()], ["state", "deliveries"]
    )
    if data["latest_failures"]:
        print_table(
            data["latest_failures"],
            ["at", "address", "number", "outcome", "code", "reply"],
            title="latest failures",
        )


def _watch(ctx: typer.Context, campaign_id: int) -> None:
    async def work(settings: Settings, actor: str, key: bytes | None) -> None:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(f"campaign {campaign_id}", total=None)
            while True:
                data = await campaign_views.status(
                    campaign_id,
                    relay=relay_name(settings.smtp),
                    rate_limit=settings.smtp.rate_limit,
                )
                done = sum(data["counts"][s] for s in ("sent", "failed", "cancelled"))
                relay = "" if data["relay"] == "up" else f" ({printable(data['relay'])})"
                bar.update(
                    task,
                    total=data["total"] or None,
                    completed=done,
                    description=f"campaign {campaign_id} {data['status'].value} {data['rate_per_second']}/s{relay}",
                )
                if data["status"] in FINISHED:
                    return
                await asyncio.sleep(1.0)

    run(ctx, work)


def ledger_(
    ctx: typer.Context,
    campaign_id: int = ID_ARG,
    export: Path = typer.Option(..., "--export", help="File to write (.csv or .jsonl)."),
    fmt: str | None = typer.Option(
        None, "--format", help="csv or jsonl (default: from the file name)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing --export file."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Export the proof-of-dispatch ledger: per delivery the address, time, server reply,
    Message-ID, SHA-256 of the bytes sent, attempts and why it was sent.

    Example: incident-svc campaign ledger 3 --export proof.csv
    """

    async def work(settings: Settings, actor: str, key: bytes | None) -> int:
        return await ledger.export(campaign_id=campaign_id, path=export, fmt=fmt, force=force)

    written = run(ctx, work)
    if json_output:
        print_json({"campaign": campaign_id, "file": str(export), "rows": written})
    else:
        console.print(f"wrote {written} ledger rows to {export}", markup=False)


def send(
    ctx: typer.Context,
    campaign_id: int = ID_ARG,
    now: bool = typer.Option(False, "--now", help="Required: send in the foreground, now."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Send a campaign in the foreground and return when every delivery is sent or has failed
    for good, waiting for retries as they come due. Safe to interrupt and run again: nothing
    is lost, and nobody is sent the notice twice (see docs/delivery.md).

    Example: incident-svc campaign send 3 --now
    """
    if not now:
        raise typer.BadParameter(
            "say --now to send in the foreground (the service sends scheduled campaigns)"
        )

    async def work(settings: Settings, actor: str, key: bytes | None) -> dict[str, int]:
        async with wiring.smtp_pool(settings) as pool:
            if json_output or not sys.stdout.isatty():
                return await campaign_start.send_now(
                    campaign_id=campaign_id,
                    settings=settings,
                    pool=pool,
                    actor=actor,
                    key=key,
                    notify=_say,
                )
            return await _send_with_bar(campaign_id, settings, pool, actor, key)

    counts = run(ctx, work)
    if json_output:
        print_json({"campaign": campaign_id, "counts": counts})
    else:
        console.print(
            f"campaign {campaign_id}: {counts['sent']} sent, {counts['failed']} failed, "
            f"{counts['cancelled']} cancelled",
            markup=False,
        )


async def _send_with_bar(
    campaign_id: int, settings: Settings, pool: SmtpPool, actor: str, key: bytes | None
) -> dict[str, int]:
    campaign = await Campaign.get(id=campaign_id)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"campaign {campaign_id}", total=campaign.audience_count or None)

        def advance(summary: BatchSummary) -> None:
            bar.advance(task, summary.sent + summary.failed)

        def say(line: str) -> None:
            bar.console.print(printable(line), markup=False, highlight=False)

        return await campaign_start.send_now(
            campaign_id=campaign_id,
            settings=settings,
            pool=pool,
            actor=actor,
            key=key,
            progress=advance,
            notify=say,
        )


def _say(line: str) -> None:
    """What `send --now` is waiting for, on stderr (stdout stays the result)."""
    err_console.print(printable(line), markup=False, highlight=False)


def printable(text: str) -> str:
    """Text from outside (a relay's reply) with control characters made visible."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
