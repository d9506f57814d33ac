"""SMTP over implicit TLS and STARTTLS with AUTH, against a real aiosmtpd with its own CA.

The client verifies the relay's certificate: the test trusts the CA it made (``smtp.ca_file``)
instead of turning verification off. A refused login or an untrusted certificate is a
RelaySetupError: it names what to fix, never quotes the password, and fails no delivery.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import traceback
from pathlib import Path
from typing import Any

import pytest

from incident_svc.config import Settings, SmtpSettings
from incident_svc.domain.enums import CampaignStatus, DeliveryStatus, EmailStatus
from incident_svc.domain.times import utcnow
from incident_svc.errors import RelaySetupError
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.models import Campaign, Delivery, DeliveryAttempt, Subject
from incident_svc.services.delivery import campaign_start, campaigns
from tests.support import sending
from tests.support.approval import OFF, OPEN
from tests.support.composer import plain_loader
from tests.support.people import address, make_incident
from tests.support.smtpd import SmtpServer, smtp_server
from tests.support.tls import Pki, make_pki

SENDER = "security@example.com"
USER = "notices"
PASSWORD = "Tr0ub4dor&3-relay"
WRONG = "correct-horse-battery"
MODES = ["tls", "starttls"]


def message(n: int) -> bytes:
    return (
        f"From: {SENDER}\r\nTo: r{n}@example.org\r\nMessage-ID: <m{n}@example.com>\r\n"
        f"Subject: notice {n}\r\n\r\nbody {n}\r\n"
    ).encode()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


def tls_server(mode: str, pki: Pki) -> Any:
    """The relay: implicit TLS or STARTTLS with the test CA's certificate, AUTH required."""
    return smtp_server(credentials={USER: PASSWORD}, **{mode: pki.server_context})


def client(server: SmtpServer, mode: str, **options: Any) -> dict[str, Any]:
    return {"host": server.host, "port": server.port, "timeout": 5.0, mode: True, **options}


@pytest.mark.parametrize("mode", MODES)
async def test_tls_and_auth_deliver_to_a_relay_we_verify(mode: str, pki: Pki) -> None:
    async with tls_server(mode, pki) as server:
        settings = SmtpSettings(
            **client(server, mode, ca_file=pki.ca_file, username=USER, password=PASSWORD)
        )
        async with SmtpPool(settings) as pool:
            results = await asyncio.gather(
                *(pool.send(sender=SENDER, recipient=f"r{n}@example.org", data=message(n))
                  for n in range(4))
            )  # fmt: skip
    assert {r.code for r in results} == {250}
    assert sorted(m.recipient for m in server.received) == [f"r{n}@example.org" for n in range(4)]
    # one login per pooled connection (4 by default), each accepted and over TLS
    assert server.handler.logins and set(server.handler.logins) == {(USER, True, True)}


async def test_starttls_relay_refuses_auth_before_tls(pki: Pki) -> None:
    async with tls_server("starttls", pki) as server:
        plain = SmtpSettings(**client(server, "starttls", starttls=False, username=USER,
                                      password=PASSWORD))  # fmt: skip
        async with SmtpPool(plain) as pool:
            with pytest.raises(RelaySetupError, match="AUTH") as info:
                await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
    assert info.value.key == "smtp"
    assert server.handler.logins == [] and server.received == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("trust", ["system", "another CA"])
async def test_a_certificate_we_do_not_trust_stops_before_the_login(
    mode: str, trust: str, pki: Pki, tmp_path: Path
) -> None:
    ca_file = None if trust == "system" else make_pki(tmp_path / "other", name="other").ca_file
    async with tls_server(mode, pki) as server:
        settings = SmtpSettings(
            **client(server, mode, ca_file=ca_file, username=USER, password=PASSWORD)
        )
        async with SmtpPool(settings) as pool:
            with pytest.raises(RelaySetupError, match="certificate we do not trust") as info:
                await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
    assert info.value.key == "smtp.ca_file" and "smtp.ca_file" in str(info.value)
    assert server.handler.logins == []  # the password never went to a relay we do not trust
    assert server.received == []


def secret_forms(password: str) -> list[str]:
    """The password as is and as AUTH PLAIN / AUTH LOGIN put it on the wire."""
    plain = base64.b64encode(f"\0{USER}\0{password}".encode()).decode()
    login = base64.b64encode(password.encode()).decode()
    return [password, plain, login]


