"""The scheduling core: alarms rebuilt from a real database, fired by a real AsyncIOScheduler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from incident_svc.domain.enums import CampaignStatus, WakeupAction
from incident_svc.domain.times import utcnow
from incident_svc.models import Campaign
from incident_svc.scheduling import ServiceScheduler
from tests.support import rows

S = timedelta(seconds=1)


class Recorder:
    """Records when each action was called (the services behind them have tests of their own)."""

    def __init__(self) -> None:
        self.calls: list[tuple[WakeupAction, datetime]] = []
        self.called = asyncio.Event()

    def actions(self) -> dict[WakeupAction, Any]:
        return {action: self._for(action) for action in WakeupAction}

    def _for(self, action: WakeupAction) -> Any:
        async def record(now: datetime) -> None:
            self.calls.append((action, now))
            self.called.set()

        return record

    async def wait(self, timeout: float = 5.0) -> tuple[WakeupAction, datetime]:
        await asyncio.wait_for(self.called.wait(), timeout)
        self.called.clear()
        return self.calls[-1]


def campaigns(scheduler: ServiceScheduler) -> dict[str, datetime]:
    return {k: v for k, v in scheduler.planned().items() if k.startswith("campaign:")}


@pytest.fixture
async def running(
    db_conn: str, settings_for: Any
) -> AsyncIterator[tuple[ServiceScheduler, Recorder]]:
    recorder = Recorder()
    settings = settings_for(db_conn, scheduler={"poll_seconds": 0.2})
    scheduler = ServiceScheduler(settings=settings, actions=recorder.actions())
    yield scheduler, recorder
    scheduler.shutdown()


async def test_campaign_starts_at_its_time(running: tuple[ServiceScheduler, Recorder]) -> None:
    scheduler, recorder = running
    at = utcnow() + 1 * S
    inc = await rows.incident()
    created = await rows.campaign(inc, at)
    await scheduler.start()
    assert campaigns(scheduler) == {f"campaign:{created.id}": at}
    action, fired = await recorder.wait()
    assert action == WakeupAction.START_CAMPAIGNS
    assert at <= fired < at + 0.5 * S


async def test_time_passed_while_down_fires_at_once(
    running: tuple[ServiceScheduler, Recorder],
) -> None:
    scheduler, recorder = running
    inc = await rows.incident()
    await rows.campaign(inc, utcnow() - timedelta(hours=3))
    started = utcnow()
    await scheduler.start()
    action, fired = await recorder.wait(timeout=2)
    assert action == WakeupAction.START_CAMPAIGNS
    assert fired - started < 1 * S


async def test_changes_in_the_database_are_picked_up(
    running: tuple[ServiceScheduler, Recorder],
) -> None:
    scheduler, recorder = running
    inc = await rows.incident()
    created = await rows.campaign(inc, utcnow() + timedelta(hours=1))
    await scheduler.start()
    assert not recorder.called.is_set()
    sooner = utcnow() + 0.5 * S
    await Campaign.filter(id=created.id).update(scheduled_at=sooner)
    action, fired = await recorder.wait(timeout=3)
    assert action == WakeupAction.START_CAMPAIGNS
    assert fired >= sooner


async def test_cancelled_campaign_loses_its_alarm(
    running: tuple[ServiceScheduler, Recorder],
) -> None:
    scheduler, recorder = running
    inc = await rows.incident()
    created = await rows.campaign(inc, utcnow() + 1 * S)
    await scheduler.start()
    await Campaign.filter(id=created.id).update(status=CampaignStatus.CANCELLED)
    await asyncio.sleep(1.5)
    assert recorder.calls == []
    assert campaigns(scheduler) == {}


@pytest.mark.parametrize(
    ("hold_until", "hold_reason", "expected"),
    [
        (None, "legal review", None),  # held until released: no alarm
        (timedelta(hours=2), "legal review", timedelta(hours=2)),  # held until it expires
        (timedelta(minutes=-5), None, timedelta(hours=1)),  # an expired hold changes nothing
    ],
)
async def test_holds(
    running: tuple[ServiceScheduler, Recorder],
    hold_until: timedelta | None,
    hold_reason: str | None,
    expected: timedelta | None,
) -> None:
    scheduler, _ = running
    base = utcnow().replace(microsecond=0)
    inc = await rows.incident()
    created = await rows.campaign(
        inc,
        base + timedelta(hours=1),
        hold_until=None if hold_until is None else base + hold_until,
        hold_reason=hold_reason,
    )
    await scheduler.start()
    want = {} if expected is None else {f"campaign:{created.id}": base + expected}
    assert campaigns(scheduler) == want


async def test_reminders_get_an_alarm(running: tuple[ServiceScheduler, Recorder]) -> None:
    scheduler, _ = running
    now = utcnow().replace(microsecond=0)
    await rows.incident(discovered_at=now)  # 72 h deadline, reminders at 48 h and 68 h
    await rows.incident(  # the regulator was told: no reminder, though one would be overdue
        "INC-2026-0002", discovered_at=now - timedelta(hours=60), regulator_notified_at=now
    )
    await scheduler.start()
    assert scheduler.planned() == {"reminders": now + timedelta(hours=48)}


async def test_a_failing_action_is_retried_later(db_conn: str, settings_for: Any) -> None:
    attempts: list[datetime] = []

    async def failing(now: datetime) -> None:
        attempts.append(now)
        raise RuntimeError("relay down")

    settings = settings_for(db_conn, scheduler={"poll_seconds": 0.1})
    actions = dict.fromkeys(WakeupAction, failing)
    scheduler = ServiceScheduler(settings=settings, actions=actions)
    inc = await rows.incident()
    await rows.campaign(inc, utcnow() - 1 * S)
    try:
        await scheduler.start()
        await asyncio.sleep(1.0)
    finally:
        scheduler.shutdown()
    assert len(attempts) == 1  # not once per poll: the next try waits RETRY_SECONDS
