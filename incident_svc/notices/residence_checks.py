"""What a notice must say because of where its reader lives (pure logic).

The content fields come from the notification rules for the people of the reader's residence
(the rules file's ``content`` lists, domain/compliance/content.py): Massachusetts asks for the
right to obtain a police report and to a free security freeze (M.G.L. c. 93H s. 3). Wherever a
US reader's Social Security or driver's licence number is involved, the notice must also
name the consumer reporting agencies and the FTC and explain fraud alerts and credit
freezes, which US state laws ask for. California's title and headings stay in
:mod:`incident_svc.notices.checks`.

Each statement is found by its key words in the rendered text and HTML, so the check holds
for an operator's own templates (and their own wording around those words).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from incident_svc.notices.checks import Finding, html_to_text, normalise
from incident_svc.notices.rendering import RenderedNotice

CREDIT_CATEGORIES = frozenset({"ssn", "drivers_licence"})
AGENCIES = ("Equifax", "Experian", "TransUnion")
# field -> (words any one of which must appear, what the reader must be told)
STATEMENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "police_report_right": (("police report",), "the right to obtain a police report"),
    "fraud_alert_freeze": (("freeze",), "how to place a security freeze (free of charge)"),
    "fraud_alert": (("fraud alert",), "how to place a fraud alert"),
    "ftc_contact": (
        ("federal trade commission", "ftc.gov", "identitytheft.gov"),
        "the Federal Trade Commission's contact details",
    ),
}


def required_fields(
    jurisdiction: str, categories: Iterable[str], rule_fields: Iterable[str]
) -> set[str]:
    """The statements a reader's notice needs. Massachusetts' (a police report, a free
    freeze) always; the agencies, the FTC, fraud alerts and freezes for a US reader whose SSN
    or licence number is involved (the state rules list them for those cases)."""
    fields = set(rule_fields)
    wanted = (
        {"police_report_right", "fraud_alert_freeze"} if "police_report_right" in fields else set()
    )
    if jurisdiction.upper().split("-")[0] == "US" and CREDIT_CATEGORIES & set(categories):
        wanted |= {"credit_agencies", "ftc_contact", "fraud_alert", "fraud_alert_freeze"}
    return wanted


def residence_findings(
    context: Mapping[str, Any], notice: RenderedNotice, rule_fields: Iterable[str]
) -> list[Finding]:
    """Statements the reader's residence asks for that the notice does not make."""
    recipient: Mapping[str, Any] = context.get("recipient", {})
    jurisdiction = str(recipient.get("jurisdiction", ""))
    codes = [str(c["code"]) for c in context.get("categories", [])]
    wanted = required_fields(jurisdiction, codes, rule_fields)
    if not wanted:
        return []
    findings: list[Finding] = []
    for part, body in (("text", notice.text), ("html", html_to_text(notice.html))):
        findings += _missing(part, normalise(body).casefold(), wanted, jurisdiction)
    return findings


def _missing(part: str, folded: str, wanted: set[str], where: str) -> Iterator[Finding]:
    for field in sorted(wanted):
        if field == "credit_agencies":
            for agency in AGENCIES:
                if agency.casefold() not in folded:
                    yield Finding("missing_statement", part, f"{where} notices must name {agency}")
            continue
        words, meaning = STATEMENTS[field]
        if not any(word in folded for word in words):
            yield Finding("missing_statement", part, f"{where} notices must state {meaning}")


def fields_by_residence(rules: Iterable[tuple[str, Iterable[str]]]) -> dict[str, set[str]]:
    """(jurisdiction, content) of the rules for the people, merged by jurisdiction."""
    merged: dict[str, set[str]] = {}
    for jurisdiction, content in rules:
        merged.setdefault(jurisdiction.upper(), set()).update(str(c) for c in content)
    return merged


def fields_for(jurisdiction: str, by_residence: Mapping[str, set[str]]) -> set[str]:
    """The fields for one reader: their subdivision's and their country's rules; a reader whose
    US state is unknown (a bare ``US``) gets every state's, as the obligations count them."""
    code = jurisdiction.upper()
    country = code.split("-")[0]
    fields = set(by_residence.get(code, set())) | set(by_residence.get(country, set()))
    if code == country:
        for where, content in by_residence.items():
            if where.startswith(country + "-"):
                fields |= content
    return fields
