"""The development mail sink: an aiosmtpd server that keeps every message in a Maildir.

Any mail client (mutt -f var/mail, Thunderbird's "Maildir" account) can read the folder, and
one line per message is announced as it arrives. It accepts everything and relays nothing.
"""

from __future__ import annotations

import asyncio
import mailbox
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

_HEADER = re.compile(rb"^(Message-ID|Subject):[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Stored:
    """One message the sink kept."""

    at: datetime
    sender: str
    recipients: tuple[str, ...]
    message_id: str
    subject: str
    size: int
    key: str

    def line(self) -> str:
        to = ",".join(self.recipients)
        return (
            f"{self.at.isoformat(timespec='seconds')} {self.sender} -> {to} "
            f'{self.message_id or "-"} {self.size}B "{_decoded(self.subject)}"'
        )


def _decoded(subject: str) -> str:
    """The subject as a person reads it (RFC 2047 encoded words decoded)."""
    try:
        return str(make_header(decode_header(subject)))
    except (ValueError, LookupError):  # a malformed encoded word: show it as it came
        return subject


def _headers(data: bytes) -> dict[str, str]:
    head = data.split(b"\r\n\r\n", 1)[0]
    found: dict[str, str] = {}
    for name, value in _HEADER.findall(head):
        found.setdefault(name.decode().lower(), value.decode("utf-8", "replace").strip())
    return found


class MaildirHandler:
    """aiosmtpd handler: store in the Maildir, then announce."""

    def __init__(self, maildir: Path, announce: Callable[[Stored], None] | None = None) -> None:
        for part in ("tmp", "new", "cur"):  # also when the folder exists but is empty
            (maildir / part).mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(maildir, create=True)
        self._announce = announce

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        recipients = tuple(envelope.rcpt_tos)
        stamp = f"Return-Path: <{envelope.mail_from}>\r\nDelivered-To: {', '.join(recipients)}\r\n"
        key = await asyncio.to_thread(self._box.add, stamp.encode() + data)
        headers = _headers(data)
        stored = Stored(
            at=datetime.now(UTC),
            sender=str(envelope.mail_from),
            recipients=recipients,
            message_id=headers.get("message-id", ""),
            subject=headers.get("subject", ""),
            size=len(data),
            key=key,
        )
        if self._announce is not None:
            self._announce(stored)
        return f"250 2.0.0 Ok: stored as {key}"


@asynccontextmanager
async def serve(
    *,
    host: str,
    port: int,
    maildir: Path,
    announce: Callable[[Stored], None] | None = None,
) -> AsyncIterator[tuple[str, int]]:
    """Run the sink in the running loop for the block; yields the (host, port) bound."""
    handler = MaildirHandler(maildir, announce)

    def protocol() -> SMTP:
        # SMTPUTF8 on, as most providers' relays: a trial run can reach international addresses
        return SMTP(
            handler,
            hostname="incident-svc-mailsink",
            ident="incident-svc mailsink",
            enable_SMTPUTF8=True,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, host, port)
    bound: Any = server.sockets[0].getsockname()
    try:
        yield str(bound[0]), int(bound[1])
    finally:
        server.close()
        await server.wait_closed()


def message_ids(maildir: Path) -> list[str]:
    """The Message-ID of every message in the Maildir (tests and demos count with it)."""
    box = mailbox.Maildir(maildir, create=False)
    return [str(message.get("Message-ID", "")).strip() for message in box]
