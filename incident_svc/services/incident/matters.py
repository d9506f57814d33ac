"""Matters: what notices are about (an incident, a policy change, a disclosure).

An incident's matter is created in the incident's own transaction; campaigns and banners made
for an incident are linked to it. Policy changes and disclosures make their matter themselves.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.domain.enums import MatterKind
from incident_svc.errors import NotFoundError
from incident_svc.models import Incident, Matter


async def create(
    conn: BaseDBAsyncClient,
    *,
    kind: MatterKind,
    reference: str,
    title: str,
    incident: Incident | None = None,
) -> Matter:
    """A new matter, written with the caller's transaction (the caller audits)."""
    return await Matter.create(
        using_db=conn, kind=kind, reference=reference, title=title[:256], incident=incident
    )


async def of_incident_id(conn: BaseDBAsyncClient | None, incident_id: int) -> int | None:
    """The id of an incident's matter (None only for a row the migration has not seen)."""
    query = Matter.filter(incident_id=incident_id)
    if conn is not None:
        query = query.using_db(conn)
    return await query.first().values_list("id", flat=True)  # type: ignore[return-value]


async def get(reference: str) -> Matter:
    matter = await Matter.get_or_none(reference=reference)
    if matter is None:
        raise NotFoundError(f"no matter {reference!r}")
    return matter
