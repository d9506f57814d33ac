"""The worker loop: claim due deliveries, compose them, send them over the pool, record.

Order of events for one batch, and why it is crash-safe:

1. claim (commit): the rows are leased to this worker; a crash from here on leaves them
   leased until the lease expires, then any worker takes them again;
2. compose and send: each message goes to SMTP with its stable Message-ID;
3. record (commit, grouped): as answers arrive, outcomes are committed in small groups, each
   with its attempts and one summary audit event, all or nothing (services.delivery.recorder).

A crash between a relay's "250" and the commit of that outcome means that message is sent
again after the lease expires, with the same Message-ID: the duplicate SMTP cannot avoid
(RFC 1047), limited to the answers that arrived during the one commit in progress.
Nothing is ever marked sent before the relay accepted it, so nothing is lost.

The batch itself (and how database faults and relay outages are ridden out) is in
services/delivery/dispatch_engine.py; this module runs the loops around it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from incident_svc.config import Settings
from incident_svc.domain.enums import CampaignStatus
from incident_svc.domain.times import utcnow
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.models import Campaign
from incident_svc.services.delivery import due
from incident_svc.services.delivery.composing import ComposerLoader
from incident_svc.services.delivery.dispatch_engine import Engine, Notify, Progress

LANES = 2  # batches in flight per worker: one records while the other sends

__all__ = ["LANES", "Engine", "drain", "run_dispatcher"]


async def _lane(engine: Engine, stop: asyncio.Event, only: int | None, poll: float) -> None:
    while not stop.is_set():
        if await engine.db(lambda: engine.pass_once(only), "a dispatch pass"):
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=engine.idle_seconds(poll))


async def run_dispatcher(
    *,
    settings: Settings,
    pool: SmtpPool,
    stop: asyncio.Event,
    worker_id: str,
    actor: str = "dispatcher",
    key: bytes | None = None,
    loader: ComposerLoader | None = None,
) -> None:
    """Send due work of every sending campaign until ``stop`` is set.

    On stop, batches in flight finish and are recorded; if the task is cancelled instead,
    what was sent is recorded and the rest is released for other workers. ``pool`` is the
    relay's connections, opened by the caller (runtime/wiring.py).
    """
    engine = Engine(settings, pool, worker_id, actor, key, loader, tolerate=True)
    poll = settings.scheduler.poll_seconds
    lanes_stop = asyncio.Event()  # the service's stop, or one lane failing

    async def follow_service() -> None:
        await stop.wait()
        lanes_stop.set()

    following = asyncio.create_task(follow_service())
    try:
        await _run_lanes(lambda: _lane(engine, lanes_stop, None, poll), lanes_stop)
    finally:
        following.cancel()
        await engine.close()


async def drain(
    *,
    campaign_id: int,
    settings: Settings,
    pool: SmtpPool,
    worker_id: str,
    actor: str,
    key: bytes | None = None,
    loader: ComposerLoader | None = None,
    progress: Progress | None = None,
    notify: Notify | None = None,
) -> None:
    """Send one campaign until no delivery is pending or leased, waiting for retries."""
    stop = asyncio.Event()
    engine = Engine(
        settings,
        pool,
        worker_id,
        actor,
        key,
        loader,
        progress,
        notify=notify,
    )
    poll = settings.scheduler.poll_seconds

    async def lane() -> None:
        while not stop.is_set():
            if await engine.db(lambda: engine.pass_once(campaign_id), "a dispatch pass"):
                continue
            pause = await engine.db(
                lambda: _pause_before_next(campaign_id, poll), "a look for due work"
            )
            if pause is None:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=engine.idle_seconds(pause))

    try:
        await _run_lanes(lane, stop)
    finally:
        await engine.close()


async def _run_lanes(lane: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Run ``LANES`` copies of ``lane``; the first to end or fail sets ``stop``.

    Every lane is awaited, even after one failed: a lane still sending when the pool closes
    would have its batch's outcomes cut short, and one left running would outlive its pool.
    """

    async def guarded() -> None:
        try:
            await lane()
        finally:
            stop.set()  # done or failed: the other lanes finish their batch and stop

    results = await asyncio.gather(*(guarded() for _ in range(LANES)), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _pause_before_next(campaign_id: int, poll: float) -> float | None:
    """Seconds until the campaign may have work again; None when it is no longer sending."""
    from tortoise import connections

    campaign = await Campaign.get(id=campaign_id)
    if campaign.status is not CampaignStatus.SENDING:
        return None
    now = utcnow()
    if campaign.hold_until is not None and campaign.hold_until > now:
        return min(poll, (campaign.hold_until - now).total_seconds())
    next_at = await due.next_due(connections.get("default"), campaign_id)
    wait = (next_at - now).total_seconds() if next_at else poll
    return max(0.02, min(poll, wait))
