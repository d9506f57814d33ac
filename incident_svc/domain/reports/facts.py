"""What the service knows about one incident, as plain values for the report builders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Organisation:
    """The data user (controller) that reports: from the ``[org]`` settings."""

    name: str
    contact_email: str
    contact_phone: str = ""
    postal_address: str = ""
    website_url: str = ""
    sectors: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeopleNotice:
    """What the campaigns to the people show: notices accepted by a relay, failed, when."""

    sent: int = 0
    failed: int = 0
    pending: int = 0
    first_sent_at: datetime | None = None
    last_sent_at: datetime | None = None
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """A recorded decision about the incident or one obligation, with its reason and author."""

    at: datetime | None
    actor: str
    what: str
    reason: str = ""
    rule: str = ""


@dataclass(frozen=True)
class ReportFacts:
    """One incident's facts; a value the service does not hold is None or empty, never guessed."""

    ref: str
    title: str
    summary: str
    severity: str
    status: str
    discovered_at: datetime
    organisation: Organisation
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    clocks: Mapping[str, datetime] = field(default_factory=dict)  # aware, determined, ...
    systems: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    texts: Mapping[str, str] = field(default_factory=dict)  # what_happened, consequences, ...
    affected_resolved: bool = False
    people: int = 0
    by_category: Mapping[str, int] = field(default_factory=dict)
    by_residence: Mapping[str, int] = field(default_factory=dict)
    regulator_notified_at: datetime | None = None
    regulator_reference: str | None = None
    notice: PeopleNotice = PeopleNotice()
    holds: tuple[str, ...] = ()  # reasons campaigns to the people were held
    decisions: tuple[Decision, ...] = ()
    flags: Mapping[str, object] = field(default_factory=dict)  # high_risk, encrypted, ...
    law_enforcement_delay_until: datetime | None = None
    sample_notice: str | None = None  # the notice one reader of the rule's jurisdiction got

    @property
    def records(self) -> int:
        """Data records involved: one per person and data category (Art. 33(3)(a))."""
        return sum(self.by_category.values())

    def residents(self, jurisdiction: str) -> int:
        """People living in ``jurisdiction``: a country counts its subdivisions (``US`` has
        ``US-TX``), a subdivision itself only."""
        code = jurisdiction.upper()
        return sum(
            n
            for where, n in self.by_residence.items()
            if where == code or where.startswith(code + "-")
        )

    def state_unknown(self, jurisdiction: str) -> int:
        """People of the subdivision's country whose subdivision is not known (a bare ``US``
        beside a ``US-TX`` rule): shown beside every state rule, never dropped."""
        country, dash, _ = jurisdiction.upper().partition("-")
        return self.by_residence.get(country, 0) if dash else 0
