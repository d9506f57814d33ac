"""What the engine needs to know about one incident, gathered by services.obligations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from incident_svc.domain.codes import EU_MEMBER_STATES
from incident_svc.domain.compliance.vocabulary import EU, ClockKind


@dataclass(frozen=True)
class IncidentFacts:
    """The incident's recorded clock starts, data categories, flags, sectors and residents.

    ``residents`` counts the affected people by their ``jurisdiction`` (residence) exactly as
    stored: ``US-CA``, ``GB``, or a bare ``US`` when the state is unknown. ``flags`` holds only
    assessed flags; a missing flag is "not assessed".
    """

    ref: str
    clocks: Mapping[ClockKind, datetime]
    categories: frozenset[str]
    flags: Mapping[str, bool]
    sectors: frozenset[str]
    residents: Mapping[str, int]
    law_enforcement_delay_until: datetime | None = None
    eu_main_establishment: str | None = None  # an EU lead authority's country, if any


@dataclass(frozen=True)
class Fulfilment:
    """An obligation recorded as met, or a recorded decision not to notify."""

    key: str  # the obligation key: the rule id, or "rule-id:DE" for one place of a fan-out
    kind: Literal["met", "declined"]
    at: datetime
    by: str
    reference: str | None = None
    late_reason: str | None = None
    reason: str | None = None
    evidence_sha256: str | None = None


@dataclass(frozen=True)
class Reach:
    """How many affected residents of one jurisdiction a notice reached (sent or substituted)."""

    residents: int
    reached: int
    last_at: datetime | None = None


@dataclass(frozen=True)
class Counted:
    """Residents counted for one rule in one place; ``state_unknown`` are shown beside."""

    residents: int
    state_unknown: int = 0
    by_code: Mapping[str, int] = field(default_factory=dict)


def covers(place: str, code: str) -> bool:
    """Whether a subject living in ``code`` lives in ``place`` (EU, a country, a subdivision)."""
    country = code.partition("-")[0]
    if place == EU:
        return country in EU_MEMBER_STATES
    if "-" in place:
        return code == place
    return country == place


def count_in(place: str, residents: Mapping[str, int]) -> Counted:
    """Residents of ``place``; for a subdivision, people with the bare country are state unknown."""
    by_code = {code: n for code, n in residents.items() if n and covers(place, code)}
    unknown = residents.get(place.partition("-")[0], 0) if "-" in place else 0
    return Counted(sum(by_code.values()), unknown, by_code)
