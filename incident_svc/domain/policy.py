"""Privacy-policy versions and when a version binds each person. Pure.

The policy's rule: a material change takes effect for an existing user on the earlier of 30
calendar days after the e-mail was dispatched to them and 30 calendar days after the website
notice was posted; for a new user, at once. "Dispatched" is the relay's acceptance (a later
bounce does not undo it); "posted" is the first time the banner was served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incident_svc.errors import ValidationError

NOTICE_DAYS = 30
MAX_VERSION = 64
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Basis(StrEnum):
    """What a person's effective date rests on."""

    NEW_USER = "new_user"  # joined after publication: bound at once
    EMAIL = "email"  # 30 days after the relay accepted their e-mail
    BANNER = "banner"  # 30 days after the public notice was first served
    NONE = "none"  # no notice has reached them yet: not bound
    MINOR = "minor"  # a minor change needs no notice: bound at publication


@dataclass(frozen=True)
class Evidence:
    """What we know of one person for one policy version (UTC times)."""

    published_at: datetime
    joined_at: datetime
    material: bool
    email_accepted_at: datetime | None = None
    banner_first_served_at: datetime | None = None
    timezone: str = "UTC"


@dataclass(frozen=True)
class Effective:
    at: datetime | None
    basis: Basis

    def bound(self, now: datetime) -> bool:
        return self.at is not None and self.at <= now


def check_version(text: str) -> str:
    """A version label: 1-64 of letters, digits, ``.``, ``_``, ``-``, starting alphanumeric."""
    if not _VERSION.fullmatch(text):
        raise ValidationError(
            "a policy version is 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit",
            field="version",
        )
    return text


def calendar_days_after(moment: datetime, days: int, timezone: str) -> datetime:
    """The same wall-clock time ``days`` calendar days later in the person's time zone (UTC
    when the zone is unknown), returned in UTC: a DST change does not move the deadline."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = moment.astimezone(zone)
    later = datetime.combine(local.date() + timedelta(days=days), local.time(), zone)
    return later.astimezone(UTC)


def effective(evidence: Evidence) -> Effective:
    """When this version binds the person, and on what evidence."""
    if evidence.joined_at >= evidence.published_at:
        return Effective(evidence.joined_at, Basis.NEW_USER)
    if not evidence.material:
        return Effective(evidence.published_at, Basis.MINOR)
    candidates = [
        (calendar_days_after(moment, NOTICE_DAYS, evidence.timezone), basis)
        for moment, basis in (
            (evidence.email_accepted_at, Basis.EMAIL),
            (evidence.banner_first_served_at, Basis.BANNER),
        )
        if moment is not None
    ]
    if not candidates:
        return Effective(None, Basis.NONE)
    at, basis = min(candidates, key=lambda c: c[0])
    return Effective(at, basis)
