"""Reading a returned report: what happened, and the addresses and ids that name its delivery.

Standard reports are read without guessing: delivery status notifications (RFC 3464,
``multipart/report; report-type=delivery-status``, status codes per RFC 3463) and abuse
reports (ARF, RFC 5965, ``report-type=feedback-report``). Anything else goes to
``flufl.bounce``'s detectors, which know the non-standard shapes real servers still send
(qmail, old Exim, ...). No I/O; any input, however broken, gives a :class:`Parsed` or an
:class:`Unreadable`, never an exception.

Two readers give the same answer (the tests hold them to it): a direct one that finds the
parts of a ``multipart/report`` by their boundary (RFC 2046) and reads only the header blocks
it needs, and the standard library's ``email`` package, which builds the whole tree. The
first costs about a quarter of the second, which is what lets ``bounces ingest`` keep up with
thousands of reports a second; anything it does not recognise as a standard report, and every
non-standard one, goes to the second.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.policy import compat32

from flufl.bounce import all_failures

from incident_svc.domain.enums import DeliveryOutcome, ReportKind

# where a report's own envelope recipient (our return path) is written by the mail system
# that stored it; the first ones are the most reliable
ENVELOPE_HEADERS = ("x-original-to", "delivered-to", "envelope-to", "x-envelope-to", "to")
RETURNED_TYPES = ("message/rfc822", "message/rfc822-headers", "text/rfc822-headers")
_STATUS = re.compile(r"\s*([245])\.([0-9]{1,3})\.([0-9]{1,3})")
_QUOTED_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]{1,250}>)", re.IGNORECASE | re.MULTILINE)
_ONE_ID = re.compile(r"<[^<>\s]{1,250}>")
_ADDRESS = re.compile(r"[^\s<>\"';,()]+@[^\s<>\"';,()]+")
_BLANK_LINE = re.compile(rb"\r?\n[ \t]*\r?\n")
_BLOCKS = re.compile(rb"\r?\n(?:[ \t]*\r?\n)+")
_PARAM = re.compile(r';\s*([A-Za-z0-9._-]+)\s*=\s*(?:"([^"]*)"|([^;\s]*))')
MAX_DETAIL = 1000
_BYTES = BytesParser(policy=compat32)
_HEADERS = HeaderParser(policy=compat32)

Fields = dict[str, list[str]]  # header name (lower case) -> every value, cleaned


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


@dataclass(frozen=True)
class _Report:
    """A multipart/report taken apart (by either reader)."""

    report_type: str
    top: Fields
    status_blocks: list[Fields] | None  # message/delivery-status: per-message, per-recipient
    feedback: Fields | None  # message/feedback-report
    returned: Fields | None  # the returned message's headers


def parse(raw: bytes) -> Parsed | Unreadable:
    """Read a report; never raises."""
    try:
        report = direct(raw)
        if report is None:
            return _with_email_package(raw)
        return _interpret(report, raw)
    except Exception as exc:  # hostile bytes reach corners of the email package: one line
        return Unreadable(f"not a readable message ({type(exc).__name__})")


def parse_many(raws: list[bytes]) -> list[Parsed | Unreadable]:
    """:func:`parse` of each (what a parsing worker process runs, services/bounce_parse_pool)."""
    return [parse(raw) for raw in raws]


def parse_with_email_package(raw: bytes) -> Parsed | Unreadable:
    """The same reading through the standard library's whole tree (for the tests)."""
    try:
        return _with_email_package(raw)
    except Exception as exc:
        return Unreadable(f"not a readable message ({type(exc).__name__})")


# -- the direct reader ----------------------------------------------------------------------


def direct(raw: bytes) -> _Report | None:
    """A standard report taken apart by its boundary; None when it is not plainly one."""
    head, body = _split(raw)
    top = header_fields(head)
    kind, params = content_type(first(top, "content-type"))
    report_type = params.get("report-type", "").lower()
    boundary = params.get("boundary", "")
    if kind != "multipart/report" or not boundary or report_type not in _REPORT_TYPES:
        return None
    parts = _parts(body, boundary.encode("utf-8", "replace"))
    if not parts:
        return None
    status_blocks = feedback = returned = None
    for part_head, part_body in parts:
        part_type, _ = content_type(first(header_fields(part_head), "content-type"))
        if part_type == "message/delivery-status" and status_blocks is None:
            blocks = _BLOCKS.split(part_body.strip())
            status_blocks = [header_fields(b) for b in blocks if b.strip()]
        elif part_type == "message/feedback-report" and feedback is None:
            feedback = header_fields(_split(part_body.lstrip(b"\r\n"))[0])
        elif part_type in RETURNED_TYPES and returned is None:
            returned = header_fields(_split(part_body.lstrip(b"\r\n"))[0])
    return _Report(report_type, top, status_blocks, feedback, returned)


