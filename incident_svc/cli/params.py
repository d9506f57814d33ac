"""Parameter types shared by commands."""

from __future__ import annotations

from datetime import datetime

import typer

from incident_svc.domain.times import parse_aware


def aware_time(value: str | None) -> datetime | None:
    """Typer parser for time options: ISO 8601 with an offset, returned in UTC."""
    if value is None:
        return None
    try:
        return parse_aware(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
