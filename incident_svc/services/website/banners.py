"""Website banners: publish, list, show, withdraw; proof of posting.

Personal banners for people an email did not reach: services/bounce/substitute.py.

Texts come from the incident's ``banner`` templates (``incident_svc.notices.banner_text``).
Every change writes its audit event in the same transaction. Serve counts arrive in batches
from the feed (:func:`record_serves`), so counting never slows a request down.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tortoise.expressions import F

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain.banner_rules import MAX_LINK_LENGTH, BannerCard, check_texts, normal_link
from incident_svc.domain.enums import BannerAudience, BannerSeverity
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, NotFoundError, ValidationError
from incident_svc.models import Banner, Exposure, Incident, Subject
from incident_svc.services.auditlog import audit
from incident_svc.services.incident import matters, reach
from incident_svc.services.website.banner_audience import audience_refs

Texts = dict[str, dict[str, str]]


class RenderTexts(Protocol):
    def __call__(
        self, *, incident_id: int, locales: Sequence[str], settings: Settings
    ) -> Awaitable[Texts]: ...


@dataclass(frozen=True)
class TextSource:
    """Where banner texts and their hashes come from (the notices package, issue 4)."""

    render: RenderTexts
    content_hash: Callable[[Mapping[str, str]], str]


def notices_text_source() -> TextSource:
    """The notices package's renderer, imported on first use."""
    try:
        module: Any = importlib.import_module("incident_svc.notices.banner_text")
    except ModuleNotFoundError as exc:
        raise ConflictError(
            "banner texts need incident_svc.notices.banner_text, which this build lacks"
        ) from exc
    return TextSource(render=module.render_banner_texts, content_hash=module.content_hash)


@dataclass(frozen=True)
class PublishRequest:
    incident_ref: str
    audience: BannerAudience
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    severity: BannerSeverity = BannerSeverity.WARNING
    link: str | None = None


async def publish(
    *,
    request: PublishRequest,
    actor: str,
    settings: Settings,
    key: bytes | None,
    texts: TextSource | None = None,
) -> Banner:
    """Render the incident's banner in every locale in use and publish it for a time window."""
    starts_at = request.starts_at or utcnow()
    _check_window(starts_at, request.ends_at)
    link = check_link(request.link)
    incident = await _incident(request.incident_ref)
    source = texts or notices_text_source()
    rendered = await render_texts(incident, source, settings)
    check_texts(rendered)  # control characters: refused, naming locale and part
    async with write_transaction() as conn:
        banner = await Banner.create(
            using_db=conn,
            incident_id=incident.id,
            matter_id=await matters.of_incident_id(conn, incident.id),
            audience=request.audience,
            severity=request.severity,
            texts=rendered,
            content_hashes={loc: source.content_hash(t) for loc, t in rendered.items()},
            link=link,
            starts_at=starts_at,
            ends_at=request.ends_at,
            created_by=actor,
        )
        await audit.record(
            conn,
            actor=actor,
            action="banner.published",
            target_type="banner",
            target_id=banner.id,
            details=_publish_details(banner, incident.ref),
            key=key,
        )
    return banner


def _publish_details(banner: Banner, incident_ref: str) -> dict[str, Any]:
    return {
        "incident": incident_ref,
        "audience": str(banner.audience),
        "severity": str(banner.severity),
        "starts_at": banner.starts_at.isoformat(),
        "ends_at": banner.ends_at.isoformat() if banner.ends_at else None,
        "link": banner.link,
        "content_hashes": banner.content_hashes,
    }


def _check_window(starts_at: datetime, ends_at: datetime | None) -> None:
    if ends_at is not None and ends_at <= starts_at:
        raise ValidationError(
            f"the window ends ({ends_at.isoformat()}) before it starts ({starts_at.isoformat()})",
            field="until",
        )


def check_link(link: str | None) -> str | None:
    """An absolute http(s) URL without whitespace or control characters, scheme lower-cased;
    or None."""
    if link is None:
        return None
    if len(link) > MAX_LINK_LENGTH:
        raise ValidationError(f"longer than {MAX_LINK_LENGTH} characters", field="link")
    normal = normal_link(link)
    if normal is None:
        raise ValidationError(f"{link!r} is not an absolute http(s) URL", field="link")
    return normal


async def _incident(ref: str) -> Incident:
    incident = await Incident.get_or_none(ref=ref)
    if incident is None:
        raise NotFoundError(f"no incident {ref!r}")
    return incident


async def locales_in_use(incident: Incident, settings: Settings) -> list[str]:
    """The locales of everyone we hold data about, of the incident's texts, and the default.

    Everyone, not only the affected: the website's readers are all of them, and a targeted
    banner's readers include colleagues of the affected.
    """
    people = await Subject.all().distinct().values_list("locale", flat=True)
    found = {settings.banners.default_locale, *incident.texts, *(str(p) for p in people)}
    return sorted(found)


async def render_texts(incident: Incident, source: TextSource, settings: Settings) -> Texts:
    locales = await locales_in_use(incident, settings)
    rendered = await source.render(incident_id=incident.id, locales=locales, settings=settings)
    if not rendered:
        raise ConflictError(f"the banner template of {incident.ref} rendered no text")
    return {locale: {"title": t["title"], "body": t["body"]} for locale, t in rendered.items()}


