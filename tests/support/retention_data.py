"""A database of known ages for the retention and subject tests: campaigns that ended long
ago, lately, and one still sending, each with deliveries and frozen recipients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from incident_svc.config import Settings
from incident_svc.domain.compliance import Applicability, Status
from incident_svc.domain.enums import CampaignStatus, DeliveryStatus
from incident_svc.domain.times import utcnow
from incident_svc.models import Campaign, CampaignRecipient, Delivery, Subject
from incident_svc.services.obligations import records
from incident_svc.services.obligations.compute import obligations_for
from tests.support import people, rows

KEY = b"retention-test-key-0123456789abcdef"


@dataclass
class Aged:
    old: Campaign  # completed seven years ago: expired
    recent: Campaign  # completed a year ago: kept
    sending: Campaign  # still sending: kept
    now: datetime


async def settle(ref: str, settings: Settings) -> int:
    """Record every open obligation of the incident as declined, so that none holds its
    people back from erasure; how many were open."""
    computed = await obligations_for(ref=ref, settings=settings)
    open_ = [
        o
        for o in computed.obligations
        if o.status in (Status.OPEN, Status.LATE, Status.NO_FIXED_DEADLINE)
        and o.applicability is not Applicability.NO
    ]
    for o in open_:
        await records.record_declined(
            ref=ref, rule_key=o.key, reason="test: settled", actor="dpo", key=None,
            settings=settings,
        )  # fmt: skip
    return len(open_)


def reply(address: str) -> str:
    return f"250 2.0.0 Ok: queued for <{address}>"


async def _fill(campaign: Campaign, subjects: list[Subject], *, sent: bool) -> None:
    await Delivery.bulk_create(
        [
            Delivery(
                campaign_id=campaign.id,
                recipient_ref=s.external_ref,
                subject_id=s.id,
                address=s.email,
                locale=s.locale,
                status=DeliveryStatus.SENT if sent else DeliveryStatus.PENDING,
                next_attempt_at=campaign.created_at,
                sent_at=campaign.created_at if sent else None,
                message_id=f"<{campaign.id}.{s.id}@example.com>" if sent else None,
                smtp_reply=reply(s.email) if sent else None,
                content_hash=f"{campaign.id:032x}{s.id:032x}" if sent else None,
            )
            for s in subjects
        ]
    )
    await CampaignRecipient.bulk_create(
        [
            CampaignRecipient(
                campaign_id=campaign.id,
                member_id=s.id,
                subject_id=s.id,
                recipient_ref=s.external_ref,
                address=s.email,
                locale=s.locale,
            )
            for s in subjects
        ]
    )


async def aged(subjects: int = 6) -> Aged:
    """``subjects`` people; the old and recent campaigns reach all, the sending one the last."""
    incident = await people.make_incident(subjects)
    everyone = await Subject.all().order_by("id")
    now = utcnow()
    made = []
    for status, ended in (
        (CampaignStatus.COMPLETED, now - timedelta(days=7 * 365)),
        (CampaignStatus.COMPLETED, now - timedelta(days=365)),
        (CampaignStatus.SENDING, None),
    ):
        made.append(await rows.campaign(incident, None, status=status, finished_at=ended))
    old, recent, sending = made
    await _fill(old, everyone, sent=True)
    await _fill(recent, everyone, sent=True)
    await _fill(sending, everyone[-1:], sent=False)
    return Aged(old, recent, sending, now)
