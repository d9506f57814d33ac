"""Hand-written reports in the shapes real mail systems send, for a message we sent.

Each builder returns the bytes a mailbox would hold: the report as the receiving system wrote
it, with the headers the local delivery agent adds (``Delivered-To``, ``X-Original-To``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sent:
    """What a report refers back to: one message we sent."""

    return_path: str  # its envelope sender (our VERP address, or mail_from)
    recipient: str
    message_id: str


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def dsn(
    sent: Sent,
    *,
    status: str = "5.1.1",
    action: str = "failed",
    diagnostic: str = "smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
    serial: int = 0,
) -> bytes:
    """An RFC 3464 report as Postfix writes it (bounce(8)), with the returned headers."""
    return _crlf(f"""Delivered-To: {sent.return_path}
X-Original-To: {sent.return_path}
Return-Path: <>
Date: Wed,  2 Dec 2026 08:00:{serial % 60:02d} +0000 (UTC)
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {sent.return_path}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B{serial}.1733126400/mx.example.org"
Message-Id: <20261202080000.B{serial}@mx.example.org>

This is a MIME-encapsulated message.

--B{serial}.1733126400/mx.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B{serial}.1733126400/mx.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
X-Postfix-Queue-ID: B{serial}
Arrival-Date: Wed,  2 Dec 2026 07:59:59 +0000 (UTC)

Final-Recipient: rfc822; {sent.recipient}
Original-Recipient: rfc822;{sent.recipient}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic.format(rcpt=sent.recipient)}

--B{serial}.1733126400/mx.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{sent.return_path}>
From: Example Ltd Security <security@example.com>
To: {sent.recipient}
Subject: Important: a security incident involving your data
Message-ID: {sent.message_id}

--B{serial}.1733126400/mx.example.org--
""")


def arf(sent: Sent, *, feedback_type: str = "abuse") -> bytes:
    """An RFC 5965 abuse report as a mailbox provider's feedback loop sends it."""
    return _crlf(f"""Delivered-To: {sent.return_path}
From: Feedback Loop <fbl@mailbox.example.net>
To: {sent.return_path}
Subject: FW: Important: a security incident involving your data
Date: Wed, 2 Dec 2026 08:10:00 +0000
Message-ID: <fbl.1@mailbox.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="fbl"

--fbl
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for an email message received from IP 192.0.2.1.

--fbl
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: ExampleFBL/1.0
Version: 1
Original-Mail-From: <{sent.return_path}>
Original-Rcpt-To: <{sent.recipient}>
Arrival-Date: Wed, 2 Dec 2026 08:00:00 +0000
Source-IP: 192.0.2.1

--fbl
Content-Type: text/rfc822-headers

From: Example Ltd Security <security@example.com>
To: {sent.recipient}
Subject: Important: a security incident involving your data
Message-ID: {sent.message_id}

--fbl--
""")
