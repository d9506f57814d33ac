"""Well-formed messages from the service to its own security team (reminders, checkpoints).

:func:`internal_message` builds one plain-text message the way a careful mail client would:
``Date``, a ``Message-ID`` on the sender's own domain (so the relay, DMARC reports and the
mailbox all agree who made it), ``Auto-Submitted: auto-generated`` (RFC 3834: no vacation
replies), ``MIME-Version`` and a UTF-8 text part, and a DKIM signature when ``[dkim]`` is
configured. Header values go through :mod:`incident_svc.mail.headers`, so none can carry a
line break. :func:`send_internal` hands one to the SMTP pool.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Protocol

from incident_svc.config import Settings
from incident_svc.mail import headers
from incident_svc.mail.dkim import DkimSigner, load_signer
from incident_svc.mail.mime import encode_text_body, parse_mailbox


@dataclass(frozen=True)
class InternalMessage:
    """A message ready for SMTP: envelope, Message-ID (for the audit log) and wire bytes."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


class _Pool(Protocol):
    async def send(self, *, sender: str, recipient: str, data: bytes) -> object: ...


def internal_message(
    settings: Settings,
    *,
    subject: str,
    text: str,
    kind: str = "notice",
    at: datetime | None = None,
    signer: DkimSigner | None = None,
    sign: bool = True,
) -> InternalMessage:
    """One plain-text message from ``mail_from`` to ``security_team_email``.

    ``kind`` (letters, digits, ``-``) starts the Message-ID's left part so a reader can tell a
    reminder from a checkpoint; ``signer`` defaults to the one ``[dkim]`` describes (none when
    it is not configured); ``sign=False`` skips DKIM altogether.
    """
    sender = parse_mailbox("mail_from", settings.mail_from)
    to = parse_mailbox("security_team_email", settings.security_team_email)
    sender_addr = headers.mailbox("mail_from", sender.addr)
    domain = sender_addr.rpartition("@")[2]
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    message_id = headers.message_id(
        f"<{_safe_kind(kind)}.{moment.strftime('%Y%m%d%H%M%S')}.{secrets.token_hex(8)}@{domain}>"
    )
    lines = [
        f"Date: {format_datetime(moment, usegmt=True)}",
        f"From: {headers.address('From', sender.name, sender.addr)}",
        f"To: {headers.address('To', to.name, to.addr)}",
        f"Subject: {headers.unstructured('Subject', subject)}",
        f"Message-ID: {message_id}",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
    ]
    data = ("\r\n".join(lines) + "\r\n").encode("ascii") + encode_text_body(text)
    if sign:
        signer = signer or load_signer(settings.dkim)
    if sign and signer is not None:
        data = signer.sign(data)
    return InternalMessage(
        sender=sender_addr,
        recipient=headers.mailbox("security_team_email", to.addr),
        message_id=message_id,
        data=data,
    )


def _safe_kind(kind: str) -> str:
    cleaned = "".join(c for c in kind if c.isascii() and (c.isalnum() or c == "-"))
    return cleaned[:32] or "notice"


async def send_internal(pool: _Pool, message: InternalMessage) -> object:
    """Hand the message to the relay (the caller decides what a failure means)."""
    return await pool.send(sender=message.sender, recipient=message.recipient, data=message.data)
