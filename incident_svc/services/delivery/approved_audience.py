"""A campaign's audience: frozen at approval into ``campaign_recipient``, hashed, compared.

Every step is set-based: freezing is one ``INSERT ... SELECT``, comparing the frozen list with
the live one is a few aggregate queries, and planning deliveries copies the frozen rows with
one statement per channel. Hashing reads the rows a page at a time in id order (keyset
pagination on an index) and feeds their canonical lines to one SHA-256: memory stays flat
however long the list.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.domain.approval import Audience, audience_text
from incident_svc.domain.enums import AudienceRule, NoticeKind
from incident_svc.domain.notice_history import PERSON_KINDS
from incident_svc.rawsql import placeholders, query
from incident_svc.services.delivery.audience_rules import rule_filter

PAGE = 20_000

# The live audience, one row per recipient (people whose address bounced are left out until
# the inventory supplies a new one; they get substitute notice, services/bounce/substitute.py):
# member_id (subject or account id), subject_id, account_id, recipient_ref, address,
# locale. "{rule}" narrows it to the campaign's audience rule (services.delivery.audience_rules),
# "{after}" for keyset pagination.
_LIVE_SUBJECTS = """
SELECT s.id AS member_id, s.id AS subject_id, s.account_id AS account_id,
       s.external_ref AS recipient_ref, s.email AS address, s.locale AS locale
FROM exposure e JOIN subject s ON s.id = e.subject_id
WHERE e.incident_id = ? AND s.email_status <> 'bounced' {rule} {after}
"""
_LIVE_HOLDERS = """
SELECT a.id AS member_id, CAST(NULL AS BIGINT) AS subject_id, a.id AS account_id,
       a.account_ref AS recipient_ref, a.holder_email AS address, a.locale AS locale
FROM account a
WHERE a.id IN (SELECT s.account_id FROM exposure e JOIN subject s ON s.id = e.subject_id
               WHERE e.incident_id = ? AND s.account_id IS NOT NULL) {rule} {after}
"""
_FROZEN = """
SELECT member_id, subject_id, account_id, recipient_ref, address, locale
FROM campaign_recipient WHERE campaign_id = ? {after}
"""


def _live(
    kind: NoticeKind, rule: AudienceRule, *, incident_id: int, campaign_id: int
) -> tuple[str, str, list[Any]]:
    """The live audience's SQL (``{after}`` left open), its key column and parameters."""
    sql, key = (_LIVE_SUBJECTS, "s.id") if kind in PERSON_KINDS else (_LIVE_HOLDERS, "a.id")
    narrow, values = rule_filter(kind, rule, key, incident_id=incident_id, campaign_id=campaign_id)
    return sql.replace("{rule}", narrow), key, [incident_id, *values]


async def freeze(
    conn: BaseDBAsyncClient,
    *,
    campaign_id: int,
    incident_id: int,
    kind: NoticeKind,
    rule: AudienceRule = AudienceRule.ALL,
) -> None:
    """Replace the campaign's frozen audience with the live one (inside ``conn``)."""
    await query(conn, "DELETE FROM campaign_recipient WHERE campaign_id = ?", [campaign_id])
    live, _, values = _live(kind, rule, incident_id=incident_id, campaign_id=campaign_id)
    sql = (
        "INSERT INTO campaign_recipient (campaign_id, member_id, subject_id, account_id, "
        "recipient_ref, address, locale) SELECT ?, member_id, subject_id, account_id, "
        f"recipient_ref, address, locale FROM ({live.format(after='')}) AS live"
    )
    await conn.execute_query(placeholders(sql, conn), [campaign_id, *values])


async def live_hash(
    conn: BaseDBAsyncClient,
    *,
    incident_id: int,
    kind: NoticeKind,
    rule: AudienceRule = AudienceRule.ALL,
    campaign_id: int = 0,
) -> Audience:
    """Count and SHA-256 of the audience the campaign would have if approved now."""
    live, key, values = _live(kind, rule, incident_id=incident_id, campaign_id=campaign_id)
    return await _hash(conn, live, key, values)


