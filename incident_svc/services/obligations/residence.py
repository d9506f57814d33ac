"""Who an incident's affected people are, by residence: one GROUP BY over exposures x subjects.

The counts are the thresholds' input; the reach (people a notice got to: a sent delivery of a
subject notice, or a personal banner as substitute notice) meets obligations to the people.
Both come from the same pass: each exposure carries its first reach (``first_reached_at``,
kept by services/incident/reach.py), so the reach is ``COUNT`` and ``MAX`` of that column
beside the ``COUNT(*)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise import connections

from incident_svc.db import dialect
from incident_svc.domain.compliance import Reach
from incident_svc.rawsql import as_utc, query
from incident_svc.services.incident.reach import FROM_SOURCES

# SQLite's planner would rather scan every subject in residence order and probe the exposures
# (twice the time at 1M): CROSS JOIN pins the order to the incident's exposures first.
_CENSUS = (
    "SELECT s.jurisdiction AS code, COUNT(*) AS residents, COUNT(e.first_reached_at) AS reached,"
    " MAX(e.first_reached_at) AS last_at FROM exposure e "
    "{join} subject s ON s.id = e.subject_id WHERE e.incident_id = ? GROUP BY s.jurisdiction"
)
_ANY_NOTICE = (
    "SELECT 1 AS x FROM campaign WHERE incident_id = ? AND kind = 'subject_notice' "
    "UNION ALL SELECT 1 FROM banner WHERE incident_id = ? AND subject_id IS NOT NULL"
)


@dataclass(frozen=True)
class Census:
    """Affected people by residence code, and how many of them a notice reached."""

    residents: dict[str, int]
    reach: dict[str, Reach]  # empty when the incident has no subject notice nor banner yet


async def census(incident_id: int) -> Census:
    """The residence counts and the reach of one incident, in one pass over its exposures."""
    conn = connections.get("default")
    join = "CROSS JOIN" if dialect(conn) == "sqlite" else "JOIN"
    rows = await query(conn, _CENSUS.format(join=join), [incident_id])
    residents = {str(row["code"]): int(row["residents"]) for row in rows}
    if not await query(conn, _ANY_NOTICE, [incident_id, incident_id]):
        return Census(residents, {})
    return Census(residents, _reach(rows))


async def residents_by_code(incident_id: int) -> dict[str, int]:
    """Affected people of the incident by residence code, as stored (``US-CA``, ``US``, ``GB``)."""
    return (await census(incident_id)).residents


async def reach_by_code(incident_id: int) -> dict[str, Reach]:
    """How many residents of each code a notice reached; empty when nothing was sent."""
    return (await census(incident_id)).reach


async def reach_from_sources(incident_id: int) -> dict[str, Reach]:
    """The same reach, computed from the deliveries and banners themselves (the reference the
    kept ``first_reached_at`` is checked against; slow over a million people)."""
    conn = connections.get("default")
    if not await query(conn, _ANY_NOTICE, [incident_id, incident_id]):
        return {}
    return _reach(await query(conn, FROM_SOURCES, [incident_id, incident_id, incident_id]))


def _reach(rows: list[dict[str, object]]) -> dict[str, Reach]:
    return {
        str(row["code"]): Reach(
            residents=int(str(row["residents"])),
            reached=int(str(row["reached"])),
            last_at=as_utc(row["last_at"]),
        )
        for row in rows
    }
