"""`retention run` over N delivery rows on PostgreSQL, against one plain UPDATE of the same rows.

Target (issue 20) at 10,000,000 rows: at least 100,000 rows per second, and no statement
holding a lock on the delivery table for more than 200 ms. Row locks last until the batch
commits, so both are reported: the longest UPDATE statement and the longest time a batch held
its row locks (from its UPDATE to its commit, the audit event in between).

The schema is the migrations' (delivery has fillfactor 80, migration 0015; --fillfactor N
overrides it). The baseline runs on the table as seeded; VACUUM FULL then repacks it at the
same fillfactor, so retention starts from the same kind of table; how many of each one's
updates were HOT (pg_stat_user_tables) is printed.

    python -m bench.retention_bench --rows 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
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


# what decides how often a checkpoint comes and how long a backend waits to write WAL: the
# stalls in which the server acts on a cancel late (docs/retention.md, "The server's WAL")
_SERVER_SETTINGS = ("max_wal_size", "shared_buffers", "wal_buffers", "wal_compression")


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


async def _updates(expected: int) -> str:
    """The delivery table's updates since its counters were reset, and how many were HOT
    (the new row version on the row's own page, no index entry)."""
    conn = connections.get("default")
    await conn.execute_query("SELECT pg_stat_force_next_flush()")
    # the counters reach pg_stat_user_tables asynchronously: another connection (a second
    # worker) flushes its own within about ten seconds of going idle
    for _ in range(30):
        await asyncio.sleep(0.5)
        [row] = await conn.execute_query_dict(
            "SELECT n_tup_upd AS n, n_tup_hot_upd AS hot FROM pg_stat_user_tables "
            "WHERE relname = 'delivery'"
        )
        n, hot = int(row["n"]), int(row["hot"])
        if n >= expected:
            break
    return f"{hot:,} of {n:,} updates HOT ({100 * hot / max(n, 1):.0f}%)"


async def _reset_counters() -> None:
    await connections.get("default").execute_query(
        "SELECT pg_stat_reset_single_table_counters('delivery'::regclass)"
    )


async def run(
    url: str,
    rows: int,
    tuning: dict[str, float],
    baseline_rows: int | None,
    fillfactor: int | None,
) -> None:
    """Seed, time the baseline, repack, time retention with the settings' retention section
    overridden by tuning."""
    await db.open_database(url)
    try:
        await db.upgrade()  # the migrated schema: delivery's fillfactor is the migration's
        conn = connections.get("default")
        if fillfactor is not None:  # to compare with another one
            await conn.execute_script(f"ALTER TABLE delivery SET (fillfactor = {fillfactor})")
        [options] = await conn.execute_query_dict(
            "SELECT reloptions FROM pg_class WHERE relname = 'delivery'"
        )
        print(f"  delivery table options: {options['reloptions'] or 'none (fillfactor 100)'}")
        server = await conn.execute_query_dict(
            "SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY($1) "
            "ORDER BY name",
            [list(_SERVER_SETTINGS)],
        )
        print("  server: " + ", ".join(f"{row['name']} {row['value']}" for row in server))
        started = time.perf_counter()
        campaign = await _seed(rows)
        print(f"  seeded {rows:,} sent deliveries in {time.perf_counter() - started:.1f} s")
        sample = min(rows, baseline_rows or rows)
        await _reset_counters()
        started = time.perf_counter()
        # the baseline: one plain UPDATE writing the rows (same values; all of them, or the
        # first --baseline-rows), on the table as seeded (packed at its fillfactor)
        await conn.execute_query(
            "UPDATE delivery SET address = lower(address) WHERE campaign_id = $1 "
            "AND id < (SELECT min(id) FROM delivery) + $2",
            [campaign, sample],
        )
        baseline = time.perf_counter() - started
        baseline_rate = sample / baseline
        print(
            f"  baseline, one UPDATE of {sample:,} of the same rows: {baseline:.2f} s "
            f"({baseline_rate:,.0f} rows/s); {await _updates(sample)}"
        )
        # rewritten at its fillfactor, as seeded: retention starts from the same kind of
        # table as the baseline did (a plain VACUUM would leave the pages the baseline emptied)
        started = time.perf_counter()
        await conn.execute_script("VACUUM FULL delivery")
        await conn.execute_script("ANALYZE delivery")
        print(f"  VACUUM FULL, ANALYZE: {time.perf_counter() - started:.1f} s")
        await _reset_counters()
        settings = load_settings(
            overrides={
                "database_url": url,
                "retention": tuning,
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
            f"(ranges of at most {settings.retention.batch_size:,} ids, sized for "
            f"{settings.retention.lock_target_ms:.0f} ms of row locks, cancelled past "
            f"{settings.retention.lock_limit_ms:.0f} ms: {delivery.cancelled}), "
            f"{settings.retention.workers} worker(s), {settings.retention.passes} pass(es)"
        )
        print(
            f"  longest UPDATE statement (a cancelled one until its rollback) "
            f"{delivery.longest_statement_ms:.1f} ms; longest time "
            f"a batch held row locks on delivery (UPDATE to commit) "
            f"{delivery.longest_batch_ms:.1f} ms (target <= 200 ms)"
        )
        held = delivery.lock_ms
        print(
            f"  row locks held per batch: median {statistics.median(held):.1f} ms, 99th "
            f"percentile {statistics.quantiles(held, n=100, method='inclusive')[98]:.1f} ms, "
            f"{sum(1 for m in held if m > 200):,} of {len(held):,} over 200 ms, "
            f"{sum(1 for m in delivery.cancelled_ms if m > 200):,} of them cancelled ones "
            "(a statement past the lock limit the server acted on late)"
        )
        left = await conn.execute_query_dict(
            "SELECT count(*) AS n FROM delivery WHERE address NOT LIKE 'pseud:%'"
        )
        print(f"  rows left in clear: {left[0]['n']}; retention's {await _updates(rows)}")
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
    parser.add_argument(
        "--fillfactor",
        type=int,
        default=None,
        help="delivery's fillfactor for this run (default: the migrations', 80)",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="retention.workers (default: the setting's)"
    )
    parser.add_argument(
        "--lock-limit-ms",
        type=float,
        default=None,
        help="retention.lock_limit_ms (default: the setting's)",
    )
    parser.add_argument(
        "--passes", type=int, default=None, help="retention.passes (default: the setting's)"
    )
    args = parser.parse_args(argv or [])
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared)")
    print(
        f"-- postgres: {args.rows:,} delivery rows, batches of at most {args.batch:,} "
        f"sized for {args.lock_target_ms:.0f} ms, workers: {args.workers or 'the setting'}, "
        f"passes: {args.passes or 'the setting'}"
    )
    tuning: dict[str, float] = {"batch_size": args.batch, "lock_target_ms": args.lock_target_ms}
    tuning |= {"workers": args.workers} if args.workers else {}
    tuning |= {"passes": args.passes} if args.passes else {}
    tuning |= {"lock_limit_ms": args.lock_limit_ms} if args.lock_limit_ms is not None else {}
    name = f"incsvc_bench_{uuid.uuid4().hex[:8]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except OSError as exc:
        print(f"  PostgreSQL not reachable at {PG_ADMIN}: {exc}; skipped")
        return
    try:
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        asyncio.run(
            run(
                url,
                args.rows,
                tuning,
                args.baseline_rows,
                args.fillfactor,
            )
        )
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(sys.argv[1:])