async def frozen_hash(conn: BaseDBAsyncClient, campaign_id: int) -> Audience:
    """Count and SHA-256 of the campaign's frozen audience, read back from its table."""
    return await _hash(conn, _FROZEN, "member_id", [campaign_id])


async def _hash(conn: BaseDBAsyncClient, sql: str, key: str, values: list[Any]) -> Audience:
    digest, count, last = hashlib.sha256(), 0, None
    while True:
        after = "" if last is None else f"AND {key} > ?"
        page_sql = f"{sql.format(after=after)} ORDER BY {key} LIMIT {PAGE}"
        rows = await query(conn, page_sql, [*values, *([] if last is None else [last])])
        page = "".join(
            audience_text(row["recipient_ref"], row["address"], row["locale"]) for row in rows
        )
        digest.update(page.encode("utf-8"))
        count += len(rows)
        if len(rows) < PAGE:
            return Audience(count, digest.hexdigest())
        last = rows[-1]["member_id"]


# Two passes, each a join on an index (SQLite's FULL OUTER JOIN scans a derived table once
# per row): the live list against the frozen one, (campaign_id, member_id), for who was added
# or changed, and the frozen list against the affected list, for who was removed. Each gives
# a count and the first reference, so a refusal can name one.
_ADDED_OR_CHANGED = """
SELECT sum(CASE WHEN f.member_id IS NULL THEN 1 ELSE 0 END) AS added,
       min(CASE WHEN f.member_id IS NULL THEN live.recipient_ref END) AS first_added,
       sum(CASE WHEN {differs} THEN 1 ELSE 0 END) AS changed,
       min(CASE WHEN {differs} THEN f.recipient_ref END) AS first_changed
FROM ({live}) AS live
LEFT JOIN campaign_recipient f ON f.campaign_id = ? AND f.member_id = live.member_id
"""
_DIFFERS = (
    "f.member_id IS NOT NULL AND (live.address <> f.address "
    "OR live.locale <> f.locale OR live.recipient_ref <> f.recipient_ref)"
)
_REMOVED = """
SELECT count(*) AS removed, min(f.recipient_ref) AS first_removed
FROM campaign_recipient f
WHERE f.campaign_id = ? AND NOT ({still_affected} {rule})
"""
# still on the affected list; the rule (a NOT EXISTS, an EXISTS or nothing) follows
_STILL_AFFECTED = {
    False: "EXISTS (SELECT 1 FROM exposure e WHERE e.incident_id = ? AND e.subject_id = f.member_id)",
    True: (
        "EXISTS (SELECT 1 FROM exposure e JOIN subject s ON s.id = e.subject_id "
        "WHERE e.incident_id = ? AND s.account_id = f.member_id)"
    ),
}


async def changes(
    conn: BaseDBAsyncClient,
    *,
    campaign_id: int,
    incident_id: int,
    kind: NoticeKind,
    rule: AudienceRule = AudienceRule.ALL,
) -> list[str]:
    """How the live audience differs from the frozen one: recipients added or removed, and
    recipients whose address, locale or reference changed, each with a first example."""
    live, _, values = _live(kind, rule, incident_id=incident_id, campaign_id=campaign_id)
    sql = _ADDED_OR_CHANGED.format(live=live.format(after=""), differs=_DIFFERS)
    [row] = await query(conn, sql, [*values, campaign_id])
    narrow, rule_values = rule_filter(
        kind, rule, "f.member_id", incident_id=incident_id, campaign_id=campaign_id
    )
    still = _STILL_AFFECTED[kind not in PERSON_KINDS]
    removed_sql = _REMOVED.format(still_affected=still, rule=narrow)
    [gone] = await query(conn, removed_sql, [campaign_id, incident_id, *rule_values])
    row.update(gone)
    found = []
    for what in ("added", "removed"):
        if row[what]:
            found.append(
                f"audience: {row[what]} recipient(s) {what} (first {row['first_' + what]})"
            )
    if row["changed"]:
        found.append(
            f"audience: {row['changed']} recipient(s) with a changed address or locale "
            f"(first {row['first_changed']})"
        )
    return found


# the same hashing, for audiences other modules define (services.delivery.matter_campaigns.audience)
hash_rows = _hash
