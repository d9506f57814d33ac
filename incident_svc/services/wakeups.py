"""Read the alarms the service must set from the database: campaign starts and reminders.

Small tables and indexed columns only, so that the scheduler can call this every
``scheduler.poll_seconds`` and pick up what the CLI changed without any notification.
"""

from __future__ import annotations

from datetime import datetime

from incident_svc.config import Settings
from incident_svc.domain.enums import CampaignStatus, WakeupAction
from incident_svc.domain.wakeups import Wakeup, campaign_start_at
from incident_svc.models import Campaign
from incident_svc.services.disclosure import disclosure_jobs
from incident_svc.services.obligations import reminders

WAITING = (CampaignStatus.APPROVED, CampaignStatus.SCHEDULED)
REMINDERS_JOB = "reminders"
DISCLOSURES_JOB = "disclosures"


async def load_plan(*, now: datetime, settings: Settings) -> list[Wakeup]:
    """Every alarm the database asks for at ``now`` (times may lie in the past: due now)."""
    return [
        *await campaign_wakeups(),
        *await reminder_wakeups(now=now, settings=settings),
        *await disclosure_wakeups(now=now),
    ]


async def campaign_wakeups() -> list[Wakeup]:
    rows = await Campaign.filter(status__in=WAITING, scheduled_at__isnull=False).values_list(
        "id", "scheduled_at", "hold_until", "hold_reason"
    )
    wakeups = []
    for campaign_id, scheduled_at, hold_until, hold_reason in rows:
        at = campaign_start_at(scheduled_at, hold_until, hold_reason)
        if at is not None:
            wakeups.append(Wakeup(f"campaign:{campaign_id}", at, WakeupAction.START_CAMPAIGNS))
    return wakeups


async def reminder_wakeups(*, now: datetime, settings: Settings) -> list[Wakeup]:
    at = await reminders.next_reminder_at(now=now, settings=settings)
    return [] if at is None else [Wakeup(REMINDERS_JOB, at, WakeupAction.SEND_REMINDERS)]


async def disclosure_wakeups(*, now: datetime) -> list[Wakeup]:
    at = await disclosure_jobs.next_wakeup(now=now)
    return [] if at is None else [Wakeup(DISCLOSURES_JOB, at, WakeupAction.DISCLOSURES)]
