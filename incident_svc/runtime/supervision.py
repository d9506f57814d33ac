"""Keep a dispatcher worker running: after a failure, log it, wait, and start it again.

A worker fails when something it cannot handle itself goes wrong (the database gone for
longer than a query, a campaign whose templates no longer compose). The rest of the process
(the banner feed, the scheduler) must not go down with it, and a supervisor restarting the
whole process would only fail the same way again. So the worker is restarted here after a
pause that doubles up to ``MAX_PAUSE_SECONDS``; meanwhile /healthz answers 503 naming it and
the error is in the log with its traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from incident_svc.runtime.status import ServiceStatus

log = logging.getLogger(__name__)

MAX_PAUSE_SECONDS = 300.0
FIRST_PAUSE_POLLS = 5  # the first pause, in scheduler polls


async def supervise(
    name: str,
    run: Callable[[], Coroutine[Any, Any, None]],
    *,
    stop: asyncio.Event,
    status: ServiceStatus,
) -> None:
    """Run ``run()`` until ``stop`` is set, restarting it after each failure."""
    pause = status.poll_seconds * FIRST_PAUSE_POLLS
    while not stop.is_set():
        try:
            await run()
            return
        except Exception:
            status.failing.add(name)
            status.restarts += 1
            log.exception("%s failed; starting it again in %.0f s", name, pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
        status.failing.discard(name)
        pause = min(pause * 2, MAX_PAUSE_SECONDS)
