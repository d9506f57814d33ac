"""`incident-svc serve` as a real subprocess: health, clean stops, reminders on time."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from incident_svc.domain.times import utcnow
from incident_svc.models import AuditEvent, ReminderSent
from tests.support import rows
from tests.support.service_process import Service, free_port, run_cli, service, service_env
from tests.support.smtp_catcher import Catcher, smtp_catcher

pytestmark = pytest.mark.slow
TEAM = "duty@security.test"


async def alarms(svc: Service, action: str) -> float:
    """The number of alarms the running service has set for ``action`` (from /metrics)."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{svc.url}/metrics")).text
    prefix = f'incident_svc_scheduler_alarms{{action="{action}"}} '
    [value] = [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]
    return float(value)


async def wait_for_alarms(svc: Service, action: str, count: int, within: float = 5.0) -> None:
    """Wait until the service has ``count`` alarms for ``action``: the 5-second promise."""
    async with asyncio.timeout(within):
        while await alarms(svc, action) != count:
            await asyncio.sleep(0.1)


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
        INCIDENT_SVC_SECURITY_TEAM_EMAIL=TEAM,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_healthy_then_clean_exit_on_signal(env: dict[str, str], sig: int) -> None:
    async with service(env, "--no-dispatch") as svc:
        async with httpx.AsyncClient() as client:
            health = await client.get(f"{svc.url}/healthz")
            metrics = await client.get(f"{svc.url}/metrics")
        assert health.json() == {
            "status": "ok",
            "checks": {
                "database": "ok",
                "relay": "ok",
                "scheduler": "running",
                "dispatcher": "disabled",
            },
        }
        assert "incident_svc_scheduler_running 1" in metrics.text
        started = asyncio.get_running_loop().time()
        assert await svc.terminate(sig) == 0
        assert asyncio.get_running_loop().time() - started < 10
        assert "stopped" in svc.log()


async def test_switched_off_scheduler_is_reported(env: dict[str, str]) -> None:
    async with service(env, "--no-dispatch", "--no-scheduler", "--no-feed") as svc:
        async with httpx.AsyncClient() as client:
            health = await client.get(f"{svc.url}/healthz")
        assert health.json()["checks"]["scheduler"] == "disabled"
        assert await svc.terminate() == 0


async def test_a_port_in_use_stops_the_service_with_an_error(env: dict[str, str]) -> None:
    port = free_port()
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
    try:
        code, _, err = await run_cli(env, "serve", "--no-dispatch", "--port", str(port))
    finally:
        blocker.close()
        await blocker.wait_closed()
    assert code != 0
    assert "address already in use" in err.lower()


async def test_a_database_without_schema_is_refused(
    empty_database_url: str, catcher: Catcher, tmp_path: Path
) -> None:
    env = service_env(empty_database_url, smtp_port=catcher.port, var_dir=tmp_path / "var")
    code, _, err = await run_cli(env, "serve", "--port", str(free_port()))
    assert code == 3
    last = err.strip().splitlines()[-1]
    # SQLite: the file does not exist and serve does not create it; PostgreSQL: no tables
    assert last.startswith(("error: the database has no schema yet", "error: no database at"))
    assert "incident-svc db upgrade" in last


async def test_the_72_hour_reminder_fires_once(env: dict[str, str], catcher: Catcher) -> None:
    # 72 h deadline, reminders 24 h and 4 h before: awareness 48 h ago minus 1.5 s puts
    # the 24-hour reminder 1.5 s from now; time is set by the data, nobody sleeps for days.
    due = utcnow() + timedelta(seconds=1.5)
    inc = await rows.incident("INC-2026-0072", discovered_at=due - timedelta(hours=48))
    async with service(env, "--no-dispatch") as svc:
        line = await svc.wait_for_log("REMINDER INC-2026-0072", timeout=10)
        arrived = utcnow()
        assert await svc.terminate() == 0
    assert due <= arrived < due + timedelta(seconds=3)
    assert "24.0 h left" in line
    [mail] = catcher.to(TEAM)
    assert "INC-2026-0072" in mail["Subject"]
    assert await ReminderSent.filter(incident_id=inc.id).count() == 1
    assert await AuditEvent.filter(action="incident.reminder_sent").count() == 1
    async with service(env, "--no-dispatch") as again:  # a restart sends it no second time
        await asyncio.sleep(1.0)
        assert await again.terminate() == 0
    assert len(catcher.to(TEAM)) == 1


async def test_cli_changes_while_running_are_picked_up(
    env: dict[str, str], catcher: Catcher
) -> None:
    async with service(env, "--no-dispatch") as svc:
        # a new incident, recorded with the CLI, whose first reminder falls 5 s from now
        # (a CLI process can take a few seconds to start on a loaded machine)
        due = utcnow() + timedelta(seconds=5)
        code, _, err = await run_cli(
            env, "--actor", "ana", "incident", "create", "--title", "Lost laptop",
            "--summary", "Unencrypted laptop stolen.", "--severity", "high",
            "--discovered-at", (due - timedelta(hours=48)).isoformat(),
            "--systems", "crm", "--categories", "contact",
        )  # fmt: skip
        assert code == 0, err
        await wait_for_alarms(svc, "send_reminders", 1)
        line = await svc.wait_for_log("REMINDER INC-", timeout=5 + 5)
        arrived = utcnow()
        assert due <= arrived < due + timedelta(seconds=2)
        # a regulator notification recorded with the CLI cancels the next reminder
        ref = line.split("REMINDER ")[1].split(":")[0]
        code, _, err = await run_cli(
            env, "--actor", "dpo", "incident", "regulator-notified", ref,
            "--at", utcnow().isoformat(), "--reference", "ICO-12345",
        )  # fmt: skip
        assert code == 0, err
        await wait_for_alarms(svc, "send_reminders", 0)
        assert await svc.terminate() == 0
    assert len(catcher.to(TEAM)) == 1
