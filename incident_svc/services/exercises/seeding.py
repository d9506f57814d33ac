"""Fill an exercise database: a copy of a real incident, or a scenario's incident and people.

``read_incident`` runs against the real database (reads only); ``write_copy`` and the other
writers run against the exercise database, each change with its audit event in the exercise's
own chain. A copy keeps the incident's reference, its clock-start facts (when we became aware,
...) with their real values, its affected list and the inventory rows of the affected people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.db import write_transaction
from incident_svc.domain.enums import MatterKind
from incident_svc.domain.exercise_scenario import ScenarioIncident
from incident_svc.domain.times import utcnow
from incident_svc.models import Account, Exposure, Holding, Incident, IncidentFact, Subject
from incident_svc.services.auditlog import audit
from incident_svc.services.incident import incidents, matters

PERSON_PREFIX = "EX-"
PERSON_DOMAIN = "drill.example.com"
_LOCALES = {"HK": "zh-Hant-HK", "TW": "zh-Hant"}


@dataclass(frozen=True)
class IncidentCopy:
    """One real incident and everything about its affected people, as plain rows."""

    incident: dict[str, Any]
    facts: list[dict[str, Any]]
    exposures: list[dict[str, Any]]
    subjects: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    holdings: list[dict[str, Any]]


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


async def read_incident(ref: str) -> IncidentCopy:
    """Read incident ``ref`` from the open (real) database; NotFoundError if unknown."""
    incident = await incidents.get(ref=ref)
    exposures = await Exposure.filter(incident_id=incident.id).values()
    subject_ids = sorted({row["subject_id"] for row in exposures})
    subjects = await Subject.filter(id__in=subject_ids).values()
    account_ids = sorted({row["account_id"] for row in subjects if row["account_id"]})
    return IncidentCopy(
        incident=(await Incident.filter(id=incident.id).values())[0],
        facts=await IncidentFact.filter(incident_id=incident.id).values(),
        exposures=exposures,
        subjects=subjects,
        accounts=await Account.filter(id__in=account_ids).values(),
        holdings=await Holding.filter(subject_id__in=subject_ids).values(),
    )


async def write_copy(copy: IncidentCopy, *, actor: str, key: bytes | None) -> Incident:
    """Write ``copy`` into the open (exercise) database, new ids, same references."""
    async with write_transaction() as conn:
        accounts = await _insert(conn, Account, copy.accounts, "account_ref", {})
        subjects = await _insert(
            conn, Subject, copy.subjects, "external_ref", {"account_id": accounts}
        )
        await Holding.bulk_create(
            [Holding(**_without(h, "id", "subject_id"), subject_id=subjects[h["subject_id"]])
             for h in copy.holdings],
            using_db=conn,
        )  # fmt: skip
        incident = await Incident.create(using_db=conn, **_without(copy.incident, "id"))
        await matters.create(
            conn, kind=MatterKind.INCIDENT, reference=incident.ref, title=incident.title,
            incident=incident,
        )  # fmt: skip
        for fact in copy.facts:
            await IncidentFact.create(
                using_db=conn, **_without(fact, "id", "incident_id"), incident_id=incident.id
            )
        # without the residence: the database takes each copied subject's (migration 0014)
        await Exposure.bulk_create(
            [Exposure(**_without(e, "id", "incident_id", "subject_id", "jurisdiction"),
                      incident_id=incident.id, subject_id=subjects[e["subject_id"]])
             for e in copy.exposures],
            using_db=conn,
        )  # fmt: skip
        await audit.record(
            conn,
            actor=actor,
            action="exercise.seeded",
            target_type="incident",
            target_id=incident.ref,
            details={
                "incident": incident.ref,
                "from": "copy of the real incident",
                "facts": sorted(f["name"] for f in copy.facts),
                "affected": len(copy.exposures),
                "subjects": len(copy.subjects),
                "accounts": len(copy.accounts),
            },
            key=key,
        )
    return incident


async def _insert(
    conn: BaseDBAsyncClient,
    model: Any,
    rows: Sequence[dict[str, Any]],
    ref_field: str,
    remap: dict[str, dict[int, int]],
) -> dict[int, int]:
    """Insert rows with new ids; returns old id -> new id (matched by ``ref_field``)."""
    made = []
    for row in rows:
        values = _without(row, "id")
        for column, ids in remap.items():
            if values.get(column) is not None:
                values[column] = ids[values[column]]
        made.append(model(**values))
    await model.bulk_create(made, using_db=conn)
    refs = [row[ref_field] for row in rows]
    new = {
        r[ref_field]: r["id"]
        for r in await model.filter(**{f"{ref_field}__in": refs}).using_db(conn).values()
    }
    return {row["id"]: new[row[ref_field]] for row in rows}


async def create_incident(
    spec: ScenarioIncident, *, actor: str, key: bytes | None, aware_hours_ago: float = 0.0
) -> Incident:
    """The scenario's incident, aware at exercise hour 0 (now on the exercise clock)."""
    aware = utcnow() - timedelta(hours=aware_hours_ago)
    return await incidents.create(
        actor=actor,
        key=key,
        title=spec.title,
        summary=spec.summary,
        severity=spec.severity,
        discovered_at=aware,
        occurred_from=aware - timedelta(hours=spec.occurred_hours_before),
        occurred_to=aware if spec.occurred_hours_before else None,
        systems=spec.systems,
        categories=spec.categories,
    )


def people_rows(
    first: int, count: int, places: Sequence[str]
) -> list[dict[str, Any]]:  # pure: the generated people, numbered from ``first``
    rows = []
    for number in range(first, first + count):
        place = places[number % len(places)]
        rows.append(
            {
                "external_ref": f"{PERSON_PREFIX}{number:05d}",
                "email": f"person{number:05d}@{PERSON_DOMAIN}",
                "name": f"Exercise Person {number:05d}",
                "locale": _LOCALES.get(place.split("-")[0], "en"),
                "jurisdiction": place,
            }
        )
    return rows


async def add_people(
    conn: BaseDBAsyncClient,
    *,
    incident: Incident,
    count: int,
    places: Sequence[str],
) -> list[str]:
    """Generated people holding data in the incident's systems; returns their references."""
    first = await Subject.filter(external_ref__startswith=PERSON_PREFIX).using_db(conn).count() + 1
    rows = people_rows(first, count, places)
    await Subject.bulk_create([Subject(**row) for row in rows], using_db=conn)
    refs = [row["external_ref"] for row in rows]
    ids = await Subject.filter(external_ref__in=refs).using_db(conn).values_list("id", flat=True)
    categories = list(incident.categories) or ["contact"]
    holdings = [
        Holding(subject_id=subject_id, system=system, category=category)
        for n, subject_id in enumerate(sorted(ids))
        for system in incident.systems
        for category in categories[: 1 + n % len(categories)]
    ]
    await Holding.bulk_create(holdings, using_db=conn)
    return refs


async def seed_people(
    *, incident: Incident, count: int, places: Sequence[str], actor: str, key: bytes | None
) -> int:
    """The scenario's first people, with their audit event."""
    async with write_transaction() as conn:
        refs = await add_people(conn, incident=incident, count=count, places=places)
        await audit.record(
            conn,
            actor=actor,
            action="exercise.seeded",
            target_type="incident",
            target_id=incident.ref,
            details={"incident": incident.ref, "from": "scenario", "people": len(refs)},
            key=key,
        )
    return len(refs)
