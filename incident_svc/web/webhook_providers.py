"""One function per provider: check who sent the request, read its events, take them in.

Each returns what the 200 answer says, or raises: SignatureError (401/403), ValidationError
(400), ConflictError (409, a replay). See web/webhooks.py for the routes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from incident_svc.config_bounces import WebhookSettings
from incident_svc.domain import provider_events as events
from incident_svc.domain import webhook_signatures as signatures
from incident_svc.domain.webhook_signatures import SignatureError
from incident_svc.errors import ValidationError
from incident_svc.services.bounce.bounce_sources import webhook_intake
from incident_svc.services.bounce.bounce_sources.ingest_port import Ingest
from incident_svc.web.sns_origin import SnsOrigin

log = logging.getLogger(__name__)
SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


@dataclass
class WebhookContext:
    """What the webhook handlers share, built once per app."""

    settings: WebhookSettings
    ingest: Ingest
    sns_origin: SnsOrigin = field(default_factory=SnsOrigin)
    clock: Callable[[], float] = time.time


def parse_json(body: bytes, provider: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        raise ValidationError(f"{provider}: the body is not JSON", field="body") from None


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _check_fresh(context: WebhookContext, at: float, max_age: int, provider: str) -> None:
    if not signatures.fresh(at, now=context.clock(), max_age=max_age):
        raise SignatureError(
            f"{provider}: timestamp outside the accepted window", field="timestamp"
        )


def _number(value: object, provider: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise SignatureError(f"{provider}: timestamp is not a number", field="timestamp") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise SignatureError(f"{provider}: timestamp is not a number", field="timestamp")
    return number


async def _take(
    context: WebhookContext, found: list[events.ProviderEvent], provider: str, token: str
) -> dict[str, Any]:
    outcomes = await webhook_intake.accept(
        found, provider=provider, token=token, ingest=context.ingest
    )
    return {"events": sum(outcomes.values()), "outcomes": dict(sorted(outcomes.items()))}


# --- Amazon SES through SNS ------------------------------------------------------------------


async def ses(context: WebhookContext, request: Request, body: bytes) -> dict[str, Any]:
    message = parse_json(body, "sns")
    if not isinstance(message, dict):
        raise ValidationError("sns: the body is not a JSON object", field="body")
    settings = context.settings.ses
    topic = message.get("TopicArn")
    if not isinstance(topic, str) or topic not in settings.topic_arns:
        raise SignatureError(
            "sns: TopicArn is not one this service subscribes to", field="TopicArn"
        )
    region = signatures.topic_region(topic)
    cert_url = message.get("SigningCertURL")
    if not isinstance(cert_url, str):
        raise SignatureError("sns: SigningCertURL is missing", field="SigningCertURL")
    certificate = await context.sns_origin.certificate(cert_url, region=region)
    signatures.verify_sns(message, certificate)
    _check_fresh(context, _sns_time(message.get("Timestamp")), settings.max_age_seconds, "sns")
    kind = message.get("Type")
    token = str(message.get("MessageId"))
    if kind == "SubscriptionConfirmation":
        return await _confirm(context, message, region, token)
    if kind == "Notification":
        found = events.read_ses(str(message.get("Message")))
        return await _take(context, found, "ses", token)
    return await _take(context, [], "ses", token)  # UnsubscribeConfirmation: nothing to do


async def _confirm(
    context: WebhookContext, message: dict[str, Any], region: str, token: str
) -> dict[str, Any]:
    if not context.settings.ses.confirm_subscriptions:
        return {"events": 0, "outcomes": {}, "subscription": "off (confirm_subscriptions)"}

    async def confirm() -> None:
        await context.sns_origin.confirm(str(message.get("SubscribeURL")), region=region)
        log.info("sns: subscription to %s confirmed", message.get("TopicArn"))

    ingest = context.ingest
    await webhook_intake.accept([], provider="ses", token=token, ingest=ingest, then=confirm)
    return {"events": 0, "outcomes": {}, "subscription": "confirmed"}


def _sns_time(value: object) -> float:
    try:
        at = datetime.fromisoformat(str(value))
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
    except (ValueError, OverflowError, OSError):
        raise SignatureError("sns: Timestamp is not a time", field="Timestamp") from None


# --- SendGrid --------------------------------------------------------------------------------


async def sendgrid(context: WebhookContext, request: Request, body: bytes) -> dict[str, Any]:
    settings = context.settings.sendgrid
    signature = request.headers.get(SENDGRID_SIGNATURE)
    timestamp = request.headers.get(SENDGRID_TIMESTAMP)
    if settings.public_key:
        signatures.verify_sendgrid(settings.public_key, signature, timestamp, body)
        _check_fresh(context, _number(timestamp, "sendgrid"), settings.max_age_seconds, "sendgrid")
    found = events.read_sendgrid(parse_json(body, "sendgrid"))
    return await _take(context, found, "sendgrid", f"{timestamp}:{_digest(body)}")


# --- Mailgun ---------------------------------------------------------------------------------


async def mailgun(context: WebhookContext, request: Request, body: bytes) -> dict[str, Any]:
    settings = context.settings.mailgun
    data = parse_json(body, "mailgun")
    if not isinstance(data, dict):
        raise ValidationError("mailgun: the body is not a JSON object", field="body")
    signed = data.get("signature")
    signed = signed if isinstance(signed, dict) else {}
    timestamp, token, mac = (signed.get(k) for k in ("timestamp", "token", "signature"))
    if settings.signing_key is not None:
        if not all(isinstance(v, str) and v for v in (timestamp, token, mac)):
            raise SignatureError("mailgun: the request is not signed", field="signature")
        key = settings.signing_key.get_secret_value().encode()
        signatures.verify_mailgun(key, str(timestamp), str(token), str(mac))
        _check_fresh(context, _number(timestamp, "mailgun"), settings.max_age_seconds, "mailgun")
    found = events.read_mailgun(data)
    return await _take(context, found, "mailgun", str(token) if token else _digest(body))


# --- Postmark --------------------------------------------------------------------------------


async def postmark(context: WebhookContext, request: Request, body: bytes) -> dict[str, Any]:
    settings = context.settings.postmark
    if settings.username and settings.password is not None:
        password = settings.password.get_secret_value()
        signatures.verify_basic(request.headers.get("authorization"), settings.username, password)
    data = parse_json(body, "postmark")
    found = events.read_postmark(data)
    record = (
        f"{data.get('RecordType')}:{data.get('ID')}"
        if data.get("ID") is not None
        else _digest(body)
    )
    return await _take(context, found, "postmark", record)
