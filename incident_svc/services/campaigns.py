"""Campaigns: create, approve, schedule, hold, release, cancel, start, complete, and read.

Every change is written with its audit event in one transaction. Starting a campaign plans
its deliveries (:func:`incident_svc.services.outbox.plan`) in the same transaction as the
status change, so a campaign is either not started or started with all its rows.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.db import STATEMENT_ERRORS, write_transaction
from incident_svc.domain.enums import CampaignStatus, Channel, DeliveryStatus, NoticeKind
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, IncidentSvcError, NotFoundError, ValidationError
from incident_svc.models import Campaign, Exposure, Incident
from incident_svc.services import audit, outbox
from incident_svc.services.sqltext import placeholders, query

log = logging.getLogger(__name__)
SENDABLE_KINDS = (NoticeKind.SUBJECT_NOTICE, NoticeKind.ACCOUNT_HOLDER_NOTICE)
STARTABLE = (CampaignStatus.APPROVED, CampaignStatus.SCHEDULED)
FINAL = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)
START_ERRORS: tuple[type[Exception], ...] = (IncidentSvcError, *STATEMENT_ERRORS)


async def get(campaign_id: int) -> Campaign:
    campaign = await Campaign.get_or_none(id=campaign_id).prefetch_related("incident")
    if campaign is None:
        raise NotFoundError(f"campaign {campaign_id} does not exist")
    return campaign


def _check_kind_and_channels(kind: str, channels: Sequence[str]) -> tuple[NoticeKind, list[str]]:
    if kind not in {k.value for k in SENDABLE_KINDS}:
        allowed = ", ".join(k.value for k in SENDABLE_KINDS)
        raise ValidationError(
            f"{kind!r} is not a campaign kind; use one of {allowed}", field="kind"
        )
    known = {c.value for c in Channel}
    unknown = [c for c in channels if c not in known]
    if unknown or not channels:
        raise ValidationError(
            f"channels must be some of {', '.join(sorted(known))} (got {', '.join(channels) or 'none'})",
            field="channels",
        )
    return NoticeKind(kind), sorted(set(channels))


async def _audience(incident: Incident, kind: NoticeKind) -> int:
    exposures = Exposure.filter(incident_id=incident.id)
    if kind is NoticeKind.ACCOUNT_HOLDER_NOTICE:
        ids = (
            await exposures.filter(subject__account_id__not_isnull=True)
            .distinct()
            .values_list("subject__account_id", flat=True)
        )
        return len(set(ids))
    return await exposures.count()


async def create(
    *,
    incident_ref: str,
    kind: str,
    channels: Sequence[str] = ("email",),
    at: datetime | None,
    actor: str,
    key: bytes | None,
    template_hash: str | None = None,
) -> Campaign:
    """A draft campaign for the incident's current exposures (or their account holders)."""
    notice_kind, channel_list = _check_kind_and_channels(kind, channels)
    incident = await Incident.get_or_none(ref=incident_ref)
    if incident is None:
        raise NotFoundError(f"incident {incident_ref} does not exist")
    audience = await _audience(incident, notice_kind)
    async with write_transaction() as conn:
        campaign = await Campaign.create(
            using_db=conn,
            incident=incident,
            kind=notice_kind,
            channels=channel_list,
            template_hash=template_hash,
            audience_count=audience,
            scheduled_at=at,
            created_by=actor,
        )
        await _audit(
            conn,
            campaign,
            incident.ref,
            actor,
            key,
            "campaign.created",
            {
                "kind": notice_kind.value,
                "channels": channel_list,
                "audience": audience,
                "scheduled_at": at.isoformat() if at else None,
                "template_hash": template_hash,
            },
        )
    return campaign


async def _audit(
    conn: BaseDBAsyncClient,
    campaign: Campaign,
    incident_ref: str,
    actor: str,
    key: bytes | None,
    action: str,
    details: dict[str, Any],
) -> None:
    await audit.record(
        conn,
        actor=actor,
        action=action,
        target_type="campaign",
        target_id=campaign.id,
        details={"incident": incident_ref, "campaign": campaign.id, **details},
        key=key,
    )


