"""Each exposure's kept residence (``exposure.jurisdiction``, kept by migration 0014's triggers)
against the census through the subjects, on every path that writes either: the affected list
resolved, an inventory re-import that moves a person (a bare ``US`` resolved to ``US-CA``),
exposures created without a residence (``Exposure.create``, ``bulk_create``, a plain INSERT),
a subject changed by any statement, and random residence changes (hypothesis)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise import connections

from incident_svc.domain.times import utcnow
from incident_svc.models import Exposure, Holding, Incident, Subject
from incident_svc.rawsql import placeholders, query
from incident_svc.services.incident import affected
from incident_svc.services.inventory.importer import import_file
from incident_svc.services.obligations.residence import CENSUS_BY_JOIN, census
from tests.support.people import crm_incident

HEADER = "external_ref,email,name,locale,jurisdiction,account_ref,role,marketing_opt_out,timezone\n"
CODES = ("US", "US-CA", "US-TX", "GB", "IE", "HK")


async def run(sql: str, values: list[Any]) -> None:
    conn = connections.get("default")
    await conn.execute_query(placeholders(sql, conn), values)


async def census_as_joined(incident_id: int) -> dict[str, int]:
    """The kept census equals the census through the subjects; every row matches its subject."""
    conn = connections.get("default")
    joined = await query(conn, CENSUS_BY_JOIN, [incident_id])
    kept = await census(incident_id)
    assert kept.residents == {str(r["code"]): int(r["residents"]) for r in joined}
    stale = await query(
        conn,
        "SELECT COUNT(*) AS n FROM exposure e JOIN subject s ON s.id = e.subject_id "
        "WHERE e.jurisdiction <> s.jurisdiction",
        [],
    )
    assert int(stale[0]["n"]) == 0
    return kept.residents


async def incident(ref: str) -> Incident:
    return await crm_incident(ref)


async def import_subjects(tmp_path: Path, name: str, people: dict[str, str]) -> Any:
    lines = "".join(
        f"{ref},{ref.lower()}@x.example,{ref},en,{code},,,,\n" for ref, code in people.items()
    )
    path = tmp_path / name
    path.write_text(HEADER + lines, encoding="utf-8")
    return await import_file(kind="subjects", path=path, actor="tester", key=None)


async def test_resolve_then_a_re_import_moves_people_in_the_counts(
    db_conn: str, tmp_path: Path
) -> None:
    people = {"P1": "US", "P2": "US-CA", "P3": "GB", "P4": "US", "P5": "DE"}
    await import_subjects(tmp_path, "s1.csv", people)
    for subject in await Subject.filter(external_ref__in=["P1", "P2", "P3", "P4"]):
        await Holding.create(subject=subject, system="crm", category="contact")
    first, second = await incident("INC-2026-0001"), await incident("INC-2026-0002")
    for ref in (first.ref, second.ref):
        await affected.resolve(ref=ref, actor="alice", key=None)
    expected = {"US": 2, "US-CA": 1, "GB": 1}
    assert await census_as_joined(first.id) == expected
    assert await census_as_joined(second.id) == expected

    # the inventory learns P1's state and that P3 moved; P5 (not affected) moves too
    moved = {**people, "P1": "US-CA", "P3": "IE", "P5": "FR"}
    assert (await import_subjects(tmp_path, "s2.csv", moved)).updated == 3
    expected = {"US": 1, "US-CA": 2, "IE": 1}
    assert await census_as_joined(first.id) == expected
    assert await census_as_joined(second.id) == expected

    # resolving again keeps the unchanged exposures, with their new residence
    result = await affected.resolve(ref=first.ref, actor="alice", key=None)
    assert (result.added, result.removed, result.changed) == (0, 0, 0)
    assert await census_as_joined(first.id) == expected
    assert result.by_jurisdiction == expected

    # a person added later is written with their residence by the set-based INSERT
    await import_subjects(tmp_path, "s3.csv", {"P6": "HK"})
    await Holding.create(
        subject=await Subject.get(external_ref="P6"), system="crm", category="contact"
    )
    assert (await affected.resolve(ref=first.ref, actor="alice", key=None)).added == 1
    assert await census_as_joined(first.id) == {**expected, "HK": 1}


async def _person(ref: str, code: str) -> Subject:
    return await Subject.create(
        external_ref=ref, email=f"{ref}@x.example", name=ref, jurisdiction=code
    )


async def test_exposures_created_without_a_residence_take_their_subjects(db_conn: str) -> None:
    inc = await incident("INC-2026-0001")
    a, b, c, d = [
        await _person(f"S{n}", code) for n, code in enumerate(("US", "GB", "HK", "US-TX"))
    ]
    created = await Exposure.create(incident_id=inc.id, subject_id=a.id, categories=["x"])
    await Exposure.bulk_create(
        [Exposure(incident_id=inc.id, subject_id=s.id, categories=["x"]) for s in (b, c)]
    )
    await run(
        "INSERT INTO exposure (incident_id, subject_id, categories, reasons, source, created_at) "
        "VALUES (?, ?, '[]', '[]', 'holding', '2026-12-01 00:00:00+00:00')",
        [inc.id, d.id],
    )
    assert await census_as_joined(inc.id) == {"US": 1, "GB": 1, "HK": 1, "US-TX": 1}

    # a model saved whole writes back what it holds (on SQLite, '' from the INSERT's RETURNING)
    created.first_reached_at = utcnow()
    await created.save()
    assert (await Exposure.get(id=created.id)).jurisdiction == "US"
    assert await census_as_joined(inc.id) == {"US": 1, "GB": 1, "HK": 1, "US-TX": 1}
    assert (await census(inc.id)).residents == {"US": 1, "GB": 1, "HK": 1, "US-TX": 1}

    # any statement that changes a subject moves their exposure
    a.jurisdiction = "US-CA"
    await a.save()
    await Subject.filter(id=b.id).update(jurisdiction="IE")
    await run("UPDATE subject SET jurisdiction = ? WHERE id IN (?, ?)", ["GB", c.id, d.id])
    assert await census_as_joined(inc.id) == {"US-CA": 1, "IE": 1, "GB": 2}


CHANGES = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.sampled_from(CODES),
        st.sampled_from(["update", "save", "statement", "re-expose"]),
    ),
    max_size=10,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=CHANGES)
async def test_random_residence_changes_keep_the_census(
    db_conn: str, changes: list[tuple[int, str, str]]
) -> None:
    """Six people, two incidents (the first affects all, the second the even ones); the
    changes accumulate across examples, and after each the census equals the join."""
    if not await Incident.exists(ref="INC-2026-0001"):
        first, second = await incident("INC-2026-0001"), await incident("INC-2026-0002")
        for n in range(6):
            person = await _person(f"R{n}", CODES[n])
            await Exposure.create(incident_id=first.id, subject_id=person.id, categories=["x"])
            if n % 2 == 0:
                await Exposure.create(incident_id=second.id, subject_id=person.id, categories=[])
    first = await Incident.get(ref="INC-2026-0001")
    second = await Incident.get(ref="INC-2026-0002")
    for n, code, how in changes:
        person = await Subject.get(external_ref=f"R{n}")
        if how == "update":
            await Subject.filter(id=person.id).update(jurisdiction=code)
        elif how == "save":
            person.jurisdiction = code
            await person.save()
        elif how == "statement":  # two people in one statement, as an import's upsert does
            other = await Subject.get(external_ref=f"R{(n + 1) % 6}")
            await run(
                "UPDATE subject SET jurisdiction = ? WHERE id IN (?, ?)",
                [code, person.id, other.id],
            )
        else:  # the exposure written anew after the person moved
            await Exposure.filter(incident_id=first.id, subject_id=person.id).delete()
            await Subject.filter(id=person.id).update(jurisdiction=code)
            await Exposure.create(incident_id=first.id, subject_id=person.id, categories=["x"])
    residents = await census_as_joined(first.id)
    assert sum(residents.values()) == 6
    assert sum((await census_as_joined(second.id)).values()) == 3
