"""`incident-svc campaign status` while the relay is down (a relay_state row as a dispatcher
writes it): the line "relay ... unreachable since T, next probe at T (why)" and the time left,
for people and in --json; down from the start (nothing sent yet), the time left is the wait
for the probe plus the rest at smtp.rate_limit, or at an assumed rate when there is none."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from incident_svc.domain.enums import CampaignStatus, DeliveryStatus
from incident_svc.domain.relay_circuit import RelayCircuit
from incident_svc.domain.times import utcnow
from incident_svc.models import Delivery
from incident_svc.services.delivery.campaign_views import ASSUMED_RATE, time_left
from incident_svc.services.relay import relay_state
from tests.support import rows
from tests.support.cli import cli, in_db

HOST, PORT = "relay.example", 2525
RELAY = f"{HOST}:{PORT}"
SMTP = {"INCIDENT_SVC_SMTP__HOST": HOST, "INCIDENT_SVC_SMTP__PORT": str(PORT)}
PENDING = 20
PROBE_IN = 40.0  # seconds from the seeding to the next probe


def clock(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def seed_outage(url: str) -> tuple[int, datetime, datetime]:
    """A sending campaign with nothing sent yet and its relay down from the start."""

    async def work() -> tuple[int, datetime, datetime]:
        now = utcnow()
        campaign = await rows.campaign(await rows.incident(), now, status=CampaignStatus.SENDING)
        await Delivery.bulk_create(
            [
                Delivery(campaign=campaign, recipient_ref=f"P{n}", address=f"p{n}@x.example",
                         status=DeliveryStatus.PENDING, next_attempt_at=now)
                for n in range(PENDING)
            ]
        )  # fmt: skip
        circuit = RelayCircuit(5, 60)
        down_since = now - timedelta(seconds=30)
        circuit.trip(down_since, "ConnectionRefusedError: [Errno 111] Connect call failed")
        circuit.next_probe_at = now + timedelta(seconds=PROBE_IN)
        await relay_state.save(RELAY, circuit, now)
        return campaign.id, down_since, circuit.next_probe_at

    return in_db(url, work)


@pytest.mark.parametrize(
    ("rate_limit", "basis", "rate"), [("0", "assumed", ASSUMED_RATE), ("0.5", "rate_limit", 0.5)]
)
def test_status_says_the_relay_is_down_and_the_time_left_includes_the_probe(
    database_url: str, rate_limit: str, basis: str, rate: float
) -> None:
    campaign_id, down_since, probe_at = seed_outage(database_url)
    env = {**SMTP, "INCIDENT_SVC_SMTP__RATE_LIMIT": rate_limit}
    expected = PROBE_IN + PENDING / rate  # at most; the clock moved on since the seeding
    line = (
        f"relay {RELAY} unreachable since {clock(down_since)}, next probe at {clock(probe_at)} "
        "(ConnectionRefusedError: [Errno 111] Connect call failed)"
    )

    human = cli(database_url, "bob", "campaign", "status", str(campaign_id), **env)
    assert human.code == 0, human.out
    shown = " ".join(human.out.split())  # however the console wrapped it
    assert f"relay {line}" in shown
    eta = float(shown.split("eta seconds ", 1)[1].split()[0])
    assert expected - 10 <= eta <= expected
    assert f"eta basis {basis}" in shown

    data = json.loads(
        cli(database_url, "bob", "campaign", "status", str(campaign_id), "--json", **env).out
    )
    assert data["relay"] == line
    assert data["relay_next_probe_at"].startswith(clock(probe_at)[:19])
    assert expected - 10 <= data["eta_seconds"] <= expected
    assert data["eta_basis"] == basis
    assert data["rate_per_second"] == 0 and data["counts"]["pending"] == PENDING


def test_time_left() -> None:
    assert time_left(0, 0.0, 40.0) == (None, None)  # nothing left
    assert time_left(10, 0.0, None) == (None, None)  # relay up, nothing measured: unknown
    assert time_left(10, 2.0, None) == (5.0, "measured")
    assert time_left(10, 2.0, 40.0) == (45.0, "measured")
    assert time_left(10, 0.0, 40.0, rate_limit=0.5) == (60.0, "rate_limit")
    assert time_left(10, 0.0, 40.0) == (40.0 + 10 / ASSUMED_RATE, "assumed")
    assert time_left(10, 0.0, 0.0) == (10 / ASSUMED_RATE, "assumed")  # probe due now
