"""Raw SQL that runs on SQLite and PostgreSQL: placeholders and values read back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.db import dialect


def placeholders(sql: str, conn: BaseDBAsyncClient) -> str:
    """Write ``?`` placeholders as ``$1, $2, ...`` on PostgreSQL (no ``?`` inside literals)."""
    if dialect(conn) != "postgres":
        return sql
    parts = sql.split("?")
    out = [parts[0]]
    for number, part in enumerate(parts[1:], start=1):
        out.append(f"${number}{part}")
    return "".join(out)


def in_list(count: int) -> str:
    """``?, ?, ?`` for an IN list of ``count`` values."""
    if count < 1:
        raise ValueError("an IN list needs at least one value")
    return ", ".join("?" * count)


def as_utc(value: Any) -> datetime | None:
    """A timestamp read by raw SQL (text on SQLite, datetime on PostgreSQL) as aware UTC."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


async def query(conn: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts, for either backend (also from ``UPDATE ... RETURNING``)."""
    rows = await conn.execute_query_dict(placeholders(sql, conn), values)
    return [dict(row) for row in rows]
