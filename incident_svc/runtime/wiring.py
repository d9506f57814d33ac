"""The one place where `serve` chooses its concrete parts: services, SMTP, the web app."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

import aiosmtplib
from starlette.applications import Starlette
from starlette.types import ASGIApp

from incident_svc.config import Settings
from incident_svc.domain.enums import WakeupAction
from incident_svc.runtime.status import ServiceStatus
from incident_svc.scheduling import Action
from incident_svc.services import reminders
from incident_svc.web.health import health_routes

log = logging.getLogger(__name__)

SCHEDULER_ACTOR = "service:scheduler"
Dispatcher = Callable[..., Coroutine[Any, Any, None]]
WebApp = Callable[[ServiceStatus, bool], ASGIApp]


@dataclass(frozen=True)
class Parts:
    actions: Mapping[WakeupAction, Action]
    dispatcher: Dispatcher
    web_app: WebApp


@contextlib.asynccontextmanager
async def open_parts(settings: Settings) -> AsyncIterator[Parts]:
    """The parts of one service process; SMTP connections close when the block ends."""
    send = _smtp_sender(settings)
    key = _hmac_key(settings)

    async def send_reminders(now: datetime) -> object:
        return await reminders.send_due(now=now, settings=settings, send=send, key=key)

    async def start_campaigns(now: datetime) -> object:
        log.warning("starting campaigns is not available in this build")
        return None

    async def banner_edge(now: datetime) -> object:
        log.info("a banner window opens or closes now")
        return None

    async def no_dispatcher(**_: object) -> None:
        raise NotImplementedError("the dispatcher is not available in this build")

    def web_app(status: ServiceStatus, feed: bool) -> ASGIApp:
        return Starlette(routes=health_routes(status))

    yield Parts(
        actions={
            WakeupAction.START_CAMPAIGNS: start_campaigns,
            WakeupAction.SEND_REMINDERS: send_reminders,
            WakeupAction.BANNER_EDGE: banner_edge,
        },
        dispatcher=no_dispatcher,
        web_app=web_app,
    )


def _smtp_sender(settings: Settings) -> reminders.SendEmail:
    smtp = settings.smtp

    async def send(message: EmailMessage) -> object:
        return await aiosmtplib.send(
            message,
            sender=parseaddr(settings.mail_from)[1],
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password.get_secret_value() if smtp.password else None,
            start_tls=smtp.starttls,
            use_tls=smtp.tls,
            timeout=smtp.timeout,
            local_hostname=smtp.local_hostname,
        )

    return send


def _hmac_key(settings: Settings) -> bytes | None:
    secret = settings.audit.hmac_key
    return secret.get_secret_value().encode("utf-8") if secret else None
