"""`incident-svc serve` through database faults: a TCP proxy between the service (a child
process) and PostgreSQL cuts a group commit's answer and later refuses connections. The
dispatcher rides the cut out without being restarted, and /healthz says `degraded` with the
reason while the database is away, `ok` once it is back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from incident_svc.domain.enums import CampaignStatus
from incident_svc.domain.times import utcnow
from incident_svc.models import Campaign
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

                await proxy.refuse()
                health = await client.get("/healthz")
                assert health.status_code == 200, health.text
                body = health.json()
                assert body["status"] == "degraded"
                assert body["checks"]["database"].startswith("unreachable: ")
                assert (await client.get("/metrics")).status_code == 503

                await proxy.accept()
                async with asyncio.timeout(10):
                    while (await client.get("/healthz")).json()["status"] != "ok":
                        await asyncio.sleep(0.1)
            assert await svc.terminate() == 0
    await assert_each_sent_once(campaign.id, server, RECIPIENTS, key=None)
    assert "failed; starting it again" not in svc.log()  # the dispatcher was never restarted
