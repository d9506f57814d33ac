"""One mail transaction (MAIL, RCPT, DATA) on an open aiosmtplib connection, for wire-ready bytes.

aiosmtplib's ``data()`` rewrites every message before it sends it: one regular expression
turns every line ending into CRLF and another dot-stuffs lines that begin with a period, each
over the whole message. For a 7 KB notice those two passes were more than half of the
client's CPU per message in a py-spy profile (BENCHMARKS.md, 2026-12-02), and ``mail()`` / ``rcpt()`` parse each address with
``email.utils.parseaddr`` besides. Our notices leave the composer already in wire form, with
CRLF line endings only and a final CRLF, so here they are dot-stuffed with one
``bytes.replace`` and handed to the connection as they are.

Anything else takes aiosmtplib's own path, unchanged: a message not in wire form goes through
``data()``, an address that is not a plain ``dot-atom@domain`` through ``quote_address``, and
a connection that has not greeted the relay yet through ``mail()`` (which sends EHLO first).
Replies and errors are the ones aiosmtplib's calls give: ``SMTPSenderRefused``,
``SMTPRecipientRefused``, ``SMTPDataError``, and a connection closed after a disconnect or a
timeout in the middle of DATA.

International addresses: a domain always goes as A-labels (IDNA 2008). A local part that is
not ASCII needs SMTPUTF8 (RFC 6531): the transaction asks for it with ``MAIL FROM:<...>
SMTPUTF8`` and sends the addresses in UTF-8, when the relay offers it; when it does not,
:class:`SmtpUtf8Missing` (``notice check`` finds such recipients before anything is sent).
"""

from __future__ import annotations

import re

import aiosmtplib
from aiosmtplib import SMTPResponse
from aiosmtplib.email import quote_address

from incident_svc.domain.emails import ascii_address

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
# local-part@domain needing neither quoting nor parsing: what quote_address gives is <address>
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")
_END_OF_DATA = b".\r\n"


class SmtpUtf8Missing(aiosmtplib.SMTPNotSupported):
    """The address needs SMTPUTF8 and the relay does not offer it."""


async def mail_from(client: aiosmtplib.SMTP, sender: str, *, smtputf8: bool = False) -> None:
    """MAIL FROM ``sender``: opens the transaction (greeting the relay first if needed);
    with ``smtputf8`` (a local part of the sender or the recipient is not ASCII) asks for it."""
    if smtputf8:
        await _mail_smtputf8(client, sender)
        return
    if client.is_ehlo_or_helo_needed:
        await client.mail(sender if _PLAIN_ADDRESS.fullmatch(sender) else _wire(sender)[1:-1])
        return
    reply = await client.execute_command(b"MAIL", b"FROM:" + envelope_address(sender))
    if reply.code != aiosmtplib.SMTPStatus.completed:
        raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, sender)


async def _mail_smtputf8(client: aiosmtplib.SMTP, sender: str) -> None:
    if client.is_ehlo_or_helo_needed:
        await client.ehlo()
    if not client.supports_extension("smtputf8"):
        raise SmtpUtf8Missing(
            "an address's local part is not ASCII and the relay does not offer SMTPUTF8"
        )
    command = b"FROM:" + envelope_address(sender, utf8=True) + b" SMTPUTF8"
    reply = await client.execute_command(b"MAIL", command)
    if reply.code != aiosmtplib.SMTPStatus.completed:
        raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, sender)


async def rcpt_and_data(
    client: aiosmtplib.SMTP,
    *,
    recipient: str,
    data: bytes,
    wire: bytes | None = None,
    smtputf8: bool = False,
) -> SMTPResponse:
    """RCPT TO ``recipient``, then DATA ``data``; the relay's reply to the end of DATA.

    ``wire`` is ``wire_form(data)`` if the caller has it already (the composer prepares it in
    its worker process, off the sending thread); ``smtputf8`` as given to :func:`mail_from`.
    """
    address = envelope_address(recipient, utf8=smtputf8)
    reply = await client.execute_command(b"RCPT", b"TO:" + address)
    if reply.code not in (aiosmtplib.SMTPStatus.completed, aiosmtplib.SMTPStatus.will_forward):
        raise aiosmtplib.SMTPRecipientRefused(reply.code, reply.message, recipient)
    if wire is None:
        wire = wire_form(data)
    if wire is None:
        return await client.data(data)
    return await _data(client, wire)


def envelope_address(address: str, *, utf8: bool = False) -> bytes:
    """``<address>`` as MAIL and RCPT carry it: the domain as A-labels, aiosmtplib's quoting
    for anything not plain; UTF-8 only with ``utf8`` (else UnicodeEncodeError, permanent)."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return b"<" + address.encode("ascii") + b">"
    return _wire(address).encode("utf-8" if utf8 else "ascii")


def _wire(address: str) -> str:
    """aiosmtplib's ``<quoting>`` of ``address``, its domain turned into A-labels."""
    quoted = quote_address(address)
    if quoted.isascii():
        return quoted
    try:
        return f"<{ascii_address(quoted[1:-1])}>"
    except ValueError as exc:  # what SMTP cannot carry is permanent (smtp_errors.translate)
        raise UnicodeEncodeError("idna", address, 0, len(address), str(exc)) from None


def wire_form(data: bytes) -> bytes | None:
    """``data`` dot-stuffed and terminated for DATA, if its lines all end in CRLF; else None."""
    lines = data.count(b"\n")
    if not data.endswith(b"\r\n") or data.count(b"\r") != lines or data.count(b"\r\n") != lines:
        return None
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + _END_OF_DATA


async def _data(client: aiosmtplib.SMTP, wire: bytes) -> SMTPResponse:
    start = await client.execute_command(b"DATA")
    if start.code != aiosmtplib.SMTPStatus.start_input:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    try:
        protocol.write(wire)
        reply = await protocol.read_response(timeout=client.timeout)
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
        client.close()  # the conversation's state is unknown, as aiosmtplib's data() does
        raise
    if reply.code != aiosmtplib.SMTPStatus.completed:
        raise aiosmtplib.SMTPDataError(reply.code, reply.message)
    return reply
