"""The outbox: Delivery rows planned in bulk, and the results of their attempts recorded.

- :func:`plan` writes one row per recipient of the frozen audience and channel with one
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``; running it twice adds nothing.
- claiming, renewing and releasing leases is in :mod:`services.delivery.leases`;
- :func:`record` stores a batch's outcomes, its attempt rows, bounces and one summary audit
  event in one transaction, and only for rows the worker still holds.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.db import dialect, write_transaction
from incident_svc.domain.enums import AttemptOutcome, DeliveryStatus, EmailStatus
from incident_svc.domain.retry import RetryPolicy
from incident_svc.rawsql import in_list, placeholders, query
from incident_svc.services.auditlog import audit
from incident_svc.services.incident import reach

SENDING = DeliveryStatus.SENDING.value
PENDING = DeliveryStatus.PENDING.value
OPT_OUT_REASON = "security notice: administrative, sent despite the marketing opt-out"
PLAIN_REASON = "security notice: administrative"

# Deliveries come from the campaign's frozen audience (services.delivery.approved_audience), never
# from the live affected list: what was approved is what is planned.
_PLAN = """
INSERT INTO delivery (campaign_id, recipient_ref, channel, subject_id, account_id, address,
                      locale, status, attempts, next_attempt_at, send_reason, updated_at)
SELECT ?, r.recipient_ref, ?, r.subject_id, r.account_id, r.address, r.locale, 'pending', 0, ?,
       CASE WHEN s.marketing_opt_out THEN ? ELSE ? END, ?
FROM campaign_recipient r LEFT JOIN subject s ON s.id = r.subject_id
WHERE r.campaign_id = ?
ORDER BY r.member_id
ON CONFLICT (campaign_id, recipient_ref, channel) DO NOTHING
"""
# A campaign started again after a new approval: pending rows follow the new audience
# (a recipient is the frozen row of its subject, or its account for holder notices).
_READDRESS = """
UPDATE delivery SET recipient_ref = r.recipient_ref, address = r.address, locale = r.locale,
                    updated_at = ?
FROM campaign_recipient r
WHERE delivery.campaign_id = ? AND delivery.channel = ? AND delivery.status = 'pending'
  AND r.campaign_id = delivery.campaign_id
  AND r.member_id = COALESCE(delivery.subject_id, delivery.account_id)
  AND (r.address <> delivery.address OR r.locale <> delivery.locale
       OR r.recipient_ref <> delivery.recipient_ref)
"""
_DROP_UNAPPROVED = """
UPDATE delivery SET status = 'cancelled', updated_at = ?
WHERE campaign_id = ? AND channel = ? AND status = 'pending'
  AND NOT EXISTS (SELECT 1 FROM campaign_recipient r
                  WHERE r.campaign_id = ?
                    AND r.member_id = COALESCE(delivery.subject_id, delivery.account_id))