async def _locked(conn: BaseDBAsyncClient, campaign_id: int) -> Campaign:
    """Re-read the campaign inside a write transaction (row-locked on PostgreSQL)."""
    campaign = (
        await Campaign.filter(id=campaign_id)
        .using_db(conn)
        .select_for_update()
        .prefetch_related("incident")
        .first()
    )
    if campaign is None:
        raise NotFoundError(f"campaign {campaign_id} does not exist")
    return campaign


def _require(campaign: Campaign, allowed: Sequence[CampaignStatus], verb: str) -> None:
    if campaign.status not in allowed:
        raise ConflictError(
            f"campaign {campaign.id} is {campaign.status.value}; only a "
            f"{' or '.join(s.value for s in allowed)} campaign can be {verb}"
        )


async def approve(
    *, campaign_id: int, actor: str, key: bytes | None, settings: Settings
) -> Campaign:
    """Approve a draft; with four-eyes approval on, the approver must not be the creator."""
    async with write_transaction() as conn:
        campaign = await _locked(conn, campaign_id)
        _require(campaign, [CampaignStatus.DRAFT], "approved")
        if settings.approval.required and actor == campaign.created_by:
            raise ConflictError(
                f"campaign {campaign_id} was created by {actor}; four-eyes approval needs "
                "a different person to approve it"
            )
        campaign.status = CampaignStatus.APPROVED
        campaign.approved_by = actor
        campaign.approved_at = utcnow()
        await campaign.save(using_db=conn)
        await _audit(
            conn,
            campaign,
            campaign.incident.ref,
            actor,
            key,
            "campaign.approved",
            {
                "four_eyes": settings.approval.required,
                "template_hash": campaign.template_hash,
            },
        )
    return campaign


async def schedule(
    *, campaign_id: int, at: datetime | None, actor: str, key: bytes | None, settings: Settings
) -> Campaign:
    """Set when an approved campaign starts (now when ``at`` is None)."""
    async with write_transaction() as conn:
        campaign = await _locked(conn, campaign_id)
        allowed = [*STARTABLE] if settings.approval.required else [CampaignStatus.DRAFT, *STARTABLE]
        if campaign.status is CampaignStatus.DRAFT and settings.approval.required:
            raise ConflictError(
                f"campaign {campaign_id} is not approved yet: run `campaign approve`"
            )
        _require(campaign, allowed, "scheduled")
        campaign.status = CampaignStatus.SCHEDULED
        campaign.scheduled_at = at or utcnow()
        await campaign.save(using_db=conn)
        await _audit(
            conn,
            campaign,
            campaign.incident.ref,
            actor,
            key,
            "campaign.scheduled",
            {
                "scheduled_at": campaign.scheduled_at.isoformat(),
            },
        )
    return campaign


async def hold(
    *, campaign_id: int, until: datetime, reason: str, actor: str, key: bytes | None
) -> Campaign:
    """Delay a campaign (also one that is sending) until ``until``, for a stated reason."""
    if not reason.strip():
        raise ValidationError(
            "a hold needs a reason (for example a law-enforcement request)", field="reason"
        )
    if until <= utcnow():
        raise ValidationError(f"--until {until.isoformat()} is not in the future", field="until")
    async with write_transaction() as conn:
        campaign = await _locked(conn, campaign_id)
        _require(campaign, [s for s in CampaignStatus if s not in FINAL], "held")
        campaign.hold_until = until
        campaign.hold_reason = reason.strip()
        await campaign.save(using_db=conn)
        await _audit(
            conn,
            campaign,
            campaign.incident.ref,
            actor,
            key,
            "campaign.held",
            {
                "until": until.isoformat(),
                "reason": campaign.hold_reason,
            },
        )
    return campaign


