"""Reports after acceptance: a real campaign sent to aiosmtpd with return paths, then its
bounces, delays and complaints ingested, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from incident_svc.config import Settings
from incident_svc.domain.enums import DeliveryOutcome, DeliveryStatus, EmailStatus
from incident_svc.domain.verp import ReturnPaths
from incident_svc.models import (
    AuditEvent,
    BounceReport,
    Campaign,
    Delivery,
    Exposure,
    Incident,
    Subject,
)
from incident_svc.services.bounce import return_paths
from incident_svc.services.bounce.bounces import ingest_report
from incident_svc.services.inventory.importer import import_file
from tests.support import bounce_reports as reports
from tests.support import sending, signers
from tests.support.campaign_setup import TEXTS, scheduled_campaign
from tests.support.people import make_incident
from tests.support.smtpd import SmtpServer, smtp_server

SECRET = "bounce-token-test-secret-0123456789"


def bounce_settings(settings_for: Any, url: str, server: SmtpServer, **extra: Any) -> Settings:
    smtp = {"host": server.host, "port": server.port, "timeout": 5.0, "pool_size": 2}
    bounces = {"domain": "bounces.example.com", "token_secret": SECRET}
    return settings_for(url, smtp=smtp, bounces=bounces, **extra)  # type: ignore[no-any-return]


async def sent_campaign(settings: Settings, server: SmtpServer, subjects: int = 3) -> Campaign:
    campaign = await scheduled_campaign(settings, subjects=subjects, at=None)
    await sending.send_now(campaign_id=campaign.id, settings=settings, actor="alice")
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


async def _state() -> tuple[int, int, list[Any], list[Any]]:
    """Everything ingesting may change."""
    return (
        await BounceReport.all().count(),
        await AuditEvent.all().count(),
        await Delivery.all().order_by("id").values_list("outcome", flat=True),
        await Subject.all().order_by("id").values_list("email_status", flat=True),
    )


SHAPES = {
    "postfix": (reports.dsn, DeliveryOutcome.BOUNCED),
    "exchange": (reports.exchange, DeliveryOutcome.BOUNCED),
    "gmail": (reports.gmail, DeliveryOutcome.BOUNCED),
    "exim": (reports.exim, DeliveryOutcome.BOUNCED),
    "qmail": (reports.qmail, DeliveryOutcome.BOUNCED),
    "gmail-delay": (lambda s: reports.gmail(s, delayed=True), DeliveryOutcome.DELAYED),
    "postfix-delay": (
        lambda s: reports.dsn(s, action="delayed", status="4.2.2"),
        DeliveryOutcome.DELAYED,
    ),
    "arf": (reports.arf, DeliveryOutcome.COMPLAINED),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
async def test_each_server_shape_lands_on_its_delivery(
    db_conn: str, settings_for: Any, shape: str
) -> None:
    build, outcome = SHAPES[shape]
    async with smtp_server() as server:
        settings = bounce_settings(settings_for, db_conn, server)
        await sent_campaign(settings, server)
    sent = await sent_messages(server)
    target = sorted(sent)[1]
    result = await ingest_report(build(sent[target]), source=shape, settings=settings)
    assert (result.status, result.outcome) == ("recorded", outcome)
    delivery = await Delivery.get(address=target)
    assert delivery.outcome is outcome and delivery.status is DeliveryStatus.SENT
    marked = await Subject.filter(email_status=EmailStatus.BOUNCED).values_list("email", flat=True)
    # only a permanent failure marks the address; a delay or a complaint never does
    assert marked == ([target] if outcome is DeliveryOutcome.BOUNCED else [])


async def test_forged_and_foreign_tokens_are_refused_and_change_nothing(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = bounce_settings(settings_for, db_conn, server)
        await sent_campaign(settings, server)
    sent = await sent_messages(server)
    real = sent[sorted(sent)[0]]
    delivery = await Delivery.get(address=real.recipient)
    before = await _state()
    other_key = ReturnPaths(b"x" * 32, "bounce", "bounces.example.com")
    forgeries = [
        real.return_path.replace(real.return_path[-30:-20], "0" * 10),  # MAC changed
        real.return_path.replace(f"+d{delivery.id}-", f"+d{delivery.id + 1}-"),  # other id
        other_key.address(delivery.id),  # another installation's key
    ]
    for forged in forgeries:
        raw = reports.dsn(reports.Sent(forged, real.recipient, real.message_id))
        result = await ingest_report(raw, source="forged", settings=settings)
        assert result.status == "refused" and "does not verify" in str(result.reason)
    genuine_but_unknown = PATHS_FOR(settings).address(delivery.id + 1000)
    raw = reports.dsn(reports.Sent(genuine_but_unknown, real.recipient, real.message_id))
    result = await ingest_report(raw, source="unknown", settings=settings)
    assert result.status == "unmatched" and "does not exist" in str(result.reason)
    assert await _state() == before


def PATHS_FOR(settings: Settings) -> ReturnPaths:
    found = return_paths.return_paths(settings)
    assert found is not None
    return found


async def test_without_return_paths_a_report_maps_by_recipient_and_message_id(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        smtp = {"host": server.host, "port": server.port, "timeout": 5.0, "pool_size": 2}
        settings = settings_for(db_conn, smtp=smtp)
        await sent_campaign(settings, server)
    sent = await sent_messages(server)
    assert {s.return_path for s in sent.values()} == {"security@example.com"}
    first, second = sorted(sent)[:2]
    before = await _state()
    # a recipient that is not the one the Message-ID was sent to: no guessing
    crossed = reports.Sent("security@example.com", second, sent[first].message_id)
    result = await ingest_report(reports.dsn(crossed), source="t", settings=settings)
    assert result.status == "unmatched"
    foreign = reports.Sent("security@example.com", first, "<abc@elsewhere.example>")
    assert (await ingest_report(reports.dsn(foreign), source="t", settings=settings)).status == (
        "unmatched"
    )
    assert await _state() == before
    result = await ingest_report(reports.dsn(sent[first]), source="t", settings=settings)
    assert result.status == "recorded"
    report = await BounceReport.get()
    assert report.matched_by == "message-id"


async def test_a_weaker_report_never_replaces_a_stronger_one(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = bounce_settings(settings_for, db_conn, server)
        await sent_campaign(settings, server)
    sent = await sent_messages(server)
    one = sent[sorted(sent)[0]]
    delayed = reports.dsn(one, action="delayed", status="4.4.1")
    for raw, expected in [
        (delayed, DeliveryOutcome.DELAYED),
        (reports.arf(one), DeliveryOutcome.COMPLAINED),
        (reports.dsn(one), DeliveryOutcome.BOUNCED),
        (reports.arf(one, feedback_type="fraud"), DeliveryOutcome.BOUNCED),
        (reports.dsn(one, action="delayed", status="4.4.2"), DeliveryOutcome.BOUNCED),
    ]:
        assert (await ingest_report(raw, source="t", settings=settings)).status == "recorded"
        assert (await Delivery.get(address=one.recipient)).outcome is expected
    assert await BounceReport.filter(delivery__address=one.recipient).count() == 5


async def test_a_bounced_address_is_left_out_of_later_campaigns_until_replaced(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    async with smtp_server() as server:
        settings = bounce_settings(settings_for, db_conn, server)
        await sent_campaign(settings, server)
        sent = await sent_messages(server)
        gone = sorted(sent)[0]
        await ingest_report(reports.dsn(sent[gone]), source="t", settings=settings)
        person = await Subject.get(email=gone)
        # a second incident about the same people: the bounced address is not mailed again
        await Exposure.create(incident=await make_incident(0, ref="INC-2026-0002"), subject=person,
                              categories=["contact"])  # fmt: skip
        for other in await Subject.exclude(id=person.id):
            await Exposure.create(incident_id=(await Incident.get(ref="INC-2026-0002")).id,
                                  subject=other, categories=["contact"])  # fmt: skip
        await Incident.filter(ref="INC-2026-0002").update(texts=TEXTS, categories=["contact"])
        later = await signers.create_signed("INC-2026-0002", by="alice")
        later = await signers.approve_signed(settings, later.id, by="bob")
        assert later.audience_count == 2
        server.received.clear()
        await sending.send_now(campaign_id=later.id, settings=settings, actor="alice")
        assert gone not in {m.recipient for m in server.received}
        assert len(server.received) == 2
        # the inventory supplies a new address: it is a working one again
        csv = tmp_path / "subjects.csv"
        csv.write_text(
            "external_ref,email,name,locale,jurisdiction,account_ref,role,marketing_opt_out,"
            f"timezone\n{person.external_ref},new-{gone},{person.name},en,{person.jurisdiction},"
            ",participant,false,UTC\n"
        )
        await import_file(kind="subjects", path=csv, actor="ops", key=None)
        assert (await Subject.get(id=person.id)).email_status is EmailStatus.OK
        third = await signers.create_signed("INC-2026-0002", by="alice")
        third = await signers.approve_signed(settings, third.id, by="bob")
        # the kind was sent for this incident, so the default audience is `new`: the one
        # person not reached yet, now at the address the inventory supplied
        assert third.audience_count == 1
