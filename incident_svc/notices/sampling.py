"""Who ``notice check`` renders for: a few affected people per locale in use, and one of
every (locale, jurisdiction) pair, so a single Californian reader is never missed, and of
every pair again among readers whose SSN or licence number is involved."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise import connections

from incident_svc.db import dialect
from incident_svc.domain.enums import NoticeKind
from incident_svc.models import Account, Subject
from incident_svc.rawsql import placeholders

_AFFECTED = "FROM exposure e JOIN subject s ON s.id = e.subject_id WHERE e.incident_id = ?"
_FIRST_PER_LOCALE = f"""
SELECT id FROM (
  SELECT s.id AS id, ROW_NUMBER() OVER (PARTITION BY s.locale ORDER BY s.id) AS rn {_AFFECTED}
) ranked WHERE rn <= ?
"""
_ONE_PER_JURISDICTION = f"SELECT MIN(s.id) AS id {_AFFECTED} GROUP BY s.locale, s.jurisdiction"
# a reader whose SSN or licence number is involved needs more statements (residence_checks)
_ONE_WITH_CREDIT_DATA = (
    f"SELECT MIN(s.id) AS id {_AFFECTED} AND (CAST(e.categories AS TEXT) LIKE '%\"ssn\"%' "
    "OR CAST(e.categories AS TEXT) LIKE '%\"drivers_licence\"%') GROUP BY s.locale, s.jurisdiction"
)
_ACCOUNTS = f"""
SELECT id FROM (
  SELECT a.id AS id, ROW_NUMBER() OVER (PARTITION BY a.locale ORDER BY a.id) AS rn
  FROM account a WHERE a.id IN (SELECT s.account_id {_AFFECTED} AND s.account_id IS NOT NULL)
) ranked WHERE rn <= ?
"""


# an address with any character that is not ASCII (UTF-8 takes more bytes than characters)
_NOT_ASCII = {
    "sqlite": "length(CAST({0} AS BLOB)) > length({0})",
    "postgres": "octet_length({0}) > char_length({0})",
}
_INTERNATIONAL_SUBJECTS = (
    f"SELECT s.id AS id, s.external_ref AS ref, s.locale AS locale, s.email AS address "
    f"{_AFFECTED} AND {{0}}"
)
_INTERNATIONAL_ACCOUNTS = (
    "SELECT a.id AS id, a.account_ref AS ref, a.locale AS locale, a.holder_email AS address "
    f"FROM account a WHERE a.id IN (SELECT s.account_id {_AFFECTED} "
    "AND s.account_id IS NOT NULL) AND {0}"
)


@dataclass(frozen=True)
class Sample:
    ref: str
    locale: str
    address: str
    subject_id: int | None = None
    account_id: int | None = None


async def _ids(sql: str, params: list[object]) -> set[int]:
    conn = connections.get("default")
    rows = await conn.execute_query_dict(placeholders(sql, conn), params)
    return {int(row["id"]) for row in rows}


async def sample(incident_id: int, kind: NoticeKind, *, per_locale: int) -> list[Sample]:
    """A handful of recipients per locale (set-based: two or three queries in all)."""
    if kind == NoticeKind.ACCOUNT_HOLDER_NOTICE:
        ids = await _ids(_ACCOUNTS, [incident_id, per_locale])
        accounts = await Account.filter(id__in=sorted(ids)).order_by("id")
        return [Sample(a.account_ref, a.locale, a.holder_email, account_id=a.id) for a in accounts]
    ids = await _ids(_FIRST_PER_LOCALE, [incident_id, per_locale])
    ids |= await _ids(_ONE_PER_JURISDICTION, [incident_id])
    ids |= await _ids(_ONE_WITH_CREDIT_DATA, [incident_id])
    subjects = await Subject.filter(id__in=sorted(ids)).order_by("id")
    return [Sample(s.external_ref, s.locale, s.email, subject_id=s.id) for s in subjects]


async def international(incident_id: int, kind: NoticeKind) -> list[Sample]:
    """Every recipient whose address is not all ASCII (the database finds them: one query)."""
    conn = connections.get("default")
    accounts = kind == NoticeKind.ACCOUNT_HOLDER_NOTICE
    column = "a.holder_email" if accounts else "s.email"
    test = _NOT_ASCII.get(dialect(conn), _NOT_ASCII["postgres"]).format(column)
    sql = (_INTERNATIONAL_ACCOUNTS if accounts else _INTERNATIONAL_SUBJECTS).format(test)
    rows = await conn.execute_query_dict(placeholders(sql, conn), [incident_id])
    key = "account_id" if accounts else "subject_id"
    return [
        Sample(row["ref"], row["locale"], row["address"], **{key: int(row["id"])})
        for row in sorted(rows, key=lambda r: str(r["ref"]))
    ]
