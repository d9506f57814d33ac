"""Crash safety: SIGKILL the sender again and again; nothing lost, nothing sent three times."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from incident_svc.domain.enums import DeliveryStatus
from incident_svc.mail.sink import Stored, message_ids, serve
from incident_svc.models import Delivery
from incident_svc.services.auditlog import audit
from incident_svc.services.delivery import campaigns
from tests.support.approval import OPEN
from tests.support.people import make_incident

RECIPIENTS = 2000
KILLS = 4


def child_env(database_url: str, host: str, port: int, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "INCIDENT_SVC_DATABASE_URL": database_url,
        "INCIDENT_SVC_VAR_DIR": str(tmp_path / "var"),
        "INCIDENT_SVC_SMTP__HOST": host,
        "INCIDENT_SVC_SMTP__PORT": str(port),
        "INCIDENT_SVC_SMTP__POOL_SIZE": "4",
        "INCIDENT_SVC_APPROVAL__REQUIRED": "false",
        "INCIDENT_SVC_DELIVERY__BATCH_SIZE": "50",
        "INCIDENT_SVC_DELIVERY__LEASE_SECONDS": "1.0",
        "INCIDENT_SVC_DELIVERY__RETRY_BASE_SECONDS": "0.1",
        "INCIDENT_SVC_SCHEDULER__POLL_SECONDS": "0.2",
        # most of each run composes in a worker process, as a large campaign does: killing
        # the sender must leave no worker behind and lose nothing composed there
        "INCIDENT_SVC_DELIVERY__COMPOSE_WORKER_FROM": "100",
    }


async def spawn(mode: str, campaign_id: int, env: dict[str, str]) -> asyncio.subprocess.Process:
    """``send``: the real command, `incident-svc campaign send ID --now` (real composer);
    ``dispatch``: the service's dispatcher loop (tests/support/send_child.py)."""
    if mode == "send":
        command = ["-m", "incident_svc", "campaign", "send", str(campaign_id), "--now", "--json"]
    else:
        command = ["-m", "tests.support.send_child", mode, str(campaign_id)]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *command,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def kill_after_progress(
    child: asyncio.subprocess.Process, seen: list[Stored], more: int
) -> None:
    """SIGKILL the child once the sink got ``more`` further messages: in the middle of sending."""
    target = len(seen) + more
    for _ in range(600):
        if len(seen) >= target or child.returncode is not None:
            break
        await asyncio.sleep(0.05)
    if child.returncode is not None:
        assert child.stderr is not None
        problem = (await child.stderr.read()).decode()
        raise AssertionError(f"the child finished before it could be killed: {problem}")
    child.send_signal(signal.SIGKILL)
    assert await child.wait() == -signal.SIGKILL


@pytest.mark.slow
async def test_sigkill_and_restart_loses_nothing(db_conn: str, tmp_path: Path) -> None:
    await make_incident(RECIPIENTS)
    campaign = await campaigns.create(
        incident_ref="INC-2026-0001",
        kind="subject_notice",
        at=None,
        actor="alice",
        key=None,
        approval=OPEN,
    )
    seen: list[Stored] = []
    maildir = tmp_path / "mail"
    async with serve(host="127.0.0.1", port=0, maildir=maildir, announce=seen.append) as (
        host,
        port,
    ):
        env = child_env(db_conn, host, port, tmp_path)
        for _ in range(KILLS):
            child = await spawn("send", campaign.id, env)
            await kill_after_progress(child, seen, more=150)
        final = await spawn("send", campaign.id, env)
        _, err = await asyncio.wait_for(final.communicate(), timeout=90)
        assert final.returncode == 0, err.decode()

    deliveries = await Delivery.filter(campaign_id=campaign.id).values(
        "message_id", "status", "recipient_ref"
    )
    assert len(deliveries) == RECIPIENTS
    assert {d["status"] for d in deliveries} == {DeliveryStatus.SENT}
    assert len({d["recipient_ref"] for d in deliveries}) == RECIPIENTS
    copies = Counter(message_ids(maildir))
    expected = {d["message_id"] for d in deliveries}
    assert set(copies) == expected  # every notice arrived, nothing foreign
    assert max(copies.values()) <= 2  # at most once more, with the same Message-ID
    duplicates = sum(n - 1 for n in copies.values())
    print(f"{KILLS} kills, {duplicates} duplicates (same Message-ID) among {RECIPIENTS}")
    assert duplicates <= KILLS * 50  # never more than one batch per crash
    assert (await audit.verify(key=None)).intact
