"""The content fields a report may ask for, each found in the facts or listed as missing.

A field's value is text, a list of lines, or a table (label to number or text). ``None``
means the service does not hold the fact: the report lists it as missing with ``hint`` (what
to record, or that it must be added by hand), never a guess. A fact that is known to be
absent ("no notice sent yet") is a value, not a gap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from incident_svc.domain.reports.facts import ReportFacts

if TYPE_CHECKING:
    from incident_svc.domain.reports.forms import ReportRule

Value = str | list[str] | dict[str, str | int]
Extract = Callable[[ReportFacts, "ReportRule", datetime], Value | None]

CREDIT_CATEGORIES = frozenset({"ssn", "drivers_licence"})
# The three nationwide consumer reporting agencies and the FTC (public contact points).
CREDIT_AGENCIES = (
    "Equifax: 1-888-298-0045, www.equifax.com, P.O. Box 105069, Atlanta, GA 30348",
    "Experian: 1-888-397-3742, www.experian.com, P.O. Box 9554, Allen, TX 75013",
    "TransUnion: 1-800-916-8800, www.transunion.com, P.O. Box 2000, Chester, PA 19016",
)
FTC_CONTACT = (
    "Federal Trade Commission: 1-877-438-4338, www.identitytheft.gov, "
    "600 Pennsylvania Avenue NW, Washington, DC 20580"
)
FREEZE = "Fraud alerts and security freezes are free: ask any one of the three agencies."
POLICE_REPORT = (
    "You have the right to obtain a police report about this incident, and to place a "
    "security freeze on your credit report free of charge."
)
CA_TITLE = "Notice of Data Breach"
CA_HEADINGS = [
    "What Happened",
    "What Information Was Involved",
    "What We Are Doing",
    "What You Can Do",
    "For More Information",
]
NOT_RECORDED = "not recorded by the service: add it to the report by hand"


@dataclass(frozen=True)
class ContentField:
    key: str
    label: str
    extract: Extract
    hint: str


def when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="minutes") if moment is not None else ""


def _text(key: str) -> Extract:
    def extract(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
        value = facts.texts.get(key, "").strip()
        return value or None

    return extract


def _organisation(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    org = facts.organisation
    table: dict[str, str | int] = {"name": org.name}
    for label, value in (("address", org.postal_address), ("website", org.website_url)):
        if value:
            table[label] = value
    return table if org.postal_address else None


def _contact(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    org = facts.organisation
    lines = [facts.texts.get("contact", "").strip()]
    lines += [f"Email: {org.contact_email}" if org.contact_email else ""]
    lines += [f"Phone: {org.contact_phone}" if org.contact_phone else ""]
    return [line for line in lines if line] or None


def _sector(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    return ", ".join(facts.organisation.sectors) or None


def _nature(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    what = facts.texts.get("what_happened", "").strip()
    lines = [f"{facts.title}: {facts.summary}", *([what] if what else [])]
    lines.append(f"Severity: {facts.severity}; systems: {', '.join(facts.systems) or 'none named'}")
    return lines


def _categories(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    if facts.affected_resolved and facts.by_category:
        return dict(sorted(facts.by_category.items()))
    return None


def _people(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    return str(facts.people) if facts.affected_resolved else None


def _records(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    if not facts.affected_resolved:
        return None
    return f"{facts.records} (one per person and data category)"


def _residence(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    return dict(sorted(facts.by_residence.items())) if facts.affected_resolved else None


def _residents(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    if not facts.affected_resolved or not rule.jurisdiction:
        return None
    table: dict[str, str | int] = {rule.jurisdiction: facts.residents(rule.jurisdiction)}
    unknown = facts.state_unknown(rule.jurisdiction)
    if unknown:
        table[f"{rule.jurisdiction.partition('-')[0]} (state unknown)"] = unknown
    return table


def _occurred(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    if facts.occurred_from is None:
        return None
    table: dict[str, str | int] = {"from": when(facts.occurred_from)}
    table["to"] = when(facts.occurred_to) or "not known (ongoing or not established)"
    return table


def _dates(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    table: dict[str, str | int] = {"discovered": when(facts.discovered_at)}
    for kind, moment in sorted(facts.clocks.items()):
        table[kind.replace("_", " ")] = when(moment)
    if rule.due_at is not None:
        table["due"] = when(rule.due_at)
    if facts.regulator_notified_at is not None:
        table["regulator notified"] = when(facts.regulator_notified_at)
    if facts.notice.first_sent_at is not None:
        table["people first told"] = when(facts.notice.first_sent_at)
    return table


def _people_notified(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    notice = facts.notice
    if notice.sent == 0 and notice.pending == 0:
        return "No notice to the people has been sent yet."
    lines = [f"{notice.sent} notice(s) accepted by the mail relay"]
    if notice.first_sent_at is not None:
        lines[0] += f", {when(notice.first_sent_at)} to {when(notice.last_sent_at)}"
    if notice.failed:
        lines.append(f"{notice.failed} could not be delivered")
    if notice.pending:
        lines.append(f"{notice.pending} still being sent")
    return lines


def _method(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    return ", ".join(facts.notice.channels) or None


def _delay_reasons(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    if not rule.late:
        if rule.due_at is None:
            return f"No fixed deadline applies ({rule.standard or 'none set'})."
        return f"Not late: due {when(rule.due_at)}."
    reasons = [rule.late_reason] if rule.late_reason else []
    until = facts.law_enforcement_delay_until
    reasons += [f"Delayed at law enforcement's request until {when(until)}"] if until else []
    reasons += [f"Notice to the people held: {reason}" for reason in facts.holds]
    return reasons or None


def _law_enforcement(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    until = facts.law_enforcement_delay_until
    lines = [f"Delayed at law enforcement's request until {when(until)}"] if until else []
    lines += [f"Notice to the people held: {reason}" for reason in facts.holds]
    return lines or "No law-enforcement delay is recorded."


def _credit_involved(facts: ReportFacts) -> bool:
    return bool(CREDIT_CATEGORIES & (set(facts.categories) | set(facts.by_category)))


NO_CREDIT = "Not applicable: no Social Security or driver's licence numbers are involved."


def _credit_agencies(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    return list(CREDIT_AGENCIES) if _credit_involved(facts) else NO_CREDIT


def _ftc(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    return FTC_CONTACT if _credit_involved(facts) else NO_CREDIT


def _freeze(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    return FREEZE if _credit_involved(facts) else NO_CREDIT


def _fixed(value: Value) -> Extract:
    def extract(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
        return value

    return extract


def _credit_monitoring(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    if not _credit_involved(facts):
        return NO_CREDIT
    offered = facts.flags.get("credit_monitoring")
    return str(offered) if offered else None


def _flag(key: str) -> Extract:
    def extract(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
        value = facts.flags.get(key)
        return None if value is None else str(value)

    return extract


def _sample(facts: ReportFacts, rule: ReportRule, now: datetime) -> Value | None:
    return facts.sample_notice


_RESOLVE = "resolve the affected list first: incident-svc incident affected REF"
_TEXT = "record it: incident-svc incident update REF --{}"
_SAMPLE = "no affected reader lives there, or the notice cannot be rendered (notice check)"
FIELDS: dict[str, ContentField] = {
    f.key: f
    for f in (
        ContentField("data_user", "Organisation", _organisation, "set org.postal_address"),
        ContentField("contact", "Contact point (DPO)", _contact, _TEXT.format("contact")),
        ContentField("sector", "Sector", _sector, "set compliance.sectors"),
        ContentField("nature", "Nature of the breach", _nature, ""),
        ContentField("cause", "Cause", _flag("cause"), NOT_RECORDED),
        ContentField("categories", "People by data category", _categories, _RESOLVE),
        ContentField("people_count", "Approximate number of people", _people, _RESOLVE),
        ContentField("records_count", "Approximate number of records", _records, _RESOLVE),
        ContentField("residence", "People by residence", _residence, _RESOLVE),
        ContentField("residents", "Residents affected", _residents, _RESOLVE),
        ContentField("occurred", "When it happened", _occurred, "record --occurred-from"),
        ContentField("dates", "Discovery and deadlines", _dates, ""),
        ContentField(
            "consequences",
            "Likely consequences",
            _text("consequences"),
            _TEXT.format("consequences"),
        ),
        ContentField(
            "risk",
            "Risk of harm to the people",
            _text("consequences"),
            _TEXT.format("consequences"),
        ),
        ContentField(
            "measures", "Measures taken or proposed", _text("measures"), _TEXT.format("measures")
        ),
        ContentField(
            "protective_steps",
            "What people can do",
            _text("protective_steps"),
            _TEXT.format("protective-steps"),
        ),
        ContentField(
            "service_provider", "Service provider involved", _flag("service_provider"), NOT_RECORDED
        ),
        ContentField("people_told", "Whether the people were told", _people_notified, ""),
        ContentField("notification_method", "How the people were told", _method, "no notice sent"),
        ContentField(
            "delay_reasons",
            "Reasons for the delay",
            _delay_reasons,
            "record why it is late: incident-svc incident obligation-met ... --late-reason",
        ),
        ContentField("law_enforcement_delay", "Law-enforcement delay", _law_enforcement, ""),
        ContentField("credit_agencies", "Consumer reporting agencies", _credit_agencies, ""),
        ContentField("ftc_contact", "Federal Trade Commission", _ftc, ""),
        ContentField("fraud_alert_freeze", "Fraud alerts and credit freezes", _freeze, ""),
        ContentField(
            "credit_monitoring", "Credit monitoring offered", _credit_monitoring, NOT_RECORDED
        ),
        ContentField("police_report_right", "Police report", _fixed(POLICE_REPORT), ""),
        ContentField("notice_title", "Title of the notice", _fixed(CA_TITLE), ""),
        ContentField("ca_headings", "Headings of the notice", _fixed(list(CA_HEADINGS)), ""),
        ContentField("material_impact", "Material impact", _flag("material_impact"), NOT_RECORDED),
        ContentField("sample_notice", "Sample copy of the notice", _sample, _SAMPLE),
    )
}
