"""Set-based reads of what a batch of notices needs: a few queries per batch, never one per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from tortoise import connections

from incident_svc.errors import NotFoundError
from incident_svc.models import Account, Exposure, Incident, Subject
from incident_svc.notices.context import AccountFacts, IncidentFacts, PersonFacts

# Keeps every IN (...) list far below SQLite's and asyncpg's parameter limits.
_CHUNK = 500
_REGION_ZONES = {
    "HK": "Asia/Hong_Kong",
    "APAC": "Asia/Hong_Kong",
    "GB": "Europe/London",
    "UK": "Europe/London",
    "EMEA": "Europe/London",
    "US": "America/New_York",
}


def region_zone(region: str) -> str:
    """An account has no time zone of its own: its region's main office zone, else UTC."""
    return _REGION_ZONES.get(region.upper(), "UTC")


async def load_incident(incident_id: int) -> IncidentFacts:
    incident = await Incident.get_or_none(id=incident_id)
    if incident is None:
        raise NotFoundError(f"no incident with id {incident_id}")
    return incident_facts(incident)


async def load_incident_by_ref(ref: str) -> IncidentFacts:
    incident = await Incident.get_or_none(ref=ref)
    if incident is None:
        raise NotFoundError(f"no incident {ref!r}")
    return incident_facts(incident)


def incident_facts(incident: Incident) -> IncidentFacts:
    return IncidentFacts(
        id=incident.id,
        ref=incident.ref,
        title=incident.title,
        severity=str(incident.severity),
        occurred_from=incident.occurred_from,
        occurred_to=incident.occurred_to,
        discovered_at=incident.discovered_at,
        texts=incident.texts or {},
    )


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    unique = sorted(set(ids))
    return [unique[i : i + _CHUNK] for i in range(0, len(unique), _CHUNK)]


_PERSON_FIELDS = ("id", "external_ref", "name", "email", "jurisdiction", "timezone")


async def load_people(incident_id: int, subject_ids: Sequence[int]) -> dict[int, PersonFacts]:
    """The affected people among ``subject_ids`` with their categories in this incident."""
    people: dict[int, PersonFacts] = {}
    for chunk in _chunks(subject_ids):
        rows = await Exposure.filter(incident_id=incident_id, subject_id__in=chunk).values(
            "categories", *(f"subject__{name}" for name in _PERSON_FIELDS)
        )
        for row in rows:
            person = _person(row, prefix="subject__")
            people[person.id] = person
    return people


def _person(row: dict[str, Any], *, prefix: str) -> PersonFacts:
    return PersonFacts(
        id=row[f"{prefix}id"],
        external_ref=row[f"{prefix}external_ref"],
        name=row[f"{prefix}name"],
        email=row[f"{prefix}email"],
        jurisdiction=row[f"{prefix}jurisdiction"],
        timezone=row[f"{prefix}timezone"] or "UTC",
        categories=tuple(row["categories"] or ()),
    )


async def load_accounts(incident_id: int, account_ids: Sequence[int]) -> dict[int, AccountFacts]:
    """Accounts with their affected people (two queries per chunk of accounts)."""
    accounts: dict[int, AccountFacts] = {}
    for chunk in _chunks(account_ids):
        people = await _affected_by_account(incident_id, chunk)
        for row in await Account.filter(id__in=chunk).values():
            accounts[row["id"]] = AccountFacts(
                id=row["id"],
                account_ref=row["account_ref"],
                name=row["name"],
                holder_name=row["holder_name"],
                holder_email=row["holder_email"],
                region=row["region"],
                people=tuple(people.get(row["id"], ())),
            )
    return accounts


async def _affected_by_account(
    incident_id: int, account_ids: list[int]
) -> dict[int, list[PersonFacts]]:
    rows = await Exposure.filter(
        incident_id=incident_id, subject__account_id__in=account_ids
    ).values("categories", "subject__account_id", *(f"subject__{n}" for n in _PERSON_FIELDS))
    unreached = await _unreached(incident_id, account_ids)
    grouped: dict[int, list[PersonFacts]] = defaultdict(list)
    for row in rows:
        person = _person(row, prefix="subject__")
        if person.id in unreached:
            person = replace(person, reached=False)
        grouped[row["subject__account_id"]].append(person)
    return grouped


# people of these accounts an email notice of the incident did not reach: bounced after
# acceptance, failed, or an address already known to bounce
_UNREACHED = """
SELECT s.id FROM subject s
WHERE s.account_id IN ({accounts}) AND (s.email_status = 'bounced' OR s.id IN (
  SELECT d.subject_id FROM delivery d
  WHERE d.campaign_id IN (SELECT c.id FROM campaign c WHERE c.incident_id = {incident})
    AND (d.outcome = 'bounced' OR d.status = 'failed')))
"""


async def _unreached(incident_id: int, account_ids: list[int]) -> set[int]:
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    marks = [f"${n}" if postgres else "?" for n in range(1, len(account_ids) + 2)]
    sql = _UNREACHED.format(accounts=", ".join(marks[:-1]), incident=marks[-1])
    _, rows = await conn.execute_query(sql, [*account_ids, incident_id])
    return {int(dict(row)["id"]) for row in rows}


async def subject_id_by_ref(external_ref: str) -> int:
    subject = await Subject.get_or_none(external_ref=external_ref).values("id")
    if subject is None:
        raise NotFoundError(f"no subject {external_ref!r}")
    return int(subject["id"])


async def account_id_by_ref(account_ref: str) -> int:
    account = await Account.get_or_none(account_ref=account_ref).values("id")
    if account is None:
        raise NotFoundError(f"no account {account_ref!r}")
    return int(account["id"])


async def reference_of(kind: str, row_id: int) -> str:
    """A subject's or account's reference for a message (``P-0030``, not ``subject 30``)."""
    if kind == "subject":
        found = await Subject.filter(id=row_id).values_list("external_ref", flat=True)
    else:
        found = await Account.filter(id=row_id).values_list("account_ref", flat=True)
    return str(found[0]) if found else f"{kind} id {row_id} (deleted)"
