"""The outbox: Delivery rows planned in bulk, claimed under leases, and their results recorded.

- :func:`plan` writes one row per recipient and channel with one ``INSERT ... SELECT ... ON
  CONFLICT DO NOTHING``; running it twice adds nothing.
- :func:`claim` leases a batch of due rows to one worker (PostgreSQL: ``FOR UPDATE SKIP
  LOCKED``; SQLite: one ``UPDATE ... RETURNING`` under ``BEGIN IMMEDIATE``) and gives each
  its stable Message-ID. Expired leases (a crashed worker) go back to the pool first.
- :func:`record` stores a batch's outcomes, its attempt rows, bounces and one summary audit
  event in one transaction, and only for rows the worker still holds.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.db import dialect, write_transaction
from incident_svc.domain.enums import AttemptOutcome, DeliveryStatus, EmailStatus, NoticeKind
from incident_svc.domain.retry import RetryPolicy
from incident_svc.services import audit
from incident_svc.services.sqltext import as_utc, in_list, placeholders, query

SENDING = DeliveryStatus.SENDING.value
PENDING = DeliveryStatus.PENDING.value
OPT_OUT_REASON = "security notice: administrative, sent despite the marketing opt-out"
PLAIN_REASON = "security notice: administrative"

_PLAN_SUBJECTS = """
INSERT INTO delivery (campaign_id, recipient_ref, channel, subject_id, account_id, address,
                      locale, status, attempts, next_attempt_at, send_reason, updated_at)
SELECT ?, s.external_ref, ?, s.id, s.account_id, s.email, s.locale, 'pending', 0, ?,
       CASE WHEN s.marketing_opt_out THEN ? ELSE ? END, ?
FROM exposure e JOIN subject s ON s.id = e.subject_id
WHERE e.incident_id = ?
ORDER BY s.id
ON CONFLICT (campaign_id, recipient_ref, channel) DO NOTHING
"""

_PLAN_HOLDERS = """
INSERT INTO delivery (campaign_id, recipient_ref, channel, subject_id, account_id, address,
                      locale, status, attempts, next_attempt_at, send_reason, updated_at)
SELECT ?, a.account_ref, ?, NULL, a.id, a.holder_email, a.locale, 'pending', 0, ?, ?, ?
FROM account a
WHERE a.id IN (SELECT s.account_id FROM exposure e JOIN subject s ON s.id = e.subject_id
               WHERE e.incident_id = ? AND s.account_id IS NOT NULL)
ORDER BY a.id
ON CONFLICT (campaign_id, recipient_ref, channel) DO NOTHING
"""


async def plan(
    conn: BaseDBAsyncClient,
    *,
    campaign_id: int,
    incident_id: int,
    kind: NoticeKind,
    channel: str,
    now: datetime,
) -> int:
    """Materialise the campaign's deliveries for ``channel`` inside ``conn``; returns the total."""
    if kind is NoticeKind.ACCOUNT_HOLDER_NOTICE:
        sql = _PLAN_HOLDERS
        values: list[Any] = [campaign_id, channel, now, PLAIN_REASON, now, incident_id]
    else:
        sql = _PLAN_SUBJECTS
        values = [campaign_id, channel, now, OPT_OUT_REASON, PLAIN_REASON, now, incident_id]
    await conn.execute_query(placeholders(sql, conn), values)
    rows = await query(
        conn,
        "SELECT count(*) AS n FROM delivery WHERE campaign_id = ? AND channel = ?",
        [campaign_id, channel],
    )
    return int(rows[0]["n"])


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to one worker, with everything needed to compose and send it."""

    delivery_id: int
    subject_id: int | None
    account_id: int | None
    recipient_ref: str
    address: str
    locale: str
    message_id: str
    attempts: int  # tries recorded before this one


# A delivery whose worker died may have been accepted already: it goes to the front of the
# queue (due at FRONT_OF_QUEUE) so that its second copy is sent and recorded at once, not
# minutes later when another crash could catch it in the same window again.
FRONT_OF_QUEUE = datetime(2000, 1, 1, tzinfo=UTC)

_REAP = """
UPDATE delivery SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL,
                    next_attempt_at = ?
