"""Who a matter campaign is for, frozen at approval like an incident campaign's audience.

- a policy change (``policy_change_notice``): every subject who existed when the version
  was published (created before ``published_at``); people who join later are bound at once
  and are owed no notice. The marketing opt-out and a bounced address do not remove anyone:
  the policy makes the dispatch to the last address on file the notice;
- its account holders (``policy_holder_notice``): every account created before publication,
  at its holder's address;
- a disclosure (``disclosure_notice``): the people of its released notices.

Freezing, hashing and comparing are the same set-based statements as for incidents
(services.delivery.approved_audience); only the live list differs.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.domain.approval import Audience
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import NotFoundError
from incident_svc.rawsql import placeholders, query
from incident_svc.services.delivery.approved_audience import hash_rows

_POLICY_SUBJECTS = """
SELECT s.id AS member_id, s.id AS subject_id, CAST(NULL AS BIGINT) AS account_id,
       s.external_ref AS recipient_ref, s.email AS address, s.locale AS locale
FROM subject s
WHERE s.created_at < (SELECT p.published_at FROM policy_version p WHERE p.matter_id = ?)
  AND s.email <> '' {after}
"""
_POLICY_HOLDERS = """
SELECT a.id AS member_id, CAST(NULL AS BIGINT) AS subject_id, a.id AS account_id,
       a.account_ref AS recipient_ref, a.holder_email AS address, a.locale AS locale
FROM account a
WHERE a.created_at < (SELECT p.published_at FROM policy_version p WHERE p.matter_id = ?)
  AND a.holder_email <> '' {after}
"""
_DISCLOSED = """
SELECT s.id AS member_id, s.id AS subject_id, CAST(NULL AS BIGINT) AS account_id,
       s.external_ref AS recipient_ref, s.email AS address, s.locale AS locale
FROM disclosure_notice n JOIN subject s ON s.id = n.subject_id
WHERE n.disclosure_id = (SELECT d.id FROM disclosure d WHERE d.matter_id = ?)
  AND n.status = 'released' AND s.email <> '' {after}
"""
_LIVE = {
    NoticeKind.POLICY_CHANGE_NOTICE: (_POLICY_SUBJECTS, "s.id"),
    NoticeKind.POLICY_HOLDER_NOTICE: (_POLICY_HOLDERS, "a.id"),
    NoticeKind.DISCLOSURE_NOTICE: (_DISCLOSED, "s.id"),
}


def live(kind: NoticeKind, matter_id: int) -> tuple[str, str, list[Any]]:
    """The live audience's SQL (``{after}`` left open), its key column and parameters."""
    if kind not in _LIVE:
        raise NotFoundError(f"{kind} is not a notice of a policy change or a disclosure")
    sql, key = _LIVE[kind]
    return sql, key, [matter_id]


async def freeze(
    conn: BaseDBAsyncClient, *, campaign_id: int, matter_id: int, kind: NoticeKind
) -> None:
    """Replace the campaign's frozen audience with the live one (inside ``conn``)."""
    await query(conn, "DELETE FROM campaign_recipient WHERE campaign_id = ?", [campaign_id])
    sql, _, values = live(kind, matter_id)
    insert = (
        "INSERT INTO campaign_recipient (campaign_id, member_id, subject_id, account_id, "
        "recipient_ref, address, locale) SELECT ?, member_id, subject_id, account_id, "
        f"recipient_ref, address, locale FROM ({sql.format(after='')}) AS live"
    )
    await conn.execute_query(placeholders(insert, conn), [campaign_id, *values])


async def live_hash(conn: BaseDBAsyncClient, *, matter_id: int, kind: NoticeKind) -> Audience:
    """Count and SHA-256 of the audience the campaign would have if approved now."""
    sql, key, values = live(kind, matter_id)
    return await hash_rows(conn, sql, key, values)


# live against frozen (added, changed), then frozen against live (removed): an IN list over
# the live ids is built once by both databases, not scanned per frozen row
_ADDED_OR_CHANGED = """
SELECT sum(CASE WHEN f.member_id IS NULL THEN 1 ELSE 0 END) AS added,
       min(CASE WHEN f.member_id IS NULL THEN live.recipient_ref END) AS first_added,
       sum(CASE WHEN f.member_id IS NOT NULL AND (live.address <> f.address
                OR live.locale <> f.locale OR live.recipient_ref <> f.recipient_ref)
           THEN 1 ELSE 0 END) AS changed,
       min(CASE WHEN f.member_id IS NOT NULL AND (live.address <> f.address
                OR live.locale <> f.locale OR live.recipient_ref <> f.recipient_ref)
           THEN f.recipient_ref END) AS first_changed
FROM ({live}) AS live
LEFT JOIN campaign_recipient f ON f.campaign_id = ? AND f.member_id = live.member_id
"""
_REMOVED = """
SELECT count(*) AS removed, min(f.recipient_ref) AS first_removed
FROM campaign_recipient f
WHERE f.campaign_id = ? AND f.member_id NOT IN (SELECT member_id FROM ({live}) AS live)
"""


async def changes(
    conn: BaseDBAsyncClient, *, campaign_id: int, matter_id: int, kind: NoticeKind
) -> list[str]:
    """How the live audience differs from the frozen one, each with a first example."""
    sql, _, values = live(kind, matter_id)
    plain = sql.format(after="")
    [row] = await query(conn, _ADDED_OR_CHANGED.format(live=plain), [*values, campaign_id])
    [gone] = await query(conn, _REMOVED.format(live=plain), [campaign_id, *values])
    row.update(gone)
    found = [
        f"audience: {row[what]} recipient(s) {what} (first {row['first_' + what]})"
        for what in ("added", "removed")
        if row[what]
    ]
    if row["changed"]:
        found.append(
            f"audience: {row['changed']} recipient(s) with a changed address or locale "
            f"(first {row['first_changed']})"
        )
    return found
