"""Validating chunks of rows, in worker processes when the file is large.

Email validation costs ~20-30 µs a row; worker processes let both cores share it while the
main process reads the file and writes the staging table.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from incident_svc.domain.inventory_rows import Problem, validate_chunk
from incident_svc.services.inventory.reader import Item, Row

CHUNK_ROWS = 10_000


@dataclass
class Checked:
    """One chunk after validation: good rows ``(line, *values)``, problems, raw rows by line."""

    good: list[tuple[Any, ...]]
    problems: list[Problem]
    raw: dict[int, list[str]]


def chunks(items: Iterable[Item]) -> Iterator[tuple[list[Row], list[Problem]]]:
    rows: list[Row] = []
    problems: list[Problem] = []
    for line, item in items:
        if isinstance(item, list):
            rows.append((line, item))
        else:
            problems.append(item)
        if len(rows) + len(problems) >= CHUNK_ROWS:
            yield rows, problems
            rows, problems = [], []
    if rows or problems:
        yield rows, problems


def _pool(workers: int) -> Executor:
    # spawn, not fork: the parent has database threads whose locks a fork would copy
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def worker_count(parallel: bool) -> int:
    return min(os.cpu_count() or 1, 4) if parallel else 0


async def checked_chunks(
    kind: str, items: Iterable[Item], *, workers: int
) -> AsyncIterator[Checked]:
    """Validate chunk by chunk, in order; at most 2 chunks per worker in flight."""
    if workers <= 0:
        for rows, problems in chunks(items):
            good, bad = validate_chunk(kind, rows)
            yield _checked(rows, good, problems + bad)
        return
    loop = asyncio.get_running_loop()
    pool = _pool(workers)
    pending: deque[tuple[list[Row], list[Problem], Future[Any]]] = deque()
    try:
        for rows, problems in chunks(items):
            pending.append((rows, problems, pool.submit(validate_chunk, kind, rows)))
            if len(pending) >= 2 * workers:
                yield await _finish(loop, pending.popleft())
        while pending:
            yield await _finish(loop, pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def _finish(
    loop: asyncio.AbstractEventLoop, item: tuple[list[Row], list[Problem], Future[Any]]
) -> Checked:
    rows, problems, future = item
    good, bad = await asyncio.wrap_future(future, loop=loop)
    return _checked(rows, good, problems + bad)


def _checked(rows: list[Row], good: list[tuple[Any, ...]], problems: list[Problem]) -> Checked:
    bad_lines = {problem[0] for problem in problems}
    raw = {line: values for line, values in rows if line in bad_lines}
    return Checked(good=good, problems=sorted(problems), raw=raw)