WHERE campaign_id = ? AND status = 'sending' AND lease_expires_at < ?
"""

_CLAIM = """
UPDATE delivery
SET status = 'sending', lease_owner = ?, lease_expires_at = ?, updated_at = ?,
    message_id = COALESCE(message_id, {message_id})
WHERE id IN (SELECT id FROM delivery
             WHERE campaign_id = ? AND status = 'pending' AND next_attempt_at <= ?
             ORDER BY next_attempt_at LIMIT ? {lock})
RETURNING id, subject_id, account_id, recipient_ref, address, locale, message_id, attempts
"""


def _claim_sql(conn: BaseDBAsyncClient) -> str:
    if dialect(conn) == "postgres":
        message_id = (
            "'<c' || campaign_id::text || '.d' || id::text || '.' || ?::text"
            " || '@' || ?::text || '>'"
        )
        return placeholders(
            _CLAIM.format(message_id=message_id, lock="FOR UPDATE SKIP LOCKED"), conn
        )
    message_id = "'<c' || campaign_id || '.d' || id || '.' || ? || '@' || ? || '>'"
    return _CLAIM.format(message_id=message_id, lock="")


async def claim(
    *,
    campaign_id: int,
    worker_id: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
    message_id_token: str,
    message_id_domain: str,
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of one campaign to ``worker_id``."""
    expires = now + timedelta(seconds=lease_seconds)
    async with write_transaction() as conn:
        await conn.execute_query(placeholders(_REAP, conn), [FRONT_OF_QUEUE, campaign_id, now])
        values = [worker_id, expires, now, message_id_token, message_id_domain]
        rows = await conn.execute_query_dict(_claim_sql(conn), [*values, campaign_id, now, limit])
    return sorted((_claimed(dict(row)) for row in rows), key=lambda c: c.delivery_id)


def _claimed(row: dict[str, Any]) -> Claimed:
    return Claimed(
        delivery_id=int(row["id"]),
        subject_id=row["subject_id"],
        account_id=row["account_id"],
        recipient_ref=row["recipient_ref"],
        address=row["address"],
        locale=row["locale"],
        message_id=row["message_id"],
        attempts=int(row["attempts"]),
    )


async def release(*, worker_id: str, delivery_ids: Sequence[int]) -> int:
    """Give back leased deliveries that were never handed to SMTP (a clean stop)."""
    if not delivery_ids:
        return 0
    sql = (
        "UPDATE delivery SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL "
        f"WHERE status = 'sending' AND lease_owner = ? AND id IN ({in_list(len(delivery_ids))}) "
        "RETURNING id"
    )
    async with write_transaction() as conn:
        rows = await query(conn, sql, [worker_id, *delivery_ids])
    return len(rows)


async def renew(*, worker_id: str, delivery_ids: Sequence[int], until: datetime) -> int:
    """Extend the leases this worker still holds to ``until``; returns how many it holds."""
    if not delivery_ids:
        return 0
    sql = (
        "UPDATE delivery SET lease_expires_at = ? "
        f"WHERE status = 'sending' AND lease_owner = ? AND id IN ({in_list(len(delivery_ids))}) "
        "RETURNING id"
    )
    async with write_transaction() as conn:
        rows = await query(conn, sql, [until, worker_id, *delivery_ids])
    return len(rows)


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed delivery in this attempt."""

    delivery_id: int
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


async def record(
    context: BatchContext, outcomes: Sequence[Outcome], *, now: datetime
) -> BatchSummary:
    """Store the batch's results, attempts, bounces and one audit event, all or nothing."""
    async with write_transaction() as conn:
        held = await _still_held(conn, context.worker_id, [o.delivery_id for o in outcomes])
        mine = [o for o in outcomes if o.delivery_id in held]
        rows = [_result_row(o, held[o.delivery_id] + 1, context.policy, now) for o in mine]
        if rows:
            await conn.execute_many(placeholders(_UPDATE_RESULT, conn), [r.update for r in rows])
            await conn.execute_many(placeholders(_INSERT_ATTEMPT, conn), [r.attempt for r in rows])
        await _mark_bounced(conn, [o.subject_id for o in mine if _is_bounce(o)], now)
        summary = _summary(rows, stale=len(outcomes) - len(mine))
        await audit.record(
            conn,
            actor=context.actor,
            action="delivery.batch",
            target_type="campaign",
            target_id=context.campaign_id,
            details={
                "incident": context.incident_ref,
                "worker": context.worker_id,
                "sent": summary.sent,
                "retried": summary.retried,
                "failed": summary.failed,
                "stale": summary.stale,
                "deliveries": len(rows),
                "ledger_sha256": summary.ledger_sha256,
            },
            key=context.key,
        )
    return summary


