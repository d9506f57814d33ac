"""`incident-svc campaign`: create, approve, schedule, hold, send and prove notice campaigns."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from incident_svc.cli.audience_output import AUDIENCE_OPTION, print_audience
from incident_svc.cli.output import (
    JSON_OPTION,
    console,
    err_console,
    print_fields,
    print_json,
    print_table,
)
from incident_svc.cli.params import aware_time
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.config import Settings
from incident_svc.config_sources import approval_policy
from incident_svc.domain.enums import CampaignStatus, NoticeKind
from incident_svc.errors import ValidationError
from incident_svc.models import Campaign
from incident_svc.services import approvers, campaign_start, campaign_views, campaigns, ledger
from incident_svc.services.composing import load_default_composer
from incident_svc.services.outbox import BatchSummary
from incident_svc.services.relay_state import relay_name

T = TypeVar("T")

app = typer.Typer(
    help=(
        "Notice campaigns: create a draft for an incident, approve it (four eyes), schedule or "
        "hold it, send it, watch it, and export the proof-of-dispatch ledger.\n\n"
        "Typical run:\n\n"
        "  incident-svc campaign create INC-2026-0007 --kind subject_notice --json\n\n"
        "  incident-svc campaign approve 3 --sign-with ~/.ssh/id_ed25519\n\n"
        "  incident-svc campaign schedule 3 --at 2026-11-28T09:00:00+08:00\n\n"
        "  incident-svc campaign status 3 --watch\n\n"
        "  incident-svc campaign ledger 3 --export proof.csv"
    ),
    no_args_is_help=True,
)

ID_ARG = typer.Argument(
    ..., help="The campaign's id (from `campaign create --json` or `campaign list`)."
)
FINISHED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)
SIGN_WITH_OPTION = typer.Option(
    None,
    "--sign-with",
    dir_okay=False,
    help="Sign with this SSH key (private key, or public key of one in ssh-agent) through "
    "ssh-keygen -Y sign; needed when approval.mode is signed.",
)


def _run(ctx: typer.Context, work: Callable[[Settings, str, bytes | None], Awaitable[T]]) -> T:
    actor = state(ctx).actor

    async def call(settings: Settings) -> T:
        return await work(settings, actor, hmac_key(settings))

    return with_db(ctx, call)


def _print_campaign(data: dict[str, Any], json_output: bool, headline: str | None = None) -> None:
    if json_output:
        print_json(data)
        return
    if headline:
        console.print(headline, markup=False)
    print_fields(
        {k: v for k, v in data.items() if k not in ("audience_groups", "audience_by_rule")}
    )


async def _template_hash(incident_id: int, kind: str, settings: Settings) -> str | None:
    """The content hash of the templates the campaign will use, recorded for its approvers."""
    if kind not in {k.value for k in campaigns.SENDABLE_KINDS}:
        return None  # campaigns.create names the problem
    composer = await load_default_composer(incident_id, NoticeKind(kind), settings)
    return composer.template_hash


@app.command()
def create(
    ctx: typer.Context,
    incident: str = typer.Argument(..., help="The incident reference, e.g. INC-2026-0007."),
    kind: str = typer.Option(
        ...,
        "--kind",
        help="subject_notice (each affected person), update_notice (what is new, to people "
        "told before) or account_holder_notice.",
    ),
    audience: str | None = AUDIENCE_OPTION,
    at: datetime | None = typer.Option(
        None,
        "--at",
        parser=aware_time,
        help="When to start (ISO 8601 with offset); set later with schedule.",
    ),
    channels: str = typer.Option("email", "--channels", help="Comma-separated channels (email)."),
    sign_with: Path | None = SIGN_WITH_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Create a draft campaign for the incident's current affected list, or the part of it
    --audience names; prints how many people are in each group before anyone approves.

    Example: incident-svc campaign create INC-2026-0007 --kind subject_notice --json
    """

    async def work(settings: Settings, actor: str, key: bytes | None) -> dict[str, Any]:
        from incident_svc.models import Incident

        if settings.approval.mode == "signed" and sign_with is None:
            raise ValidationError(
                'approval.mode is "signed": the creator signs too; give --sign-with KEY',
                field="--sign-with",
            )
        found = await Incident.get_or_none(ref=incident)
        template_hash = await _template_hash(found.id, kind, settings) if found else None
        signed = None
        if sign_with is not None:
            text = approvers.new_creation_text(incident, kind)
            signed = (text, await approvers.sign(text, sign_with))
        campaign = await campaigns.create(
            incident_ref=incident,
            kind=kind,
            channels=[c.strip() for c in channels.split(",") if c.strip()],
            at=at,
            actor=actor,
            key=key,
            template_hash=template_hash,
            approval=approval_policy(settings),
            signed=signed,
            settings=settings,
            audience=audience,
        )
        return await campaign_views.show(campaign.id)

    data = _run(ctx, work)
    _print_campaign(data, json_output, f"created campaign {data['id']} (draft)")
    if not json_output:
        print_audience(data)


