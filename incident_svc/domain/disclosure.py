"""Lawful disclosures: what a record must hold, and when its notices may go out. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from incident_svc.domain.enums import DataCategory
from incident_svc.errors import ValidationError

MAX_AUTHORITY = 256
MAX_LEGAL_BASIS = 4000
PARTS = ("authority", "legal_basis", "received_at", "categories")  # what counsel may withhold
HELD, RELEASED = "held", "released"


def _control(char: str, *, newlines: bool) -> bool:
    code = ord(char)
    if newlines and char == "\n":
        return False
    return code < 0x20 or 0x7F <= code < 0xA0 or code in (0x2028, 0x2029)


def check_text(value: str, *, field: str, limit: int, newlines: bool = False) -> str:
    """Trimmed, non-empty, at most ``limit`` characters, no control characters."""
    text = value.strip()
    if not text:
        raise ValidationError("must not be empty", field=field)
    if len(text) > limit:
        raise ValidationError(f"{len(text)} characters, more than {limit}", field=field)
    bad = next((c for c in text if _control(c, newlines=newlines)), None)
    if bad is not None:
        raise ValidationError(f"contains control character U+{ord(bad):04X}", field=field)
    return text


def check_choices(values: Sequence[str], allowed: Sequence[str], *, field: str) -> list[str]:
    """Each value one of ``allowed`` (comma-separated lists accepted), sorted, unique."""
    chosen = {v.strip() for value in values for v in value.split(",") if v.strip()}
    unknown = sorted(chosen - set(allowed))
    if unknown:
        raise ValidationError(
            f"{unknown[0][:40]!r} is not one of {', '.join(allowed)}", field=field
        )
    return sorted(chosen)


def check_categories(values: Sequence[str]) -> list[str]:
    chosen = check_choices(values, [c.value for c in DataCategory], field="categories")
    if not chosen:
        raise ValidationError("name at least one category of data disclosed", field="categories")
    return chosen


@dataclass(frozen=True)
class Hold:
    until: datetime | None
    indefinite: bool

    def check(self, received_at: datetime) -> None:
        if self.indefinite and self.until is not None:
            raise ValidationError(
                "give --non-disclosure-until or --non-disclosure-indefinite, not both",
                field="non_disclosure",
            )
        if self.until is not None and self.until < received_at:
            raise ValidationError(
                "the non-disclosure period ends before the request was received",
                field="non_disclosure_until",
            )

    def over(self, now: datetime) -> bool:
        """No non-disclosure period is running at ``now``."""
        return not self.indefinite and (self.until is None or self.until <= now)


def releasable(hold: Hold, *, approved: bool, status: str, now: datetime) -> bool:
    """Its notices may go out: counsel approved, no period runs, not released yet."""
    return status == HELD and approved and hold.over(now)


def next_review(after: datetime, review_days: float) -> datetime:
    return after + timedelta(days=review_days)
