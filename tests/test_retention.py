"""Retention on a database of known ages: exactly the expired rows change, the proof stays,
the audit chain verifies, and a person's address still finds their rows (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_svc.config import Settings
from incident_svc.domain.pseudonym import address_pseudonym
from incident_svc.models import AuditEvent, CampaignRecipient, Delivery
from incident_svc.services.auditlog import audit
from incident_svc.services.privacy import retention, subjects
from tests.support import people
from tests.support.databases import BACKEND
from tests.support.retention_data import KEY, aged, reply

AUDIT_KEY = b"audit-key-for-retention-tests-000"


@pytest.fixture
def small_batches(database_url: str, settings_for: Any) -> Settings:
    # batches of 4 rows: several transactions per kind, so batching itself is exercised (in
    # one pass: test_two_workers_share_the_ids has several)
    small = {"batch_size": 4, "passes": 1}
    return settings_for(database_url, retention=small)  # type: ignore[no-any-return]


async def _snapshot() -> dict[int, tuple[Any, ...]]:
    return {
        d.id: (d.address, d.smtp_reply, d.content_hash, d.message_id, d.sent_at, d.status)
        for d in await Delivery.all()
    }


async def test_exactly_the_expired_rows_change(db_conn: str, small_batches: Settings) -> None:
    data = await aged(6)
    before = await _snapshot()
    planned = {p.kind: p for p in await retention.plan(small_batches)}
    assert planned["delivery_address"].rows == 6
    assert planned["recipient_address"].rows == 6
    [day] = planned["delivery_address"].by_date
    assert day["campaigns"] == 1 and day["rows"] == 6

    results = await retention.run(small_batches, key=KEY, audit_key=AUDIT_KEY, actor="ops")

    assert {r.kind: r.rows for r in results if r.rows} == {
        "delivery_address": 6,
        "recipient_address": 6,
    }
    # 6 rows in batches of 4
    assert [r.batches for r in results if r.kind in retention.ADDRESS_KINDS] == [2, 2]
    after = await _snapshot()
    old_ids = set(await Delivery.filter(campaign_id=data.old.id).values_list("id", flat=True))
    for delivery_id, row in after.items():
        was = before[delivery_id]
        if delivery_id not in old_ids:
            assert row == was
            continue
        address = address_pseudonym(KEY, was[0])
        # the address goes, also from the relay's reply; the proof of dispatch stays
        assert row[0] == address and row[1] == reply(address)
        assert row[2:] == was[2:]
    frozen = await CampaignRecipient.all().values_list("campaign_id", "address")
    for campaign_id, address in frozen:
        assert address.startswith("pseud:") == (campaign_id == data.old.id)

    # nothing is left to do, and a second run changes nothing
    assert all(p.rows == 0 for p in await retention.plan(small_batches))
    again = await retention.run(small_batches, key=KEY, audit_key=AUDIT_KEY, actor="ops")
    assert all(r.rows == 0 for r in again)
    assert await _snapshot() == after

    verdict = await audit.verify(key=AUDIT_KEY)
    assert verdict.intact and verdict.checked == 4, verdict
    batches = await AuditEvent.filter(action="retention.batch").count()
    assert batches == 4
    for event in await AuditEvent.all():
        assert "@example.org" not in event.details


async def test_an_address_still_finds_its_pseudonymised_rows(
    db_conn: str, settings: Settings
) -> None:
    data = await aged(3)
    await retention.run(settings, key=KEY, audit_key=None, actor="ops")
    found = await subjects.match(people.address(1).upper(), key=KEY)  # any case, as presented
    by_campaign = {n["campaign_id"]: n for n in found["notices"]}
    assert set(by_campaign) == {data.old.id, data.recent.id}
    assert by_campaign[data.old.id]["address"] == found["pseudonym"]
    assert by_campaign[data.recent.id]["address"] == people.address(1)
    assert by_campaign[data.old.id]["content_hash"]
    assert {r["campaign_id"] for r in found["approved_audiences"]} == {data.old.id, data.recent.id}
    nobody = await subjects.match("someone-else@example.org", key=KEY)
    assert nobody["notices"] == [] and nobody["approved_audiences"] == []


async def test_periods_are_overridable(db_conn: str, settings_for: Any, database_url: str) -> None:
    await aged(2)
    # a period shorter than a year reaches the recent campaign too; the sending one never
    short = settings_for(database_url, retention={"delivery_address_days": 30})
    [delivery, recipient, *_] = await retention.plan(short)
    assert (delivery.rows, recipient.rows) == (4, 2)


async def test_serve_runs_it_daily_when_enabled(
    db_conn: str, settings_for: Any, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    from datetime import timedelta

    from incident_svc import scheduling
    from incident_svc.errors import ConfigError
    from incident_svc.runtime import wiring

    await aged(2)
    assert wiring._retention(settings_for(database_url), None) is None  # off by default
    with pytest.raises(ConfigError):  # on, but no key: serve refuses to start
        wiring._retention(settings_for(database_url, retention={"enabled": True}), None)
    enabled = settings_for(
        database_url,
        retention={"enabled": True, "key": KEY.decode()},
        scheduler={"poll_seconds": 0.2},
    )
    action = wiring._retention(enabled, None)
    monkeypatch.setattr(scheduling, "RETENTION_FIRST_AFTER", timedelta(seconds=0.2))
    scheduler = scheduling.ServiceScheduler(settings=enabled, actions={}, retention=action)
    try:
        await scheduler.start()
        job = scheduler._scheduler.get_job(scheduling.RETENTION_JOB)
        assert job.trigger.interval == timedelta(days=1)
        for _ in range(50):
            await asyncio.sleep(0.1)
            if await Delivery.filter(address__startswith="pseud:").count() == 2:
                break
    finally:
        scheduler.shutdown()
    assert await Delivery.filter(address__startswith="pseud:").count() == 2
    events = await AuditEvent.filter(action="retention.batch", target_id="delivery_address")
    assert events and all(e.actor == wiring.RETENTION_ACTOR for e in events)


def test_db_upgrade_creates_the_retention_key_file_once(database_url: str, tmp_path: Any) -> None:
    import json
    import stat

    from tests.support.audit_chain_tools import cli

    first = cli(database_url, "db", "upgrade", "--json")
    assert first.code == 0, first.out
    path = tmp_path / "var" / "retention-hmac.key"
    assert json.loads(first.out)["retention_key_created"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes()
    again = cli(database_url, "db", "upgrade", "--json")
    assert json.loads(again.out)["retention_key_created"] is None
    assert path.read_bytes() == content  # never replaced: old pseudonyms stay matchable
    path.chmod(0o644)
    refused = cli(database_url, "retention", "match", "--address", "a@example.org")
    assert refused.code == 2 and "retention key file" in refused.out


async def test_two_workers_share_the_ids(
    db_conn: str, database_url: str, settings_for: Any
) -> None:
    """retention.workers = 2 and passes = 3: each batch its own audited transaction, and the
    ids the batches cover (a range, and on PostgreSQL the ids of one remainder by the passes)
    never overlap and together hold every expired row once (two connections on PostgreSQL;
    SQLite has one writer and keeps one, in one pass)."""
    tuned = settings_for(database_url, retention={"batch_size": 7, "workers": 2, "passes": 3})
    data = await aged(20)
    results = await retention.run(tuned, key=KEY, audit_key=AUDIT_KEY, actor="ops")
    assert {r.kind: r.rows for r in results if r.rows} == {
        "delivery_address": 20,
        "recipient_address": 20,
    }
    old = await Delivery.filter(campaign_id=data.old.id).values_list("id", "address")
    assert len(old) == 20 and all(a.startswith("pseud:") for _, a in old)
    assert not await Delivery.filter(campaign_id=data.recent.id, address__startswith="pseud:")
    verdict = await audit.verify(key=AUDIT_KEY)
    assert verdict.intact, verdict
    events = await AuditEvent.filter(action="retention.batch").values_list("details", flat=True)
    old_ids = {i for i, _ in old}
    batches = [json.loads(e) for e in events]
    covered = [
        {
            i
            for i in range(e["from_id"], e["to_id"] + 1)
            if i % e.get("stride", 1) == e.get("offset", 0) and i in old_ids
        }
        for e in batches
        if e["table"] == "delivery"
    ]
    assert [len(c) for c in covered] == [e["rows"] for e in batches if e["table"] == "delivery"]
    assert sum(map(len, covered)) == len(old_ids) == 20  # never twice ...
    assert set().union(*covered) == old_ids  # ... and every one
    if not database_url.startswith("sqlite://"):
        assert len(covered) > 3  # several passes, several ranges


async def test_a_failing_worker_raises_its_own_error(
    db_conn: str, database_url: str, settings_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not an ExceptionGroup: callers catch the error itself, as with one worker."""
    from incident_svc.services.privacy.retention_kinds import addresses

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError("audit unavailable")

    monkeypatch.setattr(addresses, "audit_batch", broken)
    two = settings_for(database_url, retention={"batch_size": 3, "workers": 2})
    await aged(20)
    with pytest.raises(ValueError, match="audit unavailable"):
        await retention.run(two, key=KEY, audit_key=AUDIT_KEY, actor="ops")
    # each batch's change went with its transaction
    assert not await Delivery.filter(address__startswith="pseud:").exists()


