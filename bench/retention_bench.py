"""`retention run` over N delivery rows on PostgreSQL, against one plain UPDATE of the same rows.

Target (issue 20) at 10,000,000 rows: at least 100,000 rows per second, and no statement
holding a lock on the delivery table for more than 200 ms. Row locks last until the batch
commits, so both are reported: the longest UPDATE statement and the longest time a batch held
its row locks (from its UPDATE to its commit, the audit event in between).

    python -m bench.retention_bench --rows 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime

from tortoise import connections

from bench.resolve_bench import PG_ADMIN, _pg_admin
from incident_svc import db
from incident_svc.config import load_settings
from incident_svc.services.privacy import retention

_CAMPAIGN = """INSERT INTO campaign (incident_id, kind, channels, audience_count, status,
    created_by, approval_required, approval_source, finished_at, created_at, updated_at)
VALUES ($1, 'subject_notice', '["email"]', $2, 'completed', 'bench', true, 'bench',
        $3, $3, $3) RETURNING id"""
_DELIVERIES = """INSERT INTO delivery (campaign_id, recipient_ref, channel, address, locale,
    status, attempts, next_attempt_at, message_id, smtp_reply, sent_at, content_hash,
    updated_at)
SELECT {campaign}, 'B-' || n, 'email', 'person' || n || '@bench.example', 'en', 'sent', 1,
       '2019-01-01', '<' || n || '@bench.example>',
       '250 2.0.0 Ok: queued for <person' || n || '@bench.example>', '2019-01-01',
       md5(n::text) || md5(n::text), '2019-01-01'
FROM generate_series(1, {rows}) AS n"""


async def _seed(rows: int) -> int:
    conn = connections.get("default")
    ended = datetime(2019, 1, 2, tzinfo=UTC)
    [incident] = await conn.execute_query_dict(
        "INSERT INTO incident (ref, title, summary, severity, status, discovered_at, systems, "
        "categories, jurisdictions, account_refs, texts, affected_count, created_by, "
        "created_at, updated_at) VALUES ('INC-2019-0001', 'b', 'b', 'high', 'closed', $1, "
        "'[]', '[]', '[]', '[]', '{}', 0, 'bench', $1, $1) RETURNING id",
        [ended],
    )
    [campaign] = await conn.execute_query_dict(_CAMPAIGN, [incident["id"], rows, ended])
    # the secondary indexes are built after the load (minutes faster at 10M), as they were
    indexes = await conn.execute_query_dict(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'delivery' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
    )
    for index in indexes:
        await conn.execute_script(f'DROP INDEX "{index["indexname"]}"')
    await conn.execute_script(_DELIVERIES.format(campaign=campaign["id"], rows=rows))
    for index in indexes:
        await conn.execute_script(index["indexdef"])
    await conn.execute_script("VACUUM ANALYZE delivery")
    return int(campaign["id"])


async def run(url: str, rows: int, batch: int, target_ms: float, baseline_rows: int | None) -> None:
    await db.open_database(url)
    try:
        await db.upgrade()
        started = time.perf_counter()
        campaign = await _seed(rows)
        print(f"  seeded {rows:,} sent deliveries in {time.perf_counter() - started:.1f} s")
        conn = connections.get("default")
        sample = min(rows, baseline_rows or rows)
        started = time.perf_counter()
        # the baseline: one plain UPDATE writing the rows (same values; all of them, or the
        # first --baseline-rows), then vacuumed so that retention starts from a table in the
        # same state
        await conn.execute_query(
            "UPDATE delivery SET address = lower(address) WHERE campaign_id = $1 "
            "AND id < (SELECT min(id) FROM delivery) + $2",
            [campaign, sample],
        )
        baseline = time.perf_counter() - started
        baseline_rate = sample / baseline
        await conn.execute_script("VACUUM ANALYZE delivery")
        print(
            f"  baseline, one UPDATE of {sample:,} of the same rows: {baseline:.2f} s "
            f"({baseline_rate:,.0f} rows/s)"
        )
        settings = load_settings(
            overrides={
                "database_url": url,
                "retention": {"batch_size": batch, "lock_target_ms": target_ms},
            }
        )
        started = time.perf_counter()
        results = await retention.run(
            settings,
            key=b"bench-retention-key-0123456789",
            audit_key=b"bench-audit-key",
            actor="bench",
        )
        took = time.perf_counter() - started
        [delivery] = [r for r in results if r.kind == "delivery_address"]
        assert delivery.rows == rows, delivery
        print(
            f"  retention run: {delivery.rows:,} rows in {took:.2f} s "
            f"({delivery.rows / took:,.0f} rows/s, target >= 100,000; "
            f"{baseline_rate * took / rows:.2f}x the baseline's time per row), "
            f"{delivery.batches:,} batches "
            f"(at most {batch:,} rows, sized for {target_ms:.0f} ms of row locks)"
        )
        print(
            f"  longest UPDATE statement {delivery.longest_statement_ms:.1f} ms; longest time "
            f"a batch held row locks on delivery (UPDATE to commit) "
            f"{delivery.longest_batch_ms:.1f} ms (target <= 200 ms)"
        )
        left = await conn.execute_query_dict(
            "SELECT count(*) AS n FROM delivery WHERE address NOT LIKE 'pseud:%'"
        )
        print(f"  rows left in clear: {left[0]['n']}")
    finally:
        await db.close_database()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.retention_bench")
    parser.add_argument("--rows", type=int, default=50_000, help="the issue asks for 10000000")
    parser.add_argument("--batch", type=int, default=20_000, help="retention.batch_size")
    parser.add_argument(
        "--lock-target-ms", type=float, default=100.0, help="retention.lock_target_ms"
    )
    parser.add_argument(
        "--baseline-rows",
        type=int,
        default=None,
        help="time the plain UPDATE on only this many rows (default: all of them)",
    )
    args = parser.parse_args(argv or [])
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared)")
    print(
        f"-- postgres: {args.rows:,} delivery rows, batches of at most {args.batch:,} "
        f"sized for {args.lock_target_ms:.0f} ms"
    )
    name = f"incsvc_bench_{uuid.uuid4().hex[:8]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except OSError as exc:
        print(f"  PostgreSQL not reachable at {PG_ADMIN}: {exc}; skipped")
        return
    try:
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        asyncio.run(run(url, args.rows, args.batch, args.lock_target_ms, args.baseline_rows))
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(sys.argv[1:])
