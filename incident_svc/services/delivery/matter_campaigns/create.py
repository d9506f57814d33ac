"""Making matter campaigns, inside the transaction of what gives rise to them.

- a material policy change: two draft campaigns when the version is published (its people,
  its account holders), created by the publisher and approved like any campaign
  (``campaign approve``: four eyes, snapshot, signature in signed mode);
- a released disclosure: one campaign when ``serve`` (or anyone) releases it, created as
  recorded and approved as counsel approved the release (the recorder and counsel are the
  four eyes, ``disclosure approve-release``), its snapshot frozen then and its start due at
  once.

Each is audited with the campaign's own events (``campaign.created``, ``campaign.approved``,
``campaign.scheduled``), naming the matter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.config_sources import approval_policy
from incident_svc.domain.enums import CampaignStatus, NoticeKind
from incident_svc.domain.identity import Identity
from incident_svc.errors import ValidationError
from incident_svc.models import Campaign, Disclosure, Matter
from incident_svc.notices.catalog import TemplateCatalog, email_prefixes
from incident_svc.services.delivery import approval_snapshot, approvers, campaigns
from incident_svc.services.delivery.matter_campaigns import audience, checks
from incident_svc.services.delivery.matter_campaigns.disclosure_digest import content_digest
from incident_svc.services.delivery.matter_campaigns.kinds import POLICY_KINDS

CHANNELS = ["email"]


def _catalog(settings: Settings) -> TemplateCatalog:
    return TemplateCatalog(settings.templates_dir, render_seconds=settings.templates.render_seconds)


def check_policy_templates(
    settings: Settings, *, ref: str, version: str, summaries: dict[str, str], url: str
) -> None:
    """Refuse (ValidationError, nothing written) a policy change whose notices would fail
    their content checks with the templates in force."""
    part: dict[str, Any] = {
        "ref": ref, "matter": "policy_change", "version": version, "url": url,
        "summaries": summaries, "banner": None,
    }  # fmt: skip
    for kind in POLICY_KINDS:
        found = checks.findings(_catalog(settings), kind, part, settings.org, [])
        if found:
            locale, first = found[0]
            raise ValidationError(
                f"the {kind} template ({locale}, {first.part}) fails its content check: "
                f"{first.message}",
                field="templates",
            )


async def _created(
    conn: BaseDBAsyncClient,
    *,
    matter: Matter,
    kind: NoticeKind,
    settings: Settings,
    created_by: str,
    creator: approvers.Proven,
    required: bool,
    source: str,
) -> Campaign:
    made = await Campaign.create(
        using_db=conn,
        incident=None,
        matter_id=matter.id,
        kind=kind,
        channels=CHANNELS,
        template_hash=_catalog(settings).content_hash(*email_prefixes(str(kind))),
        created_by=created_by,
        approval_required=required,
        approval_source=source[:200],
        creator_identity=creator.identity.session,
        creator_principal=creator.identity.principal,
    )
    return await campaigns.locked(conn, made.id)  # with its relations, as readers expect


async def _audit_created(
    conn: BaseDBAsyncClient,
    campaign: Campaign,
    matter: Matter,
    actor: str,
    key: bytes | None,
    made_by: approvers.Proven,
    extra: dict[str, Any],
) -> None:
    await campaigns.audit_event(
        conn, campaign, actor, key, "campaign.created", ref=matter.reference, details={
        "kind": str(campaign.kind), "channels": CHANNELS, "audience": campaign.audience_count,
        "template_hash": campaign.template_hash,
        "approval": {"required": campaign.approval_required, "source": campaign.approval_source},
        **approvers.audit_fields(approvers.CREATOR, made_by), **extra,
    })  # fmt: skip


async def policy_campaigns(
    conn: BaseDBAsyncClient,
    *,
    matter: Matter,
    actor: str,
    key: bytes | None,
    settings: Settings,
    made_by: approvers.Proven,
) -> list[int]:
    """The draft campaigns of a material change (people, account holders); their ids."""
    policy = approval_policy(settings)
    made: list[int] = []
    for kind in POLICY_KINDS:
        campaign = await _created(
            conn, matter=matter, kind=kind, settings=settings, created_by=actor,
            creator=made_by, required=policy.required, source=policy.source,
        )  # fmt: skip
        count = await audience.live_hash(conn, matter_id=matter.id, kind=kind)
        campaign.audience_count = count.count
        await campaign.save(using_db=conn, update_fields=["audience_count"])
        if not made:  # one signed statement creates both: kept once, with the first
            await approvers.keep(conn, campaign, approvers.CREATOR, made_by)
        await _audit_created(conn, campaign, matter, actor, key, made_by, {})
        made.append(campaign.id)
    return made


async def disclosure_campaign(
    conn: BaseDBAsyncClient,
    *,
    disclosure: Disclosure,
    now: datetime,
    actor: str,
    key: bytes | None,
    settings: Settings,
) -> Campaign:
    """The released disclosure's campaign: approved as counsel approved the release, due now."""
    matter = await Matter.get(id=disclosure.matter_id).using_db(conn)  # type: ignore[attr-defined]
    creator = approvers.Proven(
        Identity(disclosure.recorder_identity, disclosure.recorder_principal)
    )
    approver = approvers.Proven(
        Identity(disclosure.release_approver_identity or "", disclosure.release_approver_principal)
    )
    campaign = await _created(
        conn, matter=matter, kind=NoticeKind.DISCLOSURE_NOTICE, settings=settings,
        created_by=disclosure.recorded_by, creator=creator, required=True,
        source=f"disclosure {disclosure.ref}: counsel's release approval",
    )  # fmt: skip
    digest = await approval_snapshot.freeze(conn, campaign, settings)
    campaign.status = CampaignStatus.SCHEDULED
    campaign.approved_by = disclosure.release_approved_by
    campaign.approved_at = disclosure.release_approved_at
    approvers.assign(campaign, approvers.APPROVER, approver)
    campaign.audience_count = approval_snapshot.audience_count(campaign)
    campaign.scheduled_at = now
    await campaign.save(using_db=conn)
    told = {"disclosure": disclosure.ref, "content_digest": content_digest(disclosure)}
    await _audit_created(conn, campaign, matter, actor, key, creator, told)
    await campaigns.audit_event(
        conn, campaign, actor, key, "campaign.approved", ref=matter.reference, details={
        "four_eyes": True, "template_hash": campaign.template_hash, "approval_digest": digest,
        "audience": campaign.audience_count, "approved_as": "disclosure.release_approved",
        "approved_at": _iso(disclosure.release_approved_at), "approved_by": campaign.approved_by,
        **approvers.audit_fields(approvers.APPROVER, approver), **told,
    })  # fmt: skip
    await campaigns.audit_event(conn, campaign, actor, key, "campaign.scheduled",
                                {"scheduled_at": now.isoformat()}, ref=matter.reference)  # fmt: skip
    return campaign


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
