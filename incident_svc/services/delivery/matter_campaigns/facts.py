"""What a matter campaign's approval binds about its matter, and reading it back.

The snapshot's ``incident`` section (domain.approval) holds, for a matter campaign, the
matter's facts instead: the policy version's summaries, URL and publication; or the parts of
a disclosure its notice may tell. Withheld disclosure parts never enter the snapshot, so they
cannot enter a message composed from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.errors import NotFoundError
from incident_svc.models import Banner, Campaign, Disclosure, Matter, PolicyVersion
from incident_svc.services.delivery.matter_campaigns.kinds import POLICY_KINDS


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def policy_part(matter: Matter, version: PolicyVersion) -> dict[str, Any]:
    return {
        "ref": matter.reference,
        "matter": "policy_change",
        "version": version.version,
        "document_sha256": version.document_sha256,
        "url": version.document_url or "",
        "summaries": dict(sorted(version.summaries.items())),
        "published_at": _iso(version.published_at),
        "banner": version.banner_id,
    }


def disclosure_part(matter: Matter, disclosure: Disclosure) -> dict[str, Any]:
    """The disclosure as its notice tells it: withheld parts are left out entirely."""
    told: dict[str, Any] = {
        "authority": disclosure.authority,
        "legal_basis": disclosure.legal_basis,
        "received_at": _iso(disclosure.received_at),
        "categories": sorted(disclosure.categories),
    }
    for part in disclosure.withheld:
        told.pop(part, None)
    return {
        "ref": matter.reference,
        "matter": "disclosure",
        "disclosure": disclosure.ref,
        "withheld": sorted(disclosure.withheld),
        "told": told,
    }


async def part(conn: BaseDBAsyncClient, campaign: Campaign) -> dict[str, Any]:
    """The matter's facts for the campaign's snapshot, read inside ``conn``."""
    matter_id = campaign.matter_id  # type: ignore[attr-defined]
    matter = await Matter.filter(id=matter_id).using_db(conn).first()
    if matter is None:
        raise NotFoundError(f"campaign {campaign.id} has no matter")
    if campaign.kind in POLICY_KINDS:
        version = await PolicyVersion.filter(matter_id=matter.id).using_db(conn).first()
        if version is None:
            raise NotFoundError(f"matter {matter.reference} has no policy version")
        return policy_part(matter, version)
    disclosure = await Disclosure.filter(matter_id=matter.id).using_db(conn).first()
    if disclosure is None:
        raise NotFoundError(f"matter {matter.reference} has no disclosure")
    return disclosure_part(matter, disclosure)


@dataclass(frozen=True)
class Frozen:
    """A matter campaign's facts as approved (from the snapshot)."""

    part: dict[str, Any]

    @property
    def ref(self) -> str:
        return str(self.part["ref"])

    @property
    def is_policy(self) -> bool:
        return self.part.get("matter") == "policy_change"


async def banner_first_served(banner_id: int | None) -> datetime | None:
    """When the policy's public notice was first served (None: not yet, or no banner)."""
    if banner_id is None:
        return None
    banner = await Banner.get_or_none(id=banner_id)
    return banner.first_served_at if banner is not None else None


def withheld_values(disclosure: Disclosure) -> list[str]:
    """The words of the withheld parts, which no notice may contain (for the checks)."""
    values: list[str] = []
    for part_name in disclosure.withheld:
        if part_name == "authority":
            values.append(disclosure.authority)
        elif part_name == "legal_basis":
            values.append(disclosure.legal_basis)
    return values
