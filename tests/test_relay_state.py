"""The relay_state table as other processes read it: campaign status (with its ETA), the
metrics label, the outage email claimed once; and how relay words are shown."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc.cli.campaign_delivery_cmd import printable
from incident_svc.domain.enums import AttemptOutcome, CampaignStatus, DeliveryStatus
from incident_svc.domain.relay_circuit import RelayCircuit
from incident_svc.domain.retry import RetryPolicy
from incident_svc.domain.times import utcnow
from incident_svc.models import Delivery
from incident_svc.service_status import ServiceStatus
from incident_svc.services.delivery import campaign_views, campaigns
from incident_svc.services.delivery.dispatch_engine import next_step
from incident_svc.services.delivery.metrics import DeliveryMetrics
from incident_svc.services.relay import relay_state
from incident_svc.web.health import render_metrics
from tests.support import rows, sending
from tests.support.approval import OPEN
from tests.support.composer import plain_loader
from tests.support.people import make_incident
from tests.support.smtpd import smtp_server
from tests.test_dispatch import delivery_settings

RELAY = "relay.example:25"
UNESCAPE = {"n": "\n", "\\": "\\", '"': '"'}  # Prometheus label values


async def test_one_outage_one_row_earliest_start_and_one_alert(db_conn: str) -> None:
    now = utcnow()
    first, second = RelayCircuit(5, 60), RelayCircuit(5, 60)
    first.trip(now, "refused")
    second.trip(now + timedelta(seconds=3), "timed out")  # another dispatcher, later
    await relay_state.save(RELAY, first, now)
    await relay_state.save(RELAY, second, now + timedelta(seconds=3))
    view = await relay_state.read(RELAY)
    assert view is not None and not view.up
    assert view.down_since == now and view.last_error == "timed out"
    assert await relay_state.claim_alert(RELAY, now) is True
    assert await relay_state.claim_alert(RELAY, now) is False  # one email per outage
    second.close(now + timedelta(seconds=9))
    await relay_state.save(RELAY, second, now + timedelta(seconds=9))
    view = await relay_state.read(RELAY)
    assert view is not None and view.up and view.down_since is None and view.alerted_at is None
    assert view.describe() == f"relay {RELAY} up"


async def test_status_eta_waits_for_the_probe_at_the_rate_before_the_outage(db_conn: str) -> None:
    now = utcnow()
    campaign = await rows.campaign(await rows.incident(), now, status=CampaignStatus.SENDING)
    down_since = now - timedelta(seconds=100)
    sent = [  # 30 accepted in the minute before the relay went away: 0.5 per second
        Delivery(campaign=campaign, recipient_ref=f"S{n}", address=f"s{n}@x.example",
                 status=DeliveryStatus.SENT, next_attempt_at=now,
                 sent_at=down_since - timedelta(seconds=n))
        for n in range(30)
    ]  # fmt: skip
    waiting = [
        Delivery(campaign=campaign, recipient_ref=f"P{n}", address=f"p{n}@x.example",
                 status=DeliveryStatus.PENDING, next_attempt_at=down_since)
        for n in range(10)
    ]  # fmt: skip
    await Delivery.bulk_create(sent + waiting)
    circuit = RelayCircuit(5, 60)
    circuit.trip(down_since, "ConnectionRefusedError: [Errno 111]\r\nsecond line")
    circuit.next_probe_at = now + timedelta(seconds=40)
    await relay_state.save(RELAY, circuit, now)
    status = await campaign_views.status(campaign.id, now=now, relay=RELAY)
    assert status["rate_per_second"] == 0.5
    assert 59 <= status["eta_seconds"] <= 61  # 40 s to the probe + 10 at 0.5/s
    assert status["relay"] == (
        f"relay {RELAY} unreachable since {down_since.isoformat(timespec='seconds')}, "
        f"next probe at {circuit.next_probe_at.isoformat(timespec='seconds')} "
        "(ConnectionRefusedError: [Errno 111] second line)"
    )
    other = await campaign_views.status(campaign.id, now=now, relay="elsewhere:25")
    assert other["relay"] == "up" and other["eta_seconds"] is None  # nothing sent this minute


async def test_a_down_row_left_by_an_interrupted_process_is_closed_by_the_next_that_sends(
    db_conn: str, settings_for: Any
) -> None:
    """A process whose circuit opened was interrupted before its probe got through: its row
    still says down, with a probe time long past. The next process that gets a message
    accepted records the relay as up, so `campaign status` no longer reports the outage."""
    async with smtp_server() as server:
        relay = f"{server.host}:{server.port}"
        past = utcnow() - timedelta(hours=2)
        dead = RelayCircuit(5, 60)  # the interrupted process's circuit, never closed
        dead.trip(past, "ConnectionRefusedError: [Errno 111]")
        await relay_state.save(relay, dead, past)
        assert await relay_state.claim_alert(relay, past)  # its outage email was claimed too
        settings = delivery_settings(settings_for, db_conn, server)
        await make_incident(3)
        campaign = await campaigns.create(incident_ref="INC-2026-0001", kind="subject_notice",
                                          at=None, actor="alice", key=None, approval=OPEN)  # fmt: skip
        lines: list[str] = []
        await sending.send_now(campaign_id=campaign.id, settings=settings, actor="alice",
                               loader=plain_loader, notify=lines.append)  # fmt: skip
    assert len(server.received) == 3
    view = await relay_state.read(relay)
    assert view is not None and view.up and view.down_since is None and view.alerted_at is None
    status = await campaign_views.status(campaign.id, relay=relay)
    assert status["relay"] == "up" and status["relay_next_probe_at"] is None
    told = [line for line in lines if "recorded unreachable since" in line]
    assert told == [
        f"the relay {relay} answers (it was recorded unreachable since "
        f"{past.isoformat(timespec='seconds')} by a process that stopped): recorded as up"
    ]


def test_what_happens_after_a_failure_in_words() -> None:
    policy = RetryPolicy(25, 1800, 14400)
    assert next_step(AttemptOutcome.PERMANENT, 1, policy) == "failed for good (not retried)"
    assert next_step(AttemptOutcome.TRANSIENT, 1, policy) == (
        "retried in 15 min to 30 min (attempt 1 of 25)"
    )
    assert next_step(AttemptOutcome.TRANSIENT, 4, policy) == (
        "retried in 2.0 h to 4.0 h (attempt 4 of 25)"
    )
    assert next_step(AttemptOutcome.TRANSIENT, 25, policy) == (
        "failed for good after 25 attempts (delivery.max_attempts)"
    )


@given(error=st.text())
def test_a_relays_words_are_one_visible_line(error: str) -> None:
    circuit = RelayCircuit(5, 60)
    circuit.trip(utcnow(), error)
    view = relay_state.RelayView(RELAY, False, circuit.down_since, None, error, None)
    line = printable(view.describe())
    assert "\n" not in line and "\r" not in line
    assert all(c.isprintable() for c in line)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host=st.text(min_size=1))
def test_relay_label_is_escaped_in_the_metrics(host: str) -> None:
    numbers = DeliveryMetrics(by_state={}, sent_last_window=0, retry_backlog=0,
                              oldest_due_age_seconds=0.0)  # fmt: skip
    views = [relay_state.RelayView(f"{host}:25", False, None, None, "", None)]
    text = render_metrics(numbers, ServiceStatus(relay="ok.example:25"), views)
    relay_lines = [line for line in text.split("\n") if line.startswith("incident_svc_relay_up{")]
    assert len(relay_lines) == 2  # one sample per relay, each on one line
    for line in relay_lines:
        label = line[len('incident_svc_relay_up{relay="') : line.rindex('"}')]
        assert '"' not in re.sub(r"\\.", "", label, flags=re.DOTALL)  # every quote escaped
        unescaped = re.sub(r"\\(.)", lambda m: UNESCAPE[m.group(1)], label, flags=re.DOTALL)
        assert unescaped in {f"{host}:25", "ok.example:25"}
        assert line.endswith(("} 0", "} 1"))
