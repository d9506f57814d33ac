"""Writing an incident's affected list to CSV or JSON Lines, a page at a time.

CSV cells that a spreadsheet would run as a formula get an apostrophe
(:mod:`incident_svc.domain.csv_cells`, OWASP CSV injection).
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from tortoise import connections

from incident_svc.db import dialect
from incident_svc.domain.csv_cells import safe_cell
from incident_svc.errors import ValidationError
from incident_svc.rawsql import params
from incident_svc.services.files.export_file import export_file
from incident_svc.services.incident import incidents

COLUMNS = (
    "external_ref",
    "email",
    "name",
    "locale",
    "jurisdiction",
    "account_ref",
    "role",
    "categories",
    "source",
    "reasons",
)
PAGE = 20_000


def export_format(path: Path, given: str | None) -> str:
    fmt = given or {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(path.suffix.lower())
    if fmt not in {"csv", "jsonl"}:
        raise ValidationError(
            "name the file .csv or .jsonl, or pass --export-format", file=str(path)
        )
    return fmt


async def export(*, ref: str, path: Path, fmt: str | None = None, force: bool = False) -> int:
    """Write every exposure of the incident with the subject's details; returns the count."""
    fmt = export_format(path, fmt)
    with export_file(path, force=force) as handle:
        return await write(handle, ref=ref, fmt=fmt)


async def write(handle: IO[str], *, ref: str, fmt: str) -> int:
    """Write the list to an open file (inside the caller's transaction, if it has one)."""
    incident = await incidents.get(ref=ref)
    written = 0
    writer = csv.writer(handle) if fmt == "csv" else None
    if writer:
        writer.writerow(COLUMNS)
    async for row in _pages(incident.id):
        if writer:
            writer.writerow([safe_cell(_csv_value(row[c])) for c in COLUMNS])
        else:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        written += 1
    return written


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ";".join(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


async def _pages(incident_id: int) -> AsyncIterator[dict[str, Any]]:
    conn = connections.get("default")
    d = dialect(conn)
    last = ""
    while True:
        rows = await conn.execute_query_dict(
            params(
                d,
                "SELECT s.external_ref, s.email, s.name, s.locale, s.jurisdiction, "
                "a.account_ref, s.role, e.categories, e.source, e.reasons FROM exposure e "
                "JOIN subject s ON s.id = e.subject_id LEFT JOIN account a ON a.id = s.account_id "
                f"WHERE e.incident_id = ? AND s.external_ref > ? ORDER BY s.external_ref LIMIT {PAGE}",
            ),
            [incident_id, last],
        )
        if not rows:
            return
        for row in rows:
            yield {
                **row,
                "categories": _json(row["categories"]),
                "reasons": _json(row["reasons"]),
            }
        last = rows[-1]["external_ref"]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
