"""Retention of exposures (who an incident affected), six years after the incident closed.

An incident is closed (or dismissed) when its status says so; its last change
(``incident.updated_at``) starts the period. A closed incident with an obligation still open
is held (listed with the obligations) until they are met or declined. Past it, each exposure row moves to
``exposure_expired`` with the person replaced by keyed pseudonyms of their address and
reference: the incident, the person's residence code, the categories that matched, the source
and when they were found stay, so counts per residence can still be given and a person who
presents their address can still be told whether they were affected (`retention match`). The
move of one batch (insert the pseudonymous rows, delete the exposures) is one short
transaction with its audit event. ``move`` serves erasure too (services/privacy/subjects.py).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.db import dialect, write_transaction
from incident_svc.domain.enums import IncidentStatus
from incident_svc.domain.pseudonym import address_pseudonym, ref_pseudonym
from incident_svc.domain.times import utcnow
from incident_svc.rawsql import in_list, placeholders, query
from incident_svc.services.privacy.erasure_guard import ObligationCache
from incident_svc.services.privacy.retention_kinds.base import (
    KindPlan,
    RunContext,
    RunResult,
    audit_batch,
    day_of,
    ms_since,
    no_wal_wait,
    per_day,
)

KIND = "exposure"
_ENDED = (IncidentStatus.CLOSED.value, IncidentStatus.DISMISSED.value)
_COLUMNS = (
    "incident_id, address_pseudonym, ref_pseudonym, jurisdiction, categories, source, "
    "exposed_at, expired_at"
)
_PG_MOVE = (
    f"INSERT INTO exposure_expired ({_COLUMNS}) "
    "SELECT e.incident_id, v.ap, v.rp, s.jurisdiction, e.categories, e.source, e.created_at, $4 "
    "FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(id, ap, rp) "
    "JOIN exposure e ON e.id = v.id JOIN subject s ON s.id = e.subject_id"
)
_SQLITE_MOVE = (
    f"INSERT INTO exposure_expired ({_COLUMNS}) "
    "SELECT e.incident_id, ?, ?, s.jurisdiction, e.categories, e.source, e.created_at, ? "
    "FROM exposure e JOIN subject s ON s.id = e.subject_id WHERE e.id = ?"
)


async def _due_incidents(
    settings: Settings, cutoff: datetime, held: list[str]
) -> list[tuple[int, Any]]:
    """Incidents closed before the cutoff; one with an open obligation is held (its counts
    of residents are what the obligation is computed from)."""
    conn = connections.get("default")
    rows = await query(
        conn,
        "SELECT id, ref, status, updated_at FROM incident WHERE status IN (?, ?) "
        "AND updated_at < ? ORDER BY id",
        [*_ENDED, cutoff],
    )
    cache = ObligationCache(settings)
    due = []
    for row in rows:
        dismissed = row["status"] == IncidentStatus.DISMISSED.value
        still = [] if dismissed else await cache.open_for(str(row["ref"]))
        if still:
            keys = ", ".join(o.key for o in still)
            held.append(f"{row['ref']}: obligation(s) {keys} still open")
            continue
        due.append((int(row["id"]), row["updated_at"]))
    return due


async def plan(settings: Settings, now: datetime) -> KindPlan:
    """Exposures of incidents closed before the cutoff, per day the incident was closed."""
    days = settings.retention.exposure_days
    cutoff = now - timedelta(days=days)
    conn = connections.get("default")
    held: list[str] = []
    incidents = await _due_incidents(settings, cutoff, held)
    pairs: list[tuple[Any, int]] = []
    day = day_of(conn, "i.updated_at")
    for start in range(0, len(incidents), 500):
        chunk = [i for i, _ in incidents[start : start + 500]]
        rows = await query(
            conn,
            f"SELECT {day} AS day, count(*) AS n FROM exposure e "
            "JOIN incident i ON i.id = e.incident_id "
            f"WHERE e.incident_id IN ({in_list(len(chunk))}) GROUP BY {day}",
            chunk,
        )
        pairs.extend((r["day"], int(r["n"])) for r in rows)
    total, entries = per_day(pairs, "closed")
    kind_plan = KindPlan(KIND, days, cutoff, total, entries, date_label="closed", held=held)
    kind_plan.campaigns = [i for i, _ in incidents]  # here: the incidents whose rows are due
    return kind_plan


async def run(kind_plan: KindPlan, context: RunContext, result: RunResult) -> None:
    """Move the due exposures, incident by incident, by id (keyset), a batch per transaction."""
    for incident_id in kind_plan.campaigns:
        after = 0
        while True:
            began = time.perf_counter()
            async with write_transaction() as conn:
                await no_wal_wait(conn)
                rows = await query(
                    conn,
                    "SELECT e.id, s.external_ref, s.email FROM exposure e "
                    "JOIN subject s ON s.id = e.subject_id WHERE e.incident_id = ? AND e.id > ? "
                    "ORDER BY e.id LIMIT ?",
                    [incident_id, after, min(context.batch_size, 5000)],
                )
                if not rows:
                    break
                started = time.perf_counter()
                moved = await move(conn, rows, context.key)
                statement_ms = ms_since(started)
                first, after = int(rows[0]["id"]), int(rows[-1]["id"])
                await audit_batch(
                    conn, kind_plan, context, table="exposure", first=first, last=after,
                    rows=moved, extra={"incident_id": incident_id},
                )  # fmt: skip
            result.add_batch(moved, statement_ms, ms_since(began))
            if context.progress:
                context.progress(KIND, result.rows)


async def move(conn: BaseDBAsyncClient, rows: list[dict[str, Any]], key: bytes) -> int:
    """Replace these exposures (``id``, ``external_ref``, ``email``) by pseudonymous rows."""
    if not rows:
        return 0
    ids = [int(r["id"]) for r in rows]
    aps = [address_pseudonym(key, str(r["email"])) for r in rows]
    rps = [ref_pseudonym(key, str(r["external_ref"])) for r in rows]
    now = utcnow()
    if dialect(conn) == "postgres":
        await conn.execute_query(_PG_MOVE, [ids, aps, rps, now])
        await conn.execute_query("DELETE FROM exposure WHERE id = ANY($1::bigint[])", [ids])
        return len(ids)
    await conn.execute_many(
        _SQLITE_MOVE, [[a, r, now, i] for i, a, r in zip(ids, aps, rps, strict=True)]
    )
    await conn.execute_many(
        placeholders("DELETE FROM exposure WHERE id = ?", conn), [[i] for i in ids]
    )
    return len(ids)
