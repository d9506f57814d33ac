"""Retention of bounce and complaint reports (``bounce_report``), a year after receipt.

The raw report (``content``: the whole message a relay or provider sent back, headers, the
returned notice and the address in several places) is emptied; the address where the
diagnostic (``detail``) repeats it becomes the keyed pseudonym. What stays: the report's SHA-256
(so a kept copy still verifies, and ingesting it again is still a no-op), its kind, outcome,
status code, how it was matched, its source and when it arrived, and its link to the delivery.
A report with empty content is done, so a run stopped anywhere is continued by the next.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

from tortoise import connections

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain.pseudonym import address_pseudonym, is_pseudonym
from incident_svc.rawsql import placeholders, query
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

KIND = "bounce_report"
_DUE = "b.received_at < ? AND length(b.content) > 0"


async def plan(settings: Settings, now: datetime) -> KindPlan:
    """Reports received before the cutoff whose raw text is still kept, per day received."""
    days = settings.retention.bounce_report_days
    cutoff = now - timedelta(days=days)
    conn = connections.get("default")
    day = day_of(conn, "b.received_at")
    rows = await query(
        conn,
        f"SELECT {day} AS day, count(*) AS n FROM bounce_report b WHERE {_DUE} GROUP BY {day}",
        [cutoff],
    )
    total, entries = per_day([(r["day"], r["n"]) for r in rows], "received")
    return KindPlan(KIND, days, cutoff, total, entries, date_label="received")


async def run(kind_plan: KindPlan, context: RunContext, result: RunResult) -> None:
    """Walk the due reports by id (keyset), a batch per short transaction."""
    after = 0
    while True:
        began = time.perf_counter()
        async with write_transaction() as conn:
            await no_wal_wait(conn)
            rows = await query(
                conn,
                "SELECT b.id, b.detail, d.address FROM bounce_report b "
                f"JOIN delivery d ON d.id = b.delivery_id WHERE b.id > ? AND {_DUE} "
                "ORDER BY b.id LIMIT ?",
                [after, kind_plan.cutoff, min(context.batch_size, 1000)],
            )
            if not rows:
                return
            values = [
                [b"", _clean(row["detail"], str(row["address"]), context.key), int(row["id"])]
                for row in rows
            ]
            started = time.perf_counter()
            await conn.execute_many(
                placeholders("UPDATE bounce_report SET content = ?, detail = ? WHERE id = ?", conn),
                values,
            )
            statement_ms = ms_since(started)
            first, after = int(rows[0]["id"]), int(rows[-1]["id"])
            await audit_batch(
                conn, kind_plan, context, table="bounce_report", first=first, last=after,
                rows=len(rows),
            )  # fmt: skip
        result.add_batch(len(rows), statement_ms, ms_since(began))
        if context.progress:
            context.progress(KIND, result.rows)


def _clean(detail: object, address: str, key: bytes) -> str | None:
    """The diagnostic with the address (any case) replaced by its pseudonym."""
    if detail is None:
        return None
    text = str(detail)
    if not address or is_pseudonym(address):
        return text
    pattern = re.compile(re.escape(address), re.IGNORECASE)
    return pattern.sub(address_pseudonym(key, address), text)
