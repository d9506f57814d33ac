"""PostgreSQL only: two dispatcher processes share one campaign; the claim uses its index."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from tortoise import connections

from incident_svc.db import write_transaction
from incident_svc.domain.enums import DeliveryStatus
from incident_svc.domain.times import utcnow
from incident_svc.mail.sink import Stored, message_ids, serve
from incident_svc.models import AuditEvent, Delivery
from incident_svc.services.delivery import campaign_start, campaigns, leases
from tests.support.approval import OFF, OPEN
from tests.support.databases import BACKEND
from tests.support.people import make_incident
from tests.test_kill_send import child_env, spawn

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(BACKEND != "postgres", reason="needs INCIDENT_SVC_TEST_DB=postgres"),
]

RECIPIENTS = 1500


@pytest.mark.slow
async def test_two_dispatcher_processes_share_a_campaign_without_sending_twice(
    db_conn: str, tmp_path: Path
) -> None:
    await make_incident(RECIPIENTS)
    campaign = await campaigns.create(
        incident_ref="INC-2026-0001",
        kind="subject_notice",
        at=None,
        actor="alice",
        key=None,
        approval=OPEN,
    )
    await campaign_start.start(
        campaign_id=campaign.id, now=utcnow(), actor="alice", key=None, settings=OFF
    )
    seen: list[Stored] = []
    maildir = tmp_path / "mail"
    async with serve(host="127.0.0.1", port=0, maildir=maildir, announce=seen.append) as (
        host,
        port,
    ):
        env = child_env(db_conn, host, port, tmp_path) | {
            "INCIDENT_SVC_DELIVERY__LEASE_SECONDS": "60"
        }
        children = [await spawn("dispatch", campaign.id, env) for _ in range(2)]
        results = await asyncio.wait_for(asyncio.gather(*(c.communicate() for c in children)), 90)
    for child, (_, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err.decode()
    deliveries = await Delivery.filter(campaign_id=campaign.id).values("message_id", "status")
    assert {d["status"] for d in deliveries} == {DeliveryStatus.SENT}
    copies = Counter(message_ids(maildir))
    assert set(copies) == {d["message_id"] for d in deliveries}
    assert max(copies.values()) == 1  # nobody sent twice
    workers = Counter()
    for event in await AuditEvent.filter(action="delivery.batch"):
        details = json.loads(event.details)
        workers[details["worker"]] += details["sent"]
    assert len(workers) == 2 and all(n > 0 for n in workers.values())  # both did real work
    assert sum(workers.values()) == RECIPIENTS


async def test_claim_query_uses_the_campaign_status_due_index(db_conn: str) -> None:
    conn = connections.get("default")
    await make_incident(1, accounts=1)
    campaign = await campaigns.create(
        incident_ref="INC-2026-0001",
        kind="subject_notice",
        at=None,
        actor="alice",
        key=None,
        approval=OPEN,
    )
    # 100,000 deliveries of which 50 are due: what a large campaign looks like mid-way
    await conn.execute_script(
        f"""
        INSERT INTO delivery (campaign_id, recipient_ref, channel, address, locale, status,
                              attempts, next_attempt_at, updated_at)
        SELECT {campaign.id}, 'R-' || g, 'email', 'r' || g || '@example.org', 'en',
               CASE WHEN g % 2000 = 0 THEN 'pending' ELSE 'sent' END, 1, now(), now()
        FROM generate_series(1, 100000) AS g;
        ANALYZE delivery;
        """
    )
    index = await conn.execute_query_dict(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'delivery' "
        "AND indexdef LIKE '%(campaign_id, status, next_attempt_at)%'"
    )
    assert len(index) == 1
    sql = leases._claim_sql(conn)
    args = ["w", utcnow(), utcnow(), "tok", "example.com", campaign.id, utcnow(), 100]
    async with conn._in_transaction() as tx:
        plan = await tx.execute_query_dict("EXPLAIN (FORMAT JSON) " + sql, args)
        await tx.rollback()
    text = json.dumps(plan)
    assert index[0]["indexname"] in text
    assert '"Node Type": "Seq Scan"' not in text


async def test_statements_are_planned_with_their_values(db_conn: str) -> None:
    """asyncpg prepares every statement; a generic plan would ignore a batch's IN list and read
    every exposure of the incident (db_engines/postgres.py), so every connection forces custom
    plans."""
    conn = connections.get("default")
    rows = await conn.execute_query_dict("SHOW plan_cache_mode")
    assert rows == [{"plan_cache_mode": "force_custom_plan"}]
    async with write_transaction() as tx:
        rows = await tx.execute_query_dict("SHOW plan_cache_mode")
    assert rows == [{"plan_cache_mode": "force_custom_plan"}]
