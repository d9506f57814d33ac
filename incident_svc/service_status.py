"""What the running service knows about its own parts, for /healthz and /metrics."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from incident_svc.scheduling import ServiceScheduler

# A scheduler whose last successful poll is older than this many polls counts as stuck.
STALE_POLLS = 5


@dataclass
class ServiceStatus:
    """Parts of this process; ``None`` / empty means the part was switched off."""

    scheduler: ServiceScheduler | None = None
    poll_seconds: float = 2.0
    dispatch_enabled: bool = False
    workers: list[asyncio.Task[None]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)  # workers waiting to be started again
    restarts: int = 0
    started_at: datetime | None = None
    relay: str | None = None  # "host:port" of the configured SMTP relay

    def scheduler_state(self, now: datetime) -> str:
        """disabled, running, stale (polls failing) or stopped."""
        if self.scheduler is None:
            return "disabled"
        if not self.scheduler.running:
            return "stopped"
        last = self.scheduler.last_poll_at
        limit = timedelta(seconds=self.poll_seconds * STALE_POLLS + 5)
        return "stale" if last is None or now - last > limit else "running"

    def dispatcher_state(self) -> str:
        """disabled, alive (every worker running), restarting (one failed) or dead."""
        if not self.dispatch_enabled:
            return "disabled"
        if not self.workers or any(task.done() for task in self.workers):
            return "dead"
        return "restarting" if self.failing else "alive"

    def alive_workers(self) -> int:
        return sum(1 for task in self.workers if not task.done()) - len(self.failing)