@given(
    first=st.integers(min_value=1, max_value=500),
    length=st.integers(min_value=0, max_value=200),
    passes=st.integers(min_value=1, max_value=20),
    data=st.data(),
)
def test_ids_in_pass_counts_the_ids_of_the_remainder(
    first: int, length: int, passes: int, data: st.DataObject
) -> None:
    from incident_svc.services.privacy.retention_kinds.addresses import ids_in_pass

    remainder = data.draw(st.integers(min_value=0, max_value=passes - 1))
    last = first + length - 1
    expected = sum(1 for i in range(first, last + 1) if i % passes == remainder)
    assert ids_in_pass(first, last, passes, remainder) == expected


def test_a_cancelled_batch_counts_in_the_longest_statement_and_lock() -> None:
    """The server may act on a cancel late (in an I/O stall): that time held locks too."""
    from incident_svc.services.privacy.retention_kinds.base import RunResult

    result = RunResult("delivery_address")
    result.add_batch(100, 40.0, 42.0)
    result.add_cancelled(230.0)
    assert (result.longest_statement_ms, result.longest_batch_ms) == (230.0, 230.0)
    assert (result.rows, result.batches, result.cancelled) == (100, 1, 1)
    assert (result.lock_ms, result.cancelled_ms) == ([42.0, 230.0], [230.0])


