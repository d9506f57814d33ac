"""Reading and validating the rows of an import, in the importing process or in one worker.

For a large file one worker process reads and validates while the importing process only
writes the staging table, so the two cores share the work and only checked chunks cross
between them (at most ``IN_FLIGHT`` at a time, which bounds the memory). The worker imports
nothing but the reader and the row validators; it is started with spawn, not fork, because
the parent has database threads whose locks a fork would copy.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import queue as queues
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incident_svc.domain.inventory_fast import validate_chunk
from incident_svc.domain.inventory_rows import Problem
from incident_svc.errors import ValidationError
from incident_svc.parent_watch import exit_with_parent
from incident_svc.services.inventory.reader import Row, Source

CHUNK_ROWS = 10_000
IN_FLIGHT = 2
_POLL_SECONDS = 1.0


@dataclass
class Checked:
    """One chunk after validation: good rows ``(line, *values)``, problems, raw rows by line."""

    good: list[tuple[Any, ...]]
    problems: list[Problem]
    raw: dict[int, list[str]]
    bytes_read: int


class WorkerFailed(RuntimeError):
    """The worker process stopped without finishing the file."""


def check_file(source: Source) -> Iterator[Checked]:
    """Read and validate ``source`` chunk by chunk, in the calling process."""
    for rows, problems in source.chunks(CHUNK_ROWS):
        good, bad = validate_chunk(source.kind, rows)
        yield _checked(rows, good, problems + bad, source.bytes_read)


async def checked_chunks(source: Source, *, worker: bool) -> AsyncIterator[Checked]:
    """Checked chunks in file order; with ``worker``, read and validated in another process."""
    if not worker:
        for checked in check_file(source):
            yield checked
        return
    context = multiprocessing.get_context("spawn")
    channel: Any = context.Queue(IN_FLIGHT)
    args = (source.path, source.kind, source.fmt, source.ignore_extra, channel, os.getpid())
    process = context.Process(target=_produce, args=args, daemon=True)
    process.start()
    try:
        while True:
            tag, *body = await asyncio.to_thread(_receive, channel, process)
            if tag == "chunk":
                source.bytes_read = body[0].bytes_read
                yield body[0]
            elif tag == "done":
                source.sha256_from_worker = body[0]
                return
            elif tag == "invalid":
                reason, file, line, field = body
                raise ValidationError(reason, file=file, line=line, field=field)
            else:
                raise WorkerFailed(f"reading {source.path} failed: {body[0]}")
    finally:
        if process.is_alive():
            process.terminate()
        process.join()


def _receive(channel: Any, process: Any) -> tuple[Any, ...]:
    while True:
        try:
            return channel.get(timeout=_POLL_SECONDS)  # type: ignore[no-any-return]
        except queues.Empty:
            if not process.is_alive():
                ended = f"the reading process ended (exit code {process.exitcode})"
                raise WorkerFailed(ended) from None


def _produce(
    path: Path, kind: str, fmt: str, ignore_extra: bool, channel: Any, parent_pid: int
) -> None:
    """The worker: every checked chunk, then the file's SHA-256 (or what stopped it)."""
    exit_with_parent(parent_pid)  # a killed importer leaves no worker blocked on its queue
    # the chunks hold no reference cycles, and collecting while millions of rows pass
    # costs a third of the reading time
    gc.disable()
    source = Source(path, kind, fmt, ignore_extra)
    try:
        for checked in check_file(source):
            channel.put(("chunk", checked))
        channel.put(("done", source.sha256))
    except ValidationError as exc:
        channel.put(("invalid", exc.reason, exc.file, exc.line, exc.field))
    except Exception as exc:  # reported to the importer, which raises it
        channel.put(("failed", repr(exc)))


def _checked(
    rows: list[Row], good: list[tuple[Any, ...]], problems: list[Problem], bytes_read: int
) -> Checked:
    bad_lines = {problem[0] for problem in problems}
    raw = {line: values for line, values in rows if line in bad_lines} if bad_lines else {}
    return Checked(good=good, problems=sorted(problems), raw=raw, bytes_read=bytes_read)
