"""The worker loop: claim due deliveries, compose them, send them over the pool, record.

Order of events for one batch, and why it is crash-safe:

1. claim (commit): the rows are leased to this worker; a crash from here on leaves them
   leased until the lease expires, then any worker takes them again;
2. compose and send: each message goes to SMTP with its stable Message-ID;
3. record (commit, grouped): as answers arrive, outcomes are committed in small groups, each
   with its attempts and one summary audit event, all or nothing (services.recorder).

A crash between a relay's "250" and the commit of that outcome means that message is sent
again after the lease expires, with the same Message-ID: the duplicate SMTP cannot avoid
(RFC 1047), limited to the answers that arrived during the one commit in progress.
Nothing is ever marked sent before the relay accepted it, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from incident_svc.config import Settings
from incident_svc.domain.enums import AttemptOutcome, CampaignStatus
from incident_svc.domain.retry import RetryPolicy
from incident_svc.domain.times import utcnow
from incident_svc.errors import (
    ConflictError,
    DeliveryError,
    IncidentSvcError,
    PermanentDeliveryError,
)
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.models import Campaign
from incident_svc.services import approval_gate, campaigns, outbox
from incident_svc.services.composing import (
    ComposeItem,
    ComposeItemError,
    Composer,
    ComposerLoader,
    Outgoing,
    close_composer,
    envelope_sender,
    frozen_composer,
)
from incident_svc.services.recorder import Recorder

log = logging.getLogger(__name__)
LANES = 2  # batches in flight per worker: one records while the other sends
Progress = Callable[[outbox.BatchSummary], None]


@dataclass
class Engine:
    """Everything one worker shares between its lanes: pool, composers, identity."""

    settings: Settings
    pool: SmtpPool
    worker_id: str
    actor: str
    key: bytes | None
    loader: ComposerLoader | None = None  # None: the notices composer, from the snapshot
    progress: Progress | None = None
    tolerate: bool = False  # a service worker logs a campaign's error and goes on with others
    _composers: dict[int, Composer] = field(default_factory=dict)
    _benched: dict[int, datetime] = field(default_factory=dict)
    _loading: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def policy(self) -> RetryPolicy:
        d = self.settings.delivery
        return RetryPolicy(d.max_attempts, d.retry_base_seconds, d.retry_max_seconds)

    async def composer_for(self, campaign: Campaign) -> Composer:
        async with self._loading:  # both lanes start at once: load one composer, not two
            return await self._composer_for(campaign)

    async def _composer_for(self, campaign: Campaign) -> Composer:
        composer = self._composers.get(campaign.id)
        if composer is None:
            await approval_gate.check_sending(
                campaign, self.settings, actor=self.actor, key=self.key
            )
            if self.loader is None:
                composer = await frozen_composer(campaign, self.settings)
            else:
                composer = await self.loader(campaign.incident.id, campaign.kind, self.settings)
            if campaign.template_hash and composer.template_hash != campaign.template_hash:
                raise ConflictError(
                    f"campaign {campaign.id}: the templates changed since it was created "
                    f"(approved {campaign.template_hash[:12]}, now {composer.template_hash[:12]}); "
                    "cancel it and create a new campaign"
                )
            self._composers[campaign.id] = composer
        return composer

    async def close(self) -> None:
        """Stop what the composers started (their worker processes)."""
        composers, self._composers = list(self._composers.values()), {}
        for composer in composers:
            await close_composer(composer)

    async def run_batch(self, campaign: Campaign) -> bool:
        """Claim, send and record one batch of ``campaign``; False when nothing was due."""
        token, domain = campaigns.message_id_parts(campaign, self.settings)
        batch = await outbox.claim(
            campaign_id=campaign.id,
            worker_id=self.worker_id,
            now=utcnow(),
            limit=self.settings.delivery.batch_size,
            lease_seconds=self.settings.delivery.lease_seconds,
            message_id_token=token,
            message_id_domain=domain,
        )
        if not batch:
            return False
        recorder = Recorder(lambda chunk: self._record(campaign, chunk))
        tried: set[int] = set()
        renewing = asyncio.create_task(self._renew_leases([c.delivery_id for c in batch]))
        try:
            composer = await self.composer_for(campaign)
            await self._send_all(composer, batch, recorder, tried)
        finally:
            renewing.cancel()
            await asyncio.shield(self._finish(recorder, batch, tried))
        return True

    async def _renew_leases(self, delivery_ids: list[int]) -> None:
        """Keep this batch's leases alive while it is in flight (a slow relay, a busy host).

        Without it a batch that takes longer than the lease is taken over by another worker
        while this one is still sending it: a duplicate with no crash at all.
        """
        lease = self.settings.delivery.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            await outbox.renew(
                worker_id=self.worker_id,
                delivery_ids=delivery_ids,
                until=utcnow() + timedelta(seconds=lease),
            )

    async def _send_all(
        self,
        composer: Composer,
        batch: Sequence[outbox.Claimed],
        recorder: Recorder,
        tried: set[int],
    ) -> None:
        items = [
            ComposeItem(
                delivery_id=c.delivery_id,
                subject_id=c.subject_id,
                account_id=c.account_id,
                address=c.address,
                locale=c.locale,
                message_id=c.message_id,
            )
            for c in batch
        ]
        by_id = {c.delivery_id: c for c in batch}
        messages, spoiled = await compose_each(composer, items)
        for error in spoiled:
            tried.add(error.delivery_id)
            recorder.add(not_composed(by_id[error.delivery_id], error.reason))
        sender = campaigns.sender_address(self.settings)
        queue = iter([m for m in messages if m.delivery_id in by_id])

        async def connection_share() -> None:
            # one sender per connection of the pool, each taking the next message when its
            # previous one is answered: a task per message would cost more than it sends
            for message in queue:
                own = envelope_sender(message, sender)
                outcome = await self._send_one(own, by_id[message.delivery_id], message)
                tried.add(outcome.delivery_id)
                recorder.add(outcome)

        # every send ends before the batch is finished, even when one raised (a relay that
        # refuses our login): a send still running then would be recorded after its row
        # was released, and sent a second time
        senders = max(1, min(self.settings.smtp.pool_size, len(messages)))
        results = await asyncio.gather(
            *(connection_share() for _ in range(senders)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _send_one(
        self, sender: str, claimed: outbox.Claimed, message: Outgoing
    ) -> outbox.Outcome:
        try:
            accepted = await self.pool.send(
                sender=sender, recipient=claimed.address, data=message.data, wire=message.wire
            )
        except DeliveryError as exc:
            permanent = isinstance(exc, PermanentDeliveryError)
            kind = AttemptOutcome.PERMANENT if permanent else AttemptOutcome.TRANSIENT
            code, reply = exc.code, exc.reply or str(exc)
        else:
            kind, code, reply = AttemptOutcome.ACCEPTED, accepted.code, accepted.reply
        return outbox.Outcome(
            claimed.delivery_id,
            claimed.attempts + 1,
            kind,
            code,
            reply,
            message.sha256,
            claimed.subject_id,
        )

    async def _record(self, campaign: Campaign, outcomes: list[outbox.Outcome]) -> None:
        context = outbox.BatchContext(
            campaign_id=campaign.id,
            incident_ref=campaign.incident.ref,
            worker_id=self.worker_id,
            actor=self.actor,
            policy=self.policy,
            key=self.key,
        )
        summary = await outbox.record(context, outcomes, now=utcnow())
        if self.progress is not None:
            self.progress(summary)

    async def _finish(
        self, recorder: Recorder, batch: Sequence[outbox.Claimed], tried: set[int]
    ) -> None:
        """Commit what happened; hand back what was never handed to SMTP."""
        try:
            await recorder.close()
        finally:
            untried = [c.delivery_id for c in batch if c.delivery_id not in tried]
            await outbox.release(worker_id=self.worker_id, delivery_ids=untried)

    async def sending_campaigns(self, only: int | None) -> list[Campaign]:
        now = utcnow()
        query = Campaign.filter(status=CampaignStatus.SENDING).prefetch_related("incident")
        if only is not None:
            query = query.filter(id=only)
        return [
            c for c in await query.order_by("id") if c.hold_until is None or c.hold_until <= now
        ]

    async def pass_once(self, only: int | None = None) -> bool:
        """One batch from the first campaign with due work; False when there was none."""
        for campaign in await self.sending_campaigns(only):
            if self._benched.get(campaign.id, utcnow()) > utcnow():
                continue
            try:
                if await self.run_batch(campaign):
                    return True
            except IncidentSvcError as exc:
                if not self.tolerate:
                    raise
                await self._bench(campaign, exc)
                continue
            await campaigns.complete_if_done(
                campaign_id=campaign.id, now=utcnow(), actor=self.actor, key=self.key
            )
        return False

    async def _bench(self, campaign: Campaign, exc: IncidentSvcError) -> None:
        """A service worker keeps serving other campaigns while one cannot be sent.

        The campaign's claims were released; it is tried again after a poll interval, so a
        fixed template or configuration resumes it without a restart.
        """
        log.error("campaign %s cannot be sent now: %s", campaign.id, exc)
        composer = self._composers.pop(campaign.id, None)
        if composer is not None:
            await close_composer(composer)
        pause = timedelta(seconds=self.settings.scheduler.poll_seconds * 5)
        self._benched[campaign.id] = utcnow() + pause


async def compose_each(
    composer: Composer, items: Sequence[ComposeItem]
) -> tuple[Sequence[Outgoing], list[ComposeItemError]]:
    """The batch's messages, and why each item that cannot be composed could not be.

    The batch is composed in one go; only when one item spoils it (a person no longer
    affected, a template that fails on one person's data, an address MIME refuses) is it
    composed again item by item, so the others are still sent. Anything else the composer
    raises (a template that does not compile, ...) concerns the whole campaign and goes up.
    """
    try:
        return await composer.compose_batch(items), []
    except ComposeItemError:
        pass
    messages: list[Outgoing] = []
    failures: list[ComposeItemError] = []
    for item in items:
        try:
            messages.extend(await composer.compose_batch([item]))
        except ComposeItemError as exc:
            log.warning("delivery %s not composed: %s", item.delivery_id, exc.reason)
            failures.append(exc)
    return messages, failures


def not_composed(claimed: outbox.Claimed, reason: str) -> outbox.Outcome:
    """A permanent failure that is nobody's address fault: no subject is marked bounced."""
    return outbox.Outcome(
        claimed.delivery_id,
        claimed.attempts + 1,
        AttemptOutcome.PERMANENT,
        None,
        f"not composed: {reason}",
    )


async def _lane(
    engine: Engine, stop: asyncio.Event, only: int | None, idle: Callable[[], float]
) -> None:
    while not stop.is_set():
        if await engine.pass_once(only):
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=idle())


