"""Put one report together: the rule's content fields from the facts, counts, the gaps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incident_svc.domain.reports.facts import ReportFacts
from incident_svc.domain.reports.fields import FIELDS, Value, when
from incident_svc.domain.reports.forms import ReportRule


@dataclass(frozen=True)
class ReportField:
    key: str
    label: str
    value: Value | None
    hint: str = ""

    @property
    def missing(self) -> bool:
        return self.value is None

    @property
    def kind(self) -> str:
        """How a template shows the value: text, lines, table, or missing."""
        if self.value is None:
            return "missing"
        if isinstance(self.value, dict):
            return "table"
        return "lines" if isinstance(self.value, list) else "text"


@dataclass(frozen=True)
class Report:
    rule: ReportRule
    incident_ref: str
    incident_title: str
    drafted_at: datetime
    fields: tuple[ReportField, ...]
    by_category: dict[str, int]
    by_residence: dict[str, int]
    people: int
    unknown_fields: tuple[str, ...] = ()  # content fields the rule names that we cannot draft
    locale: str = "en"  # the wording of labels and headings (domain/reports/locales.py)

    @property
    def missing(self) -> list[ReportField]:
        return [f for f in self.fields if f.missing]


def build_report(facts: ReportFacts, rule: ReportRule, *, now: datetime) -> Report:
    """The draft of ``rule``'s report about the incident in ``facts``, as of ``now``."""
    fields = []
    unknown = []
    for key in rule.content:
        spec = FIELDS.get(key)
        if spec is None:
            unknown.append(key)
            continue
        label = rule.labels.get(key, spec.label)
        value = spec.extract(facts, rule, now)
        fields.append(ReportField(key, label, value, spec.hint if value is None else ""))
    return Report(
        rule=rule,
        incident_ref=facts.ref,
        incident_title=facts.title,
        drafted_at=now,
        fields=tuple(fields),
        by_category=dict(sorted(facts.by_category.items())),
        by_residence=dict(sorted(facts.by_residence.items())),
        people=facts.people,
        unknown_fields=tuple(unknown),
    )


def report_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (times as ISO 8601 UTC)."""
    rule = report.rule
    return {
        "incident": report.incident_ref,
        "title": report.incident_title,
        "locale": report.locale,
        "drafted_at": when(report.drafted_at),
        "rule": {
            "id": rule.id,
            "title": rule.title,
            "recipient": rule.recipient,
            "jurisdiction": rule.jurisdiction,
            "citation": rule.citation,
            "confidence": rule.confidence,
            "due_at": when(rule.due_at) or None,
            "standard": rule.standard or None,
            "status": rule.status or None,
        },
        "fields": [
            {
                "key": f.key,
                "label": f.label,
                "kind": f.kind,
                "value": f.value,
                "missing": f.missing,
                "hint": f.hint,
            }
            for f in report.fields
        ],
        "counts": {
            "people": report.people,
            "by_category": report.by_category,
            "by_residence": report.by_residence,
        },
        "missing": [{"key": f.key, "label": f.label, "hint": f.hint} for f in report.missing],
        "unknown_fields": list(report.unknown_fields),
    }
