"""International addresses (issue 15): A-label domains on the wire, SMTPUTF8 when offered,
and ``notice check`` finding what the relay cannot carry before anything is sent.

Against a real aiosmtpd that does and does not advertise SMTPUTF8.
"""

from __future__ import annotations

import socket
from email import policy
from email.parser import Parser
from typing import Any

import idna
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from incident_svc.config import Settings, SmtpSettings
from incident_svc.domain.emails import ascii_address, needs_smtputf8, normalise_email
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import PermanentDeliveryError
from incident_svc.mail import mime
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.mail.smtp_transaction import envelope_address
from incident_svc.models import Incident
from incident_svc.notices import addresses, review
from tests.notice_data import make_incident, make_subject
from tests.support.smtpd import SmtpServer, smtp_server

SENDER = "security@example.com"
IDN = "anna@bücher.example"
UTF8 = "用户@例子.广告"
BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LOCAL_CHARS = st.sampled_from([*"abcXYZ019.-_+", "é", "ß", "用", "户", "ü", "Ω", "😀"])
DOMAIN_LABELS = st.sampled_from(["bücher", "例子", "müller", "xn--p1ai", "abc", "EXAMPLE", "ß"])
CANDIDATES = st.builds(
    lambda local, labels, top: f"{local}@{'.'.join(labels)}.{top}",
    st.text(LOCAL_CHARS, min_size=1, max_size=12),
    st.lists(DOMAIN_LABELS, min_size=1, max_size=3),
    st.sampled_from(["example", "com", "广告", "рф"]),
)


def _parse(data: bytes) -> Any:
    """As a mail app reads a message: UTF-8 headers (RFC 6532), encoded-words decoded."""
    return Parser(policy=policy.SMTPUTF8).parsestr(data.decode("utf-8"))


def _accepted(text: str) -> str | None:
    try:
        return normalise_email(text)
    except ValueError:
        return None


@BOUNDED
@given(text=CANDIDATES)
@example(text=IDN)
@example(text=UTF8)
def test_every_address_import_accepts_has_an_ascii_domain_and_an_envelope(text: str) -> None:
    address = _accepted(text)
    if address is None:
        return
    local, _, domain = address.rpartition("@")
    wire = ascii_address(address)
    wire_domain = wire.rpartition("@")[2]
    assert wire_domain.isascii() and wire.startswith(local + "@")
    assert idna.decode(wire_domain) == domain.lower()  # the same domain, spelled IDNA 2008
    assert needs_smtputf8(address) == (not local.isascii())
    if needs_smtputf8(address):
        with pytest.raises(UnicodeEncodeError):
            envelope_address(address)
        assert envelope_address(address, utf8=True) == f"<{wire}>".encode()
    else:
        assert envelope_address(address) == f"<{wire}>".encode("ascii")


@BOUNDED
@given(text=CANDIDATES, name=st.text(max_size=20).filter(lambda n: n.isprintable()))
def test_a_message_to_any_accepted_address_has_a_well_formed_to_header(
    text: str, name: str
) -> None:
    address = _accepted(text)
    if address is None:
        return
    skeleton = mime.build_skeleton(sender=mime.Mailbox(name="Security", addr=SENDER))
    data = mime.assemble(
        skeleton, to=mime.Mailbox(name=name, addr=address), subject="Notice", date="Tue, 01 Dec 2026 10:00:00 +0000",
        message_id="<m1@example.com>", text="text", html="<p>html</p>",
    )  # fmt: skip
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() == (not needs_smtputf8(address))  # UTF-8 only for SMTPUTF8 (RFC 6532)
    parsed = _parse(data)
    [to] = parsed["To"].addresses
    assert to.addr_spec == ascii_address(address)


def pool_for(server: SmtpServer) -> SmtpPool:
    return SmtpPool(SmtpSettings(host=server.host, port=server.port, timeout=2.0, pool_size=1))


def _message(recipient: str) -> bytes:
    skeleton = mime.build_skeleton(sender=mime.Mailbox(name="Security", addr=SENDER))
    return mime.assemble(
        skeleton, to=mime.Mailbox(name="Reader", addr=recipient), subject="Notice",
        date="Tue, 01 Dec 2026 10:00:00 +0000", message_id="<m1@example.com>",
        text="text", html="<p>html</p>",
    )  # fmt: skip