@pytest.mark.parametrize("mode", MODES)
async def test_a_wrong_password_is_one_clear_error_and_never_shown(
    mode: str, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with tls_server(mode, pki) as server:
        settings = SmtpSettings(**client(server, mode, ca_file=pki.ca_file, username=USER,
                                         password=WRONG, pool_size=2))  # fmt: skip
        async with SmtpPool(settings) as pool:
            results = await asyncio.gather(
                *(pool.send(sender=SENDER, recipient=f"r{n}@example.org", data=message(n))
                  for n in range(10)),
                return_exceptions=True,
            )  # fmt: skip
    assert all(isinstance(r, RelaySetupError) for r in results), results
    error = results[0]
    assert isinstance(error, RelaySetupError)
    assert f"refused the login of '{USER}' (535" in str(error) and error.key == "smtp.password"
    # messages queued behind the refusal fail without trying again: one connection per
    # pooled slot at most, not one per message (aiosmtplib tries PLAIN, then LOGIN, on each)
    assert 1 <= server.handler.sessions <= 2
    assert 1 <= len(server.handler.logins) <= 2 * 2
    assert {ok for _, ok, _ in server.handler.logins} == {False}
    shown = "".join(
        "".join(traceback.format_exception(r)) for r in results if isinstance(r, BaseException)
    )
    shown += caplog.text + repr(settings)
    for form in secret_forms(WRONG):
        assert form not in shown
    assert server.received == []


def delivery_settings(
    settings_for: Any, url: str, server: SmtpServer, pki: Pki, password: str, **extra: Any
) -> Settings:
    return settings_for(  # type: ignore[no-any-return]
        url,
        smtp=client(server, "starttls", ca_file=str(pki.ca_file), username=USER,
                    password=password, pool_size=2),
        delivery={"batch_size": 4, "retry_base_seconds": 0.05},
        approval={"required": False},
        **extra,
    )  # fmt: skip


async def test_send_now_with_a_wrong_password_fails_nobody_and_resumes_when_fixed(
    db_conn: str, settings_for: Any, pki: Pki
) -> None:
    await make_incident(6)
    campaign = await campaigns.create(
        incident_ref="INC-2026-0001",
        kind="subject_notice",
        at=None,
        actor="a",
        key=None,
        approval=OPEN,
    )
    async with tls_server("starttls", pki) as server:
        wrong = delivery_settings(settings_for, db_conn, server, pki, WRONG)
        with pytest.raises(RelaySetupError, match="refused the login") as info:
            await sending.send_now(
                campaign_id=campaign.id, settings=wrong, actor="a", loader=plain_loader
            )
        assert WRONG not in str(info.value)
        # nothing was failed, retried or bounced for the relay's refusal: all still pending
        deliveries = await Delivery.filter(campaign_id=campaign.id)
        assert {(d.status, d.attempts, d.lease_owner) for d in deliveries} == {
            (DeliveryStatus.PENDING, 0, None)
        }
        assert await DeliveryAttempt.all().count() == 0
        assert await Subject.filter(email_status=EmailStatus.BOUNCED).count() == 0
        assert server.handler.sessions <= 2  # the pool's two connections, once each
        fixed = delivery_settings(settings_for, db_conn, server, pki, PASSWORD)
        counts = await sending.send_now(
            campaign_id=campaign.id, settings=fixed, actor="a", loader=plain_loader
        )
    assert counts["sent"] == 6
    assert (await Campaign.get(id=campaign.id)).status is CampaignStatus.COMPLETED
    assert sorted(m.recipient for m in server.received) == sorted(address(n) for n in range(6))


async def test_service_sets_a_campaign_aside_while_the_relay_refuses_the_login(
    db_conn: str, settings_for: Any, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    await make_incident(6)
    campaign = await campaigns.create(
        incident_ref="INC-2026-0001",
        kind="subject_notice",
        at=None,
        actor="a",
        key=None,
        approval=OPEN,
    )
    await campaign_start.start(
        campaign_id=campaign.id, now=utcnow(), actor="a", key=None, settings=OFF
    )
    async with tls_server("starttls", pki) as server:
        settings = delivery_settings(
            settings_for, db_conn, server, pki, WRONG, scheduler={"poll_seconds": 0.1}
        )
        stop = asyncio.Event()
        worker = asyncio.create_task(
            sending.run_dispatcher(
                settings=settings, stop=stop, worker_id="svc-1", loader=plain_loader
            )
        )
        for _ in range(200):
            if "cannot be sent now" in caplog.text:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # less than the five polls it is set aside for
        stop.set()
        await asyncio.wait_for(worker, 30)
    assert f"campaign {campaign.id} cannot be sent now" in caplog.text
    assert "refused the login" in caplog.text and WRONG not in caplog.text
    assert (await Campaign.get(id=campaign.id)).status is CampaignStatus.SENDING
    deliveries = await Delivery.filter(campaign_id=campaign.id)
    assert {(d.status, d.attempts) for d in deliveries} == {(DeliveryStatus.PENDING, 0)}
    assert server.handler.sessions <= 2  # set aside: not one login per batch or per poll
