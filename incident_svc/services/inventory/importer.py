"""One import: read, validate, stage, check, upsert and audit, all in one transaction.

All or nothing by default: any problem and the transaction rolls back, so nothing is written.
With ``skip_invalid`` the good rows are written and each bad one goes to a rejects file
(JSON Lines: line, field, reason, row).
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from incident_svc.db import dialect, write_transaction
from incident_svc.domain.inventory_rows import Problem, column_names
from incident_svc.domain.times import utcnow
from incident_svc.errors import ValidationError
from incident_svc.services.auditlog import audit
from incident_svc.services.files.export_file import export_file
from incident_svc.services.files.input_file import regular_size
from incident_svc.services.inventory.reader import Source, detect_format
from incident_svc.services.inventory.staging import Stage
from incident_svc.services.inventory.validation import checked_chunks

PARALLEL_FROM_BYTES = 4 * 1024 * 1024
SHOWN_PROBLEMS = 20
_SURROGATE = re.compile("[\ud800-\udfff]")
Progress = Callable[[int, int], None]  # bytes read, rows read


class ImportRejected(ValidationError):
    """The file had problems; nothing was written. ``problems`` holds the first few."""

    def __init__(self, path: Path, problems: list[Problem], total: int) -> None:
        line, field, reason = problems[0]
        more = f" ({total} problems in all; nothing was written)" if total > 1 else ""
        super().__init__(f"{reason}{more}", file=str(path), line=line, field=field)
        self.problems = problems
        self.total = total


@dataclass(frozen=True)
class ImportResult:
    kind: str
    file: str
    sha256: str
    format: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    rejects_file: str | None
    seconds: float

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "changed": self.changed}


class _Problems:
    """Counts problems, keeps the first few, and writes rejects when skipping."""

    def __init__(self, kind: str, rejects: IO[str] | None) -> None:
        self.names = column_names(kind)
        self.rejects = rejects
        self.total = 0
        self.first: list[Problem] = []

    def add(self, problems: Sequence[Problem], rows: dict[int, Any]) -> None:
        self.total += len(problems)
        self.first = sorted(self.first + list(problems))[:SHOWN_PROBLEMS]
        if self.rejects is None:
            return
        for line, field, reason in problems:
            row = rows.get(line)
            if isinstance(row, list):
                row = dict(zip(self.names, row, strict=False))
            record = {"line": line, "field": field, "reason": reason, "row": row}
            text = json.dumps(record, ensure_ascii=False, default=str)
            if _SURROGATE.search(text):  # bytes that were not UTF-8: kept, as \u escapes
                text = json.dumps(record, default=str)
            self.rejects.write(text + "\n")


async def import_file(
    *,
    kind: str,
    path: Path,
    actor: str,
    key: bytes | None,
    fmt: str | None = None,
    ignore_extra: bool = False,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    parallel: bool | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import one inventory file (accounts, subjects or holdings); see the module docstring."""
    size = regular_size(path)  # a device, a FIFO or a folder is refused unread
    source = Source(path, kind, detect_format(path, fmt), ignore_extra)
    if parallel is None:
        parallel = size >= PARALLEL_FROM_BYTES
    rejects_path = (
        (rejects_path or path.with_name(path.name + ".rejects.jsonl")) if skip_invalid else None
    )
    started = time.perf_counter()
    with _open_rejects(rejects_path) as rejects:
        problems = _Problems(kind, rejects)
        result = await _run(source, problems, parallel, actor, key, progress)
    return ImportResult(
        **result,
        rejects_file=str(rejects_path) if rejects_path else None,
        seconds=round(time.perf_counter() - started, 3),
    )


def _open_rejects(path: Path | None) -> Any:
    if path is None:
        return contextlib.nullcontext(None)
    # replaced on each run (it is named after the input), written whole or not at all
    return export_file(path, force=True)


async def _run(
    source: Source,
    problems: _Problems,
    worker: bool,
    actor: str,
    key: bytes | None,
    progress: Progress | None,
) -> dict[str, Any]:
    async with write_transaction() as conn:
        stage = Stage(conn, dialect(conn), source.kind)
        await stage.create()
        rows = 0
        async for checked in checked_chunks(source, worker=worker):
            rows += len(checked.good) + len(checked.problems)
            await stage.add(checked.good)
            problems.add(checked.problems, checked.raw)
            if progress:
                progress(source.bytes_read, rows)
        await _set_checks(stage, problems)
        if problems.total and problems.rejects is None:
            raise ImportRejected(source.path, problems.first, problems.total)
        inserted, updated = await stage.write(utcnow())
        staged = await stage.count()
        await stage.drop()
        counts = {
            "rows": rows,
            "inserted": inserted,
            "updated": updated,
            "unchanged": staged - inserted - updated,
            "rejected": problems.total,
        }
        await audit.record(
            conn,
            actor=actor,
            action=f"{source.kind}.import",
            target_type="inventory",
            target_id=source.kind,
            details={"file": source.path.name, "sha256": source.sha256, **counts},
            key=key,
        )
    return {
        "kind": source.kind,
        "file": str(source.path),
        "sha256": source.sha256,
        "format": source.fmt,
        **counts,
    }


async def _set_checks(stage: Stage, problems: _Problems) -> None:
    """Duplicates and unknown references; when skipping, take those rows out and repeat."""
    while True:
        found = _one_per_line(await stage.duplicates() + await stage.orphans())
        if not found:
            return
        if problems.rejects is None:
            problems.add(found, {})
            return
        removed = await stage.remove(sorted({line for line, _, _ in found}))
        problems.add(found, {row.pop("line"): row for row in removed})


def _one_per_line(problems: list[Problem]) -> list[Problem]:
    first: dict[int, Problem] = {}
    for problem in sorted(problems):
        first.setdefault(problem[0], problem)
    return list(first.values())
