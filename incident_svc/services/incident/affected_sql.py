"""The SQL of scope resolution, for SQLite and PostgreSQL.

Categories per subject are built as a comma-separated, sorted list by one CASE per
category of the incident (the vocabulary is small and fixed), which gives the same text on
both databases without ordered aggregates (SQLite 3.40 has none). The JSON array stored in
``exposure.categories`` is derived from that text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from incident_svc.domain.scope import JurisdictionFilter

STAGE = "affected_stage"
LISTS = "scope_list"
_SAFE = re.compile(r"[a-z_]+")


def _literal(category: str) -> str:
    if not _SAFE.fullmatch(category):  # vocabulary values only; never user text
        raise ValueError(f"unexpected category {category!r}")
    return category


def categories_csv(categories: Sequence[str], column: str = "h.category") -> str:
    """An aggregate expression: the sorted categories of the group that are in ``categories``."""
    parts = [
        f"CASE WHEN MAX(CASE WHEN {column} = '{_literal(c)}' THEN 1 ELSE 0 END) = 1 "
        f"THEN '{c},' ELSE '' END"
        for c in sorted(categories)
    ]
    return f"rtrim({' || '.join(parts)}, ',')"


def json_from_csv(dialect: str, column: str) -> str:
    text = f"""'["' || replace({column}, ',', '","') || '"]'"""
    return f"CAST({text} AS JSONB)" if dialect == "postgres" else text


def json_type(dialect: str) -> str:
    return "JSONB" if dialect == "postgres" else "TEXT"


def holding_reasons(dialect: str) -> str:
    if dialect == "postgres":
        return (
            "jsonb_agg(jsonb_build_object('source', 'holding', 'system', h.system, "
            "'category', h.category) ORDER BY h.system, h.category)"
        )
    return (
        "json_group_array(json_object('source', 'holding', 'system', h.system, "
        "'category', h.category))"
    )


def list_reason(dialect: str) -> str:
    """One reason naming the include file (its name is the one parameter)."""
    if dialect == "postgres":
        return "jsonb_build_array(jsonb_build_object('source', 'include_list', 'file', CAST(? AS TEXT)))"
    return "json_array(json_object('source', 'include_list', 'file', ?))"


@dataclass(frozen=True)
class Scope:
    systems: Sequence[str]
    categories: Sequence[str]
    jurisdictions: JurisdictionFilter
    account_refs: Sequence[str]


def _marks(values: Sequence[str]) -> str:
    return ", ".join("?" for _ in values)


def matched(dialect: str, scope: Scope, has_exclude: bool) -> tuple[str, list[object]]:
    """INSERT into the stage every subject with a holding in scope, with categories and reasons."""
    where = [
        f"h.system IN ({_marks(scope.systems)})",
        f"h.category IN ({_marks(scope.categories)})",
    ]
    args: list[object] = [*scope.systems, *scope.categories]
    join = ""
    if scope.jurisdictions.exact or scope.account_refs:
        join = "JOIN subject s ON s.id = h.subject_id"
    if scope.jurisdictions.exact:
        rule = f"s.jurisdiction IN ({_marks(scope.jurisdictions.exact)})"
        args += scope.jurisdictions.exact
        if scope.jurisdictions.countries:
            rule += (
                f" OR (length(s.jurisdiction) > 2 AND substr(s.jurisdiction, 1, 2) "
                f"IN ({_marks(scope.jurisdictions.countries)}))"
            )
            args += scope.jurisdictions.countries
        where.append(f"({rule})")
    if scope.account_refs:
        where.append(
            "s.account_id IN (SELECT a.id FROM account a "
            f"WHERE a.account_ref IN ({_marks(scope.account_refs)}))"
        )
        args += scope.account_refs
    if has_exclude:
        where.append(
            f"h.subject_id NOT IN (SELECT x.id FROM {LISTS} l JOIN subject x "
            "ON x.external_ref = l.external_ref WHERE l.kind = 'exclude')"
        )
    sql = (
        f"INSERT INTO {STAGE} (subject_id, cats, reasons, source) "
        f"SELECT h.subject_id, {categories_csv(scope.categories)}, {holding_reasons(dialect)}, "
        f"'holding' FROM holding h {join} WHERE {' AND '.join(where)} GROUP BY h.subject_id"
    )
    return sql, args


def included(dialect: str, scope: Scope, file_name: str) -> tuple[str, list[object]]:
    """INSERT into the stage the listed subjects not matched already; their own categories of
    the incident's, in any system, or all of the incident's when they have none on record."""
    every = ",".join(sorted(scope.categories))
    cats = categories_csv(scope.categories)
    sql = (
        f"INSERT INTO {STAGE} (subject_id, cats, reasons, source) "
        f"SELECT x.id, CASE WHEN COUNT(h.id) = 0 THEN '{every}' ELSE {cats} END, "
        f"{list_reason(dialect)}, 'include_list' "
        f"FROM {LISTS} l JOIN subject x ON x.external_ref = l.external_ref "
        f"LEFT JOIN holding h ON h.subject_id = x.id "
        f"AND h.category IN ({_marks(scope.categories)}) "
        f"WHERE l.kind = 'include' AND NOT EXISTS "
        f"(SELECT 1 FROM {STAGE} a WHERE a.subject_id = x.id) GROUP BY x.id"
    )
    return sql, [file_name, *scope.categories]


def compare_counts(dialect: str) -> str:
    """Size of the new list, how many are new, and how many kept with other categories."""
    return (
        "SELECT COUNT(*) AS total, "
        "SUM(CASE WHEN e.subject_id IS NULL THEN 1 ELSE 0 END) AS added, "
        f"SUM(CASE WHEN e.categories <> {json_from_csv(dialect, 'a.cats')} THEN 1 ELSE 0 END) "
        f"AS changed FROM {STAGE} a LEFT JOIN exposure e "
        "ON e.incident_id = ? AND e.subject_id = a.subject_id"
    )


def scan_page(dialect: str, size: int) -> str:
    """One page of the list as three texts: ``external_ref:cats`` lines, ``jurisdiction|account``
    keys and category lists, with the page's last subject id and size."""
    if dialect == "postgres":
        concat, account = "string_agg({}, chr(10))", "COALESCE(CAST(s.account_id AS TEXT), '')"
    else:
        concat, account = "group_concat({}, char(10))", "COALESCE(s.account_id, '')"
    return (
        f"SELECT {concat.format('line')} AS lines, {concat.format('k')} AS keys, "
        f"{concat.format('cats')} AS cats, MAX(id) AS last, COUNT(*) AS n FROM ("
        f"SELECT a.subject_id AS id, s.external_ref || ':' || a.cats AS line, "
        f"s.jurisdiction || '|' || {account} AS k, a.cats AS cats FROM {STAGE} a "
        f"JOIN subject s ON s.id = a.subject_id WHERE a.subject_id > ? "
        f"ORDER BY a.subject_id LIMIT {size}) page"
    )
