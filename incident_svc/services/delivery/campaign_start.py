"""Starting campaigns: the approval gate, the delivery plan, and the foreground send.

Starting a campaign checks, in one transaction with the status change: that approval was
given where the policy in force at creation or now requires it; that nothing its approval
covers has changed (else the campaign goes back to draft, services.delivery.approval_gate); then plans
its deliveries from the frozen audience (services.delivery.outbox.plan). A campaign is either not
started or started with all its rows. Where the settings do not require approval, the start
is audited as such, naming where that setting came from.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.config_sources import setting_source
from incident_svc.db import STATEMENT_ERRORS, write_transaction
from incident_svc.domain import send_reasons
from incident_svc.domain.enums import CampaignStatus
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, DatabaseUnavailableError, IncidentSvcError
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.models import Campaign
from incident_svc.rawsql import placeholders, query
from incident_svc.services.delivery import (
    approval_gate,
    approval_snapshot,
    campaigns,
    dispatcher,
    outbox,
)

log = logging.getLogger(__name__)
START_ERRORS: tuple[type[Exception], ...] = (IncidentSvcError, *STATEMENT_ERRORS)
UNAPPROVED = "approval is required now and the campaign was scheduled without one"


def check_startable(campaign: Campaign, *, now: datetime, approval_required: bool) -> None:
    """Raise ConflictError unless the campaign may start sending at ``now``."""
    if campaign.status is CampaignStatus.DRAFT and approval_required:
        raise ConflictError(f"campaign {campaign.id} is not approved yet: run `campaign approve`")
    if campaign.status in campaigns.FINAL:
        raise ConflictError(f"campaign {campaign.id} is {campaign.status.value}")
    refuse_if_held(campaign, now)


def refuse_if_held(campaign: Campaign, now: datetime) -> None:
    """ConflictError naming the hold and its reason while ``campaign`` is on hold."""
    if campaign.hold_until is not None and campaign.hold_until > now:
        raise ConflictError(
            f"campaign {campaign.id} is on hold until {campaign.hold_until.isoformat()}: "
            f"{campaign.hold_reason} (`campaign release {campaign.id}` lifts it)"
        )


async def start(
    *, campaign_id: int, now: datetime, actor: str, key: bytes | None, settings: Settings
) -> bool:
    """Plan the deliveries and switch to sending; False when someone else started it first.

    Raises ConflictError when the campaign may not start; when what its approval covers has
    changed, the campaign is back to draft (committed) before the error is raised.
    """
    async with write_transaction() as conn:
        campaign = await campaigns.locked(conn, campaign_id)
        if campaign.status is CampaignStatus.SENDING:
            return False
        required = campaigns.approval_in_force(campaign, settings)
        check_startable(campaign, now=now, approval_required=required)
        change: str | None
        if required and campaign.approved_at is None:  # scheduled while approval was off
            change = UNAPPROVED
        elif campaign.approval_snapshot is None:  # a draft started where approval is not needed
            await approval_snapshot.freeze(conn, campaign, settings)
            await campaign.save(
                using_db=conn,
                update_fields=["approval_snapshot", "approval_digest", "template_hash"],
            )
            change = None
        else:
            change = await approval_snapshot.changes_before_start(conn, campaign, settings)
        if change is not None:
            await approval_gate.return_to_draft(conn, campaign, change, actor=actor, key=key)
        elif not await _start(conn, campaign, now=now, actor=actor, key=key, settings=settings):
            return False
    if change == UNAPPROVED:
        raise ConflictError(
            f"campaign {campaign_id} not started: it was scheduled while approval was off and "
            f"approval is required now; it is a draft again: run `campaign approve {campaign_id}`"
        )
    if change is not None:
        raise approval_gate.refusal(campaign_id, change)
    return True


async def _start(
    conn: BaseDBAsyncClient,
    campaign: Campaign,
    *,
    now: datetime,
    actor: str,
    key: bytes | None,
    settings: Settings,
) -> bool:
    claimed = await query(
        conn,
        "UPDATE campaign SET status = 'sending', started_at = ?, updated_at = ? "
        "WHERE id = ? AND status IN ('draft', 'approved', 'scheduled') RETURNING id",
        [now, now, campaign.id],
    )
    if not claimed:
        return False
    planned = {
        channel: await outbox.plan(
            conn,
            campaign_id=campaign.id,
            channel=channel,
            now=now,
            reasons=send_reasons.for_kind(str(campaign.kind)),
        )
        for channel in campaign.channels
    }
    await conn.execute_query(
        placeholders("UPDATE campaign SET audience_count = ? WHERE id = ?", conn),
        [sum(planned.values()), campaign.id],
    )
    if not settings.approval.required:
        await campaigns.audit_event(conn, campaign, actor, key, "campaign.approval_not_required", {
            "settings_source": setting_source(settings, "approval.required"),
            "created_under": {
                "required": campaign.approval_required,
                "source": campaign.approval_source,
            },
            "approved_by": campaign.approved_by,
        })  # fmt: skip
    lateness = (now - campaign.scheduled_at).total_seconds() if campaign.scheduled_at else 0.0
    await campaigns.audit_event(conn, campaign, actor, key, "campaign.started", {
        "deliveries": planned,
        "approval_digest": campaign.approval_digest,
        "scheduled_at": campaign.scheduled_at.isoformat() if campaign.scheduled_at else None,
        "lateness_seconds": round(max(lateness, 0.0), 3),
    })  # fmt: skip
    return True


async def start_due(
    *, now: datetime, actor: str, settings: Settings, key: bytes | None = None
) -> list[int]:
    """Start every approved campaign whose time has come and whose hold has expired.

    Idempotent and safe with several processes: the status change is a conditional UPDATE,
    so exactly one process starts each campaign; the others see it already sending.
    Each campaign starts on its own: one that cannot start (changed meanwhile, refused by the
    database) is logged and left due, so the next pass tries it again, and it never keeps
    the campaigns after it from starting. One whose approved content changed goes back to
    draft, and is not tried again until it is approved again.
    """
    due = await Campaign.filter(
        status__in=list(campaigns.STARTABLE), scheduled_at__lte=now
    ).order_by("id")
    started = []
    for campaign in due:
        if campaign.hold_until is not None and campaign.hold_until > now:
            continue
        try:
            if await start(
                campaign_id=campaign.id, now=now, actor=actor, key=key, settings=settings
            ):
                started.append(campaign.id)
        except ConflictError as exc:  # held, cancelled, started or changed since it was read
            log.info("campaign %s not started: %s", campaign.id, exc)
        except START_ERRORS:
            log.exception("campaign %s could not be started; it is tried again later", campaign.id)
    return started


async def send_now(
    *,
    campaign_id: int,
    settings: Settings,
    pool: SmtpPool,
    actor: str,
    progress: Any = None,
    key: bytes | None = None,
    loader: Any = None,
    worker_id: str | None = None,
    notify: Any = None,
) -> dict[str, int]:
    """Start the campaign if needed and send it in the foreground until every delivery is final.

    Retries are waited for as they come due. Returns the final counts by status. ``notify``
    hears one line about each wait (a relay outage, a database fault, the first failure).
    """
    campaign = await campaigns.get(campaign_id)
    if campaign.status is CampaignStatus.CANCELLED:
        raise ConflictError(f"campaign {campaign_id} is cancelled")
    refuse_if_held(campaign, utcnow())  # at once, not after waiting out the hold
    if campaign.status not in (CampaignStatus.SENDING, CampaignStatus.COMPLETED):
        await start(campaign_id=campaign_id, now=utcnow(), actor=actor, key=key, settings=settings)
    try:
        await dispatcher.drain(
            campaign_id=campaign_id,
            settings=settings,
            pool=pool,
            worker_id=worker_id or f"send-now:{os.getpid()}",
            actor=actor,
            key=key,
            loader=loader,
            progress=progress,
            notify=notify,
        )
        return await campaigns.delivery_counts(campaign_id)
    except DatabaseUnavailableError as exc:
        raise DatabaseUnavailableError(
            f"{exc}; nothing was lost: run `incident-svc campaign send {campaign_id} --now` "
            "again when the database answers, it continues where it stopped"
        ) from None
