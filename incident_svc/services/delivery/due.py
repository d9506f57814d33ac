"""How much of a campaign is still open, and when its next delivery comes due."""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.rawsql import as_utc, query


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
