"""The outbox in a real database: idempotent planning, exclusive leases, expiry, stale results."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tortoise import connections

from incident_svc.db import write_transaction
from incident_svc.domain.enums import AttemptOutcome, DeliveryStatus
from incident_svc.domain.retry import RetryPolicy
from incident_svc.domain.times import utcnow
from incident_svc.models import Campaign, Delivery, DeliveryAttempt
from incident_svc.services.delivery import campaign_start, campaigns, due, leases, outbox
from tests.support.approval import OFF, OPEN
from tests.support.people import make_incident

POLICY = RetryPolicy(max_attempts=3, base_seconds=60, max_seconds=600)


async def started(subjects: int) -> Campaign:
    incident = await make_incident(subjects)
    campaign = await campaigns.create(
        incident_ref=incident.ref,
        kind="subject_notice",
        at=None,
        actor="a",
        key=None,
        approval=OPEN,
    )
    await campaign_start.start(
        campaign_id=campaign.id, now=utcnow(), actor="a", key=None, settings=OFF
    )
    return campaign


async def claim(campaign: Campaign, worker: str, limit: int = 100, lease: float = 60, now=None):  # type: ignore[no-untyped-def]
    return await leases.claim(
        campaign_id=campaign.id,
        worker_id=worker,
        now=now or utcnow(),
        limit=limit,
        lease_seconds=lease,
        message_id_token="tok",
        message_id_domain="example.com",
    )


def context(campaign: Campaign, worker: str) -> outbox.BatchContext:
    return outbox.BatchContext(campaign.id, "INC-2026-0001", worker, "a", POLICY, None)


async def test_planning_again_adds_nothing(db_conn: str) -> None:
    campaign = await started(20)
    async with write_transaction() as conn:
        total = await outbox.plan(conn, campaign_id=campaign.id, channel="email", now=utcnow())
    assert total == 20
    assert await Delivery.filter(campaign_id=campaign.id).count() == 20


async def test_concurrent_claims_never_share_a_row(db_conn: str) -> None:
    campaign = await started(60)
    batches = await asyncio.gather(*(claim(campaign, f"w{i}", limit=25) for i in range(4)))
    ids = [c.delivery_id for batch in batches for c in batch]
    assert len(ids) == len(set(ids)) == 60
    assert sorted(len(b) for b in batches) == [0, 10, 25, 25]
    again = await claim(campaign, "w9")
    assert again == []  # all leased


async def test_message_id_is_stable_across_retries(db_conn: str) -> None:
    campaign = await started(1)
    [first] = await claim(campaign, "w1")
    assert first.message_id == f"<c{campaign.id}.d{first.delivery_id}.tok@example.com>"
    await outbox.record(
        context(campaign, "w1"),
        [outbox.Outcome(first.delivery_id, 1, AttemptOutcome.TRANSIENT, 451, "451 later")],
        now=utcnow(),
    )
    row = await Delivery.get(id=first.delivery_id)
    assert row.status is DeliveryStatus.PENDING and row.attempts == 1
    [second] = await claim(campaign, "w2", now=row.next_attempt_at + timedelta(seconds=1))
    assert second.message_id == first.message_id and second.attempts == 1


async def test_each_try_is_numbered_from_its_claim_and_the_last_allowed_one_fails(
    db_conn: str,
) -> None:
    campaign = await started(1)
    now = utcnow()
    for number in range(1, POLICY.max_attempts + 1):
        [claimed] = await claim(campaign, f"w{number}", now=now)
        assert claimed.attempts == number - 1
        outcome = outbox.Outcome(
            claimed.delivery_id, claimed.attempts + 1, AttemptOutcome.TRANSIENT, 451, "451 later"
        )
        summary = await outbox.record(context(campaign, f"w{number}"), [outcome], now=now)
        row = await Delivery.get(id=claimed.delivery_id)
        assert row.attempts == number
        now = row.next_attempt_at + timedelta(seconds=1)
    assert (summary.retried, summary.failed) == (0, 1)
    assert row.status is DeliveryStatus.FAILED
    numbers = await DeliveryAttempt.all().order_by("number").values_list("number", flat=True)
    assert numbers == [1, 2, 3]


async def test_retry_waits_for_its_backoff(db_conn: str) -> None:
    campaign = await started(1)
    [first] = await claim(campaign, "w1")
    now = utcnow()
    await outbox.record(
        context(campaign, "w1"),
        [outbox.Outcome(first.delivery_id, 1, AttemptOutcome.TRANSIENT, 450, "450")],
        now=now,
    )
    row = await Delivery.get(id=first.delivery_id)
    assert timedelta(seconds=30) <= row.next_attempt_at - now < timedelta(seconds=60)
    assert await claim(campaign, "w1", now=now + timedelta(seconds=29)) == []


async def test_expired_lease_returns_to_the_pool_and_stale_results_are_ignored(
    db_conn: str,
) -> None:
    campaign = await started(3)
    dead = await claim(campaign, "crashed", lease=5)
    later = utcnow() + timedelta(seconds=10)
    taken = await claim(campaign, "alive", now=later)
    assert {c.delivery_id for c in taken} == {c.delivery_id for c in dead}
    late = [outbox.Outcome(c.delivery_id, 1, AttemptOutcome.ACCEPTED, 250, "250 ok") for c in dead]
    summary = await outbox.record(context(campaign, "crashed"), late, now=later)
    assert (summary.sent, summary.stale) == (0, 3)
    assert await DeliveryAttempt.all().count() == 0
    mine = [
        outbox.Outcome(c.delivery_id, 1, AttemptOutcome.ACCEPTED, 250, "250 ok", "ab" * 32)
        for c in taken
    ]
    summary = await outbox.record(context(campaign, "alive"), mine, now=later)
    assert (summary.sent, summary.stale) == (3, 0)
    assert await Delivery.filter(status=DeliveryStatus.SENT, lease_owner=None).count() == 3


async def test_release_gives_back_untried_rows(db_conn: str) -> None:
    campaign = await started(4)
    batch = await claim(campaign, "w1")
    assert (
        await leases.release(worker_id="someone-else", delivery_ids=[c.delivery_id for c in batch])
        == 0
    )
    assert await leases.release(worker_id="w1", delivery_ids=[c.delivery_id for c in batch]) == 4
    assert len(await claim(campaign, "w2")) == 4
    assert await due.open_count(connections.get("default"), campaign.id) == 4


async def test_a_group_larger_than_one_statement_records_each_row_its_own_result(
    db_conn: str,
) -> None:
    """Rows are written a statement per ``_ROWS_PER_STATEMENT``: every row gets its own values."""
    size = outbox._ROWS_PER_STATEMENT + 3
    campaign = await started(size)
    batch = await claim(campaign, "w1", limit=size)
    kinds = [AttemptOutcome.ACCEPTED, AttemptOutcome.TRANSIENT, AttemptOutcome.PERMANENT]
    outcomes = [
        outbox.Outcome(c.delivery_id, 1, kinds[n % 3], 250 + n, f"reply {n}", f"{n:064x}")
        for n, c in enumerate(batch)
    ]
    now = utcnow()
    summary = await outbox.record(context(campaign, "w1"), outcomes, now=now)
    assert (summary.sent, summary.retried, summary.failed) == (168, 168, 167)
    rows = {d.id: d for d in await Delivery.filter(campaign_id=campaign.id)}
    attempts = {a.delivery_id: a for a in await DeliveryAttempt.all()}
    assert len(rows) == len(attempts) == size
    for n, o in enumerate(outcomes):
        row, attempt = rows[o.delivery_id], attempts[o.delivery_id]
        expected = [DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.FAILED][n % 3]
        assert (row.status, row.attempts, row.lease_owner) == (expected, 1, None)
        assert row.content_hash == f"{n:064x}"
        assert row.sent_at == (now if n % 3 == 0 else None)
        assert row.smtp_reply == (None if n % 3 == 1 else f"reply {n}")
        assert row.last_error == (None if n % 3 == 0 else f"reply {n}")
        assert (attempt.number, attempt.outcome, attempt.code, attempt.reply) == (
            1,
            o.outcome,
            250 + n,
            f"reply {n}",
        )
