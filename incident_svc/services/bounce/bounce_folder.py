"""`bounces ingest PATH`: every report of a Maildir or an mbox file, in batches.

A Maildir is read from ``new/`` and ``cur/`` (``tmp/`` holds deliveries still being written),
in name order; an mbox file in its own order. Reading, parsing and writing alternate a batch
at a time (``bounces.batch_size``), so memory stays flat however many reports there are.
Nothing in the folder is moved or changed: ingesting it again changes nothing.
"""

from __future__ import annotations

import asyncio
import mailbox
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from incident_svc.config import Settings
from incident_svc.domain.bounce_parse import Parsed, Unreadable
from incident_svc.errors import NotFoundError, ValidationError
from incident_svc.services.auditlog import audit_key
from incident_svc.services.bounce import bounce_parse_pool, return_paths
from incident_svc.services.bounce.bounces import Incoming, IngestResult, ingest_batch

Progress = Callable[[list[IngestResult]], None]


@dataclass
class FolderSummary:
    path: str
    format: str
    reports: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)  # of the reports recorded now
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "format": self.format,
            "reports": self.reports,
            **{s: self.statuses[s] for s in _STATUSES},
            "outcomes": {o: self.outcomes[o] for o in ("bounced", "delayed", "complained")},
            "seconds": round(self.seconds, 3),
            "per_second": round(self.reports / self.seconds, 1) if self.seconds else None,
        }


_STATUSES = ("recorded", "duplicate", "refused", "unmatched", "unreadable")


def folder_format(path: Path) -> str:
    """``maildir`` or ``mbox``; one line naming the path when it is neither."""
    if not path.exists():
        raise NotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        if (path / "new").is_dir() or (path / "cur").is_dir():
            return "maildir"
        raise ValidationError(f"{path}: a folder but not a Maildir (no new/ or cur/ inside)")
    with path.open("rb") as handle:
        start = handle.read(5)
    if start and start != b"From ":
        raise ValidationError(f"{path}: not an mbox file (it does not start with 'From ')")
    return "mbox"


def count(path: Path, kind: str) -> int | None:
    """How many reports a Maildir holds (for a progress bar); None for an mbox."""
    if kind != "maildir":
        return None
    return sum(len(_names(path / sub)) for sub in ("new", "cur"))


def read(path: Path, kind: str) -> Iterator[Incoming]:
    if kind == "maildir":
        yield from _maildir(path)
    else:
        yield from _mbox(path)


def _names(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(e.name for e in os.scandir(folder) if e.is_file() and not e.name.startswith("."))


def _maildir(path: Path) -> Iterator[Incoming]:
    for sub in ("new", "cur"):
        folder = path / sub
        for name in _names(folder):
            file = folder / name
            try:
                raw = file.read_bytes()
            except OSError as exc:  # removed meanwhile, unreadable: that one report only
                yield Incoming(b"", f"{file} (unreadable: {exc.strerror})")
                continue
            yield Incoming(raw, str(file))


def _mbox(path: Path) -> Iterator[Incoming]:
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.keys(), start=1):
            yield Incoming(box.get_bytes(key), f"{path} message {number}")
    finally:
        box.close()


async def ingest_folder(
    path: Path, *, settings: Settings, actor: str, progress: Progress | None = None
) -> FolderSummary:
    """Ingest every report of ``path``, a batch per transaction; a large folder's batches are
    parsed in worker processes a batch or two ahead of the one being written."""
    kind = folder_format(path)
    paths = return_paths.checker(settings)
    key = audit_key.resolve(settings).key
    summary = FolderSummary(str(path), kind)
    started = time.perf_counter()
    pool = bounce_parse_pool.pool_for(settings)
    ahead: deque[tuple[list[Incoming], asyncio.Future[list[Parsed | Unreadable]] | None]]
    ahead = deque()

    async def write() -> None:
        batch, parsing = ahead.popleft()
        parsed = None if parsing is None else await parsing
        results = await ingest_batch(batch, actor=actor, paths=paths, key=key, parsed=parsed)
        summary.reports += len(results)
        for result in results:
            summary.statuses[result.status] += 1
            if result.status == "recorded" and result.outcome is not None:
                summary.outcomes[result.outcome.value] += 1
        if progress is not None:
            progress(results)

    try:
        for batch in _batches(read(path, kind), settings.bounces.batch_size):
            ahead.append((batch, pool.submit([incoming.raw for incoming in batch])))
            if len(ahead) > _AHEAD:
                await write()
        while ahead:
            await write()
    finally:
        for _, parsing in ahead:
            if parsing is not None:
                parsing.cancel()
        pool.close()
    summary.seconds = time.perf_counter() - started
    return summary


_AHEAD = 6  # batches parsing while one is written


def _batches(reports: Iterator[Incoming], size: int) -> Iterator[list[Incoming]]:
    batch: list[Incoming] = []
    for incoming in reports:
        batch.append(incoming)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
