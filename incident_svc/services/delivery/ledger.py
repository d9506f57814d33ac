"""The proof-of-dispatch ledger of a campaign: one row per delivery, as CSV or JSON Lines.

Each row also names who approved the campaign (proven identity and label), so that a row
read on its own says who decided that it went out.

Rows are read a page at a time in id order, so memory stays flat for a million deliveries.
CSV cells that a spreadsheet would run as a formula are escaped (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from tortoise import connections

from incident_svc.domain.csv_cells import safe_cell
from incident_svc.errors import ValidationError
from incident_svc.rawsql import as_utc, query
from incident_svc.services.delivery import campaign_matter
from incident_svc.services.delivery.campaigns import get
from incident_svc.services.files.export_file import export_file

COLUMNS = [
    "delivery_id",
    "campaign_id",
    "incident",
    "recipient_ref",
    "channel",
    "address",
    "status",
    "attempts",
    "message_id",
    "sent_at",
    "smtp_reply",
    "content_sha256",
    "send_reason",
    "last_error",
    "approver",  # who approved the campaign: the SSH principal, else the role or OS account
    "approved_by",  # the approver's label (--actor)
    "matter",  # what the campaign is about: the incident's ref, POLICY-..., DIS-...
]
PAGE = 5000

_PAGE_SQL = (
    "SELECT id AS delivery_id, campaign_id, recipient_ref, channel, address, status, attempts, "
    "message_id, sent_at, smtp_reply, content_hash AS content_sha256, send_reason, last_error "
    "FROM delivery WHERE campaign_id = ? AND id > ? ORDER BY id LIMIT ?"
)


def format_for(path: Path, requested: str | None) -> str:
    """'csv' or 'jsonl', from --format or the file's suffix."""
    chosen = requested or {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(
        path.suffix.lower()
    )
    if chosen not in {"csv", "jsonl"}:
        raise ValidationError(
            "name the format: a .csv or .jsonl file, or --format csv|jsonl",
            file=str(path),
            field="format",
        )
    return chosen


async def rows(campaign_id: int) -> AsyncIterator[dict[str, Any]]:
    """Every delivery of the campaign with its proof, in id order."""
    campaign = await get(campaign_id)
    last = 0
    while True:
        page = await query(connections.get("default"), _PAGE_SQL, [campaign_id, last, PAGE])
        for row in page:
            row["incident"] = campaign_matter.incident_ref(campaign)
            row["matter"] = campaign_matter.matter_ref(campaign)
            row["approver"] = campaign.approver_principal or campaign.approver_identity
            row["approved_by"] = campaign.approved_by
            sent_at = as_utc(row["sent_at"])
            row["sent_at"] = sent_at.isoformat() if sent_at else None
            yield row
        if len(page) < PAGE:
            return
        last = int(page[-1]["delivery_id"])


async def export(
    *, campaign_id: int, path: Path, fmt: str | None = None, force: bool = False
) -> int:
    """Write the ledger to ``path`` (services/files/export_file.py); returns the number of rows."""
    chosen = format_for(path, fmt)
    await get(campaign_id)  # an unknown campaign is refused before a file is made
    with export_file(path, force=force) as out:
        return await _write(out, campaign_id, chosen)


async def _write(out: IO[str], campaign_id: int, fmt: str) -> int:
    count = 0
    writer = csv.DictWriter(out, fieldnames=COLUMNS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    async for row in rows(campaign_id):
        ordered = {column: row.get(column) for column in COLUMNS}
        if writer is not None:
            writer.writerow({k: safe_cell(v) for k, v in ordered.items()})
        else:
            out.write(json.dumps(ordered, ensure_ascii=False) + "\n")
        count += 1
    return count
