"""Parsing reports on every core while `bounces ingest` writes the ones parsed before.

Reading a report (``domain/bounce_parse.py``) is pure CPU work and, profiled over a Maildir
of 20,000 reports, about three quarters of what the ingesting process spends; the database
work of a batch is the rest. One interpreter runs one of them at a time, so a large folder
is parsed in worker processes (``bounces.parse_processes``, default one per core but one), a
batch split across them, while the ingesting process reads the next files and writes the batch
before: reading, parsing and writing overlap.

Workers are spawned (not forked: the ingesting process has database threads whose locks a
fork would copy), only once a folder has more than ``bounces.parse_parallel_from`` reports
(a small folder would wait longer for the workers to start than for its parsing), and end
with the process that started them (``parent_watch``). A worker that dies (killed, out of
memory) costs nothing but speed: the pool is closed and the rest is parsed in this process.
Parsing never raises (``bounce_parse.parse``), so a worker's answer is the same as this
process's would be.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from incident_svc.config import Settings
from incident_svc.domain import bounce_parse
from incident_svc.domain.bounce_parse import Parsed, Unreadable
from incident_svc.parent_watch import exit_with_parent

Result = Parsed | Unreadable
log = logging.getLogger(__name__)


def processes(settings: Settings) -> int:
    """Worker processes for a large folder: the setting, else one per core but the one the
    ingesting process uses (on 2 cores, 1 worker: 2 processes for 2 cores measured faster
    than 2 workers, which crowd the ingesting process; BENCHMARKS.md). 0: none."""
    configured = settings.bounces.parse_processes
    return configured if configured is not None else max(0, (os.cpu_count() or 1) - 1)


class ParsePool:
    """Worker processes that parse batches of reports, started on the first large batch."""

    def __init__(self, *, processes: int, parallel_from: int) -> None:
        self._processes = processes
        self._parallel_from = parallel_from
        self._pool: ProcessPoolExecutor | None = None
        self._seen = 0  # reports offered so far
        self.broken = False
        self.batches = 0  # batches parsed in the workers

    def submit(self, raws: list[bytes]) -> asyncio.Future[list[Result]] | None:
        """The batch's parse running in the workers, or None: parse it in this process
        (a small folder so far, no workers configured, or the workers died)."""
        self._seen += len(raws)
        if self.broken or self._processes < 1 or self._seen <= self._parallel_from:
            return None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )
        return asyncio.ensure_future(self._parse(self._pool, raws))

    async def _parse(self, pool: ProcessPoolExecutor, raws: list[bytes]) -> list[Result]:
        loop = asyncio.get_running_loop()
        size = -(-len(raws) // self._processes)  # one slice per worker
        slices = [raws[start : start + size] for start in range(0, len(raws), size)]
        try:
            parts = await asyncio.gather(
                *(loop.run_in_executor(pool, bounce_parse.parse_many, part) for part in slices)
            )
        except BrokenProcessPool:
            if not self.broken:
                log.warning("a report parsing worker died; parsing in this process from now on")
            self.broken = True
            self.close()
            return bounce_parse.parse_many(raws)
        self.batches += 1
        return [result for part in parts for result in part]

    def close(self) -> None:
        """Stop the workers (a batch they are parsing is finished first, the rest dropped)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=not self.broken, cancel_futures=True)


def pool_for(settings: Settings) -> ParsePool:
    return ParsePool(
        processes=processes(settings), parallel_from=settings.bounces.parse_parallel_from
    )