async def run_dispatcher(
    *,
    settings: Settings,
    stop: asyncio.Event,
    worker_id: str,
    actor: str = "dispatcher",
    key: bytes | None = None,
    loader: ComposerLoader | None = None,
) -> None:
    """Send due work of every sending campaign until ``stop`` is set.

    On stop, batches in flight finish and are recorded; if the task is cancelled instead,
    what was sent is recorded and the rest is released for other workers.
    """
    async with SmtpPool(settings.smtp) as pool:
        engine = Engine(settings, pool, worker_id, actor, key, loader, tolerate=True)
        poll = settings.scheduler.poll_seconds
        lanes_stop = asyncio.Event()  # the service's stop, or one lane failing

        async def follow_service() -> None:
            await stop.wait()
            lanes_stop.set()

        following = asyncio.create_task(follow_service())
        try:
            await _run_lanes(lambda: _lane(engine, lanes_stop, None, lambda: poll), lanes_stop)
        finally:
            following.cancel()
            await engine.close()


async def drain(
    *,
    campaign_id: int,
    settings: Settings,
    worker_id: str,
    actor: str,
    key: bytes | None = None,
    loader: ComposerLoader | None = None,
    progress: Progress | None = None,
) -> None:
    """Send one campaign until no delivery is pending or leased, waiting for retries."""
    stop = asyncio.Event()
    async with SmtpPool(settings.smtp) as pool:
        engine = Engine(settings, pool, worker_id, actor, key, loader, progress)

        async def lane() -> None:
            while not stop.is_set():
                if await engine.pass_once(campaign_id):
                    continue
                pause = await _pause_before_next(campaign_id, settings.scheduler.poll_seconds)
                if pause is None:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)

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
    due = await outbox.next_due(connections.get("default"), campaign_id)
    wait = (due - now).total_seconds() if due else poll
    return max(0.02, min(poll, wait))
