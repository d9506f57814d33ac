"""Playing an exercise: catching up on injects, and `exercise run` (sink, service, injects).

`exercise run` is the exercise's own service process: the development mail sink on the
exercise's port (a Maildir in its folder), `serve` on the exercise's settings (scheduler,
delivery workers, and the feed under ``/exercises/NAME`` only), and a ticker that applies
injects as the exercise clock reaches their hour. At the end of the timeline it stops itself
as SIGTERM would stop `serve`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

from incident_svc import db
from incident_svc.config import Settings
from incident_svc.mail.sink import Stored
from incident_svc.mail.sink import serve as sink_serve
from incident_svc.services.exercises import injects, isolation, registry
from incident_svc.services.exercises.injects import Applied
from incident_svc.services.exercises.registry import Exercise

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0


async def catch_up(exercise: Exercise, settings: Settings, var_dir: Path) -> list[Applied]:
    """Apply the injects whose exercise hour has come (the exercise database is open)."""
    return await injects.catch_up(
        scenario=isolation.scenario_of(var_dir, exercise),
        ref=exercise.incident_ref,
        clock=exercise.clock(),
        settings=settings,
    )


async def _ticker(
    exercise: Exercise,
    settings: Settings,
    var_dir: Path,
    say: Callable[[str], None],
) -> None:
    """Apply injects as their hour comes; at the timeline's end (or on a failure) stop
    `serve` as SIGTERM does. Its own database context: Tortoise's state is per task context,
    and this task starts before `serve` opens the database."""
    clock = exercise.clock()
    stop_serve = True
    try:
        async with db.database(settings.database_url, create=False):
            while True:
                for applied in await catch_up(exercise, settings, var_dir):
                    inject = applied.inject
                    say(f"hour {inject.hour:g}: {inject.kind}: {applied.summary}")
                if clock.hour() >= exercise.hours:
                    say(f"hour {exercise.hours:g}: the timeline is complete; stopping")
                    return
                await asyncio.sleep(TICK_SECONDS)
    except asyncio.CancelledError:
        stop_serve = False  # `serve` stopped first (a signal): nothing left to stop
        raise
    finally:
        if stop_serve:
            os.kill(os.getpid(), signal.SIGTERM)  # `serve` stops cleanly on it


async def run(
    exercise: Exercise,
    settings: Settings,
    var_dir: Path,
    *,
    say: Callable[[str], None],
) -> None:
    """Run the exercise's sink, service and injects until the timeline ends or a signal."""
    from incident_svc.runtime.service import ServeOptions, serve

    scenario = isolation.scenario_of(var_dir, exercise)
    maildir = registry.folder(var_dir, exercise.name) / "mail"

    def stored(message: Stored) -> None:
        say(f"mail sink: {message.line()}")

    with isolation.activate(exercise, scenario):
        async with sink_serve(
            host=isolation.SINK_HOST, port=exercise.sink_port, maildir=maildir, announce=stored
        ):
            ticker = asyncio.create_task(_ticker(exercise, settings, var_dir, say))
            try:
                await serve(
                    settings, ServeOptions(host=isolation.SINK_HOST, port=exercise.feed_port)
                )
            finally:
                if not ticker.done():
                    ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
            if not ticker.cancelled() and ticker.exception() is not None:
                raise ticker.exception()  # type: ignore[misc]
