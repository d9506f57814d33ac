"""``register export``: the breach register of every incident, as CSV or JSON Lines.

GDPR Art. 33(5) asks for a record of every personal data breach, notified or not: its facts,
its effects, the remedial action, and (EDPB Guidelines 9/2022) the reasons for each decision.
One row per incident, oldest first: the incident's facts and counts, its obligations with
their status, and every decision with who made it and why (obligation records, status
changes, holds). In CSV, lists and objects are JSON text in their cell, and a cell that a
spreadsheet would run as a formula is escaped (domain/csv_cells.py: ``safe_cell``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any, TextIO

from incident_svc.compliance_rules import load_rules
from incident_svc.config import Settings
from incident_svc.domain.compliance import compute_obligations
from incident_svc.domain.csv_cells import safe_cell
from incident_svc.domain.reports.register import COLUMNS, register_row
from incident_svc.errors import ValidationError
from incident_svc.models import Incident
from incident_svc.services.obligations import report_facts
from incident_svc.services.obligations.compute import fulfilments_of, gather_facts
from incident_svc.services.obligations.residence import census

FORMATS = ("csv", "jsonl")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError(f"{fmt!r} is not one of {', '.join(FORMATS)}", field="--format")
    return fmt


async def rows(*, settings: Settings, now: datetime) -> AsyncIterator[dict[str, Any]]:
    """One register entry per incident, oldest discovery first."""
    rules = load_rules(settings)
    for incident in await Incident.all().order_by("discovered_at", "id"):
        counted = await census(incident.id)
        recorded = await gather_facts(incident, settings, counted)
        obligations = compute_obligations(
            rules,
            recorded,
            now=now,
            fulfilments=await fulfilments_of(incident.id),
            reach=counted.reach,
        )
        facts = await report_facts.load(incident, settings, recorded)
        yield register_row(facts, obligations)


def cell(value: Any) -> str:
    """One CSV cell: lists, objects and booleans as JSON, None as empty, formulas escaped."""
    if value is None:
        return ""
    if isinstance(value, list | dict | bool):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(safe_cell(str(value)))


async def write(out: TextIO, *, fmt: str, settings: Settings, now: datetime) -> int:
    """Write the register to ``out``; returns the number of incidents."""
    check_format(fmt)
    return write_rows(out, [row async for row in rows(settings=settings, now=now)], fmt=fmt)


def write_rows(out: TextIO, entries: Iterable[dict[str, Any]], *, fmt: str) -> int:
    """Write register entries as CSV (with a header) or JSON Lines; returns how many."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS) if check_format(fmt) == "csv" else None
    if writer is not None:
        writer.writeheader()
    count = 0
    for row in entries:
        if writer is not None:
            writer.writerow({key: cell(row[key]) for key in COLUMNS})
        else:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
