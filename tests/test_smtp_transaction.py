"""The wire-ready mail transaction: the same bytes on the wire as aiosmtplib's own calls.

Unit properties compare it with aiosmtplib's quoting and its DATA normalisation; the rest
runs against a real aiosmtpd server, which undoes the dot-stuffing as any relay does.
"""

from __future__ import annotations

import pytest
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given
from hypothesis import strategies as st

from incident_svc.config import SmtpSettings
from incident_svc.errors import PermanentDeliveryError
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.mail.smtp_transaction import _PLAIN_ADDRESS, envelope_address, wire_form
from tests.support.smtpd import Reply, SmtpServer, smtp_server

SENDER = "security@example.com"
_ADDRESS_CHARS = st.sampled_from(list("abcXYZ019.-_+=!#$%&'*/?^`{|}~@\"()<>[],;: \\"))


def aiosmtplib_data(data: bytes) -> bytes:
    """What aiosmtplib's ``execute_data_command`` writes after DATA for ``data``."""
    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data)) + b".\r\n"


@given(st.from_regex(_PLAIN_ADDRESS, fullmatch=True))
def test_a_plain_address_is_quoted_as_aiosmtplib_quotes_it(address: str) -> None:
    assert envelope_address(address) == quote_address(address).encode("ascii")


@given(st.text(_ADDRESS_CHARS, min_size=1, max_size=30))
def test_any_address_is_quoted_as_aiosmtplib_quotes_it_or_refused_alike(address: str) -> None:
    try:
        expected = quote_address(address).encode("ascii")
    except (ValueError, UnicodeEncodeError) as exc:
        with pytest.raises(type(exc)):
            envelope_address(address)
        return
    assert envelope_address(address) == expected


@given(
    st.from_regex(r"[a-z0-9][a-z0-9.+_-]{0,15}@[a-z0-9]{1,10}(\.[a-z]{2,6}){1,2}", fullmatch=True)
)
def test_ordinary_addresses_take_the_quick_quoting(address: str) -> None:
    if ".." in address.split("@")[0] or address.split("@")[0].endswith("."):
        return  # not a dot-atom: quote_address's own path
    assert _PLAIN_ADDRESS.fullmatch(address)
    assert envelope_address(address) == f"<{address}>".encode()


def test_an_address_that_is_not_plain_goes_through_aiosmtplib() -> None:
    assert envelope_address("Ann <ann@example.org>") == b"<ann@example.org>"
    assert envelope_address('"ann lee"@example.org') == b'<"ann lee"@example.org>'
    with pytest.raises(ValueError, match="not permitted"):
        envelope_address("ann lee@example.org")
    with pytest.raises(UnicodeEncodeError):
        envelope_address("zoë@example.org")


_LINES = st.lists(
    st.sampled_from([b"", b".", b"..", b".hidden", b"text", b"a.b", b" .x", b"="]), max_size=8
)


@given(_LINES)
def test_wire_ready_bytes_are_sent_as_aiosmtplib_would_send_them(lines: list[bytes]) -> None:
    data = b"".join(line + b"\r\n" for line in lines)
    if not data:
        return
    assert wire_form(data) == aiosmtplib_data(data)


@pytest.mark.parametrize(
    "data",
    [b"a\nb\r\n", b"a\rb\r\n", b"a\r\n\rb\r\n", b"no final line ending", b"a\r\nb", b"a\r\r\n"],
)
def test_bytes_not_in_wire_form_are_left_to_aiosmtplib(data: bytes) -> None:
    assert wire_form(data) is None


def pool_for(server: SmtpServer) -> SmtpPool:
    return SmtpPool(SmtpSettings(host=server.host, port=server.port, timeout=2.0, pool_size=1))


async def test_lines_that_begin_with_a_period_arrive_unchanged() -> None:
    body = b".\r\n..\r\n.hidden line\r\nend.\r\n.\r\n"
    data = b"Message-ID: <dots@example.com>\r\nSubject: dots\r\n\r\n" + body
    async with smtp_server() as server, pool_for(server) as pool:
        for _ in range(2):  # the first message greets the relay, the second is wire-ready
            accepted = await pool.send(sender=SENDER, recipient="r1@example.org", data=data)
            assert accepted.code == 250
        assert [m.data for m in server.received] == [data, data]


async def test_a_message_not_in_wire_form_is_normalised_on_the_way() -> None:
    data = b"Message-ID: <lf@example.com>\nSubject: bare LF\n\n.first\nsecond"
    async with smtp_server() as server, pool_for(server) as pool:
        await pool.send(sender=SENDER, recipient="r1@example.org", data=b"M: 1\r\n\r\nx\r\n")
        await pool.send(sender=SENDER, recipient="r2@example.org", data=data)
        assert server.received[1].data == data.replace(b"\n", b"\r\n") + b"\r\n"


async def test_a_quoted_recipient_is_delivered_to_that_mailbox() -> None:
    async with smtp_server() as server, pool_for(server) as pool:
        await pool.send(sender=SENDER, recipient="r1@example.org", data=b"M: 1\r\n\r\nx\r\n")
        await pool.send(sender=SENDER, recipient='"ann lee"@example.org', data=b"M: 2\r\n\r\n")
        assert [m.recipient for m in server.received] == ["r1@example.org", '"ann lee"@example.org']


async def test_a_refused_sender_is_permanent_and_keeps_the_connection() -> None:
    async with smtp_server() as server, pool_for(server) as pool:
        await pool.send(sender=SENDER, recipient="r1@example.org", data=b"M: 1\r\n\r\nx\r\n")
        server.faults[SENDER] = [Reply("553 5.7.1 sender not allowed", at="mail")]
        with pytest.raises(PermanentDeliveryError) as info:
            await pool.send(sender=SENDER, recipient="r2@example.org", data=b"M: 2\r\n\r\n")
        assert info.value.code == 553
        await pool.send(sender=SENDER, recipient="r3@example.org", data=b"M: 3\r\n\r\n")
        assert [m.recipient for m in server.received] == ["r1@example.org", "r3@example.org"]
        assert pool.connects == 1


async def test_a_payload_prepared_by_the_composer_is_sent_as_it_is() -> None:
    data = b"Message-ID: <ready@example.com>\r\n\r\n.dot first\r\nplain\r\n"
    async with smtp_server() as server, pool_for(server) as pool:
        for n in range(2):  # the first message greets the relay, the second is wire-ready
            await pool.send(
                sender=SENDER, recipient=f"r{n}@example.org", data=data, wire=wire_form(data)
            )
        assert [m.data for m in server.received] == [data, data]
