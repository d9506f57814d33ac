"""The staging table of one import, and the checks and upsert that run on it as SQL.

Rows that passed the per-row checks go into a temporary table inside the import's
transaction. Checks that need the whole file or the database (a reference twice in the file,
an account or subject that does not exist) are then one query each, and the upsert is one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE (changed)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.domain.inventory_rows import Problem, column_names
from incident_svc.rawsql import (
    db_time,
    differs,
    params,
    temp_table,
    time_param,
    written_rows,
)

PROBLEM_LIMIT = 1000


@dataclass(frozen=True)
class Spec:
    """How one kind is staged and written."""

    kind: str
    table: str
    key: tuple[str, ...]  # unique within a file
    stage_types: str
    parent: tuple[str, str, str] | None  # (stage column, parent table, parent column)


SPECS = {
    "accounts": Spec(
        "accounts",
        "account",
        ("account_ref",),
        "line BIGINT, account_ref TEXT, name TEXT, region TEXT, holder_email TEXT, "
        "holder_name TEXT, locale TEXT",
        None,
    ),
    "subjects": Spec(
        "subjects",
        "subject",
        ("external_ref",),
        "line BIGINT, external_ref TEXT, email TEXT, name TEXT, locale TEXT, jurisdiction TEXT, "
        "account_ref TEXT, role TEXT, marketing_opt_out BOOLEAN, timezone TEXT",
        ("account_ref", "account", "account_ref"),
    ),
    "holdings": Spec(
        "holdings",
        "holding",
        ("external_ref", "system", "category"),
        "line BIGINT, external_ref TEXT, system TEXT, category TEXT",
        ("external_ref", "subject", "external_ref"),
    ),
}
STAGE = "inventory_stage"


class Stage:
    def __init__(self, conn: BaseDBAsyncClient, dialect: str, kind: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.spec = SPECS[kind]
        self.columns = ("line", *column_names(kind))

    def _sql(self, text: str) -> str:
        return params(self.dialect, text)

    # execute_query, not execute_script: Python's sqlite3 commits the open transaction before
    # a script, and the rest of the import would then run outside it, row by row
    async def create(self) -> None:
        for statement in temp_table(self.dialect, STAGE, self.spec.stage_types):
            await self.conn.execute_query(statement)

    async def drop(self) -> None:
        if self.dialect != "postgres":
            await self.conn.execute_query(f"DROP TABLE IF EXISTS temp.{STAGE}")

    async def add(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        marks = ", ".join("?" for _ in self.columns)
        sql = f"INSERT INTO {STAGE} ({', '.join(self.columns)}) VALUES ({marks})"
        # tuples as they are: both drivers take any sequence, and a copy per row costs
        await self.conn.execute_many(self._sql(sql), rows)  # type: ignore[arg-type]

    async def duplicates(self) -> list[Problem]:
        """Every row whose key already appeared on an earlier line."""
        key = ", ".join(self.spec.key)
        join = " AND ".join(f"f.{column} = s.{column}" for column in self.spec.key)
        sql = (
            f"SELECT s.line AS line, f.first AS first FROM {STAGE} s JOIN ("
            f"SELECT {key}, MIN(line) AS first FROM {STAGE} GROUP BY {key} HAVING COUNT(*) > 1"
            f") f ON {join} WHERE s.line > f.first ORDER BY s.line LIMIT {PROBLEM_LIMIT}"
        )
        rows = await self.conn.execute_query_dict(sql)
        field = self.spec.key[0] if len(self.spec.key) == 1 else "+".join(self.spec.key)
        return [
            (r["line"], field, f"duplicate of line {r['first']} in the same file") for r in rows
        ]

    async def orphans(self) -> list[Problem]:
        """Rows naming an account (subjects) or a subject (holdings) that does not exist."""
        if self.spec.parent is None:
            return []
        column, table, parent_column = self.spec.parent
        sql = (
            f"SELECT s.line AS line, s.{column} AS ref FROM {STAGE} s "
            f"WHERE s.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {table} p WHERE p.{parent_column} = s.{column}) "
            f"ORDER BY s.line LIMIT {PROBLEM_LIMIT}"
        )
        rows = await self.conn.execute_query_dict(sql)
        return [(r["line"], column, f"no {table} with reference {r['ref']!r}") for r in rows]

    async def remove(self, lines: Sequence[int]) -> list[dict[str, Any]]:
        """Take rows out of the stage (skip-invalid mode); returns them for the rejects file."""
        if not lines:
            return []
        marks = ", ".join("?" for _ in lines)
        where = f"WHERE line IN ({marks})"
        rows = await self.conn.execute_query_dict(
            self._sql(f"SELECT * FROM {STAGE} {where}"), list(lines)
        )
        await self.conn.execute_query(self._sql(f"DELETE FROM {STAGE} {where}"), list(lines))
        return rows

    async def count(self) -> int:
        rows = await self.conn.execute_query_dict(f"SELECT COUNT(*) AS n FROM {STAGE}")
        return int(rows[0]["n"])

    async def write(self, now: datetime) -> tuple[int, int]:
        """Upsert the stage into the real table: (inserted, updated)."""
        writer = _WRITERS[self.spec.kind]
        new, upsert = writer(self.dialect)
        # the upsert counts the rows it inserted or changed; new rows, when there can be
        # updates at all, are counted before it (one pass over the stage, not two)
        inserted = await self._scalar(new) if new else None
        written = await written_rows(self.conn, self.dialect, upsert, [db_time(self.dialect, now)])
        if inserted is None:
            return written, 0
        return inserted, written - inserted

    async def _scalar(self, sql: str) -> int:
        rows = await self.conn.execute_query_dict(sql)
        return int(rows[0]["n"])


def _changed(dialect: str, table: str, source: str, columns: Sequence[str]) -> str:
    op = differs(dialect)
    return " OR ".join(f"{table}.{c} {op} {source}.{c}" for c in columns)


def _accounts(dialect: str) -> tuple[str | None, str]:
    now = time_param(dialect)
    data = ("name", "region", "holder_email", "holder_name", "locale")
    new = (
        f"SELECT COUNT(*) AS n FROM {STAGE} s WHERE NOT EXISTS "
        "(SELECT 1 FROM account a WHERE a.account_ref = s.account_ref)"
    )
    cols = ", ".join(data)
    upsert = (
        f"INSERT INTO account (account_ref, {cols}, created_at, updated_at) "
        f"SELECT account_ref, {cols}, t.now, t.now FROM {STAGE}, (SELECT {now} AS now) t WHERE true "
        f"ON CONFLICT (account_ref) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in (*data, "updated_at"))
        + f" WHERE {_changed(dialect, 'account', 'excluded', data)}"
    )
    return new, upsert


def _subjects(dialect: str) -> tuple[str | None, str]:
    now = time_param(dialect)
    data = (
        "email",
        "name",
        "locale",
        "jurisdiction",
        "account_id",
        "role",
        "marketing_opt_out",
        "timezone",
    )
    source = (
        "SELECT s.external_ref, s.email, s.name, s.locale, s.jurisdiction, a.id AS account_id, "
        f"s.role, s.marketing_opt_out, s.timezone FROM {STAGE} s "
        "LEFT JOIN account a ON a.account_ref = s.account_ref"
    )
    new = (
        f"SELECT COUNT(*) AS n FROM {STAGE} s WHERE NOT EXISTS "
        "(SELECT 1 FROM subject x WHERE x.external_ref = s.external_ref)"
    )
    cols = ", ".join(data)
    upsert = (
        f"INSERT INTO subject (external_ref, {cols}, email_status, created_at, updated_at) "
        f"SELECT s.external_ref, {', '.join('s.' + c for c in data)}, 'ok', t.now, t.now "
        f"FROM ({source}) s, (SELECT {now} AS now) t WHERE true "
        "ON CONFLICT (external_ref) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in (*data, "updated_at"))
        # a new address is a working one until it bounces (docs/bounces.md)
        + ", email_status = CASE WHEN subject.email = excluded.email "
        "THEN subject.email_status ELSE 'ok' END"
        + f" WHERE {_changed(dialect, 'subject', 'excluded', data)}"
    )
    return new, upsert


def _holdings(dialect: str) -> tuple[str | None, str]:
    """A holding has no data besides its key: every row the upsert writes is a new one."""
    now = time_param(dialect)
    upsert = (
        "INSERT INTO holding (subject_id, system, category, created_at) "
        f"SELECT x.id, s.system, s.category, t.now FROM {STAGE} s "
        f"JOIN subject x ON x.external_ref = s.external_ref, (SELECT {now} AS now) t WHERE true "
        "ON CONFLICT (subject_id, system, category) DO NOTHING"
    )
    return None, upsert


_WRITERS = {"accounts": _accounts, "subjects": _subjects, "holdings": _holdings}
