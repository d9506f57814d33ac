"""An incident with residents of several places, written straight into the tables.

Notices written here bypass the outbox and the substitute-notice job, which keep each
exposure's first reach: :func:`notify` and :func:`substitute_banner` recompute it as those
paths would (tests/test_obligation_reach.py checks the paths themselves).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise import connections

from incident_svc.domain.enums import (
    BannerAudience,
    CampaignStatus,
    DeliveryStatus,
    NoticeKind,
    Severity,
)
from incident_svc.models import Banner, Campaign, Delivery, Exposure, Incident, Subject
from incident_svc.services.incident import reach

AWARE = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)


async def incident_with(
    residents: dict[str, int], *, categories: list[str] | None = None
) -> Incident:
    """INC-2026-0001, aware at AWARE, exposing ``residents`` people per residence code."""
    incident = await Incident.create(
        ref="INC-2026-0001",
        title="Leak",
        summary="s",
        severity=Severity.HIGH,
        discovered_at=AWARE,
        categories=categories or ["contact", "ssn"],
        systems=["crm"],
        created_by="alice",
    )
    subjects = [
        Subject(
            external_ref=f"{code}-{n}",
            email=f"{code.lower()}{n}@x.example",
            name="P",
            jurisdiction=code,
        )
        for code, count in residents.items()
        for n in range(count)
    ]
    await Subject.bulk_create(subjects, batch_size=1000)
    ids = await Subject.all().values_list("id", flat=True)
    await Exposure.bulk_create(
        [Exposure(incident_id=incident.id, subject_id=i, categories=["ssn"]) for i in ids],
        batch_size=1000,
    )
    return incident


async def notify(
    incident: Incident,
    refs: list[str],
    at: datetime,
    *,
    status: DeliveryStatus = DeliveryStatus.SENT,
) -> None:
    """A subject-notice campaign with one delivery per reference (sent at ``at``)."""
    campaign = await Campaign.create(
        incident_id=incident.id, kind=NoticeKind.SUBJECT_NOTICE, channels=["email"],
        status=CampaignStatus.COMPLETED, created_by="alice",
    )  # fmt: skip
    for ref in refs:
        subject = await Subject.get(external_ref=ref)
        await Delivery.create(
            campaign_id=campaign.id, recipient_ref=ref, subject_id=subject.id, address=subject.email,
            status=status, next_attempt_at=at, sent_at=at if status is DeliveryStatus.SENT else None,
        )  # fmt: skip
    await reach.recompute(connections.get("default"), incident_id=incident.id)


async def substitute_banner(incident: Incident, ref: str, at: datetime) -> None:
    subject = await Subject.get(external_ref=ref)
    await Banner.create(
        incident_id=incident.id, audience=BannerAudience.AFFECTED_SUBJECTS, subject_id=subject.id,
        texts={"en": {"title": "t", "body": "b"}}, starts_at=at, created_by="alice",
    )  # fmt: skip
    await reach.recompute(connections.get("default"), incident_id=incident.id)
