"""Reading a returned report: what happened, and the addresses and ids that name its delivery.

Standard reports are read with the standard library alone: delivery status notifications
(RFC 3464, ``multipart/report; report-type=delivery-status``, status codes per RFC 3463) and
abuse reports (ARF, RFC 5965, ``report-type=feedback-report``). Anything else goes to
``flufl.bounce``'s detectors, which know the non-standard shapes real servers still send
(qmail, old Exim, ...). No I/O; any input, however broken, gives a :class:`Parsed` or a
:class:`Unreadable`, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.policy import compat32

from flufl.bounce import all_failures

from incident_svc.domain.enums import DeliveryOutcome, ReportKind

# where a report's own envelope recipient (our return path) is written by the mail system
# that stored it; the first ones are the most reliable
ENVELOPE_HEADERS = ("X-Original-To", "Delivered-To", "Envelope-To", "X-Envelope-To", "To")
_STATUS = re.compile(r"\s*([245])\.([0-9]{1,3})\.([0-9]{1,3})")
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]{1,250}>)", re.IGNORECASE | re.MULTILINE)
_ADDRESS = re.compile(r"[^\s<>\"';,()]+@[^\s<>\"';,()]+")
MAX_DETAIL = 1000
_BYTES = BytesParser(policy=compat32)
_HEADERS = HeaderParser(policy=compat32)


@dataclass(frozen=True)
class Parsed:
    """What one report says about the one message it is about."""

    kind: ReportKind
    outcome: DeliveryOutcome
    status: str | None  # RFC 3463 code, e.g. "5.1.1"
    detail: str | None  # Diagnostic-Code, or the ARF Feedback-Type
    envelope: tuple[str, ...]  # addresses the report was sent to (our return path)
    final_recipient: str | None
    message_id: str | None  # the Message-ID of the message it returns


@dataclass(frozen=True)
class Unreadable:
    """Why a report is not one we can use, in words for the one line the operator reads."""

    reason: str


def parse(raw: bytes) -> Parsed | Unreadable:
    """Read a report; never raises."""
    try:
        message = _BYTES.parsebytes(raw)
        if message.get_content_type() == "multipart/report":
            report_type = str(message.get_param("report-type") or "").lower()
            if report_type == "delivery-status":
                return _dsn(message, raw)
            if report_type == "feedback-report":
                return _arf(message, raw)
        return _detected(message, raw)
    except Exception as exc:  # hostile bytes reach corners of the email package: one line
        return Unreadable(f"not a readable message ({type(exc).__name__})")


def _dsn(message: Message, raw: bytes) -> Parsed | Unreadable:
    fields = _part(message, "message/delivery-status")
    if fields is None:
        return Unreadable("delivery-status report without a message/delivery-status part")
    blocks = fields.get_payload() if fields.is_multipart() else []
    recipients = [b for b in blocks if isinstance(b, Message) and b.get("Action")]
    if not recipients:
        return Unreadable("delivery-status report without a recipient block")
    best: tuple[DeliveryOutcome, Message] | None = None
    for block in recipients:
        found = _dsn_outcome(text(block.get("Action")), text(block.get("Status")))
        if found is not None and (best is None or _rank(found) > _rank(best[0])):
            best = (found, block)
    if best is None:
        return Unreadable("delivery-status report of a success (delivered, relayed, expanded)")
    outcome, block = best
    return Parsed(
        kind=ReportKind.DSN,
        outcome=outcome,
        status=status_code(text(block.get("Status"))),
        detail=clip(text(block.get("Diagnostic-Code"))) or None,
        envelope=_envelope(message, _returned(message)),
        final_recipient=typed_address(text(block.get("Final-Recipient")))
        or typed_address(text(block.get("Original-Recipient"))),
        message_id=_returned_message_id(message, raw),
    )


def _dsn_outcome(action: str, status: str) -> DeliveryOutcome | None:
    code = status_code(status)
    action = action.strip().lower()
    if action == "failed" or (code is not None and code.startswith("5")):
        return DeliveryOutcome.BOUNCED
    if action == "delayed" or (code is not None and code.startswith("4")):
        return DeliveryOutcome.DELAYED
    return None


def _arf(message: Message, raw: bytes) -> Parsed | Unreadable:
    part = _part(message, "message/feedback-report")
    if part is None:
        return Unreadable("feedback report without a message/feedback-report part")
    fields = _fields(part)
    feedback_type = text(fields.get("Feedback-Type")).strip().lower()
    if not feedback_type:
        return Unreadable("feedback report without a Feedback-Type")
    returned = _returned(message)
    extra = (text(fields.get("Original-Mail-From")),)
    return Parsed(
        kind=ReportKind.ARF,
        outcome=DeliveryOutcome.COMPLAINED,
        status=None,
        detail=clip(feedback_type),
        envelope=_envelope(message, returned, extra),
        final_recipient=typed_address(text(fields.get("Original-Rcpt-To"))),
        message_id=_returned_message_id(message, raw),
    )


def _detected(message: Message, raw: bytes) -> Parsed | Unreadable:
    temporary, permanent = all_failures(message)
    failing = permanent or temporary
    if not failing:
        return Unreadable("not a delivery status notification or abuse report")
    outcome = DeliveryOutcome.BOUNCED if permanent else DeliveryOutcome.DELAYED
    address = sorted(a.decode("utf-8", "replace") for a in failing)[0]
    return Parsed(
        kind=ReportKind.DETECTED,
        outcome=outcome,
        status=None,
        detail=None,
        envelope=_envelope(message, _returned(message)),
        final_recipient=address.strip("<>").lower() or None,
        message_id=_returned_message_id(message, raw),
    )


def _rank(outcome: DeliveryOutcome) -> int:
    return list(DeliveryOutcome).index(outcome)


def _part(message: Message, content_type: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def _fields(part: Message) -> Message:
    """The header block a report part holds (parsed or still text, depending on the parser)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload[0] if payload and isinstance(payload[0], Message) else Message()
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "replace")
    return _HEADERS.parsestr(str(payload).lstrip("\r\n"))


