"""Provider webhook payloads (SES, SendGrid, Mailgun, Postmark) read into one event shape.

Each reader takes the decoded JSON of one verified request and returns the events in it, or
raises :class:`ValidationError` naming the field that is wrong. Nothing here trusts a type:
a payload is hostile until every field it needs has been checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from incident_svc.errors import ValidationError

Kind = Literal["bounce", "complaint", "delivered"]


@dataclass(frozen=True)
class ProviderEvent:
    """One thing a provider says happened to one recipient of one message."""

    provider: str
    kind: Kind
    permanent: bool  # bounce: 5.x.x (True) or 4.x.x; complaint and delivered: False
    recipient: str
    status: str  # RFC 3463 code, e.g. "5.1.1"
    diagnostic: str = ""
    message_id: str = ""  # the Message-ID header we sent, when the provider repeats it
    return_path: str = ""  # the envelope sender (our per-delivery VERP address), when given
    event_id: str = ""  # the provider's id of this event
    payload: bytes = b""  # the provider's own JSON for this event, as evidence


def _field(where: str, name: str) -> ValidationError:
    return ValidationError(f"{where}: missing or malformed field {name}", field=name)


def _str(data: Mapping[str, Any], name: str, where: str, *, required: bool = True) -> str:
    value = data.get(name)
    if isinstance(value, str) and (value or not required):
        return value
    if value is None and not required:
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and not required:
        return str(value)
    raise _field(where, name)


def _obj(data: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = data.get(name)
    if not isinstance(value, dict):
        raise _field(where, name)
    return value


def _list(data: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = data.get(name)
    if not isinstance(value, list):
        raise _field(where, name)
    return value


def _status(code: str, permanent: bool) -> str:
    """An RFC 3463 code from what the provider gave, falling back to x.0.0."""
    parts = code.strip().split(".")
    if len(parts) == 3 and all(p.isdigit() and len(p) <= 3 for p in parts) and parts[0] in "245":
        return code.strip()
    return "5.0.0" if permanent else "4.0.0"


def _dump(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _bracketed(message_id: str) -> str:
    message_id = message_id.strip()
    if message_id and not message_id.startswith("<"):
        return f"<{message_id}>"
    return message_id


# --- Amazon SES (the Message of an SNS Notification) ---------------------------------------


def read_ses(message: str) -> list[ProviderEvent]:
    """An SES notification or event-publishing record (the SNS Message string)."""
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):
        raise ValidationError("ses: Message is not JSON", field="Message") from None
    if not isinstance(data, dict):
        raise _field("ses", "Message")
    kind = data.get("notificationType") or data.get("eventType")
    mail = _obj(data, "mail", "ses")
    headers = mail.get("commonHeaders")
    message_id = headers.get("messageId") if isinstance(headers, dict) else None
    common: dict[str, Any] = {
        "provider": "ses",
        "message_id": _bracketed(message_id) if isinstance(message_id, str) else "",
        "return_path": _str(mail, "source", "ses.mail", required=False),
        "payload": _dump(data),
    }
    if kind == "Bounce":
        bounce = _obj(data, "bounce", "ses")
        permanent = bounce.get("bounceType") == "Permanent"
        return [
            ProviderEvent(
                kind="bounce",
                permanent=permanent,
                recipient=_str(r, "emailAddress", "ses.bounce.bouncedRecipients[]"),
                status=_status(_str(r, "status", "ses.bounce", required=False), permanent),
                diagnostic=_str(r, "diagnosticCode", "ses.bounce", required=False),
                event_id=_str(bounce, "feedbackId", "ses.bounce", required=False),
                **common,
            )
            for r in _dicts(_list(bounce, "bouncedRecipients", "ses.bounce"), "ses.bounce")
        ]
    if kind == "Complaint":
        complaint = _obj(data, "complaint", "ses")
        return [
            ProviderEvent(
                kind="complaint",
                permanent=False,
                recipient=_str(r, "emailAddress", "ses.complaint.complainedRecipients[]"),
                status="2.0.0",
                diagnostic=_str(complaint, "complaintFeedbackType", "ses", required=False),
                event_id=_str(complaint, "feedbackId", "ses.complaint", required=False),
                **common,
            )
            for r in _dicts(_list(complaint, "complainedRecipients", "ses"), "ses.complaint")
        ]
    if kind == "Delivery":
        delivery = _obj(data, "delivery", "ses")
        return [
            ProviderEvent(kind="delivered", permanent=False, recipient=r, status="2.0.0", **common)
            for r in _strings(_list(delivery, "recipients", "ses.delivery"), "ses.delivery")
        ]
    return []  # sends, opens, rejects...: nothing to record


def _dicts(items: list[Any], where: str) -> list[Mapping[str, Any]]:
    if not all(isinstance(item, dict) for item in items):
        raise _field(where, "[]")
    return items


def _strings(items: list[Any], where: str) -> list[str]:
    if not all(isinstance(item, str) and item for item in items):
        raise _field(where, "[]")
    return items


# --- SendGrid (Event Webhook: a JSON array of events) ----------------------------------------

_SENDGRID_PERMANENT = {"bounce": True, "dropped": True, "deferred": False, "blocked": False}


def read_sendgrid(data: Any) -> list[ProviderEvent]:
    if not isinstance(data, list):
        raise ValidationError("sendgrid: the body is not a JSON array of events", field="body")
    return [event for item in _dicts(data, "sendgrid") if (event := _sendgrid_one(item))]


def _sendgrid_one(item: Mapping[str, Any]) -> ProviderEvent | None:
    name = _str(item, "event", "sendgrid[]")
    kind: Kind
    if name == "spamreport":
        kind, permanent = "complaint", False
    elif name == "delivered":
        kind, permanent = "delivered", False
    elif name in _SENDGRID_PERMANENT:
        kind = "bounce"
        permanent = _SENDGRID_PERMANENT[name] and item.get("type") != "blocked"
    else:
        return None
    code = _str(item, "status", "sendgrid[]", required=False)
    return ProviderEvent(
        provider="sendgrid",
        kind=kind,
        permanent=permanent,
        recipient=_str(item, "email", "sendgrid[]"),
        status="2.0.0" if kind != "bounce" else _status(code, permanent),
        diagnostic=_str(item, "reason", "sendgrid[]", required=False),
        message_id=_bracketed(_str(item, "smtp-id", "sendgrid[]", required=False)),
        event_id=_str(item, "sg_event_id", "sendgrid[]", required=False),
        payload=_dump(item),
    )


# --- Mailgun (one event per request, under "event-data") -------------------------------------


def read_mailgun(data: Any) -> list[ProviderEvent]:
    if not isinstance(data, dict):
        raise ValidationError("mailgun: the body is not a JSON object", field="body")
    event = _obj(data, "event-data", "mailgun")
    name = _str(event, "event", "mailgun.event-data")
    if name not in {"failed", "complained", "delivered"}:
        return []
    message = event.get("message")
    headers = message.get("headers") if isinstance(message, dict) else None
    message_id = headers.get("message-id") if isinstance(headers, dict) else None
    envelope = event.get("envelope")
    sender = envelope.get("sender") if isinstance(envelope, dict) else None
    status = event.get("delivery-status")
    status = status if isinstance(status, dict) else {}
    permanent = name == "failed" and event.get("severity") == "permanent"
    kind: Kind = {"failed": "bounce", "complained": "complaint"}.get(name, "delivered")  # type: ignore[assignment]
    enhanced = _str(status, "enhanced-code", "mailgun.delivery-status", required=False)
    return [
        ProviderEvent(
            provider="mailgun",
            kind=kind,
            permanent=permanent,
            recipient=_str(event, "recipient", "mailgun.event-data"),
            status=_status(enhanced, permanent) if kind == "bounce" else "2.0.0",
            diagnostic=_str(status, "description", "mailgun", required=False)
            or _str(status, "message", "mailgun", required=False),
            message_id=_bracketed(message_id) if isinstance(message_id, str) else "",
            return_path=sender if isinstance(sender, str) else "",
            event_id=_str(event, "id", "mailgun.event-data", required=False),
            payload=_dump(event),
        )
    ]


# --- Postmark (one record per request) -------------------------------------------------------

_POSTMARK_TEMPORARY = {"SoftBounce", "Transient", "DnsError", "AutoResponder", "Blocked"}


def read_postmark(data: Any) -> list[ProviderEvent]:
    if not isinstance(data, dict):
        raise ValidationError("postmark: the body is not a JSON object", field="body")
    record = _str(data, "RecordType", "postmark")
    common: dict[str, Any] = {
        "provider": "postmark",
        "event_id": _str(data, "ID", "postmark", required=False),
        "payload": _dump(data),
    }
    if record == "Bounce":
        permanent = _str(data, "Type", "postmark") not in _POSTMARK_TEMPORARY
        return [
            ProviderEvent(
                kind="bounce",
                permanent=permanent,
                recipient=_str(data, "Email", "postmark"),
                status=_status("", permanent),
                diagnostic=_str(data, "Description", "postmark", required=False),
                **common,
            )
        ]
    if record == "SpamComplaint":
        recipient = _str(data, "Email", "postmark")
        return [
            ProviderEvent(
                kind="complaint", permanent=False, recipient=recipient, status="2.0.0", **common
            )
        ]
    if record == "Delivery":
        recipient = _str(data, "Recipient", "postmark")
        return [
            ProviderEvent(
                kind="delivered", permanent=False, recipient=recipient, status="2.0.0", **common
            )
        ]
    return []


READERS: Mapping[str, Callable[[Any], list[ProviderEvent]]] = {
    "sendgrid": read_sendgrid,
    "mailgun": read_mailgun,
    "postmark": read_postmark,
}
