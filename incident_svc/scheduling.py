"""APScheduler 3.x wiring: the database says what is due, APScheduler is only the clock.

At start and every ``scheduler.poll_seconds`` the scheduler reads the alarms the database
asks for (:mod:`incident_svc.services.wakeups`) and makes its date jobs match them: new rows
get a job, changed times are moved, rows that no longer wait lose theirs. Nothing lives only
in memory, so a restart loses nothing, and a change made with the CLI is picked up at the
next poll without any notification channel.

Every job calls an idempotent service (``start_due``, ``send_due``) that looks at the database
again, so a job that fires twice, late, or in two processes at once does its work once. An
alarm whose time passed while the service was down fires at once: jobs are created with
``misfire_grace_time=None`` and ``coalesce=True`` (APScheduler's default grace of one second
would skip them silently). A job that fails is tried again after ``RETRY_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from incident_svc.config import Settings
from incident_svc.db_faults import fault_reason
from incident_svc.domain.enums import WakeupAction
from incident_svc.domain.times import real_time, utcnow
from incident_svc.domain.wakeups import Wakeup
from incident_svc.services.wakeups import load_plan

log = logging.getLogger(__name__)

POLL_JOB = "poll"
CHECKPOINT_JOB = "audit-checkpoint"
IMAP_JOB = "bounces-imap"
RETENTION_JOB = "retention"
RETENTION_EVERY = timedelta(days=1)
RETENTION_FIRST_AFTER = timedelta(minutes=1)  # not in the rush of a start
RETRY_SECONDS = 30.0
Action = Callable[[datetime], Awaitable[object]]
Clock = Callable[[], datetime]


class ServiceScheduler:
    """Keeps one APScheduler date job per alarm the database asks for."""

    def __init__(
        self,
        *,
        settings: Settings,
        actions: Mapping[WakeupAction, Action],
        clock: Clock = utcnow,
        checkpoint: Action | None = None,
        imap_poll: Action | None = None,
        retention: Action | None = None,
    ) -> None:
        self._settings = settings
        self._actions = dict(actions)
        self._checkpoint = checkpoint
        self._imap_poll = imap_poll
        self._retention = retention
        self._clock = clock
        self._locks = {action: asyncio.Lock() for action in WakeupAction}
        self._retry_after: dict[str, datetime] = {}
        self._planned: dict[str, Wakeup] = {}
        self._inflight: set[asyncio.Task[object]] = set()
        self.last_poll_at: datetime | None = None
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def planned(self) -> dict[str, datetime]:
        """The alarms set now: job id to the time the database asked for."""
        return {job_id: wakeup.at for job_id, wakeup in self._planned.items()}

    def alarm_counts(self) -> dict[WakeupAction, int]:
        """How many alarms are set, by what they do."""
        counts = dict.fromkeys(WakeupAction, 0)
        for wakeup in self._planned.values():
            counts[wakeup.action] += 1
        return counts

    async def start(self) -> None:
        """Build the jobs from the database, then start the clock (inside the running loop)."""
        self._scheduler.start()
        await self.poll()
        self._scheduler.add_job(
            self.poll,
            IntervalTrigger(seconds=self._settings.scheduler.poll_seconds, timezone=UTC),
            id=POLL_JOB,
        )
        if self._checkpoint is not None:
            # asked every poll; it writes a checkpoint only when one is due (audit_checkpoints)
            self._scheduler.add_job(
                self._take_checkpoint,
                IntervalTrigger(seconds=self._settings.scheduler.poll_seconds, timezone=UTC),
                id=CHECKPOINT_JOB,
            )
        if self._retention is not None:
            # daily, when retention.enabled: a run after a missed day catches up by itself
            self._scheduler.add_job(
                self._run_retention,
                IntervalTrigger(seconds=RETENTION_EVERY.total_seconds(), timezone=UTC),
                id=RETENTION_JOB,
                next_run_time=self._clock() + RETENTION_FIRST_AFTER,
            )
        if self._imap_poll is not None:
            # the report mailbox (bounces.imap); max_instances=1 keeps polls from overlapping
            self._scheduler.add_job(
                self._tracked,
                IntervalTrigger(seconds=self._settings.bounces.imap.poll_seconds, timezone=UTC),
                args=[self._imap_poll],
                id=IMAP_JOB,
                next_run_time=self._clock(),
            )

    async def _run_retention(self) -> None:
        assert self._retention is not None
        try:
            await self._tracked(self._retention)
        except Exception as exc:  # a fault is one line; tomorrow's run continues where it stopped
            log.warning("retention run stopped: %s", fault_reason(exc) or exc)

    async def _take_checkpoint(self) -> None:
        assert self._checkpoint is not None
        await self._tracked(self._checkpoint)

    async def _tracked(self, action: Action) -> None:
        """Run a periodic job, known as in flight so that shutdown waits for it."""
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await action(self._clock())
        finally:
            self._inflight.discard(task)  # type: ignore[arg-type]

    def shutdown(self) -> None:
        """Stop firing jobs; a job already running goes on (see :meth:`stop`)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def inflight(self) -> list[asyncio.Task[object]]:
        """Jobs running now (to wait for at shutdown)."""
        return list(self._inflight)

    async def poll(self) -> None:
        """Read the alarms from the database and make the jobs match them.

        A database fault (incident_svc.db_faults) is one warning line: the next poll tries
        again, and /healthz reports the scheduler stale if it lasts (``degraded`` while the
        database does not answer, ``fail`` once it does and the polls still fail).
        """
        now = self._clock()
        try:
            plan = await load_plan(now=now, settings=self._settings)
        except Exception as exc:
            reason = fault_reason(exc)
            if reason is None:
                raise
            log.warning("scheduler poll skipped: the database does not answer (%s)", reason)
            return
        self.reconcile(plan, now=now)
        self.last_poll_at = now

    def reconcile(self, plan: list[Wakeup], *, now: datetime) -> None:
        wanted = {wakeup.job_id: wakeup for wakeup in plan}
        for job in self._scheduler.get_jobs():
            if (
                job.id not in (POLL_JOB, CHECKPOINT_JOB, IMAP_JOB, RETENTION_JOB)
                and job.id not in wanted
            ):
                job.remove()
                self._planned.pop(job.id, None)
        for wakeup in wanted.values():
            self._ensure_job(wakeup, now)

    def _ensure_job(self, wakeup: Wakeup, now: datetime) -> None:
        existing = self._scheduler.get_job(wakeup.job_id)
        if existing is not None and self._planned.get(wakeup.job_id) == wakeup:
            return
        if existing is None and self._retry_after.get(wakeup.job_id, now) > now:
            return
        run_at = real_time(max(wakeup.at, now))  # an exercise's clock runs faster
        self._scheduler.add_job(
            self._fire,
            DateTrigger(run_date=run_at, timezone=UTC),
            args=[wakeup],
            id=wakeup.job_id,
            replace_existing=True,
        )
        self._planned[wakeup.job_id] = wakeup
        log.debug("alarm %s set for %s (%s)", wakeup.job_id, run_at.isoformat(), wakeup.action)

    async def _fire(self, wakeup: Wakeup) -> None:
        now = self._clock()
        late = (now - wakeup.at).total_seconds()
        log.info("alarm %s (%s), %.1f s after its time", wakeup.job_id, wakeup.action, late)
        self._planned.pop(wakeup.job_id, None)
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            async with self._locks[wakeup.action]:
                await self._actions[wakeup.action](now)
        except Exception:
            # APScheduler logs the traceback; the next poll sets the alarm again after a pause
            self._retry_after[wakeup.job_id] = now + timedelta(seconds=RETRY_SECONDS)
            raise
        finally:
            self._inflight.discard(task)  # type: ignore[arg-type]
        self._retry_after.pop(wakeup.job_id, None)
