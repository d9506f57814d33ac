"""Sending campaigns end to end against a real aiosmtpd server with injected faults."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import pytest

from incident_svc.config import Settings
from incident_svc.domain.enums import CampaignStatus, DeliveryStatus, EmailStatus, NoticeKind
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError
from incident_svc.models import AuditEvent, Campaign, Delivery, DeliveryAttempt, Subject
from incident_svc.services.delivery import campaign_start, campaigns
from incident_svc.services.delivery.composing import load_default_composer
from tests.support import sending
from tests.support.approval import OFF, OPEN
from tests.support.composer import PlainComposer, plain_loader
from tests.support.people import address, make_incident
from tests.support.smtpd import Disconnect, Reply, SmtpServer, Stall, smtp_server


def delivery_settings(
    settings_for: Any, url: str, server: SmtpServer, timeout: float = 5.0, **delivery: Any
) -> Settings:
    options = {
        "max_attempts": 4,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
        "batch_size": 10,
    }
    options.update(delivery)
    return settings_for(  # type: ignore[no-any-return]
        url,
        smtp={"host": server.host, "port": server.port, "timeout": timeout, "pool_size": 2},
        delivery=options,
        approval={"required": False},
    )


async def batch_events() -> list[dict[str, Any]]:
    events = await AuditEvent.filter(action="delivery.batch").order_by("seq")
    return [json.loads(e.details) for e in events]


async def send(settings: Settings, subjects: int = 5, **incident: Any) -> Campaign:
    await make_incident(subjects, **incident)
    campaign = await campaigns.create(
        incident_ref="INC-2026-0001",
        kind="subject_notice",
        at=None,
        actor="alice",
        key=None,
        approval=OPEN,
    )
    await sending.send_now(
        campaign_id=campaign.id, settings=settings, actor="alice", loader=plain_loader
    )
    return await Campaign.get(id=campaign.id)


async def test_every_recipient_gets_one_message_with_proof(db_conn: str, settings_for: Any) -> None:
    async with smtp_server() as server:
        settings = delivery_settings(settings_for, db_conn, server)
        campaign = await send(settings, subjects=25, opt_out_every=5)
    assert campaign.status is CampaignStatus.COMPLETED
    deliveries = await Delivery.filter(campaign_id=campaign.id).order_by("id")
    assert len(deliveries) == 25
    assert {d.status for d in deliveries} == {DeliveryStatus.SENT}
    assert sorted(m.recipient for m in server.received) == sorted(address(n) for n in range(25))
    received_ids = {m.recipient: m.message_id for m in server.received}
    for d in deliveries:
        assert (
            d.message_id
            == f"<c{campaign.id}.d{d.id}.{campaigns.message_id_parts(campaign, settings)[0]}@example.com>"
        )
        assert received_ids[d.address] == d.message_id
        assert d.smtp_reply is not None and d.smtp_reply.startswith("250")
        assert d.sent_at is not None and d.content_hash and len(d.content_hash) == 64
        assert d.attempts == 1
    opted_out = [d for d in deliveries if d.recipient_ref in {f"S-{n}" for n in range(0, 25, 5)}]
    assert {d.send_reason for d in opted_out} == {
        "security notice: administrative, sent despite the marketing opt-out"
    }
    batches = await batch_events()
    assert sum(b["sent"] for b in batches) == 25
    assert len(batches) < 25  # a summary per committed group, not one event per message
    assert all(len(b["ledger_sha256"]) == 64 for b in batches)
    assert await AuditEvent.filter(action="campaign.completed").count() == 1


@pytest.mark.parametrize("code", ["421 4.3.2 closing", "450 4.2.0 mailbox busy"])
async def test_4xx_retried_then_delivered(db_conn: str, settings_for: Any, code: str) -> None:
    async with smtp_server() as server:
        server.faults[address(1)] = [Reply(code), Reply(code)]
        settings = delivery_settings(settings_for, db_conn, server)
        campaign = await send(settings, subjects=3)
    d = await Delivery.get(campaign_id=campaign.id, address=address(1))
    assert d.status is DeliveryStatus.SENT and d.attempts == 3
    attempts = await DeliveryAttempt.filter(delivery_id=d.id).order_by("number")
    assert [(a.number, a.outcome.value, a.code) for a in attempts] == [
        (1, "transient", int(code[:3])),
        (2, "transient", int(code[:3])),
        (3, "accepted", 250),
    ]
    assert [m.message_id for m in server.received if m.recipient == address(1)] == [d.message_id]


async def test_550_fails_permanently_and_marks_the_address_bounced(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        server.faults[address(2)] = [Reply("550 5.1.1 no such user", at="rcpt")]
        settings = delivery_settings(settings_for, db_conn, server)
        campaign = await send(settings, subjects=4)
    d = await Delivery.get(campaign_id=campaign.id, address=address(2))
    assert d.status is DeliveryStatus.FAILED and d.attempts == 1
    assert d.smtp_reply == "550 5.1.1 no such user"
    assert (await Subject.get(email=address(2))).email_status is EmailStatus.BOUNCED
    assert (await Subject.get(email=address(1))).email_status is EmailStatus.OK
    assert campaign.status is CampaignStatus.COMPLETED


async def test_disconnect_in_data_is_retried(db_conn: str, settings_for: Any) -> None:
    async with smtp_server() as server:
        server.faults[address(0)] = [Disconnect()]
        settings = delivery_settings(settings_for, db_conn, server)
        campaign = await send(settings, subjects=6)
    d = await Delivery.get(campaign_id=campaign.id, address=address(0))
    assert d.status is DeliveryStatus.SENT and d.attempts == 2
    assert len([m for m in server.received if m.recipient == address(0)]) == 1
    assert await Delivery.filter(campaign_id=campaign.id, status=DeliveryStatus.SENT).count() == 6


async def test_stall_past_timeout_is_retried(db_conn: str, settings_for: Any) -> None:
    async with smtp_server() as server:
        server.faults[address(1)] = [Stall(3.0)]
        settings = delivery_settings(settings_for, db_conn, server, timeout=1.0)
        campaign = await send(settings, subjects=3)
    d = await Delivery.get(campaign_id=campaign.id, address=address(1))
    assert d.status is DeliveryStatus.SENT and d.attempts == 2
    first = await DeliveryAttempt.get(delivery_id=d.id, number=1)
    assert first.outcome.value == "transient" and "Timeout" in (first.reply or "")


async def test_partial_batch_failure_keeps_the_rest(db_conn: str, settings_for: Any) -> None:
    async with smtp_server() as server:
        server.faults[address(3)] = [Reply("554 5.7.1 rejected")]
        server.faults[address(5)] = [Reply("451 4.3.0 later")]
        settings = delivery_settings(settings_for, db_conn, server, batch_size=8)
        campaign = await send(settings, subjects=8)
    statuses = {
        d.address: (d.status, d.attempts) for d in await Delivery.filter(campaign_id=campaign.id)
    }
    assert statuses.pop(address(3)) == (DeliveryStatus.FAILED, 1)
    assert statuses.pop(address(5)) == (DeliveryStatus.SENT, 2)
    assert set(statuses.values()) == {(DeliveryStatus.SENT, 1)}
    batches = await batch_events()
    assert sum(b["failed"] for b in batches) == 1
    assert sum(b["retried"] for b in batches) == 1
    assert sum(b["sent"] for b in batches) == 7  # 6 at once, one after its retry


async def test_out_of_attempts_fails(db_conn: str, settings_for: Any) -> None:
    async with smtp_server() as server:
        server.faults[address(0)] = [Reply("450 busy")] * 5
        settings = delivery_settings(settings_for, db_conn, server, max_attempts=3)
        campaign = await send(settings, subjects=2)
    d = await Delivery.get(campaign_id=campaign.id, address=address(0))
    assert d.status is DeliveryStatus.FAILED and d.attempts == 3
    assert d.smtp_reply == "450 busy"
    # a transient give-up says nothing about the address
    assert (await Subject.get(email=address(0))).email_status is EmailStatus.OK


async def test_templates_changed_since_creation_stop_the_campaign(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = delivery_settings(settings_for, db_conn, server)
        await make_incident(3)
        campaign = await campaigns.create(
            incident_ref="INC-2026-0001", kind="subject_notice", at=None, actor="a", key=None,
            template_hash="hash-of-what-was-approved", approval=OPEN)  # fmt: skip
        with pytest.raises(ConflictError, match="templates changed"):
            await sending.send_now(
                campaign_id=campaign.id, settings=settings, actor="a", loader=plain_loader
            )
    assert server.received == []
    assert (
        await Delivery.filter(
            campaign_id=campaign.id, status=DeliveryStatus.PENDING, lease_owner=None
        ).count()
        == 3
    )


async def test_service_dispatcher_sends_every_campaign_and_stops_cleanly(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = delivery_settings(settings_for, db_conn, server)
        await make_incident(4)
        await make_incident(3, ref="INC-2026-0002", first=100)
        good = await campaigns.create(
            incident_ref="INC-2026-0002",
            kind="subject_notice",
            at=None,
            actor="a",
            key=None,
            approval=OPEN,
        )
        bad = await campaigns.create(
            incident_ref="INC-2026-0001",
            kind="subject_notice",
            at=None,
            actor="a",
            key=None,
            template_hash="stale",
            approval=OPEN,
        )
        for campaign in (bad, good):
            await campaign_start.start(
                campaign_id=campaign.id, now=utcnow(), actor="a", key=None, settings=OFF
            )
        stop = asyncio.Event()
        worker = asyncio.create_task(
            sending.run_dispatcher(
                settings=settings, stop=stop, worker_id="svc-1", loader=plain_loader
            )
        )
        for _ in range(600):  # generous: the machine running the suite may be busy
            if (await Campaign.get(id=good.id)).status is CampaignStatus.COMPLETED:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(worker, 30)
    assert (await Campaign.get(id=good.id)).status is CampaignStatus.COMPLETED
    assert (await Campaign.get(id=bad.id)).status is CampaignStatus.SENDING  # benched, not lost
    assert sorted(m.recipient for m in server.received) == sorted(
        address(n) for n in range(100, 103)
    )
    assert await Delivery.filter(campaign_id=bad.id, status=DeliveryStatus.PENDING).count() == 4


async def test_real_composer_end_to_end_hash_proves_the_bytes(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = delivery_settings(settings_for, db_conn, server)
        incident = await make_incident(6)
        composer = await load_default_composer(incident.id, NoticeKind.SUBJECT_NOTICE, settings)
        campaign = await campaigns.create(
            incident_ref=incident.ref, kind="subject_notice", at=None, actor="a", key=None,
            template_hash=composer.template_hash, approval=OPEN)  # fmt: skip
        counts = await sending.send_now(campaign_id=campaign.id, settings=settings, actor="a")
    assert counts["sent"] == 6
    by_id = {m.message_id: m for m in server.received}
    for d in await Delivery.filter(campaign_id=campaign.id):
        received = by_id[d.message_id]
        assert received.recipient == d.address
        assert (
            hashlib.sha256(received.data).hexdigest() == d.content_hash
        )  # the proof is of these bytes
        assert b"multipart/alternative" in received.data


class SlowComposer(PlainComposer):
    async def compose_batch(self, items: Any) -> Any:
        await asyncio.sleep(2.0)  # far longer than the lease below
        return await super().compose_batch(items)


async def slow_loader(incident_id: int, kind: NoticeKind, settings: Settings) -> SlowComposer:
    return SlowComposer(kind)


async def test_leases_are_renewed_while_a_slow_batch_is_in_flight(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = settings_for(
            db_conn,
            smtp={"host": server.host, "port": server.port, "timeout": 5.0},
            delivery={"lease_seconds": 0.6, "batch_size": 10},
            scheduler={"poll_seconds": 0.1},
            approval={"required": False},
        )
        await make_incident(5)
        campaign = await campaigns.create(
            incident_ref="INC-2026-0001",
            kind="subject_notice",
            at=None,
            actor="a",
            key=None,
            approval=OPEN,
        )
        await sending.send_now(
            campaign_id=campaign.id, settings=settings, actor="a", loader=slow_loader
        )
    assert sorted(m.recipient for m in server.received) == sorted(
        address(n) for n in range(5)
    )  # once each
    assert {d.attempts for d in await Delivery.filter(campaign_id=campaign.id)} == {1}
    assert all(b["stale"] == 0 for b in await batch_events())


async def test_a_failing_worker_lane_waits_for_the_batch_in_flight_before_the_pool_closes(
    db_conn: str, settings_for: Any
) -> None:
    """An unexpected error in one lane ends the worker (the service restarts it), but only
    after the other lane's batch is sent and recorded: nothing is left leased to a dead pool."""
    async with smtp_server() as server:
        settings = delivery_settings(settings_for, db_conn, server)
        slow_incident = await make_incident(3)
        await make_incident(2, ref="INC-2026-0002", first=100)

        async def loader(incident_id: int, kind: NoticeKind, settings: Settings) -> Any:
            if incident_id == slow_incident.id:
                return SlowComposer(kind)
            raise RuntimeError("the database went away")  # not a service error: not tolerated

        for ref in ("INC-2026-0001", "INC-2026-0002"):
            campaign = await campaigns.create(
                incident_ref=ref, kind="subject_notice", at=None, actor="a", key=None, approval=OPEN
            )
            await campaign_start.start(
                campaign_id=campaign.id, now=utcnow(), actor="a", key=None, settings=OFF
            )
        with pytest.raises(RuntimeError, match="went away"):
            await asyncio.wait_for(
                sending.run_dispatcher(
                    settings=settings, stop=asyncio.Event(), worker_id="svc-1", loader=loader
                ),
                30,
            )
        slow_states = await Delivery.filter(campaign__incident_id=slow_incident.id).values_list(
            "status", flat=True
        )
    assert slow_states == [DeliveryStatus.SENT] * 3
    assert sorted(m.recipient for m in server.received) == sorted(address(n) for n in range(3))