@pytest.mark.skipif(
    BACKEND != "postgres", reason="the lock limit is PostgreSQL's statement_timeout"
)
async def test_a_batch_past_the_lock_limit_is_rolled_back_and_done_again_smaller(
    db_conn: str, database_url: str, settings_for: Any
) -> None:
    """Another transaction holds a row lock, so each batch waits: at 50 ms the server cancels
    it (its locks released, nothing changed), and the range is done again at half the size,
    1000 -> 500 -> 250 -> 125 -> 100 ids; at the smallest size it runs unlimited and waits."""
    import asyncpg

    limited = settings_for(
        database_url,
        retention={"batch_size": 1000, "workers": 1, "passes": 1, "lock_limit_ms": 50},
    )
    data = await aged(20)
    held = await Delivery.filter(campaign_id=data.old.id).order_by("id").first()
    assert held is not None
    other = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        locking = other.transaction()
        await locking.start()
        await other.execute("SELECT id FROM delivery WHERE id = $1 FOR UPDATE", held.id)
        running = asyncio.create_task(
            retention.run(limited, key=KEY, audit_key=AUDIT_KEY, actor="ops")
        )
        await asyncio.sleep(1.5)
        assert not running.done()  # the smallest batch waits for the lock
        assert not await Delivery.filter(address__startswith="pseud:").exists()
        await locking.rollback()
        results = await asyncio.wait_for(running, 30)
    finally:
        await other.close()
    [delivery] = [r for r in results if r.kind == "delivery_address"]
    assert (delivery.rows, delivery.cancelled, delivery.batches) == (20, 4, 1)
    old = await Delivery.filter(campaign_id=data.old.id).values_list("address", flat=True)
    assert all(a.startswith("pseud:") for a in old)
    verdict = await audit.verify(key=AUDIT_KEY)
    assert verdict.intact, verdict
    events = await AuditEvent.filter(action="retention.batch").values_list("details", flat=True)
    assert [json.loads(e)["rows"] for e in events if json.loads(e)["table"] == "delivery"] == [20]
