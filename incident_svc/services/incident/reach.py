"""Each exposure's first reach, kept on the row so that obligations read exposures only.

A person counts as reached for an incident by their first **sent** delivery of one of the
incident's subject-notice campaigns (proof of dispatch stands even if the mail bounced later:
a bounce changes ``delivery.outcome``, never ``status`` or ``sent_at``) or their first
personal banner that is not withdrawn (substitute notice). ``exposure.first_reached_at`` holds
the earliest of those moments, or NULL, and is kept in the transaction that changes a source:

- the outbox group commit (:func:`deliveries_sent`): one UPDATE per batch, only to lower it;
- the substitute-notice job publishing personal banners (:func:`banners_published`);
- a personal banner withdrawn (:func:`recompute` for that one person: the withdrawal may
  take their only reach away, or move it to a later notice);
- the affected list re-resolved (:func:`recompute` for the exposures written anew);
- migration 0011 (:func:`recompute` of every exposure, from the rows already there).

:data:`FROM_SOURCES` is the old per-request query over deliveries and banners; it stays as
the reference that tests compare the kept column with.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.rawsql import in_list, placeholders

# every person's first reach, per incident: one GROUP BY over the sources (no per-row
# subqueries, whose plans PostgreSQL may get wrong on tables just written)
_FIRSTS = (
    "SELECT incident_id, subject_id, MIN(at) AS first_at FROM ("
    " SELECT c.incident_id AS incident_id, d.subject_id AS subject_id, d.sent_at AS at"
    " FROM delivery d JOIN campaign c ON c.id = d.campaign_id"
    " WHERE c.kind = 'subject_notice' AND d.status = 'sent' AND d.subject_id IS NOT NULL{d}"
    " UNION ALL SELECT b.incident_id, b.subject_id, b.starts_at FROM banner b"
    " WHERE b.incident_id IS NOT NULL AND b.subject_id IS NOT NULL"
    " AND b.withdrawn_at IS NULL{b}"
    ") x GROUP BY incident_id, subject_id"
)
_SET_FIRSTS = (
    "UPDATE exposure SET first_reached_at = r.first_at FROM ({firsts}) r "
    "WHERE exposure.incident_id = r.incident_id AND exposure.subject_id = r.subject_id{where}"
)
_RESET = "UPDATE exposure SET first_reached_at = NULL WHERE first_reached_at IS NOT NULL{where}"

# one batch's sent deliveries: all of them were sent at the batch's one ``now``
_SENT = (
    "UPDATE exposure SET first_reached_at = ? "
    "WHERE incident_id = (SELECT c.incident_id FROM campaign c "
    "                     WHERE c.id = ? AND c.kind = 'subject_notice') "
    "AND subject_id IN (SELECT d.subject_id FROM delivery d WHERE d.id IN ({ids}) "
    "                   AND d.subject_id IS NOT NULL) "
    "AND (first_reached_at IS NULL OR first_reached_at > ?)"
)
_BANNERS = (
    "UPDATE exposure SET first_reached_at = ? WHERE incident_id = ? "
    "AND (first_reached_at IS NULL OR first_reached_at > ?) "
    "AND subject_id IN (SELECT b.subject_id FROM banner b WHERE b.incident_id = ? "
    "                   AND b.id BETWEEN ? AND ? AND b.subject_id IS NOT NULL "
    "                   AND b.withdrawn_at IS NULL)"
)
# SQLite's default limit of bound variables is 32766; a group commit chunk is at most 500
_IDS_PER_STATEMENT = 500

FROM_SOURCES = (
    "SELECT s.jurisdiction AS code, COUNT(*) AS residents, COUNT(r.first_at) AS reached, "
    "MAX(r.first_at) AS last_at FROM exposure e JOIN subject s ON s.id = e.subject_id "
    "LEFT JOIN (SELECT subject_id, MIN(at) AS first_at FROM ("
    " SELECT d.subject_id AS subject_id, d.sent_at AS at FROM delivery d "
    " JOIN campaign c ON c.id = d.campaign_id WHERE c.incident_id = ? "
    " AND c.kind = 'subject_notice' AND d.status = 'sent' AND d.subject_id IS NOT NULL "
    " UNION ALL SELECT b.subject_id, b.starts_at FROM banner b WHERE b.incident_id = ? "
    " AND b.subject_id IS NOT NULL AND b.withdrawn_at IS NULL"
    ") notices GROUP BY subject_id) r ON r.subject_id = e.subject_id "
    "WHERE e.incident_id = ? GROUP BY s.jurisdiction"
)


async def deliveries_sent(
    conn: BaseDBAsyncClient, *, campaign_id: int, delivery_ids: Sequence[int], at: datetime
) -> None:
    """A batch's deliveries accepted at ``at`` reach their people (subject notices only)."""
    for start in range(0, len(delivery_ids), _IDS_PER_STATEMENT):
        chunk = list(delivery_ids[start : start + _IDS_PER_STATEMENT])
        sql = _SENT.format(ids=in_list(len(chunk)))
        await conn.execute_query(placeholders(sql, conn), [at, campaign_id, *chunk, at])


async def banners_published(
    conn: BaseDBAsyncClient, *, incident_id: int, first_id: int, last_id: int, at: datetime
) -> None:
    """Personal banners ``first_id``..``last_id`` of the incident, starting at ``at``, reach."""
    values = [at, incident_id, at, incident_id, first_id, last_id]
    await conn.execute_query(placeholders(_BANNERS, conn), values)


async def recompute(
    conn: BaseDBAsyncClient,
    *,
    incident_id: int | None = None,
    subject_ids: Sequence[int] = (),
    unset_only: bool = False,
) -> None:
    """Recompute ``first_reached_at`` from the deliveries and banners: for one incident (or
    all), optionally only some people, or only the rows without one (new exposures)."""
    where, by_d, by_b = "", "", ""
    args: list[Any] = []
    if incident_id is not None:
        where, by_d, by_b = (
            " AND exposure.incident_id = ?",
            " AND c.incident_id = ?",
            " AND b.incident_id = ?",
        )
        args.append(incident_id)
    if subject_ids:
        people = in_list(len(subject_ids))
        where += f" AND exposure.subject_id IN ({people})"
        by_d += f" AND d.subject_id IN ({people})"
        by_b += f" AND b.subject_id IN ({people})"
        args.extend(subject_ids)
    if unset_only:
        where += " AND exposure.first_reached_at IS NULL"
    else:
        await conn.execute_query(placeholders(_RESET.format(where=where), conn), args)
    sql = _SET_FIRSTS.format(firsts=_FIRSTS.format(d=by_d, b=by_b), where=where)
    await conn.execute_query(placeholders(sql, conn), args * 3)


_ANY_REACH = (
    "SELECT 1 AS x FROM delivery d JOIN campaign c ON c.id = d.campaign_id "
    "WHERE c.incident_id = ? AND c.kind = 'subject_notice' AND d.status = 'sent' "
    "UNION ALL SELECT 1 FROM banner b WHERE b.incident_id = ? AND b.subject_id IS NOT NULL "
    "AND b.withdrawn_at IS NULL"
)


async def fill_new(conn: BaseDBAsyncClient, *, incident_id: int) -> None:
    """Exposures just written (re-resolution) get their first reach, if anything reached."""
    sql = f"SELECT EXISTS ({_ANY_REACH}) AS x"
    rows = await conn.execute_query_dict(placeholders(sql, conn), [incident_id, incident_id])
    if rows and rows[0]["x"]:
        await recompute(conn, incident_id=incident_id, unset_only=True)