_REPORT_TYPES = ("delivery-status", "feedback-report")


def _split(block: bytes) -> tuple[bytes, bytes]:
    """(header block, body) at the first empty line."""
    if block.startswith((b"\r\n", b"\n")):
        return b"", block
    found = _BLANK_LINE.search(block)
    return (block[: found.start()], block[found.end() :]) if found else (block, b"")


def _parts(body: bytes, boundary: bytes) -> list[tuple[bytes, bytes]]:
    """The (headers, body) of each body part between the delimiters (RFC 2046 5.1.1)."""
    segments = (b"\n" + body).split(b"\n--" + boundary)
    parts = []
    for segment in segments[1:]:
        if segment.startswith(b"--"):  # the close delimiter
            break
        _, _, content = segment.partition(b"\n")  # the rest of the delimiter line
        parts.append(_split(content))
    return parts


def header_fields(head: bytes) -> Fields:
    """A header block as name -> values, folded lines joined, text cleaned. ``Name : value``
    (RFC 5322 obsolete syntax) is read as ``Name: value``."""
    fields: Fields = {}
    values: list[str] | None = None
    for line in head.decode("utf-8", "replace").replace("\x00", "").splitlines():
        if line[:1] in (" ", "\t"):
            if values:
                values[-1] = f"{values[-1]} {line.strip()}"
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip()
        if not colon or not name or " " in name or "\t" in name:
            break  # not a header: the block ends here, as the email package reads it
        values = fields.setdefault(name.lower(), [])
        values.append(value.strip())
    return fields


def content_type(value: str) -> tuple[str, dict[str, str]]:
    """(type/subtype in lower case, parameters with lower-case names)."""
    main = value.split(";", 1)[0].strip().lower()
    params = {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _PARAM.finditer(value)}
    return main, params


def first(fields: Fields | None, name: str) -> str:
    found = fields.get(name) if fields else None
    return found[0] if found else ""


# -- the standard library's tree ------------------------------------------------------------


def _with_email_package(raw: bytes) -> Parsed | Unreadable:
    message = _BYTES.parsebytes(raw)
    if message.get_content_type() == "multipart/report":
        report_type = str(message.get_param("report-type") or "").lower()
        if report_type in _REPORT_TYPES:
            return _interpret(_tree_report(message, report_type), raw)
    return _detected(message, raw)


def _tree_report(message: Message, report_type: str) -> _Report:
    status = _part(message, "message/delivery-status")
    blocks = None
    if status is not None:
        payload = status.get_payload() if status.is_multipart() else []
        blocks = [_message_fields(b) for b in payload if isinstance(b, Message)]
    feedback = _part(message, "message/feedback-report")
    returned = next((p for p in message.walk() if p.get_content_type() in RETURNED_TYPES), None)
    return _Report(
        report_type,
        _message_fields(message),
        blocks,
        _message_fields(_inner(feedback)) if feedback is not None else None,
        _message_fields(_inner(returned)) if returned is not None else None,
    )


def _message_fields(message: Message) -> Fields:
    fields: Fields = {}
    for name, value in message.items():
        fields.setdefault(name.strip().lower(), []).append(_clean(" ".join(str(value).split())))
    return fields


