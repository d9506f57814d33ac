"""Who an incident's affected people are, by residence: one GROUP BY over its exposures.

The counts are the thresholds' input; the reach (people a notice got to: a sent delivery of a
subject notice, or a personal banner as substitute notice) meets obligations to the people.
Both come from the same pass: each exposure carries its first reach (``first_reached_at``,
kept by services/incident/reach.py), so the reach is ``COUNT`` and ``MAX`` of that column
beside the ``COUNT(*)``; and its person's residence (``jurisdiction``, kept by the database
triggers of migration 0014), so the census reads the exposures alone: one ordered range scan
of the index ``(incident_id, jurisdiction, first_reached_at)``, no join and no sort.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise import connections

from incident_svc.domain.compliance import Reach
from incident_svc.rawsql import as_utc, query
from incident_svc.services.incident.reach import FROM_SOURCES

# one ordered range scan of the index (incident_id, jurisdiction, first_reached_at): no join,
# no sort (BENCHMARKS.md has the plans)
CENSUS = (
    "SELECT jurisdiction AS code, COUNT(*) AS residents, COUNT(first_reached_at) AS reached,"
    " MAX(first_reached_at) AS last_at FROM exposure WHERE incident_id = ? GROUP BY jurisdiction"
)
# the same answer through the subjects (what the census was before migration 0014): the
# reference the tests check the kept ``exposure.jurisdiction`` against
CENSUS_BY_JOIN = (
    "SELECT s.jurisdiction AS code, COUNT(*) AS residents, COUNT(e.first_reached_at) AS reached,"
    " MAX(e.first_reached_at) AS last_at FROM exposure e "
    "JOIN subject s ON s.id = e.subject_id WHERE e.incident_id = ? GROUP BY s.jurisdiction"
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
    rows = await query(conn, CENSUS, [incident_id])
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