async def list_banners(*, active_only: bool = False) -> list[Banner]:
    """Every banner, newest first (or only those whose window holds now)."""
    query = Banner.all().prefetch_related("incident", "subject").order_by("-id")
    banners = await query
    if not active_only:
        return list(banners)
    now = utcnow()
    return [b for b in banners if _card_times_active(b, now)]


def _card_times_active(banner: Banner, now: datetime) -> bool:
    if banner.withdrawn_at is not None or now < banner.starts_at:
        return False
    return banner.ends_at is None or now < banner.ends_at


async def show(*, banner_id: int) -> Banner:
    banner = await Banner.get_or_none(id=banner_id).prefetch_related("incident", "subject")
    if banner is None:
        raise NotFoundError(f"no banner {banner_id}")
    return banner


async def withdraw(*, banner_id: int, reason: str, actor: str, key: bytes | None) -> Banner:
    """Take a banner down now; the feed stops showing it within feed.snapshot_seconds."""
    if not reason.strip():
        raise ValidationError("a withdrawal needs a reason", field="reason")
    banner = await show(banner_id=banner_id)
    if banner.withdrawn_at is not None:
        raise ConflictError(f"banner {banner_id} was already withdrawn at {banner.withdrawn_at}")
    now = utcnow()
    async with write_transaction() as conn:
        changed = (
            await Banner.filter(id=banner_id, withdrawn_at=None)
            .using_db(conn)
            .update(withdrawn_at=now, withdrawn_by=actor, withdrawn_reason=reason, updated_at=now)
        )
        if not changed:
            raise ConflictError(f"banner {banner_id} was withdrawn meanwhile")
        incident, person = banner.incident, banner.subject
        if isinstance(incident, Incident) and isinstance(person, Subject):
            # a personal banner was this person's substitute notice: their reach may move
            await reach.recompute(conn, incident_id=incident.id, subject_ids=[person.id])
        await audit.record(
            conn,
            actor=actor,
            action="banner.withdrawn",
            target_type="banner",
            target_id=banner_id,
            details={"incident": _incident_ref(banner), "reason": reason},
            key=key,
        )
    return await show(banner_id=banner_id)


def _incident_ref(banner: Banner) -> str | None:
    incident = banner.incident
    return incident.ref if isinstance(incident, Incident) else None


@dataclass
class ServeTally:
    """Serves of one banner since the last flush."""

    count: int
    first: datetime
    last: datetime


async def record_serves(*, tallies: Mapping[int, ServeTally], key: bytes | None) -> None:
    """Add a batch of serve counts; the first serve of a banner is audited (proof of posting)."""
    if not tallies:
        return
    async with write_transaction() as conn:
        first_served: list[int] = []
        for banner_id, tally in sorted(tallies.items()):
            await (
                Banner.filter(id=banner_id)
                .using_db(conn)
                .update(serve_count=F("serve_count") + tally.count, last_served_at=tally.last)
            )
            if (
                await Banner.filter(id=banner_id, first_served_at=None)
                .using_db(conn)
                .update(first_served_at=tally.first)
            ):
                first_served.append(banner_id)
        # the incident in the details: `audit log --incident` finds proof of posting too
        refs = dict(
            await Banner.filter(id__in=first_served)
            .using_db(conn)
            .values_list("id", "incident__ref")
        )
        for banner_id in first_served:
            await audit.record(
                conn,
                actor="feed",
                action="banner.first_served",
                target_type="banner",
                target_id=banner_id,
                details={
                    "incident": refs.get(banner_id),
                    "first_served_at": tallies[banner_id].first.isoformat(),
                },
                key=key,
            )


async def load_cards(*, now: datetime) -> list[BannerCard]:
    """Every banner that is or will be active, with its audience, for the feed's snapshot."""
    banners = await Banner.filter(withdrawn_at=None).prefetch_related("incident", "subject")
    cards = []
    for banner in banners:
        if banner.ends_at is not None and banner.ends_at <= now:
            continue
        subjects, accounts = await audience_refs(banner)
        cards.append(_card(banner, subjects, accounts))
    return cards


def _card(banner: Banner, subjects: frozenset[str], accounts: frozenset[str]) -> BannerCard:
    return BannerCard(
        id=banner.id,
        audience=BannerAudience(banner.audience),
        severity=str(banner.severity),
        texts=banner.texts,
        starts_at=banner.starts_at,
        ends_at=banner.ends_at,
        link=banner.link,
        incident_ref=_incident_ref(banner),
        subject_refs=subjects,
        account_refs=accounts,
    )


async def fingerprint() -> tuple[Any, ...]:
    """A cheap summary that changes whenever banners or affected lists change.

    Exposures use the newest id (an index lookup), not a count: a re-resolved affected list
    gets new rows; a pure deletion waits for the feed's periodic full reload.
    """
    banner_rows = await Banner.all().order_by("-updated_at").limit(1).values_list("updated_at")
    exposure_rows = await Exposure.all().order_by("-id").limit(1).values_list("id")
    return (
        await Banner.all().count(),
        banner_rows[0][0] if banner_rows else None,
        exposure_rows[0][0] if exposure_rows else None,
    )
