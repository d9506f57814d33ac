"""Relay outages during `campaign send --now`, injected for real: a TCP proxy between the
sender (a child process) and the SMTP server refuses connections or stalls.

A relay that cannot be reached pauses the campaign (no attempt spent, probes every 0.5 s
rising to 2 s here), is visible in `campaign status`, /healthz and /metrics while it lasts,
and sending resumes within one probe interval of its return; the security team gets one
email about an outage longer than ``delivery.outage_alert_seconds``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from incident_svc.domain.enums import DeliveryStatus
from incident_svc.models import Delivery
from incident_svc.service_status import ServiceStatus
from incident_svc.services.auditlog import audit
from incident_svc.services.delivery import campaign_views
from incident_svc.services.relay import relay_state
from incident_svc.web.health import health_routes
from tests.support.fault_proxy import fault_proxy
from tests.support.fault_runs import (
    KEY,
    SECURITY_TEAM,
    assert_each_sent_once,
    assert_no_traceback,
    attempts_per_delivery,
    child_env,
    draft_campaign,
    notices,
    send_now,
)
from tests.support.people import address
from tests.support.smtpd import Reply, Stall, smtp_server

pytestmark = pytest.mark.slow
RECIPIENTS = 100
OUTAGE_SECONDS = 20.0
PROBE_MAX_SECONDS = 2.0  # fault_runs.FAST


async def test_relay_refusing_for_twenty_seconds_pauses_the_campaign_and_spends_no_attempt(
    db_conn: str, tmp_path: Path
) -> None:
    campaign = await draft_campaign(RECIPIENTS)
    async with smtp_server() as server, fault_proxy(server.host, server.port) as proxy:
        relay = f"127.0.0.1:{proxy.port}"
        await proxy.refuse()  # the relay is down when sending starts
        down_at = time.monotonic()
        env = child_env(db_conn, proxy.port, tmp_path)
        sending = asyncio.create_task(send_now(env, campaign.id))
        await _until(lambda: _relay_down(relay), 15)
        # the batch claimed before the first refusal is handed back unspent
        await _until(lambda: _all_pending(campaign.id), 5)

        # while it lasts: campaign status, /healthz and /metrics say so
        status = await campaign_views.status(campaign.id, relay=relay)
        assert status["relay"].startswith(f"relay {relay} unreachable since ")
        assert ", next probe at " in status["relay"]
        assert status["relay_next_probe_at"] is not None
        assert status["counts"]["pending"] == RECIPIENTS  # nothing was spent on it
        health = await _get(ServiceStatus(relay=relay), "/healthz")
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert health.json()["checks"]["relay"].startswith(f"relay {relay} unreachable")
        metrics = _values((await _get(ServiceStatus(relay=relay), "/metrics")).text)
        assert metrics[f'incident_svc_relay_up{{relay="{relay}"}}'] == 0
        assert metrics["incident_svc_oldest_due_delivery_age_seconds"] > 0

        await asyncio.sleep(OUTAGE_SECONDS - (time.monotonic() - down_at))
        await proxy.accept()
        back = time.monotonic()
        await _until(lambda: len(server.received) > 0, 10)
        resumed = time.monotonic() - back
        code, _, err, _ = await sending
    assert code == 0, err
    assert_no_traceback(err)
    assert resumed <= PROBE_MAX_SECONDS + 0.5, f"sending resumed {resumed:.1f} s after"
    assert err.count("cannot be reached") == 1, err  # said once, not once per message
    assert "sending paused, no attempt spent; next probe at" in err
    assert "answers again" in err
    await assert_each_sent_once(campaign.id, server, RECIPIENTS)
    assert set((await attempts_per_delivery(campaign.id)).values()) == {1}
    alerts = [m for m in server.received if m.recipient == SECURITY_TEAM]
    assert len(alerts) == 1  # one email for the outage, not one per message
    assert b"could not be reached" in alerts[0].data and b"Auto-Submitted:" in alerts[0].data
    view = await relay_state.read(relay)
    assert view is not None and view.up and view.down_since is None
    print(f"relay down {OUTAGE_SECONDS:g} s: sending resumed {resumed:.1f} s after its return")


async def test_stalled_relay_is_waited_out_and_only_answers_lost_on_the_wire_repeat(
    db_conn: str, tmp_path: Path
) -> None:
    campaign = await draft_campaign(RECIPIENTS)
    async with smtp_server() as server, fault_proxy(server.host, server.port) as proxy:
        for n in range(RECIPIENTS):
            server.faults[address(n)] = [Stall(0.03)]
        env = child_env(db_conn, proxy.port, tmp_path)
        sending = asyncio.create_task(send_now(env, campaign.id))
        await _until(lambda: len(server.received) >= 20, 30)
        proxy.stall()  # answers stop: the messages in flight time out (smtp.timeout 2 s)
        await asyncio.sleep(5)
        stalled_at = len(server.received)
        proxy.resume()
        back = time.monotonic()
        await _until(lambda: len(server.received) > stalled_at, 10)
        resumed = time.monotonic() - back
        code, _, err, _ = await sending
    assert code == 0, err
    assert_no_traceback(err)
    rows = await Delivery.filter(campaign_id=campaign.id).values("id", "status", "message_id")
    assert {r["status"] for r in rows} == {DeliveryStatus.SENT} and len(rows) == RECIPIENTS
    copies = notices(server)
    assert set(copies) == {r["message_id"] for r in rows}  # nothing lost
    # only the messages on the wire when it stalled were tried twice (a timeout after DATA
    # is about that message); the rest waited for the relay without spending an attempt.
    # A message whose 250 the stall swallowed arrives twice, with the same Message-ID: the
    # window SMTP cannot close (RFC 1047), at most one per pooled connection
    attempts = await attempts_per_delivery(campaign.id)
    retried = {r["message_id"] for r in rows if attempts[r["id"]] == 2}
    assert max(attempts.values()) <= 2 and len(retried) <= 4  # smtp.pool_size
    assert {m for m, n in copies.items() if n > 1} <= retried
    assert (await audit.verify(key=KEY)).intact
    assert resumed <= PROBE_MAX_SECONDS + 2.5, f"sending resumed {resumed:.1f} s after"
    print(f"relay stalled 5 s: sending resumed {resumed:.1f} s after")


async def _relay_down(relay: str) -> bool:
    view = await relay_state.read(relay)
    return view is not None and not view.up


async def _all_pending(campaign_id: int) -> bool:
    return (await campaign_views.status(campaign_id))["counts"]["pending"] == RECIPIENTS


async def _until(condition: Callable[[], object], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while True:
            result = condition()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)


async def _get(status: ServiceStatus, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=Starlette(routes=health_routes(status)))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.get(path)


def _values(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


async def test_send_now_says_the_first_failure_and_what_happens_next(
    db_conn: str, tmp_path: Path
) -> None:
    campaign = await draft_campaign(5)
    async with smtp_server() as server:
        server.faults[address(2)] = [Reply("450 4.2.0 mailbox busy\x1b[31m", at="rcpt")]
        server.faults[address(3)] = [Reply("451 4.3.0 try later", at="rcpt")]
        env = child_env(db_conn, server.port, tmp_path)
        code, out, err, _ = await send_now(env, campaign.id)
    assert code == 0, err
    assert_no_traceback(err)
    assert json.loads(out)["counts"]["sent"] == 5
    told = [line for line in err.splitlines() if line.startswith("first failure: ")]
    assert len(told) == 1, err  # the first one, not every one
    assert told[0].endswith("retried in 0.1 s to 0.2 s (attempt 1 of 25)")
    assert "\x1b" not in err  # a relay's words never drive the terminal
    assert "450 4.2.0 mailbox busy\\x1b[31m" in told[0] or "451 4.3.0 try later" in told[0]
