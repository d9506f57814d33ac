"""Numbers about delivery for /metrics and the database check for /healthz.

A handful of aggregate queries; each uses the delivery index (campaign, status, due time)
or a count, so a scrape stays cheap with millions of rows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.functions import Count

from incident_svc.domain.enums import CampaignStatus, DeliveryStatus
from incident_svc.models import Campaign, Delivery
from incident_svc.services.delivery.leases import FRONT_OF_QUEUE

RATE_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class DeliveryMetrics:
    by_state: dict[str, int]
    sent_last_window: int
    retry_backlog: int
    oldest_due_age_seconds: float

    @property
    def send_rate(self) -> float:
        """Messages accepted per second over the last minute."""
        return self.sent_last_window / RATE_WINDOW.total_seconds()


async def delivery_metrics(*, now: datetime) -> DeliveryMetrics:
    """Totals by state over every delivery; the rest over campaigns still sending.

    Only the totals scan the whole table. Rate, backlog and age look at sending campaigns
    through the (campaign, status, due time) index, so a database full of finished
    campaigns does not slow a scrape down.
    """
    counted = await Delivery.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    by_state = {state.value: 0 for state in DeliveryStatus}
    by_state.update({str(state): int(n) for state, n in counted})
    sending = await Campaign.filter(status=CampaignStatus.SENDING).values_list("id", flat=True)
    active = Delivery.filter(campaign_id__in=list(sending))
    pending = active.filter(status=DeliveryStatus.PENDING)
    # a delivery whose worker died is due at FRONT_OF_QUEUE (year 2000): its wait counts from
    # when it was claimed, not from then
    due = pending.filter(next_attempt_at__lte=now, next_attempt_at__gt=FRONT_OF_QUEUE)
    oldest = (
        await due.order_by("next_attempt_at").limit(1).values_list("next_attempt_at", flat=True)
    )
    orphan = await (
        pending.filter(next_attempt_at=FRONT_OF_QUEUE)
        .order_by("updated_at")
        .limit(1)
        .values_list("updated_at", flat=True)
    )
    found: list[Any] = [*oldest, *orphan]
    waiting_since = [t for t in found if isinstance(t, datetime)]
    recent = active.filter(status=DeliveryStatus.SENT, sent_at__gt=now - RATE_WINDOW)
    return DeliveryMetrics(
        by_state=by_state,
        sent_last_window=await recent.count() if sending else 0,
        retry_backlog=await pending.filter(attempts__gt=0).count() if sending else 0,
        oldest_due_age_seconds=(
            max(0.0, (now - min(waiting_since)).total_seconds()) if waiting_since else 0.0
        ),
    )


async def database_problem(limit_seconds: float = 2.0) -> str | None:
    """None when the database answers ``SELECT 1`` in time, else what went wrong."""
    try:
        async with asyncio.timeout(limit_seconds):
            await connections.get("default").execute_query("SELECT 1")
    except TimeoutError:
        return f"no answer within {limit_seconds:g} s"
    except Exception as exc:  # health reports any failure; it must not raise itself
        return f"{type(exc).__name__}: {exc}"
    return None
