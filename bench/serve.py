"""What the service process costs the database while it runs: one scheduler poll, one scrape.

    python -m bench serve                                  # 200,000 deliveries (make bench)
    BENCH_SERVE_DELIVERIES=1000000 python -m bench serve   # the full size
    BENCH_SERVE_DB=postgres://... python -m bench serve    # on PostgreSQL (an empty database)

The scheduler polls every ``scheduler.poll_seconds`` (2 s) and Prometheus scrapes /metrics
every 15-60 s, so both must stay small next to those periods while millions of deliveries
exist. Each figure is a median of repeated runs, printed with its ratio to a ``SELECT 1``
round trip measured in the same run on the same connection.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from tortoise import connections

from incident_svc import db
from incident_svc.config import load_settings
from incident_svc.domain.enums import CampaignStatus, DeliveryStatus, NoticeKind, Severity
from incident_svc.domain.times import utcnow
from incident_svc.models import Campaign, Delivery, Incident
from incident_svc.services.delivery.metrics import delivery_metrics
from incident_svc.services.wakeups import load_plan

STATES = [DeliveryStatus.SENT] * 6 + [DeliveryStatus.PENDING] * 3 + [DeliveryStatus.FAILED]


async def median_ms(work: Callable[[], Awaitable[object]], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def populate(deliveries: int, incidents: int) -> None:
    now = utcnow()
    rows = [
        Incident(ref=f"INC-2026-{n:04d}", title="bench", summary="bench", severity=Severity.LOW,
                 discovered_at=now - timedelta(hours=n % 80), created_by="bench")
        for n in range(1, incidents + 1)
    ]  # fmt: skip
    await Incident.bulk_create(rows)
    first = await Incident.all().order_by("id").first()
    assert first is not None
    campaigns = [
        Campaign(incident_id=first.id, kind=NoticeKind.SUBJECT_NOTICE, created_by="bench",
                 status=CampaignStatus.SCHEDULED, scheduled_at=now + timedelta(hours=n))
        for n in range(50)
    ]  # fmt: skip
    await Campaign.bulk_create(campaigns)
    # nine in ten deliveries belong to a finished campaign, one in ten to one still sending
    done, sending = await Campaign.all().order_by("id").limit(2)
    await Campaign.filter(id=done.id).update(status=CampaignStatus.COMPLETED)
    await Campaign.filter(id=sending.id).update(status=CampaignStatus.SENDING)
    for start in range(0, deliveries, 20_000):
        await Delivery.bulk_create(
            [
                _delivery(sending.id if n % 10 == 0 else done.id, n, now)
                for n in range(start, min(deliveries, start + 20_000))
            ]
        )


def _delivery(campaign_id: int, n: int, now: object) -> Delivery:
    state = STATES[(n // 10) % len(STATES)]
    due = now - timedelta(seconds=n % 600)  # type: ignore[operator]
    sent = due if state is DeliveryStatus.SENT else None
    return Delivery(campaign_id=campaign_id, recipient_ref=f"S{n}", address=f"s{n}@x.example",
                    status=state, attempts=n % 3, next_attempt_at=due, sent_at=sent)  # fmt: skip


async def run(url: str, deliveries: int) -> None:
    await db.open_database(url)
    try:
        await db.upgrade()
        started = time.perf_counter()
        await populate(deliveries, incidents=200)
        print(f"populated {deliveries:,} deliveries (10% in a sending campaign), 200 incidents, 50 campaigns "
              f"in {time.perf_counter() - started:.1f} s ({db.dialect()})")  # fmt: skip
        settings = load_settings(overrides={"database_url": url})
        conn = connections.get("default")
        base = await median_ms(lambda: conn.execute_query("SELECT 1"), 50)
        poll = await median_ms(lambda: load_plan(now=utcnow(), settings=settings), 20)
        scrape = await median_ms(lambda: delivery_metrics(now=utcnow()), 7)
        print(f"SELECT 1 round trip (baseline)   {base:8.2f} ms  1.0x")
        print(f"scheduler poll (load_plan)       {poll:8.2f} ms  {poll / base:,.0f}x"
              f"  = {poll / 20:.2f}% of a 2 s poll period")  # fmt: skip
        print(f"/metrics delivery numbers        {scrape:8.2f} ms  {scrape / base:,.0f}x"
              f"  = {scrape / 150:.2f}% of a 15 s scrape period")  # fmt: skip
    finally:
        await db.close_database()


def main() -> None:
    deliveries = int(os.environ.get("BENCH_SERVE_DELIVERIES", "200000"))
    url = os.environ.get("BENCH_SERVE_DB")
    if url:
        asyncio.run(run(url, deliveries))
        return
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(f"sqlite://{Path(folder) / 'bench.sqlite3'}", deliveries))
