"""Benchmark data: an incident with N affected people, written with a few SQL statements."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime

from tortoise import connections

from incident_svc import db
from incident_svc.db import dialect
from incident_svc.models import Incident

_NUMBERS = {
    "sqlite": "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {n}) ",
    "postgres": "WITH g(n) AS (SELECT generate_series(1, {n})) ",
}

_SUBJECTS = """INSERT INTO subject (external_ref, email, name, locale, jurisdiction, role,
    marketing_opt_out, timezone, email_status, created_at, updated_at)
SELECT 'B-' || n, 'person' || n || '@bench.example', 'Person ' || n,
       CASE WHEN n % 3 = 0 THEN 'zh-Hant' ELSE 'en' END, 'GB', 'participant',
       {opt_out}, 'UTC', 'ok', {now}, {now} FROM g"""

_EXPOSURES = """INSERT INTO exposure (categories, reasons, source, created_at, incident_id, subject_id)
SELECT '["contact"]', '[]', 'holding', {now}, {incident}, s.id FROM subject s"""


TEXTS = {
    "en": {
        "what_happened": "A storage bucket holding contact details was readable from the internet.",
        "consequences": "Someone may use your contact details for convincing phishing.",
        "measures": "We closed the bucket the same day and reviewed every other one.",
        "protective_steps": "Be wary of messages asking for your password; we never ask.",
        "contact": "privacy@example.com",
    },
    "zh-Hant": {
        "what_happened": "一個儲存聯絡資料的儲存區曾可從互聯網讀取。",
        "consequences": "有人可能利用你的聯絡資料發送釣魚訊息。",
        "measures": "我們當日已關閉該儲存區，並檢查了所有其他儲存區。",
        "protective_steps": "請提防要求你提供密碼的訊息；我們從不會這樣做。",
        "contact": "privacy@example.com",
    },
}
DISCOVERED_AT = datetime(2026, 11, 27, tzinfo=UTC)


async def seed(subjects: int) -> int:
    """Write the incident, its people and their exposures; returns the incident id."""
    conn = connections.get("default")
    kind = dialect(conn)
    now = "'2026-11-28 00:00:00+00:00'" if kind == "sqlite" else "now()"
    opt_out = "(n % 10 = 0)" if kind == "postgres" else "n % 10 = 0"
    incident = await Incident.create(
        ref="INC-2026-9999",
        title="Benchmark",
        summary="Benchmark incident",
        severity="high",
        discovered_at=DISCOVERED_AT,
        created_by="bench",
        texts=TEXTS,
    )
    numbers = _NUMBERS[kind].format(n=subjects)
    await conn.execute_script(numbers + _SUBJECTS.format(now=now, opt_out=opt_out))
    await conn.execute_script(_EXPOSURES.format(now=now, incident=incident.id))
    return int(incident.id)


def sqlite_url(directory: str) -> str:
    return f"sqlite://{os.path.join(directory, f'bench-{uuid.uuid4().hex[:8]}.sqlite3')}"


async def _main(url: str, subjects: int) -> None:
    await db.open_database(url)
    try:
        await db.upgrade()
        print(await seed(subjects))
    finally:
        await db.close_database()


if __name__ == "__main__":  # python -m bench.delivery_seed URL N  (prints the incident id)
    asyncio.run(_main(sys.argv[1], int(sys.argv[2])))
