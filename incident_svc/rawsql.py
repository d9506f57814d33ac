"""Raw SQL that runs on SQLite and PostgreSQL alike: the one helper for it.

Queries are written with ``?`` placeholders; PostgreSQL gets ``$1, $2, ...``. Timestamps
read back come as text on SQLite and as datetimes on PostgreSQL; ``as_utc`` evens that out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.db import dialect


def params(dialect_name: str, sql: str) -> str:
    """Write ``?`` placeholders as ``$1, $2, ...`` on PostgreSQL (no ``?`` inside literals)."""
    if dialect_name != "postgres":
        return sql
    parts = sql.split("?")
    out = [parts[0]]
    for number, part in enumerate(parts[1:], start=1):
        out.append(f"${number}{part}")
    return "".join(out)


def placeholders(sql: str, conn: BaseDBAsyncClient) -> str:
    """``params`` for the backend of ``conn``."""
    return params(dialect(conn), sql)


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


def db_time(dialect_name: str, moment: datetime) -> Any:
    """A UTC time as the backend stores it (SQLite: the text Tortoise writes)."""
    return moment if dialect_name == "postgres" else str(moment)


def differs(dialect_name: str) -> str:
    """The null-safe inequality operator."""
    return "IS DISTINCT FROM" if dialect_name == "postgres" else "IS NOT"


def temp_table(dialect_name: str, name: str, columns: str) -> list[str]:
    """Statements that (re)create a temporary table living until the transaction ends."""
    if dialect_name == "postgres":
        return [f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP"]
    return [f"DROP TABLE IF EXISTS temp.{name}", f"CREATE TEMP TABLE {name} ({columns})"]


def time_param(dialect_name: str) -> str:
    """A placeholder for a time parameter that PostgreSQL can type on its own."""
    return "CAST(? AS TIMESTAMPTZ)" if dialect_name == "postgres" else "?"


async def query(conn: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts, for either backend (also from ``UPDATE ... RETURNING``)."""
    rows = await conn.execute_query_dict(placeholders(sql, conn), values)
    return [dict(row) for row in rows]


async def written_rows(
    conn: BaseDBAsyncClient, dialect_name: str, sql: str, values: list[Any]
) -> int:
    """Run an INSERT (or upsert) written with ``?`` and return how many rows it wrote."""
    if dialect_name == "postgres":
        # Tortoise reads the count from the command tag, where INSERT's second word is an OID
        counted = f"WITH written AS ({sql} RETURNING 1) SELECT COUNT(*) AS n FROM written"
        rows = await conn.execute_query_dict(params(dialect_name, counted), values)
        return int(rows[0]["n"])
    # not Tortoise's count (the connection's total_changes), which also counts the rows the
    # database's triggers wrote (migration 0014: a subject's residence moves their exposures);
    # changes() counts the statement's own rows. Called inside a transaction, which holds the
    # one connection, so no other statement runs in between.
    await conn.execute_query(sql, values)
    rows = await conn.execute_query_dict("SELECT changes() AS n")
    return int(rows[0]["n"])