@app.command()
def approve(
    ctx: typer.Context,
    campaign_id: int = ID_ARG,
    signature: Path | None = typer.Option(
        None,
        "--signature",
        dir_okay=False,
        help="An SSH signature of `campaign approval-text ID`, made with "
        "ssh-keygen -Y sign -n incident-svc-approval.",
    ),
    sign_with: Path | None = SIGN_WITH_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Approve a draft. With approval.required (the default) the approver must be another
    person than its creator: another database role or OS account, or in signed mode (or when
    signing) another SSH key's principal. --actor is only a label.

    Example: incident-svc campaign approve 3 --sign-with ~/.ssh/id_ed25519
    """
    if signature is not None and sign_with is not None:
        raise typer.BadParameter("give --signature or --sign-with, not both")

    async def work(settings: Settings, actor: str, key: bytes | None) -> dict[str, Any]:
        proof = approvers.read_signature(signature) if signature is not None else None
        if sign_with is not None:
            proof = await approvers.sign(
                await approvers.text_to_sign(campaign_id, settings), sign_with
            )
        await campaigns.approve(
            campaign_id=campaign_id, actor=actor, key=key, settings=settings, signature=proof
        )
        return await campaign_views.show(campaign_id)

    _print_campaign(_run(ctx, work), json_output, f"campaign {campaign_id} approved")


@app.command("approval-text")
def approval_text(ctx: typer.Context, campaign_id: int = ID_ARG) -> None:
    """Print the exact text an approver signs (the campaign and its approval digest).

    Example: incident-svc campaign approval-text 3 > approve-3.txt &&
    ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n incident-svc-approval approve-3.txt &&
    incident-svc campaign approve 3 --signature approve-3.txt.sig
    """

    async def work(settings: Settings, actor: str, key: bytes | None) -> str:
        return await approvers.text_to_sign(campaign_id, settings)

    sys.stdout.write(_run(ctx, work))


@app.command()
def schedule(
    ctx: typer.Context,
    campaign_id: int = ID_ARG,
    at: datetime | None = typer.Option(
        None, "--at", parser=aware_time, help="Start time (ISO 8601 with offset); default now."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Schedule an approved campaign; `incident-svc serve` starts it when the time comes.

    Example: incident-svc campaign schedule 3 --at 2026-11-28T09:00:00+08:00
    """

    async def work(settings: Settings, actor: str, key: bytes | None) -> dict[str, Any]:
        await campaigns.schedule(
            campaign_id=campaign_id, at=at, actor=actor, key=key, settings=settings
        )
        return await campaign_views.show(campaign_id)

    _print_campaign(_run(ctx, work), json_output, f"campaign {campaign_id} scheduled")


@app.command()
def hold(
    ctx: typer.Context,
    campaign_id: int = ID_ARG,
    until: datetime = typer.Option(
        ..., "--until", parser=aware_time, help="Hold until (ISO 8601 with offset)."
    ),
    reason: str = typer.Option(
        ..., "--reason", help="Why, for the audit log (e.g. a police request)."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Delay a campaign, also one already sending, until a time, for a stated reason.

    Example: incident-svc campaign hold 3 --until 2026-12-01T00:00:00Z --reason "police request #123"
    """

    async def work(settings: Settings, actor: str, key: bytes | None) -> dict[str, Any]:
        await campaigns.hold(
            campaign_id=campaign_id, until=until, reason=reason, actor=actor, key=key
        )
        return await campaign_views.show(campaign_id)

    _print_campaign(_run(ctx, work), json_output, f"campaign {campaign_id} on hold")


@app.command()
def release(ctx: typer.Context, campaign_id: int = ID_ARG, json_output: bool = JSON_OPTION) -> None:
    """Lift a hold now.  Example: incident-svc campaign release 3"""

    async def work(settings: Settings, actor: str, key: bytes | None) -> dict[str, Any]:
        await campaigns.release(campaign_id=campaign_id, actor=actor, key=key)
        return await campaign_views.show(campaign_id)

    _print_campaign(_run(ctx, work), json_output, f"campaign {campaign_id} released")


@app.command()
def cancel(ctx: typer.Context, campaign_id: int = ID_ARG, json_output: bool = JSON_OPTION) -> None:
    """Stop a campaign for good; what was sent keeps its proof.  Example: incident-svc campaign cancel 3"""

    async def work(settings: Settings, actor: str, key: bytes | None) -> dict[str, Any]:
        await campaigns.cancel(campaign_id=campaign_id, actor=actor, key=key)
        return await campaign_views.show(campaign_id)

    _print_campaign(_run(ctx, work), json_output, f"campaign {campaign_id} cancelled")


@app.command()
def show(ctx: typer.Context, campaign_id: int = ID_ARG, json_output: bool = JSON_OPTION) -> None:
    """Everything about one campaign, with its deliveries by state.  Example: incident-svc campaign show 3"""

    async def work(settings: Settings, actor: str, key: bytes | None) -> dict[str, Any]:
        return await campaign_views.show(campaign_id)

    _print_campaign(_run(ctx, work), json_output)


@app.command("list")
def list_(
    ctx: typer.Context,
    incident: str | None = typer.Option(None, "--incident", help="Only this incident's campaigns."),
    json_output: bool = JSON_OPTION,
) -> None:
    """All campaigns, oldest first.  Example: incident-svc campaign list --incident INC-2026-0007"""

    async def work(settings: Settings, actor: str, key: bytes | None) -> list[dict[str, Any]]:
        return await campaign_views.list_campaigns(incident_ref=incident)

    found = _run(ctx, work)
    if json_output:
        print_json(found)
        return
    print_table(
        found,
        [
            "id",
            "incident",
            "kind",
            "status",
            "audience",
            "scheduled_at",
            "hold_until",
            "created_by",
            "approved_by",
        ],
    )


@app.command()
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
        return await campaign_views.status(campaign_id, relay=relay_name(settings.smtp))

    data = _run(ctx, work)
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
                data = await campaign_views.status(campaign_id, relay=relay_name(settings.smtp))
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

    _run(ctx, work)


@app.command("ledger")
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

    written = _run(ctx, work)
    if json_output:
        print_json({"campaign": campaign_id, "file": str(export), "rows": written})
    else:
        console.print(f"wrote {written} ledger rows to {export}", markup=False)


@app.command()
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
        if json_output or not sys.stdout.isatty():
            return await campaign_start.send_now(
                campaign_id=campaign_id, settings=settings, actor=actor, key=key, notify=_say
            )
        return await _send_with_bar(campaign_id, settings, actor, key)

    counts = _run(ctx, work)
    if json_output:
        print_json({"campaign": campaign_id, "counts": counts})
    else:
        console.print(
            f"campaign {campaign_id}: {counts['sent']} sent, {counts['failed']} failed, "
            f"{counts['cancelled']} cancelled",
            markup=False,
        )


async def _send_with_bar(
    campaign_id: int, settings: Settings, actor: str, key: bytes | None
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


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="campaign")