def _part(message: Message, content_type_name: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == content_type_name:
            return part
    return None


def _inner(part: Message) -> Message:
    """The header block a part holds (parsed already, or still text)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload[0] if payload and isinstance(payload[0], Message) else Message()
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "replace")
    return _HEADERS.parsestr(str(payload).lstrip("\r\n"), headersonly=True)


def _detected(message: Message, raw: bytes) -> Parsed | Unreadable:
    # flufl.bounce logs each detector that trips over a message, with its traceback: hostile
    # reports would print tracebacks to the operator's terminal; a failing detector just
    # finds nothing
    logging.getLogger("flufl.bounce").disabled = True
    temporary, permanent = all_failures(message)
    failing = permanent or temporary
    if not failing:
        return Unreadable("not a delivery status notification or abuse report")
    outcome = DeliveryOutcome.BOUNCED if permanent else DeliveryOutcome.DELAYED
    address = sorted(a.decode("utf-8", "replace") for a in failing)[0]
    top = _message_fields(message)
    returned = next((p for p in message.walk() if p.get_content_type() in RETURNED_TYPES), None)
    returned_fields = _message_fields(_inner(returned)) if returned is not None else None
    return Parsed(
        kind=ReportKind.DETECTED,
        outcome=outcome,
        status=None,
        detail=None,
        envelope=_envelope(top, returned_fields),
        final_recipient=_clean(address.strip("<>").lower()) or None,
        message_id=_message_id(top, returned_fields, raw),
    )


# -- what a report says -----------------------------------------------------------------------


def _interpret(report: _Report, raw: bytes) -> Parsed | Unreadable:
    if report.report_type == "delivery-status":
        return _dsn(report, raw)
    return _arf(report, raw)


def _dsn(report: _Report, raw: bytes) -> Parsed | Unreadable:
    if report.status_blocks is None:
        return Unreadable("delivery-status report without a message/delivery-status part")
    recipients = [b for b in report.status_blocks if first(b, "action")]
    if not recipients:
        return Unreadable("delivery-status report without a recipient block")
    best: tuple[DeliveryOutcome, Fields] | None = None
    for block in recipients:
        found = _dsn_outcome(first(block, "action"), first(block, "status"))
        if found is not None and (best is None or _rank(found) > _rank(best[0])):
            best = (found, block)
    if best is None:
        return Unreadable("delivery-status report of a success (delivered, relayed, expanded)")
    outcome, block = best
    return Parsed(
        kind=ReportKind.DSN,
        outcome=outcome,
        status=status_code(first(block, "status")),
        detail=clip(first(block, "diagnostic-code")) or None,
        envelope=_envelope(report.top, report.returned),
        final_recipient=typed_address(first(block, "final-recipient"))
        or typed_address(first(block, "original-recipient")),
        message_id=_message_id(report.top, report.returned, raw),
    )


def _dsn_outcome(action: str, status: str) -> DeliveryOutcome | None:
    code = status_code(status)
    action = action.strip().lower()
    if action == "failed" or (code is not None and code.startswith("5")):
        return DeliveryOutcome.BOUNCED
    if action == "delayed" or (code is not None and code.startswith("4")):
        return DeliveryOutcome.DELAYED
    return None


def _arf(report: _Report, raw: bytes) -> Parsed | Unreadable:
    if report.feedback is None:
        return Unreadable("feedback report without a message/feedback-report part")
    feedback_type = first(report.feedback, "feedback-type").strip().lower()
    if not feedback_type:
        return Unreadable("feedback report without a Feedback-Type")
    return Parsed(
        kind=ReportKind.ARF,
        outcome=DeliveryOutcome.COMPLAINED,
        status=None,
        detail=clip(feedback_type),
        envelope=_envelope(
            report.top, report.returned, report.feedback.get("original-mail-from", [])
        ),
        final_recipient=typed_address(first(report.feedback, "original-rcpt-to")),
        message_id=_message_id(report.top, report.returned, raw),
    )


def _rank(outcome: DeliveryOutcome) -> int:
    return list(DeliveryOutcome).index(outcome)


def _message_id(top: Fields, returned: Fields | None, raw: bytes) -> str | None:
    found = _ONE_ID.search(first(returned, "message-id"))
    if found:
        return found.group(0)
    # a report in no standard shape often quotes the message as text: take the last id quoted
    # (the report's own Message-ID comes first)
    own = first(top, "message-id")
    quoted = [i.decode("ascii", "replace") for i in _QUOTED_ID.findall(raw)]
    candidates = [i for i in quoted if i != own]
    return candidates[-1] if candidates else None


def _envelope(
    top: Fields, returned: Fields | None, extra: list[str] | None = None
) -> tuple[str, ...]:
    values = [v for name in ENVELOPE_HEADERS for v in top.get(name, [])]
    values += extra or []
    values += returned.get("return-path", []) if returned else []
    found = [a.lower() for value in values for a in _ADDRESS.findall(value)]
    return tuple(dict.fromkeys(found))


def typed_address(value: str) -> str | None:
    """``rfc822; someone@example.org`` -> ``someone@example.org`` (lower case)."""
    address = value.partition(";")[2] if ";" in value else value
    address = address.strip().strip("<>").strip().lower()
    return address if "@" in address and len(address) <= 320 else None


def status_code(value: str) -> str | None:
    found = _STATUS.match(value)
    return ".".join(found.groups()) if found else None


def _clean(value: str) -> str:
    """Stray bytes replaced, NULs dropped (PostgreSQL refuses them)."""
    clean = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return clean.replace("\x00", "")


def clip(value: str) -> str:
    return " ".join(value.split())[:MAX_DETAIL]
