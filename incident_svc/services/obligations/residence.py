"""Who an incident's affected people are, by residence: one GROUP BY over exposures x subjects.

The counts are the thresholds' input; the reach (people a notice got to: a sent delivery of a
subject notice, or a personal banner as substitute notice) meets obligations to the people.
"""

from __future__ import annotations

from tortoise import connections

from incident_svc.db import dialect
from incident_svc.domain.compliance import Reach
from incident_svc.rawsql import as_utc, query

# SQLite's planner would rather scan every subject in residence order and probe the exposures
# (twice the time at 1M): CROSS JOIN pins the order to the incident's exposures first.
_COUNTS = (
    "SELECT s.jurisdiction AS code, COUNT(*) AS n FROM exposure e "
    "{join} subject s ON s.id = e.subject_id WHERE e.incident_id = ? GROUP BY s.jurisdiction"
)
_ANY_NOTICE = (
    "SELECT 1 AS x FROM campaign WHERE incident_id = ? AND kind = 'subject_notice' "
    "UNION ALL SELECT 1 FROM banner WHERE incident_id = ? AND subject_id IS NOT NULL"
)
# a person counts as reached by their first sent notice or their first personal banner: proof
# of dispatch stands even if the mail bounced later (the banner is the substitute notice)
_REACH = (
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


async def residents_by_code(incident_id: int) -> dict[str, int]:
    """Affected people of the incident by residence code, as stored (``US-CA``, ``US``, ``GB``)."""
    conn = connections.get("default")
    join = "CROSS JOIN" if dialect(conn) == "sqlite" else "JOIN"
    rows = await query(conn, _COUNTS.format(join=join), [incident_id])
    return {str(row["code"]): int(row["n"]) for row in rows}


async def reach_by_code(incident_id: int) -> dict[str, Reach]:
    """How many residents of each code a notice reached; empty when nothing was sent."""
    conn = connections.get("default")
    if not await query(conn, _ANY_NOTICE, [incident_id, incident_id]):
        return {}
    rows = await query(conn, _REACH, [incident_id, incident_id, incident_id])
    return {
        str(row["code"]): Reach(
            residents=int(row["residents"]),
            reached=int(row["reached"]),
            last_at=as_utc(row["last_at"]),
        )
        for row in rows
    }
