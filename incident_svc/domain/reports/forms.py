"""What a report is drafted for: one obligation of the engine, and the fields it must carry.

:func:`report_rule` turns an :class:`~incident_svc.domain.compliance.Obligation` into a
:class:`ReportRule`: who is told, under which citation, the due time and status, and the
content fields in order. The fields are the rule's own ``content`` list (the rules file's
vocabulary, domain/compliance/content.py); for the forms this module knows field by field
(GDPR Art. 33(3), the Hong Kong PCPD form, the Texas attorney general's form, the California
sample copy) the form's list comes first and the rule's extra fields follow. Every report
also carries the dates and the reasons for any delay, and a rule for one place the count of
its residents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from incident_svc.domain.compliance import Obligation, Status
from incident_svc.domain.compliance.vocabulary import EU

GDPR_FIELDS = (
    "nature",
    "categories",
    "people_count",
    "records_count",
    "residence",
    "contact",
    "consequences",
    "measures",
    "dates",
    "delay_reasons",
)
PCPD_FIELDS = (
    "data_user",
    "contact",
    "sector",
    "nature",
    "dates",
    "categories",
    "people_count",
    "residence",
    "service_provider",
    "cause",
    "risk",
    "measures",
    "people_told",
)
TX_AG_FIELDS = (
    "data_user",
    "contact",
    "nature",
    "categories",
    "residents",
    "dates",
    "people_told",
    "notification_method",
    "measures",
    "law_enforcement_delay",
    "credit_monitoring",
    "credit_agencies",
)
CA_AG_FIELDS = ("sample_notice", "residents", "dates", "people_told")
ALWAYS = ("dates", "delay_reasons")
EXPANDS = {"dates": ("occurred", "dates")}  # the rules' "dates" is two fields here


@dataclass(frozen=True)
class Form:
    title: str
    fields: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)


FORMS: dict[str, Form] = {
    "gdpr-33-sa": Form("Personal data breach notification (GDPR Art. 33)", GDPR_FIELDS),
    "uk-gdpr-33-ico": Form("Personal data breach report (UK GDPR Art. 33)", GDPR_FIELDS),
    "hk-pdpo-pcpd": Form(
        "Data breach notification form (PCPD)",
        PCPD_FIELDS,
        {
            "contact": "Contact person",
            "nature": "Particulars of the incident",
            "categories": "Kinds of personal data involved",
            "measures": "Remedial actions taken",
        },
    ),
    "tx-ag": Form("Data security breach report (Texas attorney general form)", TX_AG_FIELDS),
    "ca-ag": Form("Sample copy of the breach notice (California attorney general)", CA_AG_FIELDS),
}


@dataclass(frozen=True)
class ReportRule:
    id: str  # the obligation's key: the rule id, or "rule-id:DE" for one place
    title: str
    recipient: str
    citation: str
    content: tuple[str, ...]
    jurisdiction: str = ""
    confidence: str = ""
    due_at: datetime | None = None
    standard: str = ""  # "without undue delay" where no fixed time applies
    status: str = ""
    late: bool = False
    late_reason: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)  # a form's own wording of a field


def report_rule(obligation: Obligation) -> ReportRule:
    """The report an obligation asks for."""
    rule = obligation.rule
    form = FORMS.get(rule.id)
    asked = [str(name) for name in rule.content]
    content = _ordered([*(form.fields if form else ()), *asked, *ALWAYS], place=obligation.place)
    late = obligation.status is Status.LATE or obligation.met_late
    return ReportRule(
        id=obligation.key,
        title=form.title if form else f"{rule.regime}: report to {obligation.recipient}",
        recipient=obligation.recipient,
        citation=rule.citation,
        content=content,
        jurisdiction=obligation.place,
        confidence=rule.confidence.value,
        due_at=obligation.due_at,
        standard=rule.standard or "",
        status=obligation.status.value,
        late=late,
        late_reason=obligation.late_reason or "",
        labels=form.labels if form else {},
    )


def _ordered(names: list[str], *, place: str) -> tuple[str, ...]:
    out: list[str] = []
    for name in names:
        for key in EXPANDS.get(name, (name,)):
            if key not in out:
                out.append(key)
    if place and place != EU and "residents" not in out:
        out.insert(out.index("dates"), "residents")
    return tuple(out)
