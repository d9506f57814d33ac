"""Scope resolution vs a hand-written INSERT ... SELECT of the same rows, SQLite and PostgreSQL.

    python -m bench.resolve_bench --subjects 1000000 [--backends sqlite,postgres] [--repeat 3]

The inventory is generated inside the database (bench/inventory_data.py): N subjects,
5,000 accounts, 3N holdings; the incident (crm + contact) touches a third of the subjects.
The baseline inserts the same exposures with one aggregate INSERT ... SELECT into a fresh
incident; resolution runs the whole service call (stage, diff, write, hash, counts, audit)
on another fresh incident. Each is repeated; medians and their ratio are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from tortoise import connections

from bench.inventory_data import fill_sql
from incident_svc import db
from incident_svc.domain.enums import Severity
from incident_svc.rawsql import db_time, params
from incident_svc.services.incident import affected, incidents

PG_ADMIN = os.environ.get("INCIDENT_SVC_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


async def _incident() -> tuple[int, str]:
    incident = await incidents.create(
        actor="bench",
        key=None,
        title="bench",
        summary="bench",
        severity=Severity.HIGH,
        discovered_at=datetime(2026, 11, 28, tzinfo=UTC),
        systems=["crm", "web"],
        categories=["contact"],
    )
    return incident.id, incident.ref


async def _baseline() -> tuple[float, int]:
    conn = connections.get("default")
    d = db.dialect(conn)
    incident_id, _ = await _incident()
    if d == "postgres":
        agg = "jsonb_agg(h.category), jsonb_agg(jsonb_build_object('source', 'holding', 'system', h.system, 'category', h.category))"
        now = "CAST(? AS TIMESTAMPTZ)"
    else:
        agg = "json_group_array(h.category), json_group_array(json_object('source', 'holding', 'system', h.system, 'category', h.category))"
        now = "?"
    sql = (
        "INSERT INTO exposure (incident_id, subject_id, categories, reasons, source, created_at) "
        f"SELECT ?, h.subject_id, {agg}, 'holding', {now} FROM holding h "
        "WHERE h.system IN ('crm', 'web') AND h.category IN ('contact') GROUP BY h.subject_id"
    )
    started = time.perf_counter()
    async with db.write_transaction() as tx:
        await tx.execute_query(params(d, sql), [incident_id, db_time(d, datetime.now(UTC))])
    seconds = time.perf_counter() - started
    rows = await conn.execute_query_dict(
        params(d, "SELECT COUNT(*) AS n FROM exposure WHERE incident_id = ?"), [incident_id]
    )
    return seconds, int(rows[0]["n"])


async def _resolve() -> tuple[float, int]:
    _, ref = await _incident()
    started = time.perf_counter()
    result = await affected.resolve(ref=ref, actor="bench", key=None)
    return time.perf_counter() - started, result.total


async def _rerun(ref: str) -> float:
    started = time.perf_counter()
    await affected.resolve(ref=ref, actor="bench", key=None)
    return time.perf_counter() - started


async def run(url: str, subjects: int, repeat: int) -> None:
    await db.open_database(url)
    try:
        await db.upgrade()
        conn = connections.get("default")
        started = time.perf_counter()
        for statement in fill_sql(db.dialect(conn), subjects, 5000):
            await conn.execute_script(statement)
        await conn.execute_script("ANALYZE")
        # a fresh connection after the bulk load (asyncpg otherwise failed the next insert)
        await db.close_database()
        await db.open_database(url)
        print(
            f"  generated {subjects:,} subjects, {3 * subjects:,} holdings in {time.perf_counter() - started:.1f} s"
        )
        base, mine = [], []
        for _ in range(repeat):
            seconds, rows = await _baseline()
            base.append(seconds)
            seconds, total = await _resolve()
            mine.append(seconds)
            assert total == rows, (total, rows)
        ref = (await incidents.list_incidents())[0].ref
        rerun = await _rerun(ref)
        b, m = statistics.median(base), statistics.median(mine)
        print(f"  affected rows: {rows:,}")
        print(
            f"  baseline INSERT ... SELECT: median {b:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in base)})"
        )
        print(
            f"  resolve (stage, diff, write, hash, counts, audit): median {m:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in mine)})"
        )
        print(f"  ratio resolve / baseline: {m / b:.2f}x (target <= 2x)")
        print(f"  re-run with nothing changed: {rerun:.2f} s ({rerun / b:.2f}x baseline)")
    finally:
        await db.close_database()


def _pg_admin(statement: str) -> None:
    import asyncpg

    async def main() -> None:
        conn = await asyncpg.connect(PG_ADMIN.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(main())


def bench_backend(backend: str, subjects: int, repeat: int) -> None:
    print(f"-- {backend}: {subjects:,} subjects, repeat {repeat}")
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(run(f"sqlite://{Path(folder) / 'bench.sqlite3'}", subjects, repeat))
        return
    name = f"incsvc_bench_{uuid.uuid4().hex[:8]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except OSError as exc:
        print(f"  PostgreSQL not reachable at {PG_ADMIN}: {exc}; skipped")
        return
    try:
        asyncio.run(run(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", subjects, repeat))
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.resolve_bench")
    parser.add_argument("--subjects", type=int, default=100_000, help="the issue asks for 1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args(argv or [])
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared)")
    backends = [backend.strip() for backend in args.backends.split(",")]
    if len(backends) == 1:
        bench_backend(backends[0], args.subjects, args.repeat)
        return
    # one process per backend: Tortoise keeps per-model query state from the first backend,
    # and PostgreSQL then failed the first insert ("syntax error at or near ','")
    for backend in backends:
        child = ["--subjects", str(args.subjects), "--repeat", str(args.repeat)]
        subprocess.run(
            [sys.executable, "-m", "bench.resolve_bench", *child, "--backends", backend],
            check=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
