"""What the fault tests share: a campaign to send, `campaign send --now` in a child process
with small timing values, and the checks every fault test makes (nothing lost, nobody twice,
no traceback)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from incident_svc.domain.enums import DeliveryStatus
from incident_svc.models import Campaign, Delivery, DeliveryAttempt
from incident_svc.services.auditlog import audit
from incident_svc.services.delivery import campaigns
from tests.support.approval import OPEN
from tests.support.people import make_incident
from tests.support.service_process import TEST_AUDIT_KEY, run_cli, service_env
from tests.support.smtpd import SmtpServer

SECURITY_TEAM = "security-team@example.com"
KEY = TEST_AUDIT_KEY.encode()  # the children write with it (service_env)

# seconds, small so that a fault test runs in seconds; each test overrides what it is about
FAST = {
    "INCIDENT_SVC_APPROVAL__REQUIRED": "false",
    "INCIDENT_SVC_DELIVERY__BATCH_SIZE": "20",
    "INCIDENT_SVC_DELIVERY__LEASE_SECONDS": "3",
    "INCIDENT_SVC_DELIVERY__RETRY_BASE_SECONDS": "0.2",
    "INCIDENT_SVC_DELIVERY__RETRY_MAX_SECONDS": "0.5",
    "INCIDENT_SVC_DELIVERY__RELAY_PROBE_SECONDS": "0.5",
    "INCIDENT_SVC_DELIVERY__RELAY_PROBE_MAX_SECONDS": "2",
    "INCIDENT_SVC_DELIVERY__OUTAGE_ALERT_SECONDS": "5",
    "INCIDENT_SVC_SMTP__TIMEOUT": "2",
    "INCIDENT_SVC_SCHEDULER__POLL_SECONDS": "0.2",
    "INCIDENT_SVC_SECURITY_TEAM_EMAIL": SECURITY_TEAM,
}


async def draft_campaign(recipients: int) -> Campaign:
    await make_incident(recipients)
    return await campaigns.create(
        incident_ref="INC-2026-0001",
        kind="subject_notice",
        at=None,
        actor="alice",
        key=KEY,
        approval=OPEN,
    )


def child_env(database_url: str, smtp_port: int, tmp_path: Path, **extra: str) -> dict[str, str]:
    return service_env(
        database_url, smtp_port=smtp_port, var_dir=tmp_path / "var", **{**FAST, **extra}
    )


def through(database_url: str, port: int) -> str:
    """The same PostgreSQL database, reached through a proxy on ``port``."""
    parsed = urlparse(database_url)
    host = f"{parsed.username}@127.0.0.1:{port}" if parsed.username else f"127.0.0.1:{port}"
    return urlunparse(parsed._replace(netloc=host))


async def send_now(env: dict[str, str], campaign_id: int) -> tuple[int, str, str, float]:
    """`incident-svc campaign send ID --now --json`: exit code, stdout, stderr, seconds."""
    began = time.monotonic()
    code, out, err = await run_cli(env, "campaign", "send", str(campaign_id), "--now", "--json")
    return code, out, err, time.monotonic() - began


def notices(server: SmtpServer) -> Counter[str]:
    """Message-IDs the relay accepted, with how often (the outage email left out)."""
    return Counter(str(m.message_id) for m in server.received if m.recipient != SECURITY_TEAM)


async def assert_each_sent_once(
    campaign_id: int, server: SmtpServer, recipients: int, *, key: bytes | None = KEY
) -> None:
    """Nothing lost, nobody twice: every delivery sent, each Message-ID accepted once."""
    rows = await Delivery.filter(campaign_id=campaign_id).values("id", "status", "message_id")
    assert len(rows) == recipients
    assert {r["status"] for r in rows} == {DeliveryStatus.SENT}
    copies = notices(server)
    assert set(copies) == {r["message_id"] for r in rows}
    assert max(copies.values()) == 1, [m for m, n in copies.items() if n > 1]
    assert (await audit.verify(key=key)).intact


async def attempts_per_delivery(campaign_id: int) -> Counter[int]:
    ids = await Delivery.filter(campaign_id=campaign_id).values_list("id", flat=True)
    numbers = await DeliveryAttempt.filter(delivery_id__in=list(ids)).values_list(
        "delivery_id", flat=True
    )
    return Counter(int(n) for n in numbers)


def assert_no_traceback(err: str) -> None:
    assert "Traceback" not in err, err
