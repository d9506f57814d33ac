"""Small helpers for raw SQL that runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

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
