"""Keep a dispatcher worker running: after a failure, log it, wait, and start it again.

A worker fails when something it cannot handle itself goes wrong (the database gone for
longer than a query, a campaign whose templates no longer compose). The rest of the process
(the banner feed, the scheduler) must not go down with it, and a supervisor restarting the
whole process would only fail the same way again. So the worker is restarted here after a
pause that doubles up to ``MAX_PAUSE_SECONDS``, and goes back to the first pause once the
worker has run healthily for ``HEALTHY_POLLS`` polls (a blip an hour must not grow the pause
forever). Meanwhile /healthz answers 503 naming it (``degraded`` while the database does
not answer: then the worker waits for it like the rest of the process); the log has one line
for an error we can explain (the database unreachable past database.fault_tolerance_seconds,
...), the traceback for anything else. Each start gets its own number, so that a new start never
takes the leases of its predecessor's batches for its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from incident_svc.errors import IncidentSvcError
from incident_svc.service_status import ServiceStatus

log = logging.getLogger(__name__)

MAX_PAUSE_SECONDS = 300.0
FIRST_PAUSE_POLLS = 5  # the first pause, in scheduler polls
HEALTHY_POLLS = 30  # a run this long (in polls) before failing resets the pause


async def supervise(
    name: str,
    run: Callable[[int], Coroutine[Any, Any, None]],
    *,
    stop: asyncio.Event,
    status: ServiceStatus,
) -> None:
    """Run ``run(start_number)`` until ``stop`` is set, restarting it after each failure."""
    first = status.poll_seconds * FIRST_PAUSE_POLLS
    healthy = status.poll_seconds * HEALTHY_POLLS
    pause, starts = first, 0
    while not stop.is_set():
        began = time.monotonic()
        try:
            await run(starts)
            return
        except Exception as exc:
            status.failing.add(name)
            status.restarts += 1
            if time.monotonic() - began >= healthy:
                pause = first
            if isinstance(exc, IncidentSvcError):
                log.error("%s failed: %s; starting it again in %.0f s", name, exc, pause)
            else:
                log.exception("%s failed; starting it again in %.0f s", name, pause)
        starts += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
        status.failing.discard(name)
        pause = min(pause * 2, MAX_PAUSE_SECONDS)