async def release(*, campaign_id: int, actor: str, key: bytes | None) -> Campaign:
    """Lift a hold now."""
    async with write_transaction() as conn:
        campaign = await _locked(conn, campaign_id)
        if campaign.hold_until is None:
            raise ConflictError(f"campaign {campaign_id} is not on hold")
        previous = {"until": campaign.hold_until.isoformat(), "reason": campaign.hold_reason}
        campaign.hold_until = None
        campaign.hold_reason = None  # type: ignore[assignment]
        await campaign.save(using_db=conn)
        await _audit(
            conn,
            campaign,
            campaign.incident.ref,
            actor,
            key,
            "campaign.released",
            {
                "hold": previous,
            },
        )
    return campaign


async def cancel(*, campaign_id: int, actor: str, key: bytes | None) -> Campaign:
    """Stop a campaign: nothing more is sent; deliveries already sent keep their proof."""
    async with write_transaction() as conn:
        campaign = await _locked(conn, campaign_id)
        _require(campaign, [s for s in CampaignStatus if s not in FINAL], "cancelled")
        rows = await query(
            conn,
            "UPDATE delivery SET status = ?, updated_at = ? "
            "WHERE campaign_id = ? AND status = 'pending' RETURNING id",
            [DeliveryStatus.CANCELLED.value, utcnow(), campaign_id],
        )
        campaign.status = CampaignStatus.CANCELLED
        campaign.finished_at = utcnow()
        await campaign.save(using_db=conn)
        await _audit(
            conn,
            campaign,
            campaign.incident.ref,
            actor,
            key,
            "campaign.cancelled",
            {
                "deliveries_cancelled": len(rows),
            },
        )
    return campaign


def check_startable(campaign: Campaign, *, now: datetime, settings_approval: bool) -> None:
    """Raise ConflictError unless the campaign may start sending at ``now``."""
    if campaign.status is CampaignStatus.DRAFT and settings_approval:
        raise ConflictError(f"campaign {campaign.id} is not approved yet: run `campaign approve`")
    if campaign.status in FINAL:
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
    *,
    campaign_id: int,
    now: datetime,
    actor: str,
    key: bytes | None,
    approval_required: bool = True,
) -> bool:
    """Plan the deliveries and switch to sending; False when someone else started it first."""
    async with write_transaction() as conn:
        campaign = await _locked(conn, campaign_id)
        if campaign.status is CampaignStatus.SENDING:
            return False
        check_startable(campaign, now=now, settings_approval=approval_required)
        claimed = await query(
            conn,
            "UPDATE campaign SET status = 'sending', started_at = ?, updated_at = ? "
            "WHERE id = ? AND status IN ('draft', 'approved', 'scheduled') RETURNING id",
            [now, now, campaign_id],
        )
        if not claimed:
            return False
        planned = {
            channel: await outbox.plan(
                conn,
                campaign_id=campaign.id,
                incident_id=campaign.incident.id,
                kind=campaign.kind,
                channel=channel,
                now=now,
            )
            for channel in campaign.channels
        }
        total = sum(planned.values())
        await conn.execute_query(
            placeholders("UPDATE campaign SET audience_count = ? WHERE id = ?", conn),
            [total, campaign.id],
        )
        lateness = (now - campaign.scheduled_at).total_seconds() if campaign.scheduled_at else 0.0
        await _audit(
            conn,
            campaign,
            campaign.incident.ref,
            actor,
            key,
            "campaign.started",
            {
                "deliveries": planned,
                "scheduled_at": campaign.scheduled_at.isoformat()
                if campaign.scheduled_at
                else None,
                "lateness_seconds": round(max(lateness, 0.0), 3),
            },
        )
    return True


