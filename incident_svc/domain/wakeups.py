"""The alarms the service sets from what the database says. Pure.

The database is the source of truth and APScheduler only the clock: each poll turns the rows
into a list of :class:`Wakeup` and the scheduler makes its jobs match that list.

Banner windows need no alarm: the feed holds every current and future banner and decides
visibility at request time, so its edges are exact without the scheduler (docs/banners.md).
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
