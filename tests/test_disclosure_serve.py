"""`serve` releases a disclosure's notices when its non-disclosure period ends, and reminds
the security team to review an indefinite one (real subprocess, real SMTP server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from incident_svc.config import Settings
from incident_svc.domain.times import utcnow
from incident_svc.models import AuditEvent, Disclosure, DisclosureNotice
from tests.support import disclosure_setup
from tests.support.service_process import run_cli, service, service_env
from tests.support.smtp_catcher import Catcher, smtp_catcher

pytestmark = pytest.mark.slow
TEAM = "team@security.test"


@pytest.fixture
async def catcher() -> AsyncIterator[Catcher]:
    async with smtp_catcher() as server:
        yield server


@pytest.fixture
def config(db_conn: str, settings_for: Any) -> Settings:
    return disclosure_setup.signed_settings(settings_for(db_conn))


@pytest.fixture
def env(db_conn: str, catcher: Catcher, tmp_path: Path) -> dict[str, str]:
    return service_env(
        db_conn, smtp_port=catcher.port, var_dir=tmp_path / "var",
        INCIDENT_SVC_SECURITY_TEAM_EMAIL=TEAM,
    )  # fmt: skip


async def test_period_ends_while_serve_runs(
    env: dict[str, str], config: Settings, tmp_path: Path
) -> None:
    ends = utcnow() + timedelta(seconds=8)  # past the service's start-up
    made = await disclosure_setup.record(config, tmp_path, non_disclosure_until=ends)
    await disclosure_setup.approve(config, made.ref, "bob")
    async with service(env, "--no-dispatch") as svc:
        assert utcnow() < ends and await DisclosureNotice.filter(status="held").count() == 3
        await svc.wait_for_log(f"disclosure {made.ref} released", timeout=15)
        arrived = utcnow()
        assert await svc.terminate() == 0
    assert ends <= arrived < ends + timedelta(seconds=4)
    after = await Disclosure.get(id=made.id)
    assert after.status == "released" and after.released_at is not None
    assert after.released_at >= ends
    assert await DisclosureNotice.filter(status="released").count() == 3
    [event] = await AuditEvent.filter(action="disclosure.released")
    assert event.actor == "service:disclosures"


async def test_indefinite_hold_is_reviewed_then_confirmed(
    env: dict[str, str], config: Settings, tmp_path: Path, catcher: Catcher
) -> None:
    made = await disclosure_setup.record(config, tmp_path, non_disclosure_indefinite=True)
    due = utcnow() + timedelta(seconds=1.5)  # the review falls due by the data, not by sleeping
    await Disclosure.filter(id=made.id).update(next_review_at=due)
    async with service(env, "--no-dispatch") as svc:
        await svc.wait_for_log(f"REVIEW {made.ref}", timeout=10)
        code, out, err = await run_cli(
            env, "--actor", "carol", "disclosure", "confirm-hold", made.ref,
            "--reason", "Counsel confirmed the order stands",
        )  # fmt: skip
        assert code == 0, err
        assert made.ref in out
        await asyncio.sleep(1.0)  # the service sees the new review date and sends nothing more
        assert await svc.terminate() == 0
    [mail] = catcher.to(TEAM)
    assert made.ref in mail["Subject"] and "confirm-hold" in mail.get_payload(decode=True).decode()
    after = await Disclosure.get(id=made.id)
    assert after.status == "held" and after.next_review_at is not None
    assert after.next_review_at > utcnow() + timedelta(days=89)
    [confirmed] = await AuditEvent.filter(action="disclosure.hold_confirmed")
    assert confirmed.actor == "carol"
    assert await AuditEvent.filter(action="disclosure.review_reminded").count() == 1
