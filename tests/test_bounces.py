"""Reports after acceptance: a real campaign sent to aiosmtpd with return paths, then its
bounces, delays and complaints ingested, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from incident_svc.config import Settings
from incident_svc.domain.enums import DeliveryOutcome, DeliveryStatus, EmailStatus
from incident_svc.models import AuditEvent, BounceReport, Campaign, Delivery, Subject
from incident_svc.services import campaign_start
from incident_svc.services.bounces import ingest_report
from tests.support import bounce_reports as reports
from tests.support.campaign_setup import scheduled_campaign
from tests.support.smtpd import SmtpServer, smtp_server

SECRET = "bounce-token-test-secret-0123456789"


def bounce_settings(settings_for: Any, url: str, server: SmtpServer, **extra: Any) -> Settings:
    smtp = {"host": server.host, "port": server.port, "timeout": 5.0, "pool_size": 2}
    bounces = {"domain": "bounces.example.com", "token_secret": SECRET}
    return settings_for(url, smtp=smtp, bounces=bounces, **extra)  # type: ignore[no-any-return]


async def sent_campaign(settings: Settings, server: SmtpServer, subjects: int = 3) -> Campaign:
    campaign = await scheduled_campaign(settings, subjects=subjects, at=None)
    await campaign_start.send_now(campaign_id=campaign.id, settings=settings, actor="alice")
    return campaign


async def sent_messages(server: SmtpServer) -> dict[str, reports.Sent]:
    deliveries = {d.address: d for d in await Delivery.all()}
    return {
        m.recipient: reports.Sent(m.sender, m.recipient, str(deliveries[m.recipient].message_id))
        for m in server.received
    }


async def test_every_message_has_its_own_signed_return_path(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = bounce_settings(settings_for, db_conn, server)
        await sent_campaign(settings, server)
    deliveries = {d.address: d for d in await Delivery.all()}
    senders = {m.recipient: m.sender for m in server.received}
    assert len(set(senders.values())) == 3
    for recipient, sender in senders.items():
        delivery_id = deliveries[recipient].id
        assert sender.startswith(f"bounce+d{delivery_id}-")
        assert sender.endswith("@bounces.example.com")


async def test_a_hard_bounce_marks_the_delivery_and_the_address(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = bounce_settings(settings_for, db_conn, server)
        await sent_campaign(settings, server)
    sent = await sent_messages(server)
    target = sorted(sent)[0]
    raw = reports.dsn(sent[target])
    result = await ingest_report(raw, source="test", settings=settings)
    assert (result.status, result.outcome) == ("recorded", DeliveryOutcome.BOUNCED)
    delivery = await Delivery.get(address=target)
    assert delivery.outcome is DeliveryOutcome.BOUNCED
    assert delivery.status is DeliveryStatus.SENT  # the proof of dispatch stays
    assert delivery.smtp_reply is not None and delivery.smtp_reply.startswith("250")
    [report] = await BounceReport.filter(delivery_id=delivery.id)
    assert (report.content, report.status, report.matched_by) == (raw, "5.1.1", "verp")
    subject = await Subject.get(email=target)
    assert subject.email_status is EmailStatus.BOUNCED
    others = await Subject.exclude(email=target).values_list("email_status", flat=True)
    assert set(others) == {EmailStatus.OK}
    [event] = await AuditEvent.filter(action="bounce.batch")
    assert json.loads(event.details)["bounced_deliveries"] == [delivery.id]
    again = await ingest_report(raw, source="test again", settings=settings)
    assert again.status == "duplicate"
    assert await BounceReport.all().count() == 1
    assert await AuditEvent.filter(action="bounce.batch").count() == 1
