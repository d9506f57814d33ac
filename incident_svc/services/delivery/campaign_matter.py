"""What a campaign is about: its matter, and its incident when the matter is one.

A campaign of an incident names both (``incident`` and ``matter``); a campaign of a policy
change or a disclosure names only its matter. Readers load both relations (``RELATED``) and
ask here, never ``campaign.incident`` directly, so that either kind of campaign reads alike.
"""

from __future__ import annotations

from incident_svc.models import Campaign

RELATED = ("incident", "matter")


def incident_ref(campaign: Campaign) -> str | None:
    """The incident's reference, or None for a campaign of another matter."""
    incident = campaign.incident
    return incident.ref if incident is not None else None


def ref_of(campaign: Campaign) -> str:
    """The reference of what the campaign is about: ``INC-...``, ``POLICY-...``, ``DIS-...``."""
    incident = campaign.incident
    if incident is not None:
        return incident.ref
    matter = campaign.matter
    if matter is None:  # only an incident campaign can lack a matter (older rows)
        return f"campaign-{campaign.id}"
    return matter.reference


def matter_ref(campaign: Campaign) -> str | None:
    matter = campaign.matter
    return matter.reference if matter is not None else incident_ref(campaign)


def audit_label(campaign: Campaign) -> str:
    """The key that names the campaign's matter in audit details: ``incident`` for an
    incident's (so that ``audit log --incident`` finds it, as before), else ``matter``."""
    return "incident" if campaign.incident_id is not None else "matter"  # type: ignore[attr-defined]
