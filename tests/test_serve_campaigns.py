"""Scheduled campaigns in the real service process, sent to a real SMTP server.

The service runs as a subprocess (`python -m incident_svc serve`); the test process holds
the SMTP server and reads the database. Times are real but short: the service polls the
database every 0.3 s here.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from incident_svc.config import Settings
from incident_svc.domain.enums import CampaignStatus, DeliveryStatus
from incident_svc.domain.times import utcnow
from incident_svc.models import AuditEvent, Campaign, Delivery
from incident_svc.resources import builtin_templates_dir
from incident_svc.services.delivery import campaign_start
from tests.support.campaign_setup import schedule, scheduled_campaign
from tests.support.service_process import run_cli, service, service_env
from tests.support.smtp_catcher import Catcher, smtp_catcher

pytestmark = pytest.mark.slow
S = timedelta(seconds=1)


@pytest.fixture
async def catcher() -> AsyncIterator[Catcher]:
    async with smtp_catcher() as server:
        yield server


@pytest.fixture
def env(db_conn: str, catcher: Catcher, tmp_path: Path) -> dict[str, str]:
    return service_env(
        db_conn,
        smtp_port=catcher.port,
        var_dir=tmp_path / "var",
        INCIDENT_SVC_DELIVERY__BATCH_SIZE="20",
    )


@pytest.fixture
def config(db_conn: str, settings_for: object) -> Settings:
    return settings_for(db_conn)  # type: ignore[operator, no-any-return]


async def wait_for_mail(catcher: Catcher, count: int, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while len(catcher.messages) < count:
            await asyncio.sleep(0.05)


async def wait_for_status(campaign_id: int, status: CampaignStatus, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while (await Campaign.get(id=campaign_id)).status is not status:
            await asyncio.sleep(0.1)


async def started_events(campaign_id: int) -> list[dict[str, object]]:
    events = await AuditEvent.filter(
        action="campaign.started", target_type="campaign", target_id=str(campaign_id)
    )
    return [json.loads(event.details) for event in events]


def message_ids(catcher: Catcher) -> list[str]:
    return [str(message["Message-ID"]) for _, message in catcher.messages]


async def first_arrival(catcher: Catcher) -> datetime:
    catcher.arrived.clear()
    await asyncio.wait_for(catcher.arrived.wait(), 15)
    return utcnow()


async def test_campaign_two_seconds_ahead_is_sent_then(
    env: dict[str, str], config: Settings, catcher: Catcher
) -> None:
    campaign = await scheduled_campaign(config, subjects=5, at=None)
    async with service(env) as svc:
        at = utcnow() + 2 * S
        await schedule(config, campaign.id, at)
        arrived = await first_arrival(catcher)
        await wait_for_mail(catcher, 5)
        await wait_for_status(campaign.id, CampaignStatus.COMPLETED)
        assert await svc.terminate() == 0
    assert at <= arrived < at + 1.5 * S
    [started] = await started_events(campaign.id)
    assert float(started["lateness_seconds"]) < 1.0  # type: ignore[arg-type]
    assert sorted(set(message_ids(catcher))) == sorted(message_ids(catcher))
    assert len(catcher.messages) == 5


async def test_killed_before_its_time_restarted_after_sends_once_late(
    env: dict[str, str], config: Settings, catcher: Catcher
) -> None:
    at = utcnow() + 8 * S  # room for a slow start on a loaded machine
    campaign = await scheduled_campaign(config, subjects=5, at=at)
    async with service(env) as svc:
        await svc.kill()  # SIGKILL, well before the campaign's time
    assert utcnow() < at, "the service took too long to start to be killed before its time"
    await asyncio.sleep((at - utcnow()).total_seconds() + 2.0)
    assert catcher.messages == []
    assert (await Campaign.get(id=campaign.id)).status is CampaignStatus.SCHEDULED
    restarted = utcnow()
    async with service(env) as svc:
        await wait_for_mail(catcher, 5)
        await wait_for_status(campaign.id, CampaignStatus.COMPLETED)
        assert await svc.terminate() == 0
    [started] = await started_events(campaign.id)
    assert float(started["lateness_seconds"]) >= 2.0  # type: ignore[arg-type]
    assert (await Campaign.get(id=campaign.id)).started_at >= restarted  # type: ignore[operator]
    assert len(catcher.messages) == 5
    assert len(set(message_ids(catcher))) == 5


async def test_sigterm_mid_campaign_exits_cleanly_and_a_restart_finishes(
    db_conn: str, config: Settings, catcher: Catcher, tmp_path: Path
) -> None:
    total = 120
    env = service_env(
        db_conn,
        smtp_port=catcher.port,
        var_dir=tmp_path / "var",
        INCIDENT_SVC_DELIVERY__BATCH_SIZE="10",
        INCIDENT_SVC_SMTP__RATE_LIMIT="40",  # 3 s for the whole campaign
    )
    campaign = await scheduled_campaign(config, subjects=total, at=utcnow())
    async with service(env) as svc:
        await wait_for_mail(catcher, 15)
        stopping = asyncio.get_running_loop().time()
        assert await svc.terminate() == 0
        took = asyncio.get_running_loop().time() - stopping
    assert took < 10  # the configured grace
    first_run = len(catcher.messages)
    assert first_run < total
    states = await Delivery.filter(campaign_id=campaign.id).values_list("status", flat=True)
    assert DeliveryStatus.SENDING not in states  # nothing left claimed
    assert states.count(DeliveryStatus.SENT) == first_run  # all that was accepted is recorded
    async with service(env) as svc:
        await wait_for_status(campaign.id, CampaignStatus.COMPLETED, timeout=20)
        assert await svc.terminate() == 0
    assert len(catcher.messages) == total
    assert len(set(message_ids(catcher))) == total


async def test_two_services_on_one_database_start_a_campaign_once(
    env: dict[str, str], config: Settings, catcher: Catcher
) -> None:
    campaign = await scheduled_campaign(config, subjects=30, at=None)
    async with service(env) as one, service(env) as two:
        at = utcnow() + 4 * S  # the operator schedules it with the CLI while both run
        code, _, err = await run_cli(
            env, "--actor", "alice", "campaign", "schedule", str(campaign.id), "--at", at.isoformat()
        )  # fmt: skip
        assert code == 0, err
        await wait_for_status(campaign.id, CampaignStatus.COMPLETED)
        assert await one.terminate() == 0
        assert await two.terminate() == 0
    [started] = await started_events(campaign.id)
    assert float(started["lateness_seconds"]) < 1.0  # type: ignore[arg-type]
    assert len(catcher.messages) == 30
    assert len(set(message_ids(catcher))) == 30
    assert "started campaign(s)" in one.log() + two.log()


async def test_a_campaign_that_cannot_be_sent_stops_nothing_else(
    env: dict[str, str], config: Settings, catcher: Catcher
) -> None:
    # approved against templates that have changed since: the dispatcher refuses to send it
    bad = await scheduled_campaign(config, subjects=3, at=utcnow())
    await Campaign.filter(id=bad.id).update(template_hash="0" * 64)
    async with service(env) as svc, httpx.AsyncClient() as client:
        await svc.wait_for_log(f"campaign {bad.id} cannot be sent now")
        good = await scheduled_campaign(
            config, subjects=4, at=utcnow(), ref="INC-2026-0002", first=100
        )
        await wait_for_status(good.id, CampaignStatus.COMPLETED)
        health = await client.get(f"{svc.url}/healthz")
        feed = await client.get(f"{svc.url}/v1/banners")
        assert await svc.terminate() == 0
    assert health.status_code == 200 and feed.status_code == 200
    assert len(catcher.messages) == 4
    assert (await Campaign.get(id=bad.id)).status is CampaignStatus.SENDING


async def test_a_retry_comes_due_on_time(
    db_conn: str, config: Settings, catcher: Catcher, tmp_path: Path
) -> None:
    env = service_env(
        db_conn,
        smtp_port=catcher.port,
        var_dir=tmp_path / "var",
        INCIDENT_SVC_DELIVERY__RETRY_BASE_SECONDS="2",  # the first retry waits 1 to 2 s
        INCIDENT_SVC_DELIVERY__RETRY_MAX_SECONDS="2",
    )
    catcher.refuse.append("451 4.3.0 try again later")
    campaign = await scheduled_campaign(config, subjects=3, at=utcnow())
    async with service(env) as svc:
        await wait_for_status(campaign.id, CampaignStatus.COMPLETED)
        assert await svc.terminate() == 0
    [(refused_at, [address])] = catcher.refused
    [retried_at] = [
        at for at, (rcpts, _) in zip(catcher.accepted_at, catcher.messages, strict=True)
        if address in rcpts
    ]  # fmt: skip
    assert 1.0 <= retried_at - refused_at < 2.0 + 0.3 + 1.0  # delay + one poll + slack
    assert len(catcher.messages) == 3


async def test_serve_returns_a_campaign_changed_since_approval_to_draft(
    db_conn: str, settings_for: Any, catcher: Catcher, tmp_path: Path
) -> None:
    templates = tmp_path / "tpl"
    shutil.copytree(builtin_templates_dir(), templates)
    config = settings_for(db_conn, templates_dir=str(templates))
    env = service_env(
        db_conn, smtp_port=catcher.port, var_dir=tmp_path / "var",
        INCIDENT_SVC_TEMPLATES_DIR=str(templates),
    )  # fmt: skip
    due = await scheduled_campaign(config, subjects=3, at=utcnow())
    running = await scheduled_campaign(config, subjects=2, at=None, ref="INC-2026-0002", first=50)
    await campaign_start.start(
        campaign_id=running.id, now=utcnow(), actor="alice", key=None, settings=config
    )
    body = templates / "email/subject_notice/en/body.txt.j2"
    body.write_text(body.read_text(encoding="utf-8") + "\nhttp://phish.example\n")
    async with service(env) as svc:
        await wait_for_status(due.id, CampaignStatus.DRAFT)
        await wait_for_status(running.id, CampaignStatus.DRAFT)
        await svc.wait_for_log("body.txt.j2 changed")
        assert await svc.terminate() == 0
    assert catcher.messages == []
    refused = await AuditEvent.filter(action="campaign.start_refused").count()
    assert refused == 2
