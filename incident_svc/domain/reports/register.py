"""One row of the breach register (GDPR Art. 33(5)): the facts, effects, remedies and every
decision about one incident, notified or not. Pure: the service reads, this shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from incident_svc.domain.compliance import Obligation, Status
from incident_svc.domain.reports.facts import ReportFacts
from incident_svc.domain.reports.fields import when

COLUMNS = (
    "incident",
    "title",
    "status",
    "severity",
    "summary",
    "occurred_from",
    "occurred_to",
    "discovered_at",
    "clocks",
    "systems",
    "categories",
    "people_affected",
    "by_category",
    "by_residence",
    "what_happened",
    "consequences",
    "measures",
    "regulator_notified_at",
    "regulator_reference",
    "people_notified",
    "people_first_notified_at",
    "notified",
    "obligations",
    "decisions",
)


def register_row(facts: ReportFacts, obligations: Sequence[Obligation]) -> dict[str, Any]:
    """The register entry of one incident: plain values, lists and objects (JSON-ready)."""
    applying = [o for o in obligations if o.status is not Status.NOT_APPLICABLE]
    return {
        "incident": facts.ref,
        "title": facts.title,
        "status": facts.status,
        "severity": facts.severity,
        "summary": facts.summary,
        "occurred_from": when(facts.occurred_from) or None,
        "occurred_to": when(facts.occurred_to) or None,
        "discovered_at": when(facts.discovered_at),
        "clocks": {kind: when(at) for kind, at in sorted(facts.clocks.items())},
        "systems": list(facts.systems),
        "categories": list(facts.categories),
        "people_affected": facts.people if facts.affected_resolved else None,
        "by_category": dict(sorted(facts.by_category.items())),
        "by_residence": dict(sorted(facts.by_residence.items())),
        "what_happened": facts.texts.get("what_happened"),
        "consequences": facts.texts.get("consequences"),
        "measures": facts.texts.get("measures"),
        "regulator_notified_at": when(facts.regulator_notified_at) or None,
        "regulator_reference": facts.regulator_reference,
        "people_notified": facts.notice.sent,
        "people_first_notified_at": when(facts.notice.first_sent_at) or None,
        "notified": any(o.status is Status.MET for o in applying) or facts.notice.sent > 0,
        "obligations": [_obligation(o) for o in applying],
        "decisions": [
            {
                "at": when(d.at) or None,
                "by": d.actor,
                "what": d.what,
                "reason": d.reason or None,
                "rule": d.rule or None,
            }
            for d in facts.decisions
        ],
    }


def _obligation(o: Obligation) -> dict[str, Any]:
    return {
        "key": o.key,
        "recipient": o.recipient,
        "status": o.status.value,
        "due_at": when(o.due_at) or None,
        "met_at": when(o.met_at) or None,
        "reference": o.reference,
        "late_reason": o.late_reason,
        "decided_by": o.decided_by,
        "reason": o.reason,
    }
