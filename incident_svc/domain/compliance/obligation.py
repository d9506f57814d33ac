"""One obligation of one incident, as the engine computed it at one moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from incident_svc.domain.compliance.rule import Rule
from incident_svc.domain.compliance.vocabulary import Applicability, ClockKind, Status


@dataclass(frozen=True)
class Obligation:
    key: str  # rule id, or "rule-id:DE" for one place of a fan-out rule
    rule: Rule
    place: str  # the jurisdiction this obligation is for
    recipient: str
    clock: ClockKind
    clock_at: datetime | None
    due_at: datetime | None
    status: Status
    applicability: Applicability
    reason: str  # why it applies, why not, or what it waits for
    residents: int
    state_unknown: int
    met_at: datetime | None = None
    met_late: bool = False
    reference: str | None = None
    late_reason: str | None = None
    decided_by: str | None = None

    def seconds_left(self, now: datetime) -> float | None:
        if self.due_at is None or self.status in (Status.MET, Status.NOT_APPLICABLE):
            return None
        return (self.due_at - now).total_seconds()

    @property
    def fixed(self) -> bool:
        """Open with a known due time: what reminders count down to."""
        return self.due_at is not None and self.status in (Status.OPEN, Status.LATE)

    def as_dict(self, now: datetime, zone: str = "UTC") -> dict[str, Any]:
        """Plain values for JSON and CSV; ``due_at_local`` is ``due_at`` in ``zone``."""
        rule = self.rule
        local = None if self.due_at is None else self.due_at.astimezone(ZoneInfo(zone))
        return {
            "key": self.key,
            "rule": rule.id,
            "regime": rule.regime,
            "jurisdiction": self.place,
            "recipient": self.recipient,
            "recipient_kind": rule.recipient_kind.value,
            "clock": self.clock.value if rule.after is None else f"{self.clock.value}:{rule.after}",
            "clock_at": _iso(self.clock_at),
            "due_at": _iso(self.due_at),
            "due_at_local": _iso(local),
            "standard": rule.standard,
            "seconds_left": self.seconds_left(now),
            "status": self.status.value,
            "applicability": self.applicability.value,
            "reason": self.reason,
            "residents": self.residents,
            "residents_state_unknown": self.state_unknown,
            "threshold": None
            if rule.threshold is None
            else f"{rule.threshold.comparator.symbol} {rule.threshold.residents}",
            "met_at": _iso(self.met_at),
            "met_late": self.met_late,
            "reference": self.reference,
            "late_reason": self.late_reason,
            "decided_by": self.decided_by,
            "content": [field.value for field in rule.content],
            "citation": rule.citation,
            "confidence": rule.confidence.value,
            "reviewed_by": rule.reviewed_by,
            "reviewed_at": rule.reviewed_at.isoformat(),
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