def _returned(message: Message) -> Message | None:
    """The headers of the message the report returns (message/rfc822 or text/rfc822-headers)."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/rfc822-headers", "text/rfc822-headers"):
            return _fields(part)
    return None


def _returned_message_id(message: Message, raw: bytes) -> str | None:
    returned = _returned(message)
    if returned is not None and returned.get("Message-ID"):
        found = re.search(r"<[^<>\s]{1,250}>", text(returned.get("Message-ID")))
        if found:
            return found.group(0)
    # a report in no standard shape often quotes the message as text: take the last id quoted
    # (the report's own Message-ID comes first)
    ids = _MESSAGE_ID.findall(raw)
    own = text(message.get("Message-ID")).strip()
    quoted = [i.decode("ascii", "replace") for i in ids]
    candidates = [i for i in quoted if i != own]
    return candidates[-1] if candidates else None


def _envelope(
    message: Message, returned: Message | None, extra: tuple[str, ...] = ()
) -> tuple[str, ...]:
    found: list[str] = []
    values = [text(v) for name in ENVELOPE_HEADERS for v in (message.get_all(name) or [])]
    values += list(extra)
    if returned is not None:
        values += [text(v) for v in (returned.get_all("Return-Path") or [])]
    for value in values:
        found += [a.lower() for a in _ADDRESS.findall(value)]
    return tuple(dict.fromkeys(found))


def typed_address(value: str) -> str | None:
    """``rfc822; someone@example.org`` -> ``someone@example.org`` (lower case)."""
    address = value.partition(";")[2] if ";" in value else value
    address = address.strip().strip("<>").strip().lower()
    return address if "@" in address and len(address) <= 320 else None


def status_code(value: str) -> str | None:
    found = _STATUS.match(value)
    return ".".join(found.groups()) if found else None


def text(value: object) -> str:
    """A header value as clean text: stray bytes replaced, NULs dropped (PostgreSQL refuses)."""
    if value is None:
        return ""
    clean = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return clean.replace("\x00", "")


def clip(value: str) -> str:
    return " ".join(value.split())[:MAX_DETAIL]
