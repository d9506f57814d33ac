"""Composing in a worker process, so that rendering uses the other core while we send.

Rendering and MIME assembly are pure CPU work; in the sending process they take the time
the SMTP connections need (one interpreter lock). A :class:`ComposeWorker` runs one process
that builds its own composer from a :class:`~incident_svc.notices.composer.ComposerSpec`
(same templates, same MIME skeleton, so the same bytes) and composes whole batches; the
sending process keeps the database reads and the sending.

The worker exits by itself when the process that started it is gone, so a killed sender
leaves no orphan behind.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from incident_svc.parent_watch import exit_with_parent

if TYPE_CHECKING:
    from incident_svc.notices.composer import Composer, ComposerSpec, Facts, OutgoingMessage


_composer: Composer | None = None  # the worker process's own composer


class ComposeWorker:
    """One worker process composing for one composer.

    :meth:`start` launches it in the background; until it has started (a second or so,
    importing the templates' libraries) the composer keeps composing in its own process, so
    sending never waits for the worker.
    """

    def __init__(self, spec: ComposerSpec) -> None:
        self._spec = spec
        self._pool: ProcessPoolExecutor | None = None
        self._started: Future[int] | None = None
        self.batches = 0  # batches composed in the worker so far

    @property
    def pid(self) -> int | None:
        """The worker's process id, once it is ready."""
        return self._started.result() if self._started is not None and self.ready else None

    def start(self) -> None:
        # spawn, not fork: this process has database and executor threads whose locks a
        # fork would copy
        self._pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(self._spec, os.getpid()),
        )
        self._started = self._pool.submit(_ready)

    @property
    def ready(self) -> bool:
        """True once the worker has started and can take batches."""
        started = self._started
        return started is not None and started.done() and started.exception() is None

    async def wait_ready(self) -> None:
        """Until the worker can take batches; raises why it could not start."""
        assert self._started is not None, "start() the worker first"
        await asyncio.wrap_future(self._started)

    async def compose(self, facts: Sequence[Facts], date: str) -> list[OutgoingMessage]:
        """The batch's messages, composed in the worker (errors as the composer raises them).

        Raises :class:`BrokenProcessPool` when the worker died (killed, out of memory); it is
        then closed, and never ready again.
        """
        assert self._pool is not None, "start() the worker first"
        loop = asyncio.get_running_loop()
        try:
            messages = await loop.run_in_executor(self._pool, _compose, list(facts), date)
        except BrokenProcessPool:
            self.close()
            raise
        self.batches += 1
        return messages

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._started is not None:
            self._started.cancel()
            self._started = None


def _start(spec: ComposerSpec, parent_pid: int) -> None:
    global _composer
    exit_with_parent(parent_pid)
    _composer = spec.build()


def _ready() -> int:
    """Runs in the worker once its initializer is done: the worker can take batches."""
    return os.getpid()


def _compose(facts: list[Facts], date: str) -> list[OutgoingMessage]:
    assert _composer is not None, "the worker was not started"
    return _composer.compose_facts(facts, date)
