"""The incident lifecycle: which status may follow which, and the reference format."""

from __future__ import annotations

import re

from incident_svc.domain.enums import IncidentStatus as S
from incident_svc.errors import ConflictError

TRANSITIONS: dict[S, tuple[S, ...]] = {
    S.INVESTIGATING: (S.CONFIRMED, S.DISMISSED),
    S.CONFIRMED: (S.NOTIFYING, S.CLOSED, S.INVESTIGATING),
    S.NOTIFYING: (S.CLOSED,),
    S.CLOSED: (S.INVESTIGATING,),  # reopened when something new comes to light
    S.DISMISSED: (S.INVESTIGATING,),
}

_REF = re.compile(r"INC-(\d{4})-(\d{4,})")


def check_transition(current: S, target: S) -> None:
    """Raise ConflictError listing the allowed targets when ``current -> target`` is illegal."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise ConflictError(
            f"cannot go from {current.value} to {target.value}; "
            f"from {current.value} the allowed statuses are: "
            f"{', '.join(s.value for s in allowed)}"
        )


def format_ref(year: int, number: int) -> str:
    """``INC-2026-0001``: the year of discovery and a counter that restarts each year."""
    return f"INC-{year:04d}-{number:04d}"


def ref_number(ref: str) -> int:
    match = _REF.fullmatch(ref)
    if match is None:
        raise ValueError(f"{ref!r} is not an incident reference like INC-2026-0001")
    return int(match.group(2))


def next_ref(year: int, existing: list[str]) -> str:
    """The next reference for ``year`` after the ones already used that year."""
    highest = max((ref_number(ref) for ref in existing), default=0)
    return format_ref(year, highest + 1)
