"""Time rules: inputs must carry an offset; everything is stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_aware(text: str, *, field: str = "time") -> datetime:
    """Parse ISO 8601 with an offset (``2026-11-28T09:00:00+08:00`` or ``...Z``) into UTC.

    Naive times are refused: on the day of an incident nobody should have to guess whose
    09:00 was meant.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{field}: {text!r} is not an ISO 8601 time (example: 2026-11-28T09:00:00+00:00)"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{field}: {text!r} has no UTC offset; add one, e.g. {text.strip()}+00:00 or Z"
        )
    return moment.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
