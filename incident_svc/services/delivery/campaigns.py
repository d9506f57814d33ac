"""Campaigns: create, approve, schedule, hold, release, cancel, complete, and read.

Every change is written with its audit event in one transaction. Approval freezes what the
campaign will send (services.delivery.approval_snapshot); starting it is services.delivery.campaign_start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain.approval import ApprovalPolicy
from incident_svc.domain.enums import CampaignStatus, Channel, DeliveryStatus, NoticeKind
from incident_svc.domain.notice_history import parse_rule
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, NotFoundError, ValidationError
from incident_svc.models import Campaign, Incident
from incident_svc.rawsql import query
from incident_svc.services.auditlog import audit
from incident_svc.services.delivery import approval_snapshot, approvers, audiences
from incident_svc.services.delivery import campaign_matter as about
from incident_svc.services.delivery.due import open_count
from incident_svc.services.incident import matters

SENDABLE_KINDS = (
    NoticeKind.SUBJECT_NOTICE,
    NoticeKind.ACCOUNT_HOLDER_NOTICE,
    NoticeKind.UPDATE_NOTICE,
)
STARTABLE = (CampaignStatus.APPROVED, CampaignStatus.SCHEDULED)
FINAL = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)
# what a caller that does not say gets: the strict policy
REQUIRED = ApprovalPolicy(required=True, source="not given: required")


async def get(campaign_id: int) -> Campaign:
    campaign = await Campaign.get_or_none(id=campaign_id).prefetch_related(*about.RELATED)
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


async def create(
    *,
    incident_ref: str,
    kind: str,
    channels: Sequence[str] = ("email",),
    at: datetime | None,
    actor: str,
    key: bytes | None,
    template_hash: str | None = None,
    approval: ApprovalPolicy = REQUIRED,
    signed: tuple[str, approvers.Signature] | None = None,
    settings: Settings | None = None,
    audience: str | None = None,
) -> Campaign:
    """A draft campaign for the incident's current exposures (or their account holders),
    bound for life to the approval policy in force now (``config_sources.approval_policy``).
    ``signed``: the creator's signed statement (services.delivery.approvers). ``audience``: the rule
    (services.delivery.audiences; None: the kind's default), kept with the groups it was chosen from."""
    notice_kind, channel_list = _check_kind_and_channels(kind, channels)
    rule = parse_rule(audience)
    incident = await Incident.get_or_none(ref=incident_ref)
    if incident is None:
        raise NotFoundError(f"incident {incident_ref} does not exist")
    choice = await audiences.choose(
        connections.get("default"), incident_id=incident.id, kind=notice_kind, rule=rule
    )
    audience_count = choice.chosen
    made_by = await approvers.creator(
        incident_ref=incident_ref, kind=kind, signed=signed, settings=settings
    )
    async with write_transaction() as conn:
        campaign = await Campaign.create(
            using_db=conn,
            incident=incident,
            matter_id=await matters.of_incident_id(conn, incident.id),
            kind=notice_kind,
            channels=channel_list,
            template_hash=template_hash,
            audience_count=audience_count,
            audience=choice.rule,
            audience_groups=choice.groups,
            scheduled_at=at,
            created_by=actor,
            approval_required=approval.required,
            approval_source=approval.source[:200],
            creator_identity=made_by.identity.session,
            creator_principal=made_by.identity.principal,
        )
        await approvers.keep(conn, campaign, approvers.CREATOR, made_by)
        await audit_event(
            conn,
            campaign,
            actor,
            key,
            "campaign.created",
            {
                "kind": notice_kind.value,
                "channels": channel_list,
                "audience": audience_count,
                "audience_rule": choice.as_dict(),
                "scheduled_at": at.isoformat() if at else None,
                "template_hash": template_hash,
                "approval": {"required": approval.required, "source": approval.source},
                **approvers.audit_fields(approvers.CREATOR, made_by),
            },
            ref=incident.ref,
        )
    return campaign


async def audit_event(
    conn: BaseDBAsyncClient,
    campaign: Campaign,
    actor: str,
    key: bytes | None,
    action: str,
    details: dict[str, Any],
    *,
    ref: str | None = None,
) -> None:
    """Audit ``action`` on the campaign, naming its matter. ``ref`` is needed only where the
    campaign's incident or matter is not loaded yet (its creation)."""
    incident_ref = ref if ref is not None else about.ref_of(campaign)
    await audit.record(
        conn,
        actor=actor,
        action=action,
        target_type="campaign",
        target_id=campaign.id,
        details={about.audit_label(campaign): incident_ref, "campaign": campaign.id, **details},
        key=key,
    )


async def locked(conn: BaseDBAsyncClient, campaign_id: int) -> Campaign:
    """Re-read the campaign inside a write transaction (row-locked on PostgreSQL)."""
    campaign = (
        await Campaign.filter(id=campaign_id)
        .using_db(conn)
        .select_for_update()
        .prefetch_related(*about.RELATED)
        .first()
    )
    if campaign is None:
        raise NotFoundError(f"campaign {campaign_id} does not exist")
    return campaign


def approval_in_force(campaign: Campaign, settings: Settings) -> bool:
    """Approval is needed if it was when the campaign was created, or is now."""
    return campaign.approval_required or settings.approval.required


def _require(campaign: Campaign, allowed: Sequence[CampaignStatus], verb: str) -> None:
    if campaign.status not in allowed:
        raise ConflictError(
            f"campaign {campaign.id} is {campaign.status.value}; only a "
            f"{' or '.join(s.value for s in allowed)} campaign can be {verb}"
        )


async def approve(
    *,
    campaign_id: int,
    actor: str,
    key: bytes | None,
    settings: Settings,
    signature: approvers.Signature | None = None,
) -> Campaign:
    """Approve a draft and freeze what it will send; with four-eyes approval on (when it was
    created, or now), the approver's proven identity (services.delivery.approvers) must not be the
    creator's; ``actor`` is only a label."""
    async with write_transaction() as conn:
        campaign = await locked(conn, campaign_id)
        _require(campaign, [CampaignStatus.DRAFT], "approved")
        four_eyes = approval_in_force(campaign, settings)
        digest = await approval_snapshot.freeze(conn, campaign, settings)
        proven = await approvers.approver(
            conn, campaign, signature=signature, settings=settings, digest=digest,
            four_eyes=four_eyes,
        )  # fmt: skip
        campaign.status = CampaignStatus.APPROVED
        campaign.approved_by = actor
        campaign.approved_at = utcnow()
        approvers.assign(campaign, approvers.APPROVER, proven)
        campaign.audience_count = approval_snapshot.audience_count(campaign)
        await campaign.save(using_db=conn)
        await approvers.keep(conn, campaign, approvers.APPROVER, proven)
        await audit_event(
            conn,
            campaign,
            actor,
            key,
            "campaign.approved",
            {
                "four_eyes": four_eyes,
                "template_hash": campaign.template_hash,
                "approval_digest": digest,
                "audience": campaign.audience_count,
                "mode": settings.approval.mode,
                **approvers.audit_fields(approvers.APPROVER, proven),
            },
        )
    return campaign


async def schedule(
    *, campaign_id: int, at: datetime | None, actor: str, key: bytes | None, settings: Settings
) -> Campaign:
    """Set when an approved campaign starts (now when ``at`` is None)."""
    async with write_transaction() as conn:
        campaign = await locked(conn, campaign_id)
        required = approval_in_force(campaign, settings)
        allowed = [*STARTABLE] if required else [CampaignStatus.DRAFT, *STARTABLE]
        if campaign.status is CampaignStatus.DRAFT and required:
            raise ConflictError(
                f"campaign {campaign_id} is not approved yet: run `campaign approve`"
            )
        _require(campaign, allowed, "scheduled")
        campaign.status = CampaignStatus.SCHEDULED
        campaign.scheduled_at = at or utcnow()
        await campaign.save(using_db=conn)
        await audit_event(
            conn,
            campaign,
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
        campaign = await locked(conn, campaign_id)
        _require(campaign, [s for s in CampaignStatus if s not in FINAL], "held")
        campaign.hold_until = until
        campaign.hold_reason = reason.strip()
        await campaign.save(using_db=conn)
        await audit_event(
            conn,
            campaign,
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
        campaign = await locked(conn, campaign_id)
        if campaign.hold_until is None:
            raise ConflictError(f"campaign {campaign_id} is not on hold")
        previous = {"until": campaign.hold_until.isoformat(), "reason": campaign.hold_reason}
        campaign.hold_until = None
        campaign.hold_reason = None  # type: ignore[assignment]
        await campaign.save(using_db=conn)
        await audit_event(
            conn,
            campaign,
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
        campaign = await locked(conn, campaign_id)
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
        await audit_event(
            conn,
            campaign,
            actor,
            key,
            "campaign.cancelled",
            {
                "deliveries_cancelled": len(rows),
            },
        )
    return campaign


async def complete_if_done(
    *, campaign_id: int, now: datetime, actor: str, key: bytes | None
) -> bool:
    """Mark a sending campaign completed once no delivery is pending or leased."""
    async with write_transaction() as conn:
        campaign = await locked(conn, campaign_id)
        if campaign.status is not CampaignStatus.SENDING or await open_count(conn, campaign_id):
            return False
        counts = await delivery_counts(campaign_id, conn=conn)
        campaign.status = CampaignStatus.COMPLETED
        campaign.finished_at = now
        await campaign.save(using_db=conn)
        await audit_event(
            conn,
            campaign,
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
