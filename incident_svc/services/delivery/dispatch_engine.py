"""What one dispatcher worker does with one batch: claim, compose, send, record, release.

The crash argument is at the top of services/delivery/dispatcher.py. Two kinds of trouble are ridden
out here rather than failing the batch:

- a database fault (incident_svc.db_faults) during the claim, a group commit, a lease
  renewal or the release is retried on a fresh connection for up to
  ``database.fault_tolerance_seconds``. The outcomes already gathered are committed again by
  the retry: the rows are still leased to this batch, because a worker never reaps the
  leases of its own batches (they are in flight in this process), so a fault the process
  survives sends nobody a second copy;
- a relay that cannot be reached (services.relay.relay_watch) stops the batch: what was not
  handed to SMTP goes back untried, no attempt spent, and claiming waits for the probe.

Each batch leases its rows under its own owner name, ``{worker}/{n}``, so that a claim whose
commit succeeded but whose answer was lost can give those rows back when it is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from incident_svc.config import Settings
from incident_svc.db_faults import FaultNotice, ride_out
from incident_svc.domain.enums import AttemptOutcome, CampaignStatus
from incident_svc.domain.retry import RetryPolicy
from incident_svc.domain.times import utcnow
from incident_svc.errors import (
    ConflictError,
    DatabaseError,
    DatabaseUnavailableError,
    DeliveryError,
    IncidentSvcError,
    PermanentDeliveryError,
    RelayUnavailableError,
)
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.models import Campaign
from incident_svc.services.delivery import approval_gate, campaign_matter, campaigns, leases, outbox
from incident_svc.services.delivery.compose_batch import compose_each, not_composed
from incident_svc.services.delivery.composing import (
    ComposeItem,
    Composer,
    ComposerLoader,
    Outgoing,
    close_composer,
    envelope_sender,
    frozen_composer,
)
from incident_svc.services.delivery.recorder import Recorder
from incident_svc.services.relay.relay_watch import RelayWatch

log = logging.getLogger(__name__)
T = TypeVar("T")
Progress = Callable[[outbox.BatchSummary], None]
Notify = Callable[[str], None]
STUCK_COMMIT_SECONDS = 2.0  # a group commit takes milliseconds; this long, it is riding a fault


@dataclass
class Engine:
    """Everything one worker shares between its lanes: pool, relay, composers, identity."""

    settings: Settings
    pool: SmtpPool
    worker_id: str
    actor: str
    key: bytes | None
    loader: ComposerLoader | None = None  # None: the notices composer, from the snapshot
    progress: Progress | None = None
    tolerate: bool = False  # a service worker logs a campaign's error and goes on with others
    notify: Notify | None = None  # `campaign send --now` prints what it is waiting for
    relay: RelayWatch = field(init=False)
    faults: FaultNotice = field(init=False)  # a fault the lanes meet together is told once
    _composers: dict[int, Composer] = field(default_factory=dict)
    _benched: dict[int, datetime] = field(default_factory=dict)
    _loading: asyncio.Lock = field(default_factory=asyncio.Lock)
    _batches: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _failure_told: bool = False

    def __post_init__(self) -> None:
        self.relay = RelayWatch(self.settings, self.pool, self.notify)
        self.faults = FaultNotice(self.notify)

    @property
    def policy(self) -> RetryPolicy:
        d = self.settings.delivery
        return RetryPolicy(d.max_attempts, d.retry_base_seconds, d.retry_max_seconds)

    async def db(self, operation: Callable[[], Awaitable[T]], what: str) -> T:
        """``operation`` ridden through database faults (see incident_svc.db_faults)."""
        tolerance = self.settings.database.fault_tolerance_seconds
        return await ride_out(operation, what=what, tolerance=tolerance, notice=self.faults)

    async def composer_for(self, campaign: Campaign) -> Composer:
        async with self._loading:  # both lanes start at once: load one composer, not two
            return await self._composer_for(campaign)

    async def _composer_for(self, campaign: Campaign) -> Composer:
        composer = self._composers.get(campaign.id)
        if composer is None:
            await approval_gate.check_sending(
                campaign, self.settings, actor=self.actor, key=self.key
            )
            if self.loader is None or campaign.incident is None:  # a matter's: its own
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
        owner = f"{self.worker_id}/{next(self._batches)}"
        batch = await self._claim(campaign, owner)
        if not batch:
            return False
        recorder = Recorder(lambda chunk: self._record(campaign, owner, chunk))
        tried: set[int] = set()
        renewing = asyncio.create_task(self._renew_leases(owner, [c.delivery_id for c in batch]))
        try:
            composer = await self.composer_for(campaign)
            await self._send_all(composer, batch, recorder, tried)
        finally:
            renewing.cancel()
            await asyncio.shield(self._finish(owner, recorder, batch, tried))
        return True

    async def _claim(self, campaign: Campaign, owner: str) -> list[leases.Claimed]:
        token, domain = campaigns.message_id_parts(campaign, self.settings)
        tries = 0

        async def claim() -> list[leases.Claimed]:
            nonlocal tries
            tries += 1
            return await leases.claim(
                campaign_id=campaign.id,
                worker_id=owner,
                now=utcnow(),
                limit=self.settings.delivery.batch_size,
                lease_seconds=self.settings.delivery.lease_seconds,
                message_id_token=token,
                message_id_domain=domain,
                retrying=tries > 1,
            )

        return await self.db(claim, "a claim")

    async def _renew_leases(self, owner: str, delivery_ids: list[int]) -> None:
        """Keep this batch's leases alive while it is in flight (a slow relay, a busy host).

        Without it a batch that takes longer than the lease is taken over by another worker
        while this one is still sending it: a duplicate with no crash at all.
        """
        lease = self.settings.delivery.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)

            async def renew() -> int:
                until = utcnow() + timedelta(seconds=lease)
                return await leases.renew(worker_id=owner, delivery_ids=delivery_ids, until=until)

            with contextlib.suppress(DatabaseUnavailableError):  # the next renewal tries again
                await self.db(renew, "a lease renewal")

    async def _send_all(
        self,
        composer: Composer,
        batch: Sequence[leases.Claimed],
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
            # previous one is answered: a task per message would cost more than it sends.
            # Once the relay cannot be reached, or while a commit rides out a database
            # fault, the rest of the batch goes back untried.
            while not self.relay.is_open and not recorder.stuck(STUCK_COMMIT_SECONDS):
                message = next(queue, None)
                if message is None:
                    return
                own = envelope_sender(message, sender)  # its own return path (VERP), if any
                outcome = await self._send_one(own, by_id[message.delivery_id], message)
                if outcome is None:
                    return
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
        self, sender: str, claimed: leases.Claimed, message: Outgoing
    ) -> outbox.Outcome | None:
        """The outcome of one attempt; None when the relay could not be reached (no attempt)."""
        try:
            accepted = await self.pool.send(
                sender=sender, recipient=claimed.address, data=message.data, wire=message.wire
            )
        except RelayUnavailableError as exc:
            await self.relay.tripped(exc)
            return None
        except DeliveryError as exc:
            await self.relay.reached()  # it answered: a stale "down" row is closed
            permanent = isinstance(exc, PermanentDeliveryError)
            kind = AttemptOutcome.PERMANENT if permanent else AttemptOutcome.TRANSIENT
            code, reply = exc.code, exc.reply or str(exc)
            self._tell_first_failure(claimed, kind, reply)
        else:
            await self.relay.reached()
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

    def _tell_first_failure(
        self, claimed: leases.Claimed, kind: AttemptOutcome, reply: str
    ) -> None:
        """`campaign send --now` says what went wrong first and what happens next."""
        if self.notify is None or self._failure_told:
            return
        self._failure_told = True
        self.notify(
            f"first failure: {claimed.address}: {' '.join(reply.split())}; "
            f"{next_step(kind, claimed.attempts + 1, self.policy)}"
        )

    async def _record(self, campaign: Campaign, owner: str, outcomes: list[outbox.Outcome]) -> None:
        context = outbox.BatchContext(
            campaign_id=campaign.id,
            incident_ref=campaign_matter.ref_of(campaign),
            ref_key=campaign_matter.audit_label(campaign),
            worker_id=self.worker_id,
            actor=self.actor,
            policy=self.policy,
            key=self.key,
            lease_owner=owner,
        )

        async def record() -> outbox.BatchSummary:
            return await outbox.record(context, outcomes, now=utcnow())

        summary = await self.db(record, "a group commit")
        if self.progress is not None:
            self.progress(summary)

    async def _finish(
        self, owner: str, recorder: Recorder, batch: Sequence[leases.Claimed], tried: set[int]
    ) -> None:
        """Commit what happened; hand back what was never handed to SMTP."""
        try:
            await recorder.close()
        finally:
            untried = [c.delivery_id for c in batch if c.delivery_id not in tried]

            async def release() -> int:
                return await leases.release(worker_id=owner, delivery_ids=untried)

            await self.db(release, "a release")

    async def sending_campaigns(self, only: int | None) -> list[Campaign]:
        now = utcnow()
        query = Campaign.filter(status=CampaignStatus.SENDING).prefetch_related(
            *campaign_matter.RELATED
        )
        if only is not None:
            query = query.filter(id=only)
        return [
            c for c in await query.order_by("id") if c.hold_until is None or c.hold_until <= now
        ]

    async def pass_once(self, only: int | None = None) -> bool:
        """One batch from the first campaign with due work; False when there was none."""
        if not await self.relay.ready():
            return False
        for campaign in await self.sending_campaigns(only):
            if self._benched.get(campaign.id, utcnow()) > utcnow():
                continue
            try:
                if await self.run_batch(campaign):
                    return True
            except IncidentSvcError as exc:
                if not self.tolerate or isinstance(exc, DatabaseError):
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

    def idle_seconds(self, wanted: float) -> float:
        """How long a lane may wait for new work: less when a relay probe comes sooner."""
        if self.relay.is_open:  # nothing can go out before the next probe
            return max(0.02, self.relay.seconds_to_probe())
        return wanted


def next_step(kind: AttemptOutcome, attempt: int, policy: RetryPolicy) -> str:
    """What happens to a delivery after a failed attempt, in words."""
    if kind is AttemptOutcome.PERMANENT:
        return "failed for good (not retried)"
    if policy.gives_up_after(attempt):
        return f"failed for good after {attempt} attempts (delivery.max_attempts)"
    nominal = min(policy.max_seconds, policy.base_seconds * 2.0 ** min(attempt - 1, 62))
    return (
        f"retried in {_span(nominal / 2)} to {_span(nominal)} "
        f"(attempt {attempt} of {policy.max_attempts})"
    )


def _span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.1f} s"
