"""The alarms the service sets from what the database says. Pure.

The database is the source of truth and APScheduler only the clock: each poll turns the rows
into a list of :class:`Wakeup` and the scheduler makes its jobs match that list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from incident_svc.domain.enums import WakeupAction


@dataclass(frozen=True)
class Wakeup:
    """Run ``action`` at ``at``; ``job_id`` names the row it came from (stable across polls)."""

    job_id: str
    at: datetime
    action: WakeupAction


def campaign_start_at(
    scheduled_at: datetime | None, hold_until: datetime | None, hold_reason: str | None
) -> datetime | None:
    """When a waiting campaign may start: its time, or later when a hold expires.

    A hold with a reason and no end lasts until someone releases it: no alarm.
    """
    if scheduled_at is None:
        return None
    if hold_until is None:
        return None if hold_reason else scheduled_at
    return max(scheduled_at, hold_until)


def banner_edges(
    banner_id: int, starts_at: datetime, ends_at: datetime | None, *, now: datetime
) -> list[Wakeup]:
    """Alarms at the future edges of a banner's window."""
    edges = [("start", starts_at), ("end", ends_at)]
    return [
        Wakeup(f"banner:{banner_id}:{name}", at, WakeupAction.BANNER_EDGE)
        for name, at in edges
        if at is not None and at > now
    ]
