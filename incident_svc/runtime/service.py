"""The service process: scheduler, dispatcher workers and the HTTP server in one event loop.

Start: open the database (refusing a schema the code does not match), rebuild the scheduler's
alarms from it, start the dispatcher workers, then the HTTP server.

Stop, on the first SIGTERM or SIGINT: the scheduler stops firing, the dispatchers stop
claiming and finish or release what they hold, the HTTP server finishes open requests; all
of that within ``scheduler.shutdown_grace_seconds``, after which what is left is cancelled
(claims then return to the pool when their lease expires). Then SMTP and the database are
closed and the process exits 0. A second signal cuts the wait short.

A dispatcher worker that fails is started again after a pause (runtime/supervision.py) while
/healthz answers 503; the HTTP server ending on its own (a port already in use) stops the
whole process with an error, so that its supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from incident_svc.config import Settings
from incident_svc.db import database
from incident_svc.domain.times import utcnow
from incident_svc.runtime.supervision import supervise
from incident_svc.runtime.wiring import Dispatcher, Parts, open_parts
from incident_svc.scheduling import ServiceScheduler
from incident_svc.service_status import ServiceStatus
from incident_svc.services.auditlog import audit_policy
from incident_svc.services.relay.relay_state import relay_name

log = logging.getLogger(__name__)
SERVICE_ACTOR = "service"


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    feed: bool = True
    dispatch: bool = True
    scheduler: bool = True


@dataclass
class _Running:
    status: ServiceStatus
    scheduler: ServiceScheduler | None = None
    server: uvicorn.Server | None = None
    server_task: asyncio.Task[None] | None = None
    dispatch_stop: asyncio.Event = field(default_factory=asyncio.Event)

    def tasks(self) -> list[asyncio.Task[None]]:
        server = [self.server_task] if self.server_task else []
        return [*self.status.workers, *server]

    def in_flight(self) -> list[asyncio.Task[Any]]:
        jobs = self.scheduler.inflight() if self.scheduler else []
        return [task for task in [*self.tasks(), *jobs] if not task.done()]


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: this process owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: Settings, options: ServeOptions) -> None:
    """Run until SIGTERM or SIGINT; return once everything is closed."""
    stop, force = asyncio.Event(), asyncio.Event()
    with _signals_set(stop, force):
        async with database(settings.database_url, create=False):
            await audit_policy.key_for_serve(settings, actor=SERVICE_ACTOR)
            async with open_parts(settings) as parts:
                running = await _start(settings, options, parts)
                try:
                    failed = await _wait_for_stop(stop, running.tasks())
                finally:
                    await _stop(running, settings.scheduler.shutdown_grace_seconds, force)
    if failed is not None:
        raise failed


async def _start(settings: Settings, options: ServeOptions, parts: Parts) -> _Running:
    status = ServiceStatus(
        poll_seconds=settings.scheduler.poll_seconds,
        dispatch_enabled=options.dispatch,
        started_at=utcnow(),
        relay=relay_name(settings.smtp),
    )
    running = _Running(status=status)
    if options.scheduler:
        running.scheduler = ServiceScheduler(
            settings=settings,
            actions=parts.actions,
            checkpoint=parts.checkpoint,
            imap_poll=parts.imap_poll,
            retention=parts.retention,
        )
        status.scheduler = running.scheduler
        await running.scheduler.start()
    if options.dispatch:
        status.workers = _start_workers(settings, parts.dispatcher, running.dispatch_stop, status)
    app = parts.web_app(status, options.feed)
    running.server = _Server(
        uvicorn.Config(app, host=options.host, port=options.port, log_config=None, access_log=False)
    )
    running.server_task = asyncio.create_task(running.server.serve(), name="http")
    log.info(
        "serving on http://%s:%s (scheduler %s, dispatcher %s, feed %s)",
        options.host,
        options.port,
        *("on" if on else "off" for on in (options.scheduler, options.dispatch, options.feed)),
    )
    return running


def _start_workers(
    settings: Settings, dispatcher: Dispatcher, stop: asyncio.Event, status: ServiceStatus
) -> list[asyncio.Task[None]]:
    prefix = f"{socket.gethostname()}:{os.getpid()}"

    def worker(n: int) -> asyncio.Task[None]:
        name = f"dispatcher-{n}"

        def run(start: int) -> Coroutine[Any, Any, None]:
            worker_id = f"{prefix}:{n}" + (f".{start}" if start else "")
            return dispatcher(settings=settings, stop=stop, worker_id=worker_id)

        return asyncio.create_task(supervise(name, run, stop=stop, status=status), name=name)

    return [worker(n) for n in range(settings.delivery.workers)]


async def _wait_for_stop(
    stop: asyncio.Event, tasks: list[asyncio.Task[None]]
) -> BaseException | None:
    """Wait for a signal, or for a part to end on its own (which is a failure)."""
    stopper = asyncio.create_task(stop.wait(), name="signal")
    try:
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    ended = [task for task in done if task is not stopper]
    if not ended:
        return None
    task = ended[0]
    error = None if task.cancelled() else task.exception()
    log.error("%s ended on its own (%s): stopping the service", task.get_name(), error)
    return error or RuntimeError(f"{task.get_name()} ended on its own")


async def _stop(running: _Running, grace: float, force: asyncio.Event) -> None:
    log.info("stopping: no new work; in-flight work has %.0f s", grace)
    running.dispatch_stop.set()
    if running.server is not None:
        running.server.should_exit = True
    if running.scheduler is not None:
        running.scheduler.shutdown()
    pending = running.in_flight()
    if pending:
        everything: asyncio.Future[Any] = asyncio.gather(*pending, return_exceptions=True)
        forced: asyncio.Future[Any] = asyncio.create_task(force.wait())
        await asyncio.wait([everything, forced], timeout=grace, return_when=asyncio.FIRST_COMPLETED)
        forced.cancel()
    leftover = running.in_flight()
    for task in leftover:
        log.warning("%s did not finish within the grace time: cancelled", task.get_name())
        task.cancel()
    await asyncio.gather(*leftover, return_exceptions=True)
    log.info("stopped")


@contextlib.contextmanager
def _signals_set(stop: asyncio.Event, force: asyncio.Event) -> Iterator[None]:
    """SIGTERM/SIGINT set ``stop``; a second one sets ``force``."""
    loop = asyncio.get_running_loop()

    def handle(signum: int) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            log.warning("%s again: not waiting any longer", name)
            force.set()
        else:
            log.info("%s received", name)
            stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, handle, signum)
    try:
        yield
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
