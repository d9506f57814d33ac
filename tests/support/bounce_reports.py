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


def _original(sent: Sent) -> str:
    return f"""Return-path: <{sent.return_path}>
From: Example Ltd Security <security@example.com>
To: {sent.recipient}
Subject: Important: a security incident involving your data
Message-ID: {sent.message_id}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Dear reader, ..."""


def exim(sent: Sent) -> bytes:
    """Exim's classic bounce: plain text, the failures in X-Failed-Recipients, no DSN part."""
    return _crlf(f"""Envelope-to: {sent.return_path}
Delivery-date: Wed, 02 Dec 2026 08:01:00 +0000
X-Failed-Recipients: {sent.recipient}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.exim.example>
To: {sent.return_path}
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tExim-0001@mx.exim.example>
Date: Wed, 02 Dec 2026 08:01:00 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {sent.recipient}
    host mx.exim.example [192.0.2.25]
    SMTP error from remote mail server after RCPT TO:<{sent.recipient}>:
    550 5.1.1 No such user here

------ This is a copy of the message, including all the headers. ------

{_original(sent)}
""")


def qmail(sent: Sent) -> bytes:
    """qmail-send's bounce (QSBMF): plain text, the message copied below a line."""
    return _crlf(f"""Delivered-To: {sent.return_path}
Return-Path: <>
Date: 2 Dec 2026 08:02:00 -0000
From: MAILER-DAEMON@mx.qmail.example
To: {sent.return_path}
Subject: failure notice
Message-ID: <20261202080200.7777.qmail@mx.qmail.example>

Hi. This is the qmail-send program at mx.qmail.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{sent.recipient}>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

{_original(sent)}
""")


def exchange(sent: Sent) -> bytes:
    """Exchange Online's non-delivery report: a DSN with an HTML notice and the whole message."""
    return _crlf(f"""Delivered-To: {sent.return_path}
From: Microsoft Outlook <postmaster@contoso.onmicrosoft.com>
To: {sent.return_path}
Date: Wed, 2 Dec 2026 08:03:00 +0000
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="ex-boundary"
MIME-Version: 1.0
Message-ID: <b7c3-exchange@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
Subject: Undeliverable: Important: a security incident involving your data
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:

--ex-boundary
Content-Type: multipart/alternative; boundary="ex-alt"

--ex-alt
Content-Type: text/plain; charset="us-ascii"

Your message to {sent.recipient} couldn't be delivered.
The address couldn't be found.

--ex-alt
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to {sent.recipient} couldn't be delivered.</p></body></html>

--ex-alt--

--ex-boundary
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;relay.example.com
Arrival-Date: Wed, 2 Dec 2026 08:02:59 +0000

Final-Recipient: rfc822;{sent.recipient}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--ex-boundary
Content-Type: message/rfc822

{_original(sent)}

--ex-boundary--
""")


def gmail(sent: Sent, *, delayed: bool = False) -> bytes:
    """Gmail's Delivery Status Notification: failure (5.1.1) or delay (4.4.1)."""
    action, status = ("delayed", "4.4.1") if delayed else ("failed", "5.1.1")
    title = "Delay" if delayed else "Failure"
    return _crlf(f"""Delivered-To: {sent.return_path}
Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {sent.return_path}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification ({title})
Message-ID: <6a1b.gmail.{action}@mx.google.com>
Date: Wed, 02 Dec 2026 00:04:00 -0800
X-Failed-Recipients: {sent.recipient}
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000gmail"; report-type=delivery-status

--000gmail
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to {sent.recipient} because the address couldn't be found.

--000gmail
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Arrival-Date: Wed, 02 Dec 2026 00:03:59 -0800

Final-Recipient: rfc822; {sent.recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2607:f8b0:4864:20::1b, the server for the domain.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.
 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser
Last-Attempt-Date: Wed, 02 Dec 2026 00:04:00 -0800

--000gmail
Content-Type: message/rfc822

{_original(sent)}

--000gmail--
""")