async def _still_held(conn: BaseDBAsyncClient, worker_id: str, ids: list[int]) -> dict[int, int]:
    """The ids (with their attempt counts) this worker still leases, locked until the commit.

    PostgreSQL: ``FOR UPDATE`` locks the rows against a reaper or another worker. SQLite: the
    transaction began with ``BEGIN IMMEDIATE``, which holds the database's write lock, so a
    plain read is already stable (no row is written twice per outcome).
    """
    if not ids:
        return {}
    lock = " FOR UPDATE" if dialect(conn) == "postgres" else ""
    sql = (
        "SELECT id, attempts FROM delivery "
        f"WHERE status = 'sending' AND lease_owner = ? AND id IN ({in_list(len(ids))}){lock}"
    )
    rows = await query(conn, sql, [worker_id, *ids])
    return {int(row["id"]): int(row["attempts"]) for row in rows}


_UPDATE_RESULT = """
UPDATE delivery
SET status = ?, attempts = ?, next_attempt_at = ?, sent_at = ?, smtp_reply = ?,
    content_hash = COALESCE(?, content_hash), last_error = ?,
    lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
WHERE id = ?
"""

_INSERT_ATTEMPT = """
INSERT INTO delivery_attempt (delivery_id, number, at, outcome, code, reply)
VALUES (?, ?, ?, ?, ?, ?)
"""


@dataclass(frozen=True)
class _Row:
    delivery_id: int
    status: DeliveryStatus
    attempt: list[Any]
    update: list[Any]
    ledger_line: str


def _result_row(o: Outcome, number: int, policy: RetryPolicy, now: datetime) -> _Row:
    status, next_at = _next_state(o.outcome, number, policy, now)
    accepted = o.outcome is AttemptOutcome.ACCEPTED
    update = [
        status.value,
        number,
        next_at,
        now if accepted else None,
        o.reply if status is not DeliveryStatus.PENDING else None,
        o.content_sha256,
        None if accepted else o.reply,
        now,
        o.delivery_id,
    ]
    attempt = [o.delivery_id, number, now, o.outcome.value, o.code, o.reply]
    line = json.dumps(
        [o.delivery_id, number, status.value, o.code, o.reply, o.content_sha256],
        ensure_ascii=False,
    )
    return _Row(o.delivery_id, status, attempt, update, line)


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


async def open_count(conn: BaseDBAsyncClient, campaign_id: int) -> int:
    """Deliveries of the campaign not yet final (pending or leased)."""
    rows = await query(
        conn,
        "SELECT count(*) AS n FROM delivery WHERE campaign_id = ? AND status IN ('pending', 'sending')",
        [campaign_id],
    )
    return int(rows[0]["n"])


async def next_due(conn: BaseDBAsyncClient, campaign_id: int) -> datetime | None:
    """When the campaign's next pending delivery (or expiring lease) comes due."""
    rows = await query(
        conn,
        "SELECT min(next_attempt_at) AS due FROM delivery WHERE campaign_id = ? AND status = 'pending'",
        [campaign_id],
    )
    leases = await query(
        conn,
        "SELECT min(lease_expires_at) AS due FROM delivery WHERE campaign_id = ? AND status = 'sending'",
        [campaign_id],
    )
    times = [t for t in (as_utc(rows[0]["due"]), as_utc(leases[0]["due"])) if t is not None]
    return min(times) if times else None
