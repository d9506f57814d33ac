"""Small helpers for raw SQL that runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

_QMARK = re.compile(r"\?")


def params(dialect: str, sql: str) -> str:
    """Write queries with ``?``; PostgreSQL gets ``$1, $2, ...``."""
    if dialect != "postgres":
        return sql
    counter = iter(range(1, 10_000))
    return _QMARK.sub(lambda _: f"${next(counter)}", sql)


def db_time(dialect: str, moment: datetime) -> Any:
    """A UTC time as the backend stores it (SQLite: the text Tortoise writes)."""
    return moment if dialect == "postgres" else str(moment)


def differs(dialect: str) -> str:
    """The null-safe inequality operator."""
    return "IS DISTINCT FROM" if dialect == "postgres" else "IS NOT"


def temp_table(dialect: str, name: str, columns: str) -> list[str]:
    """Statements that (re)create a temporary table living until the transaction ends."""
    if dialect == "postgres":
        return [f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP"]
    return [f"DROP TABLE IF EXISTS temp.{name}", f"CREATE TEMP TABLE {name} ({columns})"]


def time_param(dialect: str) -> str:
    """A placeholder for a time parameter that PostgreSQL can type on its own."""
    return "CAST(? AS TIMESTAMPTZ)" if dialect == "postgres" else "?"


async def written_rows(conn: BaseDBAsyncClient, dialect: str, sql: str, values: list[Any]) -> int:
    """Run an INSERT (or upsert) written with ``?`` and return how many rows it wrote."""
    if dialect == "postgres":
        # Tortoise reads the count from the command tag, where INSERT's second word is an OID
        counted = f"WITH written AS ({sql} RETURNING 1) SELECT COUNT(*) AS n FROM written"
        rows = await conn.execute_query_dict(params(dialect, counted), values)
        return int(rows[0]["n"])
    changes, _ = await conn.execute_query(sql, values)
    return changes
