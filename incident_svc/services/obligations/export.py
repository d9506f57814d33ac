"""Write an incident's obligations to a file: JSON (an array of objects) or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from incident_svc.domain.compliance import Obligation
from incident_svc.domain.csv_cells import safe_cell
from incident_svc.errors import ValidationError
from incident_svc.services.files.export_file import export_file

COLUMNS = [
    "key", "rule", "regime", "jurisdiction", "recipient", "recipient_kind", "clock", "clock_at",
    "due_at", "due_at_local", "standard", "seconds_left", "status", "applicability", "reason", "residents",
    "residents_state_unknown", "threshold", "met_at", "met_late", "reference", "late_reason",
    "decided_by", "citation", "confidence", "reviewed_by", "reviewed_at",
]  # fmt: skip


def export_format(path: Path) -> str:
    chosen = {".json": "json", ".csv": "csv"}.get(path.suffix.lower())
    if chosen is None:
        raise ValidationError("name a .json or .csv file", file=str(path), field="export")
    return chosen


def write(
    path: Path,
    obligations: Sequence[Obligation],
    now: datetime,
    zone: str = "UTC",
    *,
    force: bool = False,
) -> int:
    """Write every obligation (due times in UTC and in ``zone``) through services/files/export_file.py
    (complete or not at all; an existing file only with ``force``); returns how many."""
    fmt = export_format(path)
    rows = [o.as_dict(now, zone) for o in obligations]
    with export_file(path, force=force) as out:
        if fmt == "json":
            json.dump(rows, out, ensure_ascii=False, indent=2)
            out.write("\n")
        else:
            writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(_cells(row) for row in rows)
    return len(rows)


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    return {key: safe_cell(value) for key, value in row.items()}
