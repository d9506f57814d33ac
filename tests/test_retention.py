"""Retention on a database of known ages: exactly the expired rows change, the proof stays,
the audit chain verifies, and a person's address still finds their rows (SQLite, PostgreSQL)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from incident_svc.config import Settings
from incident_svc.domain.pseudonym import address_pseudonym
from incident_svc.models import AuditEvent, CampaignRecipient, Delivery
from incident_svc.services.auditlog import audit
from incident_svc.services.privacy import retention, subjects
from tests.support import people
from tests.support.retention_data import KEY, aged, reply

AUDIT_KEY = b"audit-key-for-retention-tests-000"


@pytest.fixture
def small_batches(database_url: str, settings_for: Any) -> Settings:
    # batches of 4 rows: several transactions per kind, so batching itself is exercised
    return settings_for(database_url, retention={"batch_size": 4})  # type: ignore[no-any-return]


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
    [event] = await AuditEvent.filter(action="retention.batch", target_id="delivery_address")
    assert event.actor == wiring.RETENTION_ACTOR


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


async def test_two_workers_share_the_ranges(
    db_conn: str, database_url: str, settings_for: Any
) -> None:
    """retention.workers = 2: disjoint ranges of ids, each batch its own audited transaction
    (two connections on PostgreSQL; SQLite has one writer and keeps one)."""
    two = settings_for(database_url, retention={"batch_size": 3, "workers": 2})
    data = await aged(20)
    results = await retention.run(two, key=KEY, audit_key=AUDIT_KEY, actor="ops")
    assert {r.kind: r.rows for r in results if r.rows} == {
        "delivery_address": 20,
        "recipient_address": 20,
    }
    old = await Delivery.filter(campaign_id=data.old.id).values_list("address", flat=True)
    assert len(old) == 20 and all(a.startswith("pseud:") for a in old)
    assert not await Delivery.filter(campaign_id=data.recent.id, address__startswith="pseud:")
    verdict = await audit.verify(key=AUDIT_KEY)
    assert verdict.intact, verdict
    events = await AuditEvent.filter(action="retention.batch").values_list("details", flat=True)
    ranges = sorted(
        (e["from_id"], e["to_id"], e["rows"])
        for e in map(json.loads, events)
        if e["table"] == "delivery"
    )
    assert sum(n for _, _, n in ranges) == 20
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))  # disjoint


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