async def test_an_smtputf8_relay_gets_a_utf8_local_part_and_a_labels() -> None:
    async with smtp_server(enable_SMTPUTF8=True) as server, pool_for(server) as pool:
        for recipient in (UTF8, IDN, "plain@example.org"):
            await pool.send(sender=SENDER, recipient=recipient, data=_message(recipient))
    utf8, idn, plain = server.received
    assert (utf8.recipient, utf8.mail_options) == ("用户@xn--fsqu00a.xn--4rr70v", ("SMTPUTF8",))
    assert (idn.recipient, idn.mail_options) == ("anna@xn--bcher-kva.example", ())
    assert (plain.recipient, plain.mail_options) == ("plain@example.org", ())
    parsed = _parse(utf8.data)
    assert parsed["To"].addresses[0].addr_spec == "用户@xn--fsqu00a.xn--4rr70v"


async def test_a_relay_without_smtputf8_refuses_only_the_utf8_local_part_permanently() -> None:
    async with smtp_server() as server, pool_for(server) as pool:
        with pytest.raises(PermanentDeliveryError, match="SMTPUTF8"):
            await pool.send(sender=SENDER, recipient=UTF8, data=_message(UTF8))
        await pool.send(sender=SENDER, recipient=IDN, data=_message(IDN))  # same connection
    [idn] = server.received
    assert idn.recipient == "anna@xn--bcher-kva.example"


# -- notice check: flagged before anything is sent --


async def _check(settings: Settings) -> list[tuple[str, str, str]]:
    report = await review.check_incident(
        incident_ref="INC-2026-0001", kind=NoticeKind.SUBJECT_NOTICE, settings=settings
    )
    return [
        (ref, f.code, f.message)
        for entry in report.locales.values()
        for ref, f in entry.findings
        if f.part == "address"
    ]


@pytest.fixture
async def international(db_conn: str) -> None:
    incident = await make_incident()
    await make_subject(incident, "U1", email=UTF8)
    await make_subject(incident, "I1", email=IDN)
    await make_subject(incident, "P1")


def _with_relay(settings_for: Any, database_url: str, host: str, port: int) -> Settings:
    settings: Settings = settings_for(
        database_url, smtp={"host": host, "port": port, "timeout": 2.0}
    )
    return settings


@pytest.mark.parametrize("offered", [True, False])
async def test_notice_check_flags_a_utf8_local_part_unless_the_relay_offers_smtputf8(
    international: None, database_url: str, settings_for: Any, offered: bool
) -> None:
    async with smtp_server(enable_SMTPUTF8=offered) as server:
        found = await _check(_with_relay(settings_for, database_url, server.host, server.port))
        assert server.received == []  # nothing is sent
    if offered:
        assert found == []
    else:
        [(ref, code, message)] = found
        assert (ref, code) == ("U1", "needs_smtputf8") and "does not offer" in message


async def test_notice_check_says_when_the_relay_cannot_be_asked(
    international: None, database_url: str, settings_for: Any
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    [(ref, code, message)] = await _check(
        _with_relay(settings_for, database_url, "127.0.0.1", port)
    )
    assert (ref, code) == ("U1", "needs_smtputf8") and "could not be asked" in message


async def test_notice_check_names_the_first_ones_and_counts_the_rest(
    international: None,
    database_url: str,
    settings_for: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    incident = await Incident.get(ref="INC-2026-0001")
    for n in range(3):
        await make_subject(incident, f"U{n + 2}", email=f"用户{n}@例子.广告")
    monkeypatch.setattr(addresses, "MAX_LISTED", 2)
    async with smtp_server() as server:
        found = await _check(_with_relay(settings_for, database_url, server.host, server.port))
    assert [code for _, code, _ in found] == ["needs_smtputf8"] * 3
    assert found[-1][2] == "and 2 more recipients whose addresses need SMTPUTF8"


async def test_notice_check_flags_a_utf8_mail_from(
    db_conn: str, database_url: str, settings_for: Any
) -> None:
    await make_subject(await make_incident(), "P1")
    async with smtp_server() as server:
        settings = settings_for(
            database_url,
            mail_from="Security <安全@example.com>",
            smtp={"host": server.host, "port": server.port, "timeout": 2.0},
        )
        [(ref, code, message)] = await _check(settings)
    assert (ref, code) == ("mail_from", "needs_smtputf8") and "安全@example.com" in message
