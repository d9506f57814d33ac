"""What every retention kind shares: its plan (rows per kind and day), its run's figures, and
the audit event each batch appends in its own transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.db import dialect
from incident_svc.services.auditlog import audit

Progress = Callable[[str, int], None]


@dataclass
class KindPlan:
    kind: str
    days: int
    cutoff: datetime
    rows: int = 0
    # one entry per day: {"<date_label>": "YYYY-MM-DD", ["campaigns": n,] "rows": n}
    by_date: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[int] = field(default_factory=list)  # the address kinds only
    date_label: str = "ended"  # what the day is: a campaign ended, a report was received ...
    held: list[str] = field(default_factory=list)  # rows due but kept, with the reason

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "kind": self.kind,
            "days": self.days,
            "cutoff": self.cutoff.isoformat(),
            "rows": self.rows,
            "by_date": self.by_date,
        }
        if self.held:
            found["held"] = self.held
        return found


@dataclass
class RunResult:
    kind: str
    rows: int = 0
    batches: int = 0
    seconds: float = 0.0
    # the longest single write (row locks on the table); a cancelled one counts up to its
    # rollback: the server acts on the cancel only when it next checks, late in an I/O stall
    longest_statement_ms: float = 0.0
    held: list[str] = field(default_factory=list)
    # how long each batch transaction held its row locks, commit included, cancelled ones too
    lock_ms: list[float] = field(default_factory=list, repr=False)
    # the same for the batches cancelled at the lock limit (rolled back, done again smaller)
    cancelled_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def longest_batch_ms(self) -> float:
        return max(self.lock_ms, default=0.0)

    @property
    def cancelled(self) -> int:
        return len(self.cancelled_ms)

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "kind": self.kind,
            "rows": self.rows,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "longest_statement_ms": round(self.longest_statement_ms, 2),
            "longest_batch_ms": round(self.longest_batch_ms, 2),
            "cancelled": self.cancelled,
        }
        if self.held:
            found["held"] = self.held
        return found

    def add_cancelled(self, batch_ms: float) -> None:
        self.longest_statement_ms = max(self.longest_statement_ms, batch_ms)
        self.lock_ms.append(batch_ms)
        self.cancelled_ms.append(batch_ms)

    def add_batch(self, rows: int, statement_ms: float, batch_ms: float) -> None:
        self.longest_statement_ms = max(self.longest_statement_ms, statement_ms)
        self.lock_ms.append(batch_ms)
        if rows:
            self.rows += rows
            self.batches += 1


@dataclass(frozen=True)
class RunContext:
    """What a run needs besides the plan: the keys, who runs it, the batch size."""

    key: bytes
    audit_key: bytes | None
    actor: str
    batch_size: int
    progress: Progress | None = None
    workers: int = 1  # connections pseudonymising addresses at once (PostgreSQL)
    passes: int = 1  # over each window of ids, the address kinds on PostgreSQL (addresses.py)
    lock_limit_ms: float | None = None  # a batch statement running longer is cancelled (same)


def per_day(days: list[tuple[Any, int]], label: str) -> tuple[int, list[dict[str, Any]]]:
    """Rows and the by-date entries from (day, rows) pairs; a day may come as text or a date."""
    summed: dict[str, int] = {}
    for day, rows in days:
        text = day.isoformat() if isinstance(day, date) else str(day)[:10]
        summed[text] = summed.get(text, 0) + int(rows)
    entries = [{label: d, "rows": n} for d, n in sorted(summed.items()) if n]
    return sum(summed.values()), entries


def day_of(conn: BaseDBAsyncClient, column: str) -> str:
    """SQL for the UTC day of a stored time, on either database."""
    if dialect(conn) == "postgres":
        return f"CAST(({column} AT TIME ZONE 'UTC') AS date)"
    return f"date({column})"


async def no_wal_wait(conn: BaseDBAsyncClient) -> None:
    """A batch lost to a crash before its WAL reached disk is lost with its audit event (one
    transaction) and redone by the next run: no need to wait for the flush."""
    if dialect(conn) == "postgres":
        await conn.execute_query("SET LOCAL synchronous_commit TO off")


async def audit_batch(
    conn: BaseDBAsyncClient,
    plan: KindPlan,
    context: RunContext,
    *,
    table: str,
    first: int,
    last: int,
    rows: int,
    extra: dict[str, Any] | None = None,
) -> None:
    """The batch's ``retention.batch`` event, last in the batch's transaction."""
    await audit.record(
        conn,
        actor=context.actor,
        action="retention.batch",
        target_type="retention",
        target_id=plan.kind,
        details={
            "kind": plan.kind,
            "table": table,
            "from_id": first,
            "to_id": last,
            "rows": rows,
            "days": plan.days,
            "cutoff": plan.cutoff.isoformat(),
            **(extra or {}),
        },
        key=context.audit_key,
    )


def ms_since(began: float) -> float:
    return (time.perf_counter() - began) * 1000
