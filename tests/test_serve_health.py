"""/healthz and /metrics against a real database, in process (the app without uvicorn)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from incident_svc.domain.enums import CampaignStatus, DeliveryStatus
from incident_svc.domain.times import utcnow
from incident_svc.models import Delivery
from incident_svc.service_status import ServiceStatus
from incident_svc.web.health import health_routes, verdict
from tests.support import rows


async def get(status: ServiceStatus, path: str) -> httpx.Response:
    app = Starlette(routes=health_routes(status))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.get(path)


@pytest.mark.parametrize(
    ("scheduler", "dispatcher", "database_down", "relay_down", "expected"),
    [
        ("running", "alive", False, False, ("ok", 200)),
        ("disabled", "disabled", False, False, ("ok", 200)),
        ("running", "alive", False, True, ("degraded", 200)),
        ("running", "alive", True, False, ("degraded", 200)),
        # the database away: polls skipped and a worker waiting to restart are the outage's
        ("stale", "alive", True, False, ("degraded", 200)),
        ("running", "restarting", True, False, ("degraded", 200)),
        ("stale", "restarting", True, True, ("degraded", 200)),
        # ... with the database answering they are faults of their own
        ("stale", "alive", False, False, ("fail", 503)),
        ("running", "restarting", False, False, ("fail", 503)),
        ("stale", "alive", False, True, ("fail", 503)),
        # a stopped scheduler or a dead worker is a fault whatever else is going on
        ("stopped", "alive", True, False, ("fail", 503)),
        ("running", "dead", True, False, ("fail", 503)),
        ("stale", "dead", True, False, ("fail", 503)),
    ],
)
def test_health_verdict(
    scheduler: str,
    dispatcher: str,
    database_down: bool,
    relay_down: bool,
    expected: tuple[str, int],
) -> None:
    got = verdict(scheduler, dispatcher, database_down=database_down, relay_down=relay_down)
    assert got == expected


async def test_dead_dispatcher_makes_health_fail(db_conn: str) -> None:
    async def crashed() -> None:
        raise RuntimeError("boom")

    worker = asyncio.create_task(crashed())
    await asyncio.gather(worker, return_exceptions=True)
    status = ServiceStatus(dispatch_enabled=True, workers=[worker])
    response = await get(status, "/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "relay": "ok",
        "scheduler": "disabled",
        "dispatcher": "dead",
    }


async def test_metrics_count_deliveries(db_conn: str) -> None:
    now = utcnow()
    inc = await rows.incident()
    campaign = await rows.campaign(inc, now, status=CampaignStatus.SENDING)
    finished = await rows.campaign(inc, now, status=CampaignStatus.COMPLETED)

    def delivery(n: int, status: DeliveryStatus, **fields: Any) -> Delivery:
        values: dict[str, Any] = {"next_attempt_at": now + timedelta(hours=1)}
        values.update(fields)
        return Delivery(
            campaign=campaign,
            recipient_ref=f"S{n}",
            address=f"s{n}@x.test",
            status=status,
            **values,
        )

    await Delivery.bulk_create(
        [
            delivery(1, DeliveryStatus.SENT, sent_at=now - timedelta(seconds=10)),
            delivery(2, DeliveryStatus.SENT, sent_at=now - timedelta(seconds=30)),
            delivery(3, DeliveryStatus.SENT, sent_at=now - timedelta(minutes=5)),  # outside 60 s
            delivery(4, DeliveryStatus.PENDING, next_attempt_at=now - timedelta(seconds=90)),
            delivery(
                5, DeliveryStatus.PENDING, attempts=2, next_attempt_at=now - timedelta(seconds=5)
            ),
            delivery(6, DeliveryStatus.PENDING, attempts=1),  # a retry, not due yet
            delivery(7, DeliveryStatus.FAILED, attempts=25),
        ]
    )
    # a finished campaign counts in the totals only (it sends nothing any more)
    await Delivery.create(
        campaign=finished, recipient_ref="S8", address="s8@x.test", status=DeliveryStatus.SENT,
        next_attempt_at=now, sent_at=now - timedelta(seconds=1),
    )  # fmt: skip
    response = await get(ServiceStatus(), "/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in response.text.splitlines()
        if not line.startswith("#")
    }
    assert values['incident_svc_deliveries{state="sent"}'] == 4
    assert values['incident_svc_deliveries{state="pending"}'] == 3
    assert values['incident_svc_deliveries{state="failed"}'] == 1
    assert values['incident_svc_deliveries{state="sending"}'] == 0
    assert abs(values["incident_svc_send_rate"] - 2 / 60) < 1e-6
    assert values["incident_svc_retry_backlog"] == 2
    assert 90 <= values["incident_svc_oldest_due_delivery_age_seconds"] < 95
