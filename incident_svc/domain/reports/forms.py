"""The recipients a report can be drafted for, and the content fields each one asks for.

A :class:`ReportRule` is what the report builder needs to know about one obligation: who is
told, under which citation, the due time if any, and the content fields in order. The
obligations engine supplies them for every rule in force; :data:`BUILTIN` holds the forms
whose fields this module knows by heart (GDPR Art. 33(3), the Hong Kong PCPD form, the Texas
attorney general's form, the California sample copy), and lends its field list to an engine
rule that names one of them as its ``form``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

GDPR_FIELDS = (
    "nature",
    "categories",
    "people_count",
    "records_count",
    "residence",
    "contact",
    "consequences",
    "measures",
    "occurred",
    "dates",
    "delay_reasons",
)
PCPD_FIELDS = (
    "organisation",
    "contact",
    "sector",
    "nature",
    "occurred",
    "dates",
    "categories",
    "people_count",
    "residence",
    "service_provider",
    "cause",
    "consequences",
    "measures",
    "people_notified",
)
TX_AG_FIELDS = (
    "organisation",
    "contact",
    "nature",
    "categories",
    "residents",
    "dates",
    "people_notified",
    "notification_method",
    "measures",
    "law_enforcement",
    "credit_monitoring",
    "credit_agencies",
)
CA_AG_FIELDS = ("sample_notice", "residents", "occurred", "dates", "people_notified")


@dataclass(frozen=True)
class ReportRule:
    id: str
    title: str
    recipient: str
    citation: str
    content: tuple[str, ...]
    jurisdiction: str = ""
    confidence: str = ""
    due_at: datetime | None = None
    standard: str = ""  # "without undue delay" where no fixed time applies
    status: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)  # a form's own wording of a field

    def at(self, due_at: datetime | None, status: str = "") -> ReportRule:
        """The same rule with the due time of one incident's obligation."""
        return replace(self, due_at=due_at, status=status)


_PCPD_LABELS = {
    "organisation": "Data user",
    "contact": "Contact person",
    "nature": "Particulars of the incident",
    "categories": "Kinds of personal data involved",
    "consequences": "Risk of harm to the people",
    "measures": "Remedial actions taken",
}
BUILTIN: dict[str, ReportRule] = {
    rule.id: rule
    for rule in (
        ReportRule(
            "gdpr-art33",
            "Personal data breach notification (GDPR Art. 33)",
            "the lead supervisory authority",
            "GDPR Art. 33(1), (3)",
            GDPR_FIELDS,
            jurisdiction="EU",
            confidence="H",
        ),
        ReportRule(
            "uk-gdpr-art33",
            "Personal data breach report (UK GDPR Art. 33)",
            "the Information Commissioner's Office",
            "UK GDPR Art. 33(1), (3)",
            GDPR_FIELDS,
            jurisdiction="GB",
            confidence="H",
        ),
        ReportRule(
            "hk-pcpd",
            "Data breach notification form (PCPD)",
            "the Privacy Commissioner for Personal Data, Hong Kong",
            "PDPO Cap. 486 DPP4; PCPD breach guidance (June 2023)",
            PCPD_FIELDS,
            jurisdiction="HK",
            confidence="H",
            standard="as soon as practicable (voluntary)",
            labels=_PCPD_LABELS,
        ),
        ReportRule(
            "tx-ag",
            "Data security breach report (Texas attorney general form)",
            "the Texas attorney general",
            "Tex. Bus. & Com. Code 521.053",
            TX_AG_FIELDS,
            jurisdiction="US-TX",
            confidence="H",
        ),
        ReportRule(
            "ca-ag",
            "Sample copy of the breach notice (California attorney general)",
            "the California attorney general",
            "Cal. Civ. Code 1798.82(f)",
            CA_AG_FIELDS,
            jurisdiction="US-CA",
            confidence="H",
        ),
    )
}
