"""Retention: addresses past their period become keyed pseudonyms, in short batches.

Two kinds of record hold an address that outlives its campaign (docs/retention.md):

- ``delivery_address``: ``delivery.address`` (the proof of dispatch), and that address
  where the relay's reply or the last error repeats it;
- ``recipient_address``: ``campaign_recipient.address`` (the audience frozen at approval).

A row expires when its campaign ended (completed or cancelled) longer ago than the kind's
period. ``plan`` counts what would change; ``run`` walks the expired rows by primary-key
ranges of ``retention.batch_size``, and each range is one short transaction: read the
addresses, write their pseudonyms (domain/pseudonym.py), append one ``retention.batch`` audit
event. Rows already pseudonymised are skipped, so a run stopped anywhere is continued by the
next. Nothing else in a row changes: the content hash, Message-ID, times and the relay's
acceptance stay, so the proof of dispatch still verifies against a kept copy of the message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.db import dialect, write_transaction
from incident_svc.domain.enums import CampaignStatus
from incident_svc.domain.pseudonym import ADDRESS_PREFIX, address_pseudonym
from incident_svc.domain.times import utcnow
from incident_svc.models import Campaign
from incident_svc.rawsql import in_list, query
from incident_svc.services.auditlog import audit

KINDS = ("delivery_address", "recipient_address")
_TABLE = {"delivery_address": "delivery", "recipient_address": "campaign_recipient"}
_ENDED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)
_NOT_DONE = f"address NOT LIKE '{ADDRESS_PREFIX}%'"


def period_days(settings: Settings, kind: str) -> int:
    days: int = getattr(settings.retention, f"{kind}_days")
    return days


@dataclass
class KindPlan:
    kind: str
    days: int
    cutoff: datetime
    rows: int = 0
    # one entry per day campaigns ended on: {"ended": "YYYY-MM-DD", "campaigns": n, "rows": n}
    by_date: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "days": self.days,
            "cutoff": self.cutoff.isoformat(),
            "rows": self.rows,
            "by_date": self.by_date,
        }


async def _expired_campaigns(cutoff: datetime) -> dict[int, datetime]:
    rows = await Campaign.filter(status__in=list(_ENDED), finished_at__lt=cutoff).values_list(
        "id", "finished_at"
    )
    return {int(cid): at for cid, at in rows}


async def plan(settings: Settings, *, now: datetime | None = None) -> list[KindPlan]:
    """What a run would change now: rows per kind, and per day their campaigns ended."""
    moment = now or utcnow()
    conn = connections.get("default")
    plans = []
    for kind in KINDS:
        days = period_days(settings, kind)
        cutoff = moment - timedelta(days=days)
        ended = await _expired_campaigns(cutoff)
        kind_plan = KindPlan(kind, days, cutoff, campaigns=sorted(ended))
        counts = await _counts(conn, _TABLE[kind], sorted(ended))
        per_day: dict[str, list[int]] = {}
        for cid, rows in counts.items():
            day = ended[cid].date().isoformat()
            entry = per_day.setdefault(day, [0, 0])
            entry[0] += 1
            entry[1] += rows
            kind_plan.rows += rows
        kind_plan.by_date = [
            {"ended": day, "campaigns": c, "rows": r} for day, (c, r) in sorted(per_day.items())
        ]
        plans.append(kind_plan)
    return plans


async def _counts(conn: BaseDBAsyncClient, table: str, campaigns: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for start in range(0, len(campaigns), 500):
        chunk = campaigns[start : start + 500]
        rows = await query(
            conn,
            f"SELECT campaign_id, count(*) AS n FROM {table} "
            f"WHERE campaign_id IN ({in_list(len(chunk))}) AND {_NOT_DONE} GROUP BY campaign_id",
            list(chunk),
        )
        found.update({int(r["campaign_id"]): int(r["n"]) for r in rows if r["n"]})
    return found


@dataclass
class RunResult:
    kind: str
    rows: int = 0
    batches: int = 0
    seconds: float = 0.0
    longest_statement_ms: float = 0.0  # the longest single UPDATE (row locks on the table)
    longest_batch_ms: float = 0.0  # the longest batch transaction, commit included

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "longest_statement_ms": round(self.longest_statement_ms, 2),
            "longest_batch_ms": round(self.longest_batch_ms, 2),
        }


async def run(
    settings: Settings,
    *,
    key: bytes,
    audit_key: bytes | None,
    actor: str,
    now: datetime | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> list[RunResult]:
    """Pseudonymise every expired address, kind by kind, a batch per transaction."""
    results = []
    for kind_plan in await plan(settings, now=now):
        result = RunResult(kind_plan.kind)
        started = time.perf_counter()
        if kind_plan.rows:
            await _run_kind(settings, kind_plan, result, key, audit_key, actor, progress)
        result.seconds = time.perf_counter() - started
        results.append(result)
    return results


async def _run_kind(
    settings: Settings,
    kind_plan: KindPlan,
    result: RunResult,
    key: bytes,
    audit_key: bytes | None,
    actor: str,
    progress: Callable[[str, int], None] | None,
) -> None:
    table = _TABLE[kind_plan.kind]
    conn = connections.get("default")
    batch = settings.retention.batch_size
    for start in range(0, len(kind_plan.campaigns), 500):
        chunk = kind_plan.campaigns[start : start + 500]
        [bounds] = await query(
            conn,
            f"SELECT min(id) AS lo, max(id) AS hi FROM {table} "
            f"WHERE campaign_id IN ({in_list(len(chunk))})",
            list(chunk),
        )
        if bounds["lo"] is None:
            continue
        lo, hi = int(bounds["lo"]), int(bounds["hi"])
        for first in range(lo, hi + 1, batch):
            last = min(first + batch - 1, hi)
            began = time.perf_counter()
            changed, statement_ms = await _batch(
                kind_plan, table, chunk, first, last, key, audit_key, actor
            )
            result.longest_batch_ms = max(result.longest_batch_ms, _ms_since(began))
            result.longest_statement_ms = max(result.longest_statement_ms, statement_ms)
            if changed:
                result.rows += changed
                result.batches += 1
                if progress:
                    progress(kind_plan.kind, result.rows)


async def _batch(
    kind_plan: KindPlan,
    table: str,
    campaigns: list[int],
    first: int,
    last: int,
    key: bytes,
    audit_key: bytes | None,
    actor: str,
) -> tuple[int, float]:
    async with write_transaction() as conn:
        if dialect(conn) == "postgres":
            # a batch lost to a crash before its WAL reached disk is lost with its audit event
            # (one transaction) and redone by the next run: no need to wait for the flush
            await conn.execute_query("SET LOCAL synchronous_commit TO off")
        rows = await query(
            conn,
            f"SELECT id, address FROM {table} WHERE id BETWEEN ? AND ? "
            f"AND campaign_id IN ({in_list(len(campaigns))}) AND {_NOT_DONE}",
            [first, last, *campaigns],
        )
        if not rows:
            return 0, 0.0
        cache: dict[str, str] = {}
        pairs = []
        for row in rows:
            address = str(row["address"])
            pseudonym = cache.get(address)
            if pseudonym is None:
                pseudonym = cache[address] = address_pseudonym(key, address)
            pairs.append((int(row["id"]), pseudonym))
        began = time.perf_counter()
        await _write(conn, table, pairs)
        statement_ms = _ms_since(began)
        await audit.record(
            conn,
            actor=actor,
            action="retention.batch",
            target_type="retention",
            target_id=kind_plan.kind,
            details={
                "kind": kind_plan.kind,
                "table": table,
                "from_id": first,
                "to_id": last,
                "rows": len(pairs),
                "days": kind_plan.days,
                "cutoff": kind_plan.cutoff.isoformat(),
            },
            key=audit_key,
        )
    return len(pairs), statement_ms


# the relay's reply and the last error may repeat the address: it is replaced there too (the
# right-hand sides read the row as it was before this UPDATE, on both databases)
_PG_EXTRA = {
    "delivery": ", smtp_reply = replace(t.smtp_reply, t.address, v.p), "
    "last_error = replace(t.last_error, t.address, v.p)",
    "campaign_recipient": "",
}
_SQLITE_EXTRA = {
    "delivery": ", smtp_reply = replace(smtp_reply, address, ?), "
    "last_error = replace(last_error, address, ?)",
    "campaign_recipient": "",
}


async def _write(conn: BaseDBAsyncClient, table: str, pairs: list[tuple[int, str]]) -> None:
    if dialect(conn) == "postgres":
        await conn.execute_query(
            f"UPDATE {table} AS t SET address = v.p{_PG_EXTRA[table]} "
            "FROM unnest($1::bigint[], $2::text[]) AS v(id, p) WHERE t.id = v.id",
            [[i for i, _ in pairs], [p for _, p in pairs]],
        )
        return
    extra = _SQLITE_EXTRA[table]
    values = [[p, p, p, i] if extra else [p, i] for i, p in pairs]
    await conn.execute_many(f"UPDATE {table} SET address = ?{extra} WHERE id = ?", values)


def _ms_since(began: float) -> float:
    return (time.perf_counter() - began) * 1000
