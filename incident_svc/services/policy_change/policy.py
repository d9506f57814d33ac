"""Privacy-policy versions: publish (with its matter, and for a material change its public
banner), and read one back. When a version binds each person: services.policy_change.policy_report.

What is recorded: the document's SHA-256 (the text itself stays with the operator), a summary
of the changes per locale, whether the change is material, who published it and when.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain import policy as rules
from incident_svc.domain.banner_rules import check_texts
from incident_svc.domain.enums import BannerAudience, BannerSeverity, MatterKind
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, NotFoundError, ValidationError
from incident_svc.models import Banner, PolicyVersion
from incident_svc.notices.locales import canonical, fallback_chain
from incident_svc.services.auditlog import audit
from incident_svc.services.delivery import approvers
from incident_svc.services.delivery.matter_campaigns import create as matter_create
from incident_svc.services.files.input_files import read_capped, read_text, shown
from incident_svc.services.incident import matters
from incident_svc.services.website.banners import check_link

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
CAMPAIGN_KIND = "policy_change_notice"  # what a publisher's signed creation statement names
MAX_SUMMARY_BYTES = 16 * 1024
BANNER_TITLES = {
    "en": "We are changing our privacy policy",
    "zh-Hant": "我們正在修訂私隱政策",
}


@dataclass(frozen=True)
class PublishRequest:
    version: str
    document: Path
    summaries: Sequence[tuple[str, Path]]  # (locale, file)
    material: bool
    url: str | None


@dataclass(frozen=True)
class _Checked:
    version: str
    name: str
    sha256: str
    summaries: dict[str, str]
    url: str | None


def _check(request: PublishRequest) -> _Checked:
    version = rules.check_version(request.version)
    try:
        url = check_link(request.url)
    except ValidationError as exc:
        raise ValidationError(exc.reason, field="url") from None
    document = read_capped(request.document, cap=MAX_DOCUMENT_BYTES, field="document")
    summaries: dict[str, str] = {}
    for tag, path in request.summaries:
        locale = check_locale(tag)
        if locale in summaries:
            raise ValidationError(f"a second summary for locale {locale!r}", file=shown(path))
        summaries[locale] = read_text(path, cap=MAX_SUMMARY_BYTES, field="summary")
    if request.material and "en" not in summaries:
        raise ValidationError(
            "a material change needs an English summary (--locale en --summary FILE): every "
            "other locale falls back to it",
            field="summary",
        )
    if request.material and url is None:
        raise ValidationError(
            "a material change needs --url: where people read the full policy", field="url"
        )
    return _Checked(
        version, request.document.name[:255], hashlib.sha256(document).hexdigest(), summaries, url
    )


def check_locale(tag: str) -> str:
    """A BCP 47-shaped tag (``en``, ``zh-Hant``, ``zh-Hant-HK``), canonical case."""
    parts = tag.replace("_", "-").split("-")
    shaped = (
        2 <= len(parts[0]) <= 3
        and parts[0].isascii()
        and parts[0].isalpha()
        and all(1 <= len(p) <= 8 and p.isascii() and p.isalnum() for p in parts[1:])
        and len(parts) <= 4
    )
    if not shaped:
        raise ValidationError(f"{tag!r} is not a locale tag such as en or zh-Hant", field="locale")
    return canonical(tag)


def banner_texts(summaries: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The public notice's title and body per locale: the summary of the changes."""
    return {
        locale: {"title": _title(locale), "body": summary} for locale, summary in summaries.items()
    }


def _title(locale: str) -> str:
    chain = fallback_chain(locale)
    return next(BANNER_TITLES[tag] for tag in chain if tag in BANNER_TITLES)


async def publish(
    *,
    request: PublishRequest,
    actor: str,
    key: bytes | None,
    settings: Settings | None = None,
    signed: tuple[str, approvers.Signature] | None = None,
) -> PolicyVersion:
    """Record a policy version; a material change also gets its public banner, posted now,
    and (given ``settings``, as the CLI always does) its draft e-mail campaigns to every
    person and account holder (services.delivery.matter_campaigns), created by ``actor``; ``signed``:
    the publisher's signed creation statement (``creation_text``), needed in signed mode."""
    checked = _check(request)
    texts = banner_texts(checked.summaries) if request.material else {}
    check_texts(texts)
    mailing = settings if request.material else None
    made_by = None
    if mailing is not None:
        matter_create.check_policy_templates(
            mailing, ref=f"POLICY-{checked.version}", version=checked.version,
            summaries=checked.summaries, url=checked.url or "",
        )  # fmt: skip
        made_by = await approvers.creator(
            incident_ref=f"POLICY-{checked.version}", kind=CAMPAIGN_KIND, signed=signed,
            settings=mailing,
        )  # fmt: skip
    now = utcnow()
    async with write_transaction() as conn:
        if await PolicyVersion.filter(version=checked.version).using_db(conn).exists():
            raise ConflictError(f"policy version {checked.version} is already published")
        matter = await matters.create(
            conn,
            kind=MatterKind.POLICY_CHANGE,
            reference=f"POLICY-{checked.version}",
            title=f"Privacy policy {checked.version}",
        )
        banner_id = None
        if request.material:
            banner = await Banner.create(
                using_db=conn,
                matter_id=matter.id,
                audience=BannerAudience.PUBLIC,
                severity=BannerSeverity.WARNING,
                texts=texts,
                content_hashes={loc: _hash(t) for loc, t in texts.items()},
                link=checked.url,
                starts_at=now,
                created_by=actor,
            )
            banner_id = banner.id
        version = await PolicyVersion.create(
            using_db=conn,
            matter_id=matter.id,
            version=checked.version,
            document_name=checked.name,
            document_sha256=checked.sha256,
            document_url=checked.url,
            summaries=checked.summaries,
            material=request.material,
            published_by=actor,
            published_at=now,
            banner_id=banner_id,
        )
        campaign_ids: list[int] = []
        if mailing is not None and made_by is not None:
            campaign_ids = await matter_create.policy_campaigns(
                conn, matter=matter, actor=actor, key=key, settings=mailing, made_by=made_by
            )
        version.campaign_ids = campaign_ids  # type: ignore[attr-defined]
        await audit.record(
            conn,
            actor=actor,
            action="policy.published",
            target_type="policy",
            target_id=checked.version,
            details={**_details(version), "campaigns": campaign_ids},
            key=key,
        )
    return version


def _hash(parts: Mapping[str, str]) -> str:
    return hashlib.sha256(
        "\n".join(f"{k}={v}" for k, v in sorted(parts.items())).encode()
    ).hexdigest()


def _details(version: PolicyVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "matter": f"POLICY-{version.version}",
        "document": version.document_name,
        "document_sha256": version.document_sha256,
        "url": version.document_url,
        "locales": sorted(version.summaries),
        "summary_sha256": {
            loc: hashlib.sha256(text.encode()).hexdigest()
            for loc, text in sorted(version.summaries.items())
        },
        "material": version.material,
        "banner": version.banner_id,
    }


def creation_text(version: str) -> str:
    """What a publisher signs (signed mode) to create the version's e-mail campaigns."""
    return approvers.new_creation_text(f"POLICY-{version}", CAMPAIGN_KIND)


async def get(version: str) -> PolicyVersion:
    found = await PolicyVersion.get_or_none(version=version)
    if found is None:
        raise NotFoundError(f"no policy version {version!r}")
    return found
