"""A provider's event written as the standard report a mail server would have sent.

A webhook event becomes an RFC 3464 delivery status notification (bounces, deliveries) or an
RFC 5965 abuse report (complaints), so that it reaches the same ingestion as reports that
arrive by mail: one parser, one mapping to a delivery (the VERP return path in ``To:``, the
original Message-ID in the returned headers), one place that records evidence. The
provider's own JSON travels in the human-readable part, as the evidence of what it said.
"""

from __future__ import annotations

import hashlib
import re

from incident_svc.domain.provider_events import ProviderEvent

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")
_MAX = 900  # well under RFC 5322's 998-octet line limit


def _clean(value: str) -> str:
    """One header-safe line: no control characters (no header injection), bounded."""
    return _UNSAFE.sub(" ", value).strip()[:_MAX]


def _address(value: str) -> str:
    value = _clean(value)
    return value if re.fullmatch(r"[^\s<>()\",;:\\\[\]]+@[^\s<>()\",;:\\\[\]]+", value) else ""


def report_bytes(event: ProviderEvent) -> bytes:
    """The event as a multipart/report message (ASCII, CRLF line ends)."""
    boundary = (
        "=_incident-svc-"
        + hashlib.sha256(event.payload + event.recipient.encode()).hexdigest()[:24]
    )
    recipient = _address(event.recipient) or "invalid@invalid"
    report_type = "feedback-report" if event.kind == "complaint" else "delivery-status"
    head = [
        f"From: {_clean(event.provider)} webhook <mailer-daemon@invalid>",
        f"To: <{_address(event.return_path)}>" if _address(event.return_path) else "",
        f"Subject: {_clean(event.provider)} {event.kind} report",
        f"X-Incident-Svc-Source: webhook:{_clean(event.provider)}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"',
    ]
    human = event.payload.decode("utf-8", "replace").encode("ascii", "backslashreplace").decode()
    parts = [
        ["Content-Type: text/plain; charset=us-ascii", "", *_wrap(human)],
        _machine_part(event, recipient),
        _headers_part(event, recipient),
    ]
    lines = [line for line in head if line] + ["", "This is a MIME-formatted report."]
    for part in parts:
        lines += ["", f"--{boundary}", *part]
    lines += ["", f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii", "replace")


def _wrap(text: str) -> list[str]:
    return [text[i : i + 76] for i in range(0, len(text), 76)] or [""]


def _machine_part(event: ProviderEvent, recipient: str) -> list[str]:
    if event.kind == "complaint":
        return [
            "Content-Type: message/feedback-report",
            "",
            "Feedback-Type: abuse",
            "User-Agent: incident-svc webhook",
            "Version: 1",
            f"Original-Rcpt-To: {recipient}",
        ]
    action = (
        "delivered" if event.kind == "delivered" else "failed" if event.permanent else "delayed"
    )
    fields = [
        "Content-Type: message/delivery-status",
        "",
        f"Reporting-MTA: dns; {_clean(event.provider) or 'provider'}.invalid",
        "",
        f"Final-Recipient: rfc822; {recipient}",
        f"Action: {action}",
        f"Status: {_clean(event.status)}",
    ]
    if event.diagnostic:
        fields.append(f"Diagnostic-Code: smtp; {_clean(event.diagnostic)}")
    return fields


def _headers_part(event: ProviderEvent, recipient: str) -> list[str]:
    headers = ["Content-Type: text/rfc822-headers", "", f"To: {recipient}"]
    if event.message_id and re.fullmatch(r"<[^<>\s]+>", _clean(event.message_id)):
        headers.append(f"Message-ID: {_clean(event.message_id)}")
    if _address(event.return_path):
        headers.append(f"Return-Path: <{_address(event.return_path)}>")
    return headers
