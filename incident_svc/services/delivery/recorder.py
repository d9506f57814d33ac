"""Group commit of delivery outcomes: record what the relay accepted as soon as possible.

Outcomes arrive one by one as connections finish; the recorder commits whatever has
accumulated each time the previous commit is done. A crash can then only repeat messages
accepted during the one commit in progress, not a whole batch, while the database still
sees few, larger transactions when the relay is faster than it.

A commit that takes seconds is riding out a database fault (services.delivery.dispatch_engine):
:meth:`Recorder.stuck` tells the senders to hand out no further messages meanwhile, so that
if the fault outlasts the process, few answers are lost with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from incident_svc.services.delivery.outbox import Outcome

Flush = Callable[[list[Outcome]], Awaitable[None]]


class Recorder:
    def __init__(self, flush: Flush) -> None:
        self._flush = flush
        self._pending: list[Outcome] = []
        self._task: asyncio.Task[None] | None = None
        self._flushing_since: float | None = None
        self.flushes = 0

    def stuck(self, limit: float) -> bool:
        """True while the commit in progress has taken longer than ``limit`` seconds."""
        since = self._flushing_since
        return since is not None and time.monotonic() - since > limit

    def add(self, outcome: Outcome) -> None:
        self._pending.append(outcome)
        if self._task is None or self._task.done():
            if self._task is not None:
                self._task.result()  # a failed commit surfaces here, not silently
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending:
            chunk, self._pending = self._pending, []
            self.flushes += 1
            self._flushing_since = time.monotonic()
            try:
                await self._flush(chunk)
            finally:
                self._flushing_since = None

    async def close(self) -> None:
        """Wait until everything added so far is committed (or raise why it was not)."""
        if self._task is not None:
            await self._task
        if self._pending:
            await self._drain()
