"""Leases on deliveries: a worker claims a batch of due rows, renews, and hands back.

- :func:`claim` leases a batch of due rows to one worker (PostgreSQL: ``FOR UPDATE SKIP
  LOCKED``; SQLite: one ``UPDATE ... RETURNING`` under ``BEGIN IMMEDIATE``) and gives each
  its stable Message-ID. Expired leases (a crashed worker) go back to the pool first.
- :func:`renew` extends the leases still held; :func:`release` gives back rows never handed
  to SMTP. Outcomes are recorded by :func:`services.delivery.outbox.record`, only for rows
  the worker still holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.db import dialect, write_transaction
from incident_svc.rawsql import in_list, placeholders, query


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

# A worker never reaps its own batches' leases (owners "{worker}/{n}"): they are in flight
# in its process, which may be riding out a database fault longer than the lease.
_REAP = """
UPDATE delivery SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL,
                    next_attempt_at = ?
WHERE campaign_id = ? AND status = 'sending' AND lease_expires_at < ?
      AND substr(lease_owner, 1, ?) <> ?
"""
# A claim retried after a fault first gives back what its lost first try may have leased.
_FORGET = """
UPDATE delivery SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL
WHERE campaign_id = ? AND status = 'sending' AND lease_owner = ?
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
    retrying: bool = False,
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of one campaign to ``worker_id`` (``worker/batch``)."""
    expires = now + timedelta(seconds=lease_seconds)
    mine = worker_id.rpartition("/")[0] + "/" if "/" in worker_id else worker_id
    async with write_transaction() as conn:
        if retrying:
            await conn.execute_query(placeholders(_FORGET, conn), [campaign_id, worker_id])
        reap = [FRONT_OF_QUEUE, campaign_id, now, len(mine), mine]
        await conn.execute_query(placeholders(_REAP, conn), reap)
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
