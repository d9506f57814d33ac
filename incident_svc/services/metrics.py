"""Numbers about delivery for /metrics and the database check for /healthz.

A handful of aggregate queries; each uses the delivery index (campaign, status, due time)
or a count, so a scrape stays cheap with millions of rows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import connections
from tortoise.functions import Count

from incident_svc.domain.enums import DeliveryStatus
from incident_svc.models import Delivery

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
    counted = await Delivery.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    by_state = {state.value: 0 for state in DeliveryStatus}
    by_state.update({str(state): int(n) for state, n in counted})
    pending = Delivery.filter(status=DeliveryStatus.PENDING)
    oldest_due = await pending.filter(next_attempt_at__lte=now).order_by("next_attempt_at").first()
    return DeliveryMetrics(
        by_state=by_state,
        sent_last_window=await Delivery.filter(sent_at__gt=now - RATE_WINDOW).count(),
        retry_backlog=await pending.filter(attempts__gt=0).count(),
        oldest_due_age_seconds=(
            (now - oldest_due.next_attempt_at).total_seconds() if oldest_due else 0.0
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
