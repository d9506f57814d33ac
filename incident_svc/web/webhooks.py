"""The provider webhook routes on the ``serve`` HTTP app; each one is off until configured.

    POST /v1/webhooks/ses       Amazon SES through SNS (signed notifications, confirmations)
    POST /v1/webhooks/sendgrid  SendGrid Event Webhook (signed)
    POST /v1/webhooks/mailgun   Mailgun webhooks (signed, JSON)
    POST /v1/webhooks/postmark  Postmark webhooks (HTTP basic credentials in the URL)

Answers: 200 taken in, 400 a body that cannot be read, 401/403 unsigned, badly signed or
stale, 409 a replay, 413 a body over ``bounces.webhooks.max_body_bytes``, 503 SNS could not
be reached for its certificate (SNS tries again). Errors are one JSON line, never a trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from incident_svc.config import Settings
from incident_svc.domain.webhook_signatures import SignatureError
from incident_svc.errors import ConflictError, ValidationError
from incident_svc.services.bounce.bounce_sources.ingest_port import Ingest
from incident_svc.web import webhook_providers as providers
from incident_svc.web.sns_origin import OriginUnavailable, SnsOrigin
from incident_svc.web.webhook_providers import WebhookContext

log = logging.getLogger(__name__)
PREFIX = "/v1/webhooks/"


class BodyTooLarge(ValidationError):
    pass


Handler = Callable[[WebhookContext, Request, bytes], Awaitable[dict[str, Any]]]
_HANDLERS: dict[str, Handler] = {
    "ses": providers.ses,
    "sendgrid": providers.sendgrid,
    "mailgun": providers.mailgun,
    "postmark": providers.postmark,
}


def webhook_routes(
    settings: Settings, *, ingest: Ingest, sns_origin: SnsOrigin | None = None
) -> list[Route]:
    """A route for each configured provider."""
    hooks = settings.bounces.webhooks
    context = WebhookContext(settings=hooks, ingest=ingest, sns_origin=sns_origin or SnsOrigin())
    return [
        Route(PREFIX + name, _endpoint(context, name), methods=["POST"])
        for name in enabled_providers(settings)
    ]


def enabled_providers(settings: Settings) -> list[str]:
    """The providers whose route is on (each is off until configured)."""
    hooks = settings.bounces.webhooks
    enabled = {
        "ses": hooks.ses.enabled,
        "sendgrid": hooks.sendgrid.enabled,
        "mailgun": hooks.mailgun.enabled,
        "postmark": hooks.postmark.enabled,
    }
    return [name for name, on in enabled.items() if on]


def _endpoint(context: WebhookContext, name: str) -> Callable[[Request], Awaitable[Response]]:
    handler = _HANDLERS[name]

    async def endpoint(request: Request) -> Response:
        try:
            body = await _body(request, context.settings.max_body_bytes)
            answer = await handler(context, request, body)
        except BodyTooLarge as exc:
            return _refuse(name, 413, exc)
        except SignatureError as exc:
            return _refuse(name, 401 if exc.field == "authorization" else 403, exc)
        except ConflictError as exc:
            return _refuse(name, 409, exc)
        except ValidationError as exc:
            return _refuse(name, 400, exc)
        except OriginUnavailable as exc:
            return _refuse(name, 503, exc)
        except ClientDisconnect:
            return Response(status_code=400)
        return JSONResponse({"status": "accepted", **answer})

    return endpoint


def _refuse(name: str, status: int, exc: Exception) -> Response:
    log.warning("webhook %s refused (%s): %s", name, status, exc)
    headers = {"WWW-Authenticate": 'Basic realm="webhooks"'} if status == 401 else None
    return JSONResponse({"error": str(exc)}, status_code=status, headers=headers)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"body over {limit} bytes")
    return bytes(body)
