"""Gather, freeze and re-check what a campaign's approval binds (the rules: domain.approval).

- :func:`current_approval_snapshot` is the snapshot and digest the campaign would get if it
  were approved now (what an approver reviews, or signs);
- :func:`freeze` stores it on the campaign, with the audience frozen in ``campaign_recipient``;
- :func:`changes_before_start` recomputes everything the snapshot covers and names what
  differs; :func:`changes_while_sending` does the same for the parts a running campaign still
  reads from outside the snapshot (template files and settings).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import OrgSettings, Settings
from incident_svc.domain import approval
from incident_svc.domain.approval import Audience, TemplateFile
from incident_svc.errors import NotFoundError
from incident_svc.models import Campaign, Incident
from incident_svc.notices.catalog import TemplateCatalog, email_prefixes
from incident_svc.notices.context import IncidentFacts
from incident_svc.services.delivery import approved_audience
from incident_svc.services.delivery.matter_campaigns import audience as matter_audience
from incident_svc.services.delivery.matter_campaigns import facts as matter_facts


def message_settings(settings: Settings) -> dict[str, Any]:
    """The settings that enter a message: sender, reply-to, organisation, DKIM identity."""
    return {
        "mail_from": settings.mail_from,
        "reply_to": settings.reply_to,
        "org": settings.org.model_dump(mode="json"),
        "dkim": {"domain": settings.dkim.domain, "selector": settings.dkim.selector},
    }


def incident_part(incident: Incident) -> dict[str, Any]:
    """The incident's fields a notice shows, with its texts in every locale."""
    return {
        "ref": incident.ref,
        "title": incident.title,
        "severity": str(incident.severity),
        "occurred_from": _iso(incident.occurred_from),
        "occurred_to": _iso(incident.occurred_to),
        "discovered_at": _iso(incident.discovered_at),
        "texts": incident.texts or {},
    }


def template_files(settings: Settings, kind: str) -> list[TemplateFile]:
    """Every template file the kind's notices may read, operator overrides included."""
    catalog = TemplateCatalog(settings.templates_dir)
    return [TemplateFile(*entry) for entry in catalog.files(*email_prefixes(kind))]


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _snapshot(
    campaign: Campaign, about: dict[str, Any], settings: Settings, audience: Audience
) -> dict[str, Any]:
    return approval.build_snapshot(
        campaign_id=campaign.id,
        kind=str(campaign.kind),
        channels=campaign.channels,
        incident=about,
        settings=message_settings(settings),
        templates=template_files(settings, str(campaign.kind)),
        audience=audience,
    )


async def _about(conn: BaseDBAsyncClient, campaign: Campaign) -> dict[str, Any]:
    """The snapshot's ``incident`` section: the incident's fields, or for a campaign of
    another matter the matter's facts (services.delivery.matter_campaigns.facts)."""
    if campaign.incident is None:
        return await matter_facts.part(conn, campaign)
    return incident_part(campaign.incident)


def _matter_id(campaign: Campaign) -> int:
    return int(campaign.matter_id)  # type: ignore[attr-defined]


async def _live_hash(conn: BaseDBAsyncClient, campaign: Campaign) -> Audience:
    if campaign.incident is None:
        return await matter_audience.live_hash(
            conn, matter_id=_matter_id(campaign), kind=campaign.kind
        )
    return await approved_audience.live_hash(
        conn,
        incident_id=campaign.incident.id,
        kind=campaign.kind,
        rule=campaign.audience,
        campaign_id=campaign.id,
    )


async def current_approval_snapshot(
    campaign_id: int, settings: Settings
) -> tuple[dict[str, Any], str]:
    """The snapshot and approval digest of ``campaign_id`` as it would be approved now."""
    campaign = await Campaign.get_or_none(id=campaign_id).prefetch_related("incident")
    if campaign is None:
        raise NotFoundError(f"campaign {campaign_id} does not exist")
    conn = connections.get("default")
    audience = await _live_hash(conn, campaign)
    snapshot = _snapshot(campaign, await _about(conn, campaign), settings, audience)
    return snapshot, approval.approval_digest(snapshot)


