"""The template context of a matter notice, from the matter's approved facts (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from incident_svc.config import OrgSettings
from incident_svc.domain import policy as policy_rules
from incident_svc.notices import matter_notices as mn

EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def takes_effect(now: datetime, banner_served: datetime | None, zone: str) -> datetime:
    """The latest moment the change binds a reader e-mailed ``now``: 30 calendar days after
    the e-mail, or after the notice was first served if that is earlier."""
    by_email = policy_rules.calendar_days_after(now, policy_rules.NOTICE_DAYS, zone)
    if banner_served is None:
        return by_email
    by_banner = policy_rules.calendar_days_after(banner_served, policy_rules.NOTICE_DAYS, zone)
    return min(by_email, by_banner)


def context_for(
    part: dict[str, Any],
    reader: mn.Reader,
    *,
    org: OrgSettings,
    labels: dict[str, Any],
    now: datetime,
    banner_served: datetime | None,
) -> dict[str, Any]:
    """The template context of one reader, from the matter's approved facts."""
    if part["matter"] == "policy_change":
        return mn.policy_context(
            reader=reader, org=org, labels=labels, version=part["version"],
            summaries=part["summaries"], url=part["url"],
            takes_effect=takes_effect(now, banner_served, reader.timezone),
        )  # fmt: skip
    told = part["told"]
    received = told.get("received_at")
    return mn.disclosure_context(
        reader=reader, org=org, labels=labels, ref=part["disclosure"],
        authority=told.get("authority", ""), legal_basis=told.get("legal_basis", ""),
        received_at=datetime.fromisoformat(received) if received else EPOCH,
        categories=told.get("categories", []), withheld=part["withheld"],
    )  # fmt: skip