async def start_due(*, now: datetime, actor: str, key: bytes | None = None) -> list[int]:
    """Start every approved campaign whose time has come and whose hold has expired.

    Idempotent and safe with several processes: the status change is a conditional UPDATE,
    so exactly one process starts each campaign; the others see it already sending.
    Each campaign starts on its own: one that cannot start (changed meanwhile, refused by the
    database) is logged and left due, so the next pass tries it again, and it never keeps
    the campaigns after it from starting.
    """
    due = await Campaign.filter(status__in=list(STARTABLE), scheduled_at__lte=now).order_by("id")
    started = []
    for campaign in due:
        if campaign.hold_until is not None and campaign.hold_until > now:
            continue
        try:
            if await start(campaign_id=campaign.id, now=now, actor=actor, key=key):
                started.append(campaign.id)
        except ConflictError as exc:  # held, cancelled or started since it was read
            log.info("campaign %s not started: %s", campaign.id, exc)
        except START_ERRORS:
            log.exception("campaign %s could not be started; it is tried again later", campaign.id)
    return started


async def complete_if_done(
    *, campaign_id: int, now: datetime, actor: str, key: bytes | None
) -> bool:
    """Mark a sending campaign completed once no delivery is pending or leased."""
    async with write_transaction() as conn:
        campaign = await _locked(conn, campaign_id)
        if campaign.status is not CampaignStatus.SENDING or await outbox.open_count(
            conn, campaign_id
        ):
            return False
        counts = await delivery_counts(campaign_id, conn=conn)
        campaign.status = CampaignStatus.COMPLETED
        campaign.finished_at = now
        await campaign.save(using_db=conn)
        await _audit(
            conn,
            campaign,
            campaign.incident.ref,
            actor,
            key,
            "campaign.completed",
            {
                "counts": counts,
            },
        )
    return True


async def delivery_counts(
    campaign_id: int, *, conn: BaseDBAsyncClient | None = None
) -> dict[str, int]:
    """Deliveries of the campaign by status (every status present, zeros included)."""
    from tortoise import connections

    rows = await query(
        conn or connections.get("default"),
        "SELECT status, count(*) AS n FROM delivery WHERE campaign_id = ? GROUP BY status",
        [campaign_id],
    )
    counts = {s.value: 0 for s in DeliveryStatus}
    counts.update({str(row["status"]): int(row["n"]) for row in rows})
    return counts


def sender_address(settings: Settings) -> str:
    """The envelope sender: the address part of ``mail_from``."""
    address = parseaddr(settings.mail_from)[1]
    if "@" not in address:
        raise ValidationError(f"mail_from {settings.mail_from!r} has no address", field="mail_from")
    return address


def message_id_parts(campaign: Campaign, settings: Settings) -> tuple[str, str]:
    """(token, domain) for Message-IDs ``<c{campaign}.d{delivery}.{token}@{domain}>``.

    The token, derived from the campaign's id and creation time, keeps ids unique between
    two installations that happen to share a sending domain.
    """
    stamp = campaign.created_at.isoformat() if campaign.created_at else ""
    token = hashlib.sha256(f"{campaign.id}:{stamp}".encode()).hexdigest()[:8]
    return token, sender_address(settings).rpartition("@")[2]


async def send_now(
    *,
    campaign_id: int,
    settings: Settings,
    actor: str,
    progress: Any = None,
    key: bytes | None = None,
    loader: Any = None,
    worker_id: str | None = None,
) -> dict[str, int]:
    """Start the campaign if needed and send it in the foreground until every delivery is final.

    Retries are waited for as they come due. Returns the final counts by status.
    """
    from incident_svc.services import dispatcher  # the dispatcher imports this module

    campaign = await get(campaign_id)
    if campaign.status is CampaignStatus.CANCELLED:
        raise ConflictError(f"campaign {campaign_id} is cancelled")
    refuse_if_held(campaign, utcnow())  # at once, not after waiting out the hold
    if campaign.status not in (CampaignStatus.SENDING, CampaignStatus.COMPLETED):
        await start(
            campaign_id=campaign_id,
            now=utcnow(),
            actor=actor,
            key=key,
            approval_required=settings.approval.required,
        )
    await dispatcher.drain(
        campaign_id=campaign_id,
        settings=settings,
        worker_id=worker_id or f"send-now:{os.getpid()}",
        actor=actor,
        key=key,
        loader=loader,
        progress=progress,
    )
    return await delivery_counts(campaign_id)
