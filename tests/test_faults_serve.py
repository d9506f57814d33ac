"""`incident-svc serve` through database faults: a TCP proxy between the service (a child
process) and PostgreSQL cuts a group commit's answer and later refuses connections. The
dispatcher rides the cut out without being restarted, and /healthz says `degraded` with the
reason while the database is away, `ok` once it is back: also once the scheduler has gone stale
and the dispatcher, past the tolerance, waits to be started again (a liveness probe must not
restart the process for an outage)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from incident_svc.domain.enums import CampaignStatus
from incident_svc.domain.times import utcnow
from incident_svc.models import Campaign
from incident_svc.service_status import STALE_POLLS
from tests.support.campaign_setup import scheduled_campaign
from tests.support.databases import BACKEND
from tests.support.fault_proxy import fault_proxy
from tests.support.fault_runs import assert_each_sent_once, through
from tests.support.service_process import service, service_env
from tests.support.smtpd import smtp_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BACKEND != "postgres", reason="the proxy sits before PostgreSQL"),
]
RECIPIENTS = 100
POLL_SECONDS = 0.3  # service_env's: the scheduler is stale after POLL_SECONDS * 5 + 5 s
TOLERANCE_SECONDS = "3"  # past it the dispatcher worker stops and waits to be started again
WAITS = {"stale", "restarting"}  # what the database away does to the scheduler and dispatcher


async def test_serve_rides_out_a_cut_and_reports_degraded_while_the_database_is_away(
    db_conn: str, tmp_path: Path, settings_for: Any
) -> None:
    host, port = "127.0.0.1", int(db_conn.rsplit(":", 1)[1].split("/")[0])
    async with smtp_server() as server, fault_proxy(host, port) as proxy:
        env = service_env(
            through(db_conn, proxy.port),
            smtp_port=server.port,
            var_dir=tmp_path / "var",
            INCIDENT_SVC_DELIVERY__BATCH_SIZE="20",
            INCIDENT_SVC_AUDIT__ALLOW_UNKEYED="true",
            INCIDENT_SVC_SCHEDULER__POLL_SECONDS=str(POLL_SECONDS),
            INCIDENT_SVC_DATABASE__FAULT_TOLERANCE_SECONDS=TOLERANCE_SECONDS,
        )
        del env["INCIDENT_SVC_AUDIT__HMAC_KEY"]  # the campaign was set up unkeyed, in this test
        async with service(env) as svc:
            proxy.cut_on(b"SET status = v.status", b"COMMIT", forward=True)
            campaign = await scheduled_campaign(
                settings_for(db_conn), subjects=RECIPIENTS, at=utcnow()
            )
            async with asyncio.timeout(30):
                while (await Campaign.get(id=campaign.id)).status is not CampaignStatus.COMPLETED:
                    await asyncio.sleep(0.1)
            assert proxy.fired == 1
            async with httpx.AsyncClient(base_url=svc.url) as client:
                metrics = (await client.get("/metrics")).text
                assert "\nincident_svc_dispatcher_restarts 0\n" in metrics

                before_outage = len(svc.lines)
                await proxy.refuse()
                refused = time.monotonic()
                assert (await client.get("/metrics")).status_code == 503
                # past the stale limit, and until the worker stopped by the outage waits to be
                # started again: degraded with the reason all along, never 503
                stale_after = POLL_SECONDS * STALE_POLLS + 5
                seen: set[str] = set()
                async with asyncio.timeout(30):
                    while time.monotonic() - refused < stale_after + 1 or not seen >= WAITS:
                        health = await client.get("/healthz")
                        assert health.status_code == 200, health.text
                        body = health.json()
                        assert body["status"] == "degraded", body
                        assert body["checks"]["database"].startswith("unreachable: ")
                        seen.update((body["checks"]["scheduler"], body["checks"]["dispatcher"]))
                        await asyncio.sleep(0.2)

                await proxy.accept()
                async with asyncio.timeout(20):  # the worker's restart pause may run on a while
                    while (await client.get("/healthz")).json()["status"] != "ok":
                        await asyncio.sleep(0.1)
            assert await svc.terminate() == 0
    await assert_each_sent_once(campaign.id, server, RECIPIENTS, key=None)
    # the cut was ridden out: the dispatcher was first started again by the long outage
    assert "starting it again" not in "\n".join(svc.lines[:before_outage])
    assert "failed; starting it again" not in svc.log()  # one line each time, no traceback
