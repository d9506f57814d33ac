"""`incident-svc campaign`: create, approve, schedule, hold, send and prove notice campaigns."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from incident_svc.cli import campaign_delivery_cmd
from incident_svc.cli.audience_output import AUDIENCE_OPTION, print_audience
from incident_svc.cli.campaign_args import (
    ID_ARG,
    SIGN_WITH_OPTION,
)
from incident_svc.cli.campaign_args import (
    print_campaign as _print_campaign,
)
from incident_svc.cli.campaign_args import (
    run as _run,
)
from incident_svc.cli.output import (
    JSON_OPTION,
    print_json,
    print_table,
)
from incident_svc.cli.params import aware_time
from incident_svc.config import Settings
from incident_svc.config_sources import approval_policy
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import ValidationError
from incident_svc.services.delivery import (
    approvers,
    campaign_views,
    campaigns,
)
from incident_svc.services.delivery.composing import load_default_composer

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
            "matter",
            "kind",
            "status",
            "audience",
            "scheduled_at",
            "hold_until",
            "created_by",
            "approved_by",
        ],
    )


app.command()(campaign_delivery_cmd.status)
app.command("ledger")(campaign_delivery_cmd.ledger_)
app.command()(campaign_delivery_cmd.send)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="campaign")
