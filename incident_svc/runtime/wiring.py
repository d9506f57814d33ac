"""The one place where entry points choose their concrete parts: services, SMTP, the web app.

`serve` gets all its parts from ``open_parts``; every other entry point that sends mail
(`campaign send --now`, the demo, `audit checkpoint`) opens its relay connections with
``smtp_pool`` and hands them to the services, which never open their own.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp

from incident_svc.config import Settings
from incident_svc.domain.enums import WakeupAction
from incident_svc.errors import IncidentSvcError
from incident_svc.mail import relay_fence
from incident_svc.mail.internal_message import InternalMessage, send_internal
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.scheduling import Action
from incident_svc.service_status import ServiceStatus
from incident_svc.services.auditlog import audit_checkpoints, audit_key, retention_key
from incident_svc.services.bounce.bounce_sources import imap_poll
from incident_svc.services.bounce.bounce_sources.ingest_port import Ingest, default_ingest
from incident_svc.services.delivery import campaign_start
from incident_svc.services.delivery.dispatcher import run_dispatcher
from incident_svc.services.disclosure import disclosure_jobs
from incident_svc.services.obligations import reminders
from incident_svc.services.obligations.obligation_countdowns import (
    ObligationMetrics,
    obligation_metrics,
)
from incident_svc.services.privacy import retention
from incident_svc.web.app import create_app
from incident_svc.web.exercise_prefix import under_prefix
from incident_svc.web.health import health_routes
from incident_svc.web.webhooks import webhook_routes

log = logging.getLogger(__name__)

SCHEDULER_ACTOR = "service:scheduler"
DISPATCHER_ACTOR = "service:dispatcher"
Dispatcher = Callable[..., Coroutine[Any, Any, None]]
WebApp = Callable[[ServiceStatus, bool], ASGIApp]


@dataclass(frozen=True)
class Parts:
    actions: Mapping[WakeupAction, Action]
    dispatcher: Dispatcher
    web_app: WebApp
    checkpoint: Action | None = None
    imap_poll: Action | None = None
    retention: Action | None = None


@contextlib.asynccontextmanager
async def smtp_pool(settings: Settings) -> AsyncIterator[SmtpPool]:
    """Connections to the relay for one entry point; closed when the block ends."""
    async with SmtpPool(settings.smtp) as pool:
        yield pool


def team_mail(pool: SmtpPool) -> Callable[[InternalMessage], Coroutine[Any, Any, object]]:
    """Send a well-formed message to the security team over ``pool``."""

    async def send(message: InternalMessage) -> object:
        return await send_internal(pool, message)

    return send


@contextlib.asynccontextmanager
async def open_parts(settings: Settings) -> AsyncIterator[Parts]:
    """The parts of one service process; its SMTP connections close when the block ends."""
    key = hmac_key(settings)
    async with smtp_pool(settings) as pool:
        send = team_mail(pool)

        async def send_reminders(now: datetime) -> object:
            return await reminders.send_due(now=now, settings=settings, send=send, key=key)

        async def disclosures(now: datetime) -> object:
            return await disclosure_jobs.run_due(now=now, settings=settings, send=send, key=key)

        async def start_campaigns(now: datetime) -> object:
            started = await campaign_start.start_due(
                now=now, actor=SCHEDULER_ACTOR, settings=settings, key=key
            )
            if started:
                log.info("started campaign(s) %s", ", ".join(map(str, started)))
            return started

        async def obligations(now: datetime) -> ObligationMetrics:
            return await obligation_metrics(now=now, settings=settings)

        async def dispatcher(**kwargs: Any) -> None:
            # a pool of its own per run: a dispatcher the supervisor restarts starts afresh
            async with smtp_pool(settings) as delivery_pool:
                await run_dispatcher(pool=delivery_pool, actor=DISPATCHER_ACTOR, key=key, **kwargs)

        ingest = default_ingest(settings)

        def web_app(status: ServiceStatus, feed: bool) -> ASGIApp:
            extra = [*health_routes(status, obligations), *webhook_routes(settings, ingest=ingest)]
            if not feed:
                return Starlette(routes=extra)
            app = create_app(settings=settings, extra_routes=extra, manage_database=False)
            fence = relay_fence.active()  # an exercise: its feed only under /exercises/NAME
            return app if fence is None else under_prefix(app, f"/exercises/{fence.exercise}")

        yield Parts(
            actions={
                WakeupAction.START_CAMPAIGNS: start_campaigns,
                WakeupAction.SEND_REMINDERS: send_reminders,
                WakeupAction.DISCLOSURES: disclosures,
            },
            dispatcher=dispatcher,
            web_app=web_app,
            checkpoint=_checkpoints(settings, key, send),
            imap_poll=_imap_poll(settings, ingest),
            retention=_retention(settings, key),
        )


RETENTION_ACTOR = "service:retention"


def _retention(settings: Settings, key: bytes | None) -> Action | None:
    """The daily retention run, when retention.enabled; without a retention key `serve`
    refuses to start (exit 2) rather than keep data past its period unnoticed."""
    if not settings.retention.enabled:
        return None
    secret = retention_key.require(settings)

    async def run(now: datetime) -> object:
        done = await retention.run(settings, key=secret, audit_key=key, actor=RETENTION_ACTOR)
        log.info("retention: %s", ", ".join(f"{r.kind} {r.rows}" for r in done))
        return done

    return run


def _checkpoints(settings: Settings, key: bytes | None, send: reminders.SendEmail) -> Action | None:
    """The checkpoint schedule, when it is on (audit.checkpoint_minutes > 0)."""
    if settings.audit.checkpoint_minutes <= 0:
        return None
    return audit_checkpoints.Schedule(settings, key=key, send=send)


def _imap_poll(settings: Settings, ingest: Ingest) -> Action | None:
    """The report mailbox poll, when bounces.imap is configured."""
    if not settings.bounces.imap.enabled:
        return None

    async def poll(now: datetime) -> object:
        try:
            return await imap_poll.poll_once(settings.bounces.imap, ingest=ingest)
        except IncidentSvcError as exc:  # the server is down or refuses us: one line, next poll
            log.warning("%s", exc)
            return None

    return poll


def hmac_key(settings: Settings) -> bytes | None:
    """The audit key: audit.hmac_key, else the key file (services/auditlog/audit_key.py)."""
    return audit_key.resolve(settings).key
