"""The SMTP pool against a real aiosmtpd server with injected faults, and against a raw
listener that fails the connection's setup (a 421 greeting, a TLS handshake that fails)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from incident_svc.config import SmtpSettings
from incident_svc.domain.enums import DeliveryStatus
from incident_svc.errors import (
    PermanentDeliveryError,
    RelaySetupError,
    RelayUnavailableError,
    TransientDeliveryError,
)
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.models import Delivery, DeliveryAttempt
from incident_svc.services.delivery import campaigns
from incident_svc.services.relay import relay_state
from tests.support import sending
from tests.support.approval import OPEN
from tests.support.composer import plain_loader
from tests.support.people import address, make_incident
from tests.support.raw_relay import raw_relay
from tests.support.smtpd import AcceptThenDrop, Disconnect, Reply, SmtpServer, Stall, smtp_server
from tests.support.tls import make_pki

SENDER = "security@example.com"


def message(n: int) -> bytes:
    return (
        f"From: {SENDER}\r\nTo: r{n}@example.org\r\nMessage-ID: <m{n}@example.com>\r\n"
        f"Subject: notice {n}\r\n\r\nbody {n}\r\n"
    ).encode()


def pool_for(server: SmtpServer, **overrides: object) -> SmtpPool:
    options: dict[str, object] = {"host": server.host, "port": server.port, "timeout": 2.0}
    options.update(overrides)
    return SmtpPool(SmtpSettings(**options))  # type: ignore[arg-type]


async def test_connections_are_reused_across_messages() -> None:
    async with smtp_server() as server, pool_for(server, pool_size=3) as pool:
        results = await asyncio.gather(
            *(
                pool.send(sender=SENDER, recipient=f"r{n}@example.org", data=message(n))
                for n in range(30)
            )
        )
        assert {r.code for r in results} == {250}
        assert results[0].reply.startswith("250 2.0.0 Ok")
        assert sorted(m.message_id or "" for m in server.received) == sorted(
            f"<m{n}@example.com>" for n in range(30)
        )
        assert pool.connects == 3
        assert server.handler.sessions == 3


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Reply("421 4.3.2 closing"), 421),
        (Reply("450 4.2.0 busy"), 450),
        (Reply("451 later", at="rcpt"), 451),
    ],
)
async def test_4xx_is_transient_and_the_next_try_is_delivered(fault: Reply, code: int) -> None:
    async with smtp_server() as server, pool_for(server, pool_size=1) as pool:
        server.faults["r1@example.org"] = [fault]
        with pytest.raises(TransientDeliveryError) as info:
            await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
        assert info.value.code == code
        assert info.value.reply.startswith(str(code))
        accepted = await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
        assert accepted.code == 250
        assert [m.message_id for m in server.received] == ["<m1@example.com>"]


@pytest.mark.parametrize("at", ["rcpt", "data"])
async def test_5xx_is_permanent_and_keeps_the_connection(at: str) -> None:
    async with smtp_server() as server, pool_for(server, pool_size=1) as pool:
        server.faults["r1@example.org"] = [Reply("550 5.1.1 no such user", at=at)]
        with pytest.raises(PermanentDeliveryError) as info:
            await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
        assert info.value.code == 550
        assert "no such user" in info.value.reply
        assert isinstance(info.value.__cause__, Exception)
        await pool.send(sender=SENDER, recipient="r2@example.org", data=message(2))
        assert pool.connects == 1  # RSET, not a new connection
        assert [m.recipient for m in server.received] == ["r2@example.org"]


async def test_disconnect_in_data_is_transient_and_reconnects() -> None:
    async with smtp_server() as server, pool_for(server, pool_size=1) as pool:
        server.faults["r1@example.org"] = [Disconnect()]
        with pytest.raises(TransientDeliveryError, match="connection"):
            await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
        await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
        assert pool.connects == 2
        assert len(server.received) == 1


async def test_stall_past_timeout_is_transient_and_the_connection_is_dropped() -> None:
    async with smtp_server() as server, pool_for(server, pool_size=1, timeout=0.5) as pool:
        server.faults["r1@example.org"] = [Stall(3.0)]
        started = time.monotonic()
        with pytest.raises(TransientDeliveryError, match="Timeout"):
            await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
        assert time.monotonic() - started < 2.5  # gave up at the timeout, not the stall
        await pool.send(sender=SENDER, recipient="r2@example.org", data=message(2))
        assert pool.connects == 2


async def test_accept_then_drop_is_the_rfc1047_window() -> None:
    async with smtp_server() as server, pool_for(server, pool_size=1) as pool:
        server.faults["r1@example.org"] = [AcceptThenDrop()]
        with pytest.raises(TransientDeliveryError):
            await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
        await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
        # the server has it twice, with one Message-ID: the duplicate SMTP cannot avoid
        assert [m.message_id for m in server.received] == ["<m1@example.com>"] * 2


async def test_idle_connection_closed_by_the_server_is_reopened_without_failing() -> None:
    async with smtp_server(timeout=0.2) as server, pool_for(server, pool_size=1) as pool:
        await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
        await asyncio.sleep(0.5)  # the server times the idle session out
        await pool.send(sender=SENDER, recipient="r2@example.org", data=message(2))
        assert len(server.received) == 2
        assert pool.connects == 2


async def test_unreachable_relay_is_the_relays_fault_not_the_messages() -> None:
    async with smtp_server() as server:
        port = server.port
    pool = SmtpPool(SmtpSettings(host="127.0.0.1", port=port, timeout=1.0))
    with pytest.raises(RelayUnavailableError, match=r"cannot be reached .*Connect call failed"):
        await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
    with pytest.raises(RelayUnavailableError):
        await pool.probe()
    await pool.close()


async def test_auth_from_settings() -> None:
    async with smtp_server(credentials={"notices": "s3cret"}) as server:
        async with pool_for(server, username="notices", password="s3cret") as pool:
            await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
        async with pool_for(server, username="notices", password="wrong") as bad:
            with pytest.raises(RelaySetupError, match="refused the login") as info:
                await bad.send(sender=SENDER, recipient="r2@example.org", data=message(2))
            assert "s3cret" not in str(info.value) and "wrong" not in str(info.value)
        assert [m.recipient for m in server.received] == ["r1@example.org"]


async def test_rate_limit_spaces_sends_over_the_pool() -> None:
    async with smtp_server() as server, pool_for(server, pool_size=4, rate_limit=40.0) as pool:
        started = time.monotonic()
        await asyncio.gather(
            *(
                pool.send(sender=SENDER, recipient=f"r{n}@example.org", data=message(n))
                for n in range(9)
            )
        )
        # 9 sends at 40/s: the 9th slot is 8/40 = 0.2 s after the first
        assert time.monotonic() - started >= 0.19


@pytest.mark.parametrize(
    ("fault", "why"),
    [("busy", "421 4.3.2 busy at greeting"), ("busy_at_ehlo", "421 4.3.2 closing during")],
)
async def test_a_421_while_connecting_is_the_relays_fault_not_the_messages(
    fault: str, why: str
) -> None:
    async with raw_relay(fault) as relay:
        pool = SmtpPool(SmtpSettings(host="127.0.0.1", port=relay.port, timeout=2.0))
        with pytest.raises(RelayUnavailableError, match=f"cannot be reached \\({why}") as info:
            await pool.send(sender=SENDER, recipient="r1@example.org", data=message(1))
        assert (info.value.reply or "").startswith("421 4.3.2")
        with pytest.raises(RelayUnavailableError):
            await pool.probe()
        await pool.close()


@pytest.mark.parametrize(
    ("mode", "fault"),
    [
        ("tls", "cut_hello"),  # implicit TLS: the ClientHello goes unanswered
        ("tls", "alert_hello"),  # ... or is answered with a fatal alert
        ("tls", "busy"),  # ... or with a plain greeting (TLS where it is not spoken)
        ("starttls", "starttls_cut"),
        ("starttls", "starttls_alert"),
    ],
)
async def test_a_tls_handshake_that_fails_is_the_relay_unavailable(
    mode: str, fault: str, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    async with raw_relay(fault) as relay:
        settings = SmtpSettings(
            host="127.0.0.1", port=relay.port, timeout=2.0, ca_file=pki.ca_file, **{mode: True}
        )
        pool = SmtpPool(settings)
        results = await asyncio.gather(
            *(
                pool.send(sender=SENDER, recipient=f"r{n}@example.org", data=message(n))
                for n in range(3)
            ),
            return_exceptions=True,
        )
        assert all(isinstance(r, RelayUnavailableError) for r in results), results
        with pytest.raises(RelayUnavailableError):
            await pool.probe()  # and it is probed again, not set aside as a setting to fix
        assert relay.connections >= 4
        await pool.close()


async def test_a_tls_outage_at_dispatch_spends_no_attempt_and_sending_resumes(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    await make_incident(6)
    campaign = await campaigns.create(
        incident_ref="INC-2026-0001", kind="subject_notice", at=None, actor="a", key=None,
        approval=OPEN,
    )  # fmt: skip
    pki = make_pki(tmp_path / "pki")
    async with smtp_server(tls=pki.server_context) as server, raw_relay("alert_hello") as relay:
        settings = settings_for(
            db_conn,
            smtp={"host": "127.0.0.1", "port": relay.port, "tls": True,
                  "ca_file": str(pki.ca_file), "timeout": 2.0, "pool_size": 2},
            delivery={"batch_size": 4, "relay_probe_seconds": 0.2,
                      "relay_probe_max_seconds": 0.5},
            approval={"required": False},
        )  # fmt: skip
        sending_now = asyncio.create_task(
            sending.send_now(campaign_id=campaign.id, settings=settings, actor="a",
                             loader=plain_loader)
        )  # fmt: skip
        name = f"127.0.0.1:{relay.port}"
        async with asyncio.timeout(10):
            while (view := await relay_state.read(name)) is None or view.up:
                assert not sending_now.done(), sending_now.result()  # not given up
                await asyncio.sleep(0.05)
            tried = relay.connections
            while relay.connections < tried + 2:  # probed again: an outage, not set aside
                await asyncio.sleep(0.05)
        assert "TLS handshake failed" in view.last_error
        assert not sending_now.done()
        # the messages a lane held when the circuit opened go back untried a moment later (the
        # other lane may still be in its handshake when the probes are seen): no attempt is
        # counted at any time, and then every notice is pending
        async with asyncio.timeout(5):
            while True:
                deliveries = await Delivery.filter(campaign_id=campaign.id)
                assert all(d.attempts == 0 for d in deliveries)
                if {d.status for d in deliveries} == {DeliveryStatus.PENDING}:
                    break
                await asyncio.sleep(0.02)
        assert await DeliveryAttempt.all().count() == 0

        relay.forward_to(server.host, server.port)  # the relay's TLS answers again
        counts = await asyncio.wait_for(sending_now, 15)
    assert counts["sent"] == 6
    assert sorted(m.recipient for m in server.received) == sorted(address(n) for n in range(6))
    deliveries = await Delivery.filter(campaign_id=campaign.id)
    assert {(d.status, d.attempts) for d in deliveries} == {(DeliveryStatus.SENT, 1)}