async def freeze(conn: BaseDBAsyncClient, campaign: Campaign, settings: Settings) -> str:
    """Freeze the campaign's audience and snapshot inside ``conn``; returns the digest.

    The caller saves the campaign (``approval_snapshot``, ``approval_digest`` and a recorded
    ``template_hash`` are set here).
    """
    incident = campaign.incident
    if incident is None:
        await matter_audience.freeze(
            conn, campaign_id=campaign.id, matter_id=_matter_id(campaign), kind=campaign.kind
        )
    else:
        await approved_audience.freeze(
            conn,
            campaign_id=campaign.id,
            incident_id=incident.id,
            kind=campaign.kind,
            rule=campaign.audience,
        )
    audience = await approved_audience.frozen_hash(conn, campaign.id)
    about = await _about(conn, campaign)
    text = approval.canonical_text(_snapshot(campaign, about, settings, audience))
    if campaign.template_hash is not None:  # recorded at creation: now the approved files'
        catalog = TemplateCatalog(settings.templates_dir)
        campaign.template_hash = catalog.content_hash(*email_prefixes(str(campaign.kind)))
    campaign.approval_snapshot = text
    campaign.approval_digest = approval.digest_of_text(text)
    return campaign.approval_digest


def stored(campaign: Campaign) -> dict[str, Any] | None:
    """The campaign's frozen snapshot, or None when it has none (never approved)."""
    if campaign.approval_snapshot is None:
        return None
    loaded: dict[str, Any] = json.loads(campaign.approval_snapshot)
    return loaded


async def changes_before_start(
    conn: BaseDBAsyncClient, campaign: Campaign, settings: Settings
) -> str | None:
    """One line naming what changed since approval (None: nothing did).

    Checks the stored snapshot against its digest, the frozen audience against the snapshot,
    then the incident, templates, settings and the live audience against the frozen ones.
    """
    approved = stored(campaign)
    if approved is None:
        return None
    text = campaign.approval_snapshot or ""
    if approval.digest_of_text(text) != campaign.approval_digest:
        return "the stored approval snapshot no longer matches its digest"
    frozen = await approved_audience.frozen_hash(conn, campaign.id)
    if frozen != Audience(**approved["audience"]):
        return "the frozen audience in the database no longer matches the approved one"
    current = _snapshot(campaign, await _about(conn, campaign), settings, frozen)
    found = approval.differences(approved, current)
    if campaign.incident is None:
        found += await matter_audience.changes(
            conn, campaign_id=campaign.id, matter_id=_matter_id(campaign), kind=campaign.kind
        )
    else:
        found += await approved_audience.changes(
            conn,
            campaign_id=campaign.id,
            incident_id=campaign.incident.id,
            kind=campaign.kind,
            rule=campaign.audience,
        )
    return approval.one_line(found) if found else None


def changes_while_sending(campaign: Campaign, settings: Settings) -> str | None:
    """What changed in the template files and message settings a running campaign reads."""
    approved = stored(campaign)
    if approved is None:
        return None
    current = {
        "settings": message_settings(settings),
        "templates": approval.template_entries(template_files(settings, str(campaign.kind))),
    }
    part = {key: approved.get(key) for key in current}
    found = approval.differences(part, current)
    return approval.one_line(found) if found else None


def frozen_incident(campaign: Campaign, snapshot: dict[str, Any]) -> IncidentFacts:
    """The incident as approved: what notices of the campaign are composed from."""
    part = snapshot["incident"]
    return IncidentFacts(
        id=campaign.incident_id,  # type: ignore[attr-defined]
        ref=part["ref"],
        title=part["title"],
        severity=part["severity"],
        occurred_from=_parse(part["occurred_from"]),
        occurred_to=_parse(part["occurred_to"]),
        discovered_at=_parse(part["discovered_at"]) or datetime.now(UTC),
        texts=part["texts"],
    )


def frozen_org(snapshot: dict[str, Any]) -> OrgSettings:
    return OrgSettings(**snapshot["settings"]["org"])


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def audience_count(campaign: Campaign) -> int:
    """How many recipients the campaign's approval froze."""
    snapshot = stored(campaign)
    return int(snapshot["audience"]["count"]) if snapshot else 0