"""


async def plan(
    conn: BaseDBAsyncClient,
    *,
    campaign_id: int,
    channel: str,
    now: datetime,
    reasons: tuple[str, str] | None = None,
) -> int:
    """Materialise the campaign's deliveries for ``channel`` from its frozen audience inside
    ``conn``; returns the total (rows planned earlier included). ``reasons``: the send
    reasons (opted out, not) when they are not a security notice's (domain.send_reasons)."""
    await conn.execute_query(placeholders(_READDRESS, conn), [now, campaign_id, channel])
    await conn.execute_query(
        placeholders(_DROP_UNAPPROVED, conn), [now, campaign_id, channel, campaign_id]
    )
    opted_out, plain = reasons or (OPT_OUT_REASON, PLAIN_REASON)
    values = [campaign_id, channel, now, opted_out, plain, now, campaign_id]
    await conn.execute_query(placeholders(_PLAN, conn), values)
    rows = await query(
        conn,
        "SELECT count(*) AS n FROM delivery WHERE campaign_id = ? AND channel = ? "
        "AND status <> 'cancelled'",
        [campaign_id, channel],
    )
    return int(rows[0]["n"])


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed delivery in this attempt."""

    delivery_id: int
    attempt: int  # this attempt's number: the tries recorded when it was claimed, plus one
    outcome: AttemptOutcome
    code: int | None
    reply: str
    content_sha256: str | None = None
    subject_id: int | None = None


@dataclass(frozen=True)
class BatchSummary:
    sent: int
    retried: int
    failed: int
    stale: int  # results for rows this worker no longer held (lease expired): not recorded
    ledger_sha256: str


@dataclass(frozen=True)
class BatchContext:
    """Who records, for which campaign, under which policy and audit key."""

    campaign_id: int
    incident_ref: str
    worker_id: str
    actor: str
    policy: RetryPolicy
    key: bytes | None
    lease_owner: str | None = None  # the batch's lease name ("{worker}/{n}"); else worker_id
    ref_key: str = "incident"  # "matter" for a policy change's or a disclosure's campaign


async def record(
    context: BatchContext, outcomes: Sequence[Outcome], *, now: datetime
) -> BatchSummary:
    """Store the batch's results, attempts, bounces and one audit event, all or nothing.

    Only rows this worker still leases are written (the update's own condition, so no row is
    read first); results for the others are counted as stale.
    """
    by_id = {o.delivery_id: o for o in outcomes}
    rows = [_result_row(o, context.policy, now) for o in outcomes]
    recorded: list[_Row] = []
    async with write_transaction() as conn:
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            owner = context.lease_owner or context.worker_id
            held = await query(conn, *_update_results(conn, owner, chunk))
            ids = {int(row["id"]) for row in held}
            mine = [row for row in chunk if row.delivery_id in ids]
            if mine:
                await conn.execute_query(*_insert_attempts(conn, mine))
            recorded.extend(mine)
        written = [by_id[row.delivery_id] for row in recorded]
        sent = [row.delivery_id for row in recorded if row.status is DeliveryStatus.SENT]
        if sent:  # the people these reached, for the obligations (services/incident/reach)
            await reach.deliveries_sent(
                conn, campaign_id=context.campaign_id, delivery_ids=sent, at=now
            )
        await _mark_bounced(conn, [o.subject_id for o in written if _is_bounce(o)], now)
        summary = _summary(recorded, stale=len(outcomes) - len(recorded))
        await audit.record(
            conn,
            actor=context.actor,
            action="delivery.batch",
            target_type="campaign",
            target_id=context.campaign_id,
            details={
                context.ref_key: context.incident_ref,
                "worker": context.worker_id,
                "sent": summary.sent,
                "retried": summary.retried,
                "failed": summary.failed,
                "stale": summary.stale,
                "deliveries": len(recorded),
                "ledger_sha256": summary.ledger_sha256,
            },
            key=context.key,
        )
    return summary


# Each group commit writes its rows with two statements, whatever their number: one UPDATE
# joined to the rows' new values (returning the rows it found still leased to the worker)
# and one multi-row INSERT of their attempts, instead of a statement per row. At most this
# many rows per statement (SQLite's limit of bound variables). On PostgreSQL the UPDATE locks
# the rows it writes, so a reaper or another worker waits for the commit and then finds
# them no longer leased; on SQLite the transaction holds the write lock (BEGIN IMMEDIATE).
_ROWS_PER_STATEMENT = 500

_UPDATE_RESULTS = """
UPDATE delivery
SET status = v.status, attempts = v.attempts, next_attempt_at = v.next_attempt_at,
    sent_at = v.sent_at, smtp_reply = v.smtp_reply,
    content_hash = COALESCE(v.content_hash, delivery.content_hash), last_error = v.last_error,
    lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
