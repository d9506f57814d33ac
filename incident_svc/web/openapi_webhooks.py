"""The OpenAPI operations of the provider webhooks, listed only when they are configured."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "One line; never a trace."}},
}
_ACCEPTED = {
    "type": "object",
    "required": ["status", "events", "outcomes"],
    "properties": {
        "status": {"const": "accepted"},
        "events": {"type": "integer", "minimum": 0},
        "outcomes": {
            "type": "object",
            "description": "Events by what the ingestion did with them: recorded, duplicate, "
            "unmatched, refused (a return-path token that does not verify), unreadable, delivered.",
            "additionalProperties": {"type": "integer"},
        },
        "subscription": {"type": "string", "description": "SNS only: confirmed, or off."},
    },
}
_S = {"type": "string"}
_BODIES: dict[str, Any] = {
    "ses": {
        "type": "object",
        "description": "An SNS message (Notification, SubscriptionConfirmation, UnsubscribeConfirmation).",
        "required": ["Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion",
                     "Signature", "SigningCertURL"],
        "properties": {name: _S for name in ("Type", "MessageId", "TopicArn", "Message", "Timestamp",
                       "SignatureVersion", "Signature", "SigningCertURL", "SubscribeURL", "Token")},
    },
    "sendgrid": {"type": "array", "items": {"type": "object"}},
    "mailgun": {
        "type": "object",
        "required": ["signature", "event-data"],
        "properties": {"signature": {"type": "object"}, "event-data": {"type": "object"}},
    },
    "postmark": {"type": "object", "required": ["RecordType"], "properties": {"RecordType": _S}},
}  # fmt: skip
_SUMMARIES = {
    "ses": (
        "Amazon SES bounce, complaint and delivery notifications through SNS (signed by SNS; "
        "SubscriptionConfirmation is confirmed).",
        [],
    ),
    "sendgrid": (
        "SendGrid Event Webhook (ECDSA signature over timestamp and body).",
        [
            {"name": h, "in": "header", "required": True, "schema": {"type": "string"}}
            for h in (
                "X-Twilio-Email-Event-Webhook-Signature",
                "X-Twilio-Email-Event-Webhook-Timestamp",
            )
        ],
    ),
    "mailgun": ("Mailgun webhook, JSON (HMAC-SHA256 over timestamp and token).", []),
    "postmark": ("Postmark bounce, spam complaint and delivery webhooks (HTTP basic).", []),
}
_REFUSALS = {
    "400": "The body cannot be read (not JSON, fields missing or of the wrong type).",
    "401": "Postmark: credentials missing or wrong.",
    "403": "Unsigned, badly signed, from an unknown topic, or outside the timestamp window.",
    "409": "A replay: this request (message id or token) was already taken in.",
    "413": "The body is over bounces.webhooks.max_body_bytes.",
    "503": "SNS could not be reached for its certificate; SNS tries again.",
}


def _operation(name: str) -> dict[str, Any]:
    summary, parameters = _SUMMARIES[name]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookError"}}}
    responses: dict[str, Any] = {
        "200": {
            "description": "Taken in (each event ingested like a mailed report).",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/WebhookAccepted"}}
            },
        },
        **{code: {"description": text, "content": error} for code, text in _REFUSALS.items()},
    }
    return {
        "summary": summary,
        "parameters": parameters,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BODIES[name]}},
        },
        "responses": responses,
    }


def webhook_paths(providers: list[str]) -> dict[str, Any]:
    return {f"/v1/webhooks/{name}": {"post": _operation(name)} for name in providers}


SCHEMAS = {"WebhookAccepted": _ACCEPTED, "WebhookError": _ERROR}
