"""Obligations of an incident with N exposures vs a plain COUNT(*) of them, SQLite and PostgreSQL.

    python -m bench.obligations_bench --exposures 1000000 [--backends sqlite,postgres] [--repeat 3]

N subjects spread over twelve residences (a tenth of them a bare ``US``: state unknown) are
generated inside the database, all exposed by one incident. The baseline counts the exposures
(``SELECT COUNT(*) FROM exposure WHERE incident_id = ?``); the measured call is the whole
service (`services/obligations/compute.obligations_for`: read the rules files, the facts, the
census GROUP BY over the exposures alone giving residents and reach, the engine). The issue's
goal: at most one second over 1,000,000 exposures on each database.

With ``--sent`` every person also gets a sent delivery of a subject-notice campaign, and a
tenth of them a bounce and a personal banner (substitute notice); ``first_reached_at`` is then
filled by ``services/incident/reach.recompute`` (what migration 0011 does to existing rows,
timed), and the old per-request reach query over deliveries and banners
(``residence.reach_from_sources``, the code before ``first_reached_at``) is timed once in the
same run for comparison; both must give the same reach.
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

from incident_svc import db
from incident_svc.config import load_settings
from incident_svc.domain.enums import Severity
from incident_svc.models import Incident
from incident_svc.rawsql import query
from incident_svc.services.incident import reach
from incident_svc.services.obligations.compute import obligations_for
from incident_svc.services.obligations.residence import (
    CENSUS,
    CENSUS_BY_JOIN,
    census,
    reach_from_sources,
)

PG_ADMIN = os.environ.get("INCIDENT_SVC_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PLACES = ("US", "US-CA", "US-TX", "US-NY", "US-FL", "GB", "DE", "FR", "HK", "SG", "JP", "BR")
AWARE = datetime(2026, 11, 28, tzinfo=UTC)


def _fill_sql(dialect: str, count: int, incident_id: int) -> list[str]:
    cases = " ".join(f"WHEN {i} THEN '{code}'" for i, code in enumerate(PLACES))
    place = f"CASE (i % {len(PLACES)}) {cases} END"
    now = "'2026-11-28 00:00:00+00:00'"
    if dialect == "postgres":
        numbers = f"(SELECT generate_series(0, {count - 1}) AS i) n"
        ref, opt_out = "'S' || lpad(i::text, 8, '0')", "false"
        prefix = ""
    else:
        numbers = "n"
        ref, opt_out = "printf('S%08d', i)", "0"
        prefix = f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {count - 1}) "
    subjects = (
        f"{prefix}INSERT INTO subject (external_ref, email, name, locale, jurisdiction, role, "
        "marketing_opt_out, timezone, email_status, created_at, updated_at) "
        f"SELECT {ref}, 'p' || i || '@x.example', 'P', 'en', {place}, 'participant', {opt_out}, "
        f"'UTC', 'ok', {now}, {now} FROM {numbers}"
    )
    # with the residence, as services/incident/affected.py writes them (migration 0014's
    # trigger fills it only for rows inserted without one)
    exposures = (
        "INSERT INTO exposure (incident_id, subject_id, categories, reasons, source, created_at, "
        f"""jurisdiction) SELECT {incident_id}, id, '["ssn"]', '[]', 'holding', {now}, """
        "jurisdiction FROM subject"
    )
    return [subjects, exposures, "ANALYZE"]


def _sent_sql(dialect: str, incident_id: int) -> list[str]:
    """One completed subject-notice campaign with a sent delivery to every exposed person; a
    tenth of them bounced afterwards and got a personal banner (substitute notice)."""
    now = "'2026-11-29 00:00:00+00:00'"
    later = "'2026-11-30 00:00:00+00:00'"
    campaign = (
        "INSERT INTO campaign (incident_id, kind, channels, audience_count, status, created_by, "
        f"""created_at, updated_at) VALUES ({incident_id}, 'subject_notice', '["email"]', 0, """
        f"'completed', 'bench', {now}, {now})"
    )
    deliveries = (
        "INSERT INTO delivery (campaign_id, recipient_ref, channel, subject_id, address, locale, "
        "status, attempts, next_attempt_at, sent_at, updated_at) "
        f"SELECT (SELECT MAX(id) FROM campaign), s.external_ref, 'email', s.id, s.email, 'en', "
        f"'sent', 1, {now}, {now}, {now} FROM exposure e JOIN subject s ON s.id = e.subject_id "
        f"WHERE e.incident_id = {incident_id}"
    )
    bounced = (
        f"UPDATE delivery SET outcome = 'bounced', outcome_at = {later} WHERE subject_id % 10 = 3"
    )
    texts = """'{"en": {"title": "t", "body": "b"}}'"""
    banners = (
        "INSERT INTO banner (incident_id, audience, subject_id, severity, texts, content_hashes, "
        "starts_at, serve_count, created_by, created_at, updated_at) "
        f"SELECT {incident_id}, 'affected_subjects', subject_id, 'warning', {texts}, '{{}}', "
        f"{later}, 0, 'bench', {later}, {later} FROM delivery WHERE outcome = 'bounced'"
    )
    return [campaign, deliveries, bounced, banners]


async def _timed(work: object) -> float:
    started = time.perf_counter()
    await work  # type: ignore[misc]
    return time.perf_counter() - started


async def run(url: str, count: int, repeat: int, sent: bool = False) -> None:
    await db.open_database(url)
    try:
        await db.upgrade()
        incident = await Incident.create(
            ref="INC-2026-0001", title="bench", summary="bench", severity=Severity.HIGH,
            discovered_at=AWARE, categories=["ssn"], systems=["crm"], created_by="bench",
        )  # fmt: skip
        conn = connections.get("default")
        dialect = db.dialect(conn)
        started = time.perf_counter()
        for statement in _fill_sql(dialect, count, incident.id):
            await conn.execute_script(statement)
        settings = load_settings(overrides={"database_url": url})
        if sent:  # the same incident before any notice, for comparison in this run
            await conn.execute_script("ANALYZE")
            quiet = [
                await _timed(obligations_for(ref=incident.ref, settings=settings))
                for _ in range(repeat)
            ]
            print(
                f"  before any notice: obligations_for median {statistics.median(quiet):.3f} s "
                f"(runs: {', '.join(f'{x:.3f}' for x in quiet)})"
            )
            for statement in _sent_sql(dialect, incident.id):
                step = time.perf_counter()
                await conn.execute_script(statement)
                print(f"    {statement[:40]}...: {time.perf_counter() - step:.1f} s")
        what = " and a sent notice to each (a tenth bounced, with a banner)" if sent else ""
        print(
            f"  generated {count:,} subjects and exposures{what} "
            f"in {time.perf_counter() - started:.1f} s"
        )
        if sent:
            started = time.perf_counter()
            await reach.recompute(conn, incident_id=incident.id)
            print(
                f"  first_reached_at filled (migration 0011's backfill) in {time.perf_counter() - started:.1f} s"
            )
        # what autovacuum / ANALYZE do in service after the bulk writes
        await conn.execute_script("VACUUM ANALYZE" if dialect == "postgres" else "ANALYZE")
        explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        plan = await query(conn, explain + CENSUS, [incident.id])
        lines = [str(row.get("detail", row.get("QUERY PLAN"))) for row in plan]
        print("  census plan: " + " | ".join(line.strip() for line in lines))
        count_sql = "SELECT COUNT(*) AS n FROM exposure WHERE incident_id = " + str(incident.id)
        base, group, whole, cpu = [], [], [], []
        for _ in range(repeat):
            base.append(await _timed(conn.execute_query_dict(count_sql)))
            group.append(await _timed(census(incident.id)))
            started_cpu = time.process_time()
            whole.append(await _timed(obligations_for(ref=incident.ref, settings=settings)))
            cpu.append(time.process_time() - started_cpu)
        computed = await obligations_for(ref=incident.ref, settings=settings)
        assert sum(computed.facts.residents.values()) == count
        people = [o for o in computed.obligations if o.rule.recipient_kind.value == "individuals"]
        met = sum(1 for o in people if o.status.value == "met")
        print(f"  obligations to the people met by the notices: {met} of {len(people)}")
        b, g, w = (statistics.median(x) for x in (base, group, whole))
        runs = "runs: {}".format
        print(
            f"  baseline COUNT(*): median {b:.3f} s ({runs(', '.join(f'{x:.3f}' for x in base))})"
        )
        print(
            f"  census GROUP BY (residents and reach): median {g:.3f} s ({runs(', '.join(f'{x:.3f}' for x in group))}); {g / b:.2f}x baseline"
        )
        print(
            f"  obligations_for ({len(computed.obligations)} obligations): median {w:.3f} s "
            f"({runs(', '.join(f'{x:.3f}' for x in whole))}); {w / b:.2f}x baseline; goal <= 1 s: "
            f"{'met' if w <= 1.0 else 'NOT met'}"
        )
        if dialect == "sqlite":  # in this process: its CPU time does not count the other load
            print(
                f"  obligations_for CPU time of this process: median "
                f"{statistics.median(cpu):.3f} s ({', '.join(f'{x:.3f}' for x in cpu)})"
            )
        started = time.perf_counter()
        joined = await query(conn, CENSUS_BY_JOIN, [incident.id])
        took = time.perf_counter() - started
        same = {str(r["code"]): int(r["residents"]) for r in joined} == (
            await census(incident.id)
        ).residents
        print(
            f"  before exposure.jurisdiction: the census joined with subject took {took:.3f} s "
            f"(once), {took / g:.1f}x the census; same residents: {same}"
        )
        assert same
        if sent:
            started = time.perf_counter()
            old = await reach_from_sources(incident.id)
            took = time.perf_counter() - started
            same = old == (await census(incident.id)).reach
            print(
                f"  before first_reached_at: the reach query over deliveries and banners alone "
                f"took {took:.3f} s (once), {took / g:.1f}x the census; same reach: {same}"
            )
            assert same
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


def bench_backend(backend: str, count: int, repeat: int, sent: bool = False) -> None:
    print(f"-- {backend}: {count:,} exposures, repeat {repeat}{', all notified' if sent else ''}")
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(run(f"sqlite://{Path(folder) / 'bench.sqlite3'}", count, repeat, sent))
        return
    name = f"incsvc_bench_{uuid.uuid4().hex[:8]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except OSError as exc:
        print(f"  PostgreSQL not reachable at {PG_ADMIN}: {exc}; skipped")
        return
    try:
        asyncio.run(run(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", count, repeat, sent))
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.obligations_bench")
    parser.add_argument("--exposures", type=int, default=20_000, help="the issue asks for 1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--sent", action="store_true", help="also a sent notice to everyone (the reach query)"
    )
    args = parser.parse_args(argv or [])
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared)")
    backends = [backend.strip() for backend in args.backends.split(",")]
    if len(backends) == 1:
        bench_backend(backends[0], args.exposures, args.repeat, args.sent)
        return
    # one process per backend, as bench/resolve_bench.py does (Tortoise keeps per-model state)
    for backend in backends:
        child = ["--exposures", str(args.exposures), "--repeat", str(args.repeat)]
        child += ["--sent"] if args.sent else []
        subprocess.run(
            [sys.executable, "-m", "bench.obligations_bench", *child, "--backends", backend],
            check=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