FROM ({values}) AS v{columns}
WHERE delivery.id = v.id AND delivery.status = 'sending' AND delivery.lease_owner = ?
RETURNING delivery.id
"""
_COLUMNS = "id, status, attempts, next_attempt_at, sent_at, smtp_reply, content_hash, last_error"
# SQLite names a VALUES table's columns column1, column2, ...: a first SELECT names them
_SQLITE_FIRST = "SELECT " + ", ".join(f"? AS {c}" for c in _COLUMNS.split(", "))
_SQLITE_ROW = "(?, ?, ?, ?, ?, ?, ?, ?)"
# PostgreSQL types a VALUES list by its rows: every value says its column's type
_POSTGRES_ROW = (
    "(?::bigint, ?::varchar, ?::integer, ?::timestamptz, ?::timestamptz, ?::text, ?::varchar,"
    " ?::text)"
)


def _update_results(
    conn: BaseDBAsyncClient, worker_id: str, rows: Sequence[_Row]
) -> tuple[str, list[Any]]:
    """One UPDATE of every row's result (status, attempts, reply, ...) and its lease released,
    for the rows ``worker_id`` still leases; it returns their ids. The SQL keeps its ``?``
    placeholders: it runs through :func:`query`, which writes them for PostgreSQL."""
    if dialect(conn) == "postgres":
        values = "VALUES " + ", ".join([_POSTGRES_ROW] * len(rows))
        sql = _UPDATE_RESULTS.format(values=values, columns=f"({_COLUMNS})")
    else:
        values = _SQLITE_FIRST
        if len(rows) > 1:
            values += " UNION ALL VALUES " + ", ".join([_SQLITE_ROW] * (len(rows) - 1))
        sql = _UPDATE_RESULTS.format(values=values, columns="")
    flat: list[Any] = [rows[0].now]
    for row in rows:
        flat.extend(row.update)
    flat.append(worker_id)
    return sql, flat


def _insert_attempts(conn: BaseDBAsyncClient, rows: Sequence[_Row]) -> tuple[str, list[Any]]:
    """One multi-row INSERT of the rows' attempts."""
    sql = (
        "INSERT INTO delivery_attempt (delivery_id, number, at, outcome, code, reply) VALUES "
        + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(rows))
    )
    flat: list[Any] = []
    for row in rows:
        flat.extend(row.attempt)
    return placeholders(sql, conn), flat


# json.dumps(..., ensure_ascii=False) builds an encoder per call; this is the same encoder, once
_LEDGER_LINE = json.JSONEncoder(ensure_ascii=False)


@dataclass(frozen=True)
class _Row:
    delivery_id: int
    status: DeliveryStatus
    now: datetime
    attempt: list[Any]
    update: list[Any]  # in the order of _COLUMNS
    ledger_line: str


def _result_row(o: Outcome, policy: RetryPolicy, now: datetime) -> _Row:
    number = o.attempt
    status, next_at = _next_state(o.outcome, number, policy, now)
    accepted = o.outcome is AttemptOutcome.ACCEPTED
    update = [
        o.delivery_id,
        status.value,
        number,
        next_at,
        now if accepted else None,
        o.reply if status is not DeliveryStatus.PENDING else None,
        o.content_sha256,
        None if accepted else o.reply,
    ]
    attempt = [o.delivery_id, number, now, o.outcome.value, o.code, o.reply]
    line = _LEDGER_LINE.encode(
        [o.delivery_id, number, status.value, o.code, o.reply, o.content_sha256]
    )
    return _Row(o.delivery_id, status, now, attempt, update, line)


def _next_state(
    outcome: AttemptOutcome, attempts: int, policy: RetryPolicy, now: datetime
) -> tuple[DeliveryStatus, datetime]:
    if outcome is AttemptOutcome.ACCEPTED:
        return DeliveryStatus.SENT, now
    if outcome is AttemptOutcome.PERMANENT or policy.gives_up_after(attempts):
        return DeliveryStatus.FAILED, now
    return DeliveryStatus.PENDING, policy.next_attempt_at(now, attempts)


def _is_bounce(o: Outcome) -> bool:
    return o.outcome is AttemptOutcome.PERMANENT and o.subject_id is not None


async def _mark_bounced(
    conn: BaseDBAsyncClient, subject_ids: list[int | None], now: datetime
) -> None:
    ids = sorted({i for i in subject_ids if i is not None})
    if not ids:
        return
    sql = f"UPDATE subject SET email_status = ?, updated_at = ? WHERE id IN ({in_list(len(ids))})"
    await conn.execute_query(placeholders(sql, conn), [EmailStatus.BOUNCED.value, now, *ids])


def _summary(rows: list[_Row], *, stale: int) -> BatchSummary:
    counts = Counter(row.status for row in rows)
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r.delivery_id):
        digest.update(row.ledger_line.encode("utf-8") + b"\n")
    return BatchSummary(
        sent=counts[DeliveryStatus.SENT],
        retried=counts[DeliveryStatus.PENDING],
        failed=counts[DeliveryStatus.FAILED],
        stale=stale,
        ledger_sha256=digest.hexdigest(),
    )
