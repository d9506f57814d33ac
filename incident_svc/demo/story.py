"""The demo's story, step by step, through the same services the CLI calls.

Every step first looks at what the database already holds, so that a second run changes
nothing and sends nothing twice: the inventory import is an upsert, the incident is found by
its title, the affected list resolves to the same hash, a campaign that was sent is not sent
again, and a banner that is up stays up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from incident_svc.config import Settings
from incident_svc.config_sources import approval_policy
from incident_svc.demo import texts
from incident_svc.demo.inventory import write_inventory
from incident_svc.demo.keys import ANALYST_KEY, APPROVER_KEY, DemoKeys
from incident_svc.domain.enums import (
    BannerAudience,
    BannerSeverity,
    CampaignStatus,
    NoticeKind,
    Severity,
)
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConfigError, TemplateError
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.models import Banner, Campaign, Delivery, Exposure, Incident
from incident_svc.notices import review
from incident_svc.services.auditlog import audit
from incident_svc.services.delivery import approvers, campaign_start, campaigns
from incident_svc.services.delivery.composing import load_default_composer
from incident_svc.services.delivery.outbox import BatchSummary
from incident_svc.services.incident import affected, incidents
from incident_svc.services.inventory.importer import import_file
from incident_svc.services.website import banners

ANALYST = "demo:analyst"  # records the incident and creates the campaigns
APPROVER = "demo:approver"  # the second pair of eyes
Report = Callable[[str], None]
# (description, total) -> a context manager giving the callback that send_now reports batches to
Bar = Callable[[str, int], AbstractContextManager[Callable[[BatchSummary], None] | None]]


def no_bar(description: str, total: int) -> AbstractContextManager[None]:
    return nullcontext()


@dataclass
class DemoSummary:
    database: str
    incident: str = ""
    subjects_imported: int = 0
    affected: int = 0
    affected_by_jurisdiction: dict[str, int] = field(default_factory=dict)
    affected_by_locale: dict[str, int] = field(default_factory=dict)
    account_holders: int = 0
    notices_checked: dict[str, int] = field(default_factory=dict)
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    emails_accepted_this_run: int = 0
    emails_in_maildir: int = 0
    maildir: str = ""
    banner_id: int | None = None
    feed_url: str = ""
    audit_ok: bool = False
    audit_events: int = 0
    audit_message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Demo:
    settings: Settings
    folder: Path
    subjects: int
    key: bytes | None
    report: Report
    pool: SmtpPool  # the relay's connections (the development mail sink)
    bar: Bar = no_bar
    keys: DemoKeys | None = None  # two operators' SSH keys: the demo approves in signed mode


async def import_inventory(demo: Demo, summary: DemoSummary) -> None:
    files = write_inventory(demo.folder / "inventory", subjects=demo.subjects)
    for kind, path in (
        ("accounts", files.accounts),
        ("subjects", files.subjects),
        ("holdings", files.holdings),
    ):
        result = await import_file(kind=kind, path=path, actor=ANALYST, key=demo.key)
        demo.report(
            f"imported {kind}: {result.rows} rows "
            f"({result.inserted} new, {result.updated} updated, {result.unchanged} unchanged)"
        )
        if kind == "subjects":
            summary.subjects_imported = result.rows


async def record_incident(demo: Demo, summary: DemoSummary) -> Incident:
    existing = await Incident.filter(title=texts.TITLE).order_by("id").first()
    if existing is not None:
        demo.report(f"incident {existing.ref} already recorded")
        summary.incident = existing.ref
        return existing
    now = utcnow().replace(microsecond=0)
    incident = await incidents.create(
        actor=ANALYST,
        key=demo.key,
        title=texts.TITLE,
        summary=texts.SUMMARY,
        severity=Severity.HIGH,
        discovered_at=now - timedelta(hours=6),
        occurred_from=now - timedelta(days=3),
        occurred_to=now - timedelta(days=2),
        systems=["billing"],
        categories=["billing_address", "payment_card"],
        texts=texts.NOTICE_TEXTS,
    )
    demo.report(f"recorded incident {incident.ref}: {incident.title}")
    summary.incident = incident.ref
    return incident


async def find_affected(demo: Demo, summary: DemoSummary, incident: Incident) -> None:
    result = await affected.resolve(ref=incident.ref, actor=ANALYST, key=demo.key)
    summary.affected = result.total
    summary.affected_by_jurisdiction = dict(sorted(result.by_jurisdiction.items()))
    locales = await Exposure.filter(incident_id=incident.id).values_list(
        "subject__locale", flat=True
    )
    summary.affected_by_locale = dict(sorted(Counter(map(str, locales)).items()))
    summary.account_holders = len(result.by_account)
    demo.report(
        f"affected: {result.total} people in {len(result.by_account)} accounts "
        f"(+{result.added} -{result.removed}, hash {result.hash[:12]})"
    )


async def check_notices(demo: Demo, summary: DemoSummary, incident: Incident) -> None:
    """`notice check` for both kinds (a finding stops the demo before anything is sent),
    and `notice preview` of one person per kind and locale, kept on disk to look at."""
    for kind in (NoticeKind.SUBJECT_NOTICE, NoticeKind.ACCOUNT_HOLDER_NOTICE):
        report = await review.check_incident(
            incident_ref=incident.ref, kind=kind, settings=demo.settings, per_locale=5
        )
        problems = [(ref, f) for r in report.locales.values() for ref, f in r.findings]
        if problems or not report.ok:
            ref, finding = problems[0] if problems else ("-", None)
            raise TemplateError(f"notice check of {kind} failed for {ref}: {finding}")
        for locale_report in report.locales.values():
            await _write_preview(demo, incident, kind, locale_report.samples[0])
        locales = sorted(report.locales)
        summary.notices_checked[str(kind)] = sum(len(r.samples) for r in report.locales.values())
        demo.report(f"checked {kind} in {', '.join(locales)}: no findings; previews written")


async def _write_preview(demo: Demo, incident: Incident, kind: NoticeKind, ref: str) -> None:
    subject_ref, account_ref = (ref, None) if kind == NoticeKind.SUBJECT_NOTICE else (None, ref)
    preview = await review.preview_notice(
        incident_ref=incident.ref,
        kind=kind,
        settings=demo.settings,
        subject_ref=subject_ref,
        account_ref=account_ref,
    )
    _save(demo.folder / "previews" / f"{kind}.{preview.locale}.eml", preview.eml)


def _save(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def send_campaign(
    demo: Demo, summary: DemoSummary, incident: Incident, kind: NoticeKind
) -> None:
    campaign = await _campaign_for(demo, incident, kind)
    if campaign.status is CampaignStatus.COMPLETED:
        demo.report(f"campaign {campaign.id} ({kind}) was sent before: not sent again")
    else:
        before = await Delivery.filter(campaign_id=campaign.id, status="sent").count()
        with demo.bar(f"campaign {campaign.id} ({kind})", campaign.audience_count) as advance:
            await campaign_start.send_now(
                campaign_id=campaign.id,
                settings=demo.settings,
                pool=demo.pool,
                actor=ANALYST,
                key=demo.key,
                progress=advance,
            )
        after = await Delivery.filter(campaign_id=campaign.id, status="sent").count()
        summary.emails_accepted_this_run += after - before
        demo.report(f"campaign {campaign.id} ({kind}): {after - before} emails accepted")
    counts = await campaigns.delivery_counts(campaign.id)
    final = await campaigns.get(campaign.id)
    summary.campaigns[str(kind)] = {
        "id": campaign.id,
        "status": final.status,
        "created_by": final.creator_principal or final.creator_identity,
        "approved_by": final.approver_principal or final.approver_identity,
        **counts,
    }


async def _campaign_for(demo: Demo, incident: Incident, kind: NoticeKind) -> Campaign:
    existing = (
        await Campaign.filter(incident_id=incident.id, kind=kind)
        .exclude(status=CampaignStatus.CANCELLED)
        .order_by("id")
        .first()
    )
    if existing is not None:
        return existing
    composer = await load_default_composer(incident.id, kind, demo.settings)
    keys = demo.keys
    if keys is None:
        raise ConfigError("the demo approves in signed mode and needs its operators' keys")
    text = approvers.new_creation_text(incident.ref, str(kind))
    campaign = await campaigns.create(
        incident_ref=incident.ref,
        kind=str(kind),
        at=None,
        actor=ANALYST,
        key=demo.key,
        template_hash=composer.template_hash,
        approval=approval_policy(demo.settings),
        signed=(text, await approvers.sign(text, keys.key(ANALYST_KEY))),
        settings=demo.settings,
    )
    approval = await approvers.text_to_sign(campaign.id, demo.settings)
    campaign = await campaigns.approve(
        campaign_id=campaign.id,
        actor=APPROVER,
        key=demo.key,
        settings=demo.settings,
        signature=await approvers.sign(approval, keys.key(APPROVER_KEY)),
    )
    demo.report(
        f"campaign {campaign.id} ({kind}) created by {campaign.creator_principal}, "
        f"approved by {campaign.approver_principal} (SSH-signed four eyes)"
    )
    return campaign


async def publish_banner(demo: Demo, summary: DemoSummary, incident: Incident) -> None:
    existing = await Banner.filter(incident_id=incident.id, withdrawn_at=None).first()
    if existing is None:
        request = banners.PublishRequest(
            incident_ref=incident.ref,
            audience=BannerAudience.PUBLIC,
            severity=BannerSeverity.WARNING,
            link=f"{demo.settings.org.website_url}/security/{incident.ref}",
            starts_at=None,
            ends_at=utcnow() + timedelta(days=30),
        )
        existing = await banners.publish(
            request=request, actor=ANALYST, settings=demo.settings, key=demo.key
        )
        demo.report(f"published banner {existing.id} for 30 days")
    else:
        demo.report(f"banner {existing.id} is already up")
    summary.banner_id = existing.id
    summary.feed_url = f"{demo.settings.feed.public_url.rstrip('/')}/v1/banners"


async def verify_audit(demo: Demo, summary: DemoSummary) -> None:
    verdict = await audit.verify(key=demo.key)
    summary.audit_ok = verdict.intact
    summary.audit_events = verdict.checked
    summary.audit_message = verdict.problem or f"head {verdict.head_hash[:16]}"
    demo.report(
        f"audit verify: {'intact' if verdict.intact else 'BROKEN'}, {verdict.checked} events"
    )
