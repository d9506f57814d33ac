"""Who a targeted banner is for, as sets of references, loaded with a few set-based queries.

"Affected subjects" of an incident are its exposed subjects; "affected accounts" are the
accounts of those subjects. A person sees an account banner when their account is affected.
"""

from __future__ import annotations

from incident_svc.domain.enums import BannerAudience
from incident_svc.models import Banner, Exposure, Subject

Refs = tuple[frozenset[str], frozenset[str]]
_NONE: Refs = (frozenset(), frozenset())


async def audience_refs(banner: Banner) -> Refs:
    """(subject refs, account refs) that may see ``banner``; both empty for public banners."""
    if banner.subject_id is not None:  # type: ignore[attr-defined]
        subject = banner.subject
        ref = subject.external_ref if isinstance(subject, Subject) else None
        return (frozenset({ref}) if ref else frozenset(), frozenset())
    incident_id = banner.incident_id  # type: ignore[attr-defined]
    if incident_id is None or banner.audience == BannerAudience.PUBLIC:
        return _NONE
    if banner.audience == BannerAudience.AFFECTED_SUBJECTS:
        return await _affected_subjects(incident_id), frozenset()
    return await _affected_accounts(incident_id)


async def _affected_subjects(incident_id: int) -> frozenset[str]:
    refs = await Exposure.filter(incident_id=incident_id).values_list(
        "subject__external_ref", flat=True
    )
    return frozenset(str(ref) for ref in refs)


async def _affected_accounts(incident_id: int) -> Refs:
    rows = await (
        Exposure.filter(incident_id=incident_id, subject__account_id__isnull=False)
        .distinct()
        .values_list("subject__account_id", "subject__account__account_ref")
    )
    account_ids = [int(row[0]) for row in rows]
    members = await Subject.filter(account_id__in=account_ids).values_list(
        "external_ref", flat=True
    )
    return frozenset(str(m) for m in members), frozenset(str(row[1]) for row in rows)
