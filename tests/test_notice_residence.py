"""`notice check` and the content rules of the readers' residences: Massachusetts statements,
consumer reporting agencies where SSN or licence numbers are involved (pure and end to end)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from incident_svc.config import Settings
from incident_svc.domain.enums import NoticeKind
from incident_svc.notices import review
from incident_svc.notices.rendering import RenderedNotice
from incident_svc.notices.residence_checks import (
    fields_by_residence,
    fields_for,
    residence_findings,
)
from incident_svc.resources import builtin_templates_dir
from tests.notice_data import make_incident, make_subject

COMPLETE = (
    "You may obtain a police report. A security freeze is free of charge; so is a fraud alert. "
    "Equifax, Experian and TransUnion; Federal Trade Commission, www.identitytheft.gov."
)
BY_RESIDENCE = fields_by_residence(
    [
        ("US-MA", ["police_report_right", "fraud_alert_freeze", "credit_monitoring"]),
        ("US-TX", ["credit_agencies", "ftc_contact", "fraud_alert_freeze"]),
        ("US-CA", ["notice_title", "ca_headings"]),
        ("GB", ["nature", "contact"]),
    ]
)


def context(jurisdiction: str, *codes: str) -> dict[str, Any]:
    return {
        "recipient": {"jurisdiction": jurisdiction},
        "categories": [{"code": c, "label": c} for c in codes],
    }


def notice(text: str) -> RenderedNotice:
    # the HTML part escaped as the autoescaping templates do: data never opens a comment
    return RenderedNotice("Notice", text, f"<p>{html.escape(text, quote=False)}</p>", ())


def messages(jurisdiction: str, text: str, *codes: str) -> list[tuple[str, str]]:
    fields = fields_for(jurisdiction, BY_RESIDENCE)
    found = residence_findings(context(jurisdiction, *codes), notice(text), fields)
    assert all(f.code == "missing_statement" for f in found)
    return [(f.part, f.message) for f in found]


def test_massachusetts_needs_the_police_report_and_the_freeze() -> None:
    assert messages("US-MA", "Nothing here.", "contact") == [
        ("text", "US-MA notices must state how to place a security freeze (free of charge)"),
        ("text", "US-MA notices must state the right to obtain a police report"),
        ("html", "US-MA notices must state how to place a security freeze (free of charge)"),
        ("html", "US-MA notices must state the right to obtain a police report"),
    ]
    assert messages("US-MA", COMPLETE, "contact") == []


def test_ssn_or_licence_numbers_need_the_agencies_wherever_in_the_us() -> None:
    found = [m for part, m in messages("US-TX", "Nothing.", "ssn") if part == "text"]
    assert found == [
        "US-TX notices must name Equifax",
        "US-TX notices must name Experian",
        "US-TX notices must name TransUnion",
        "US-TX notices must state how to place a fraud alert",
        "US-TX notices must state how to place a security freeze (free of charge)",
        "US-TX notices must state the Federal Trade Commission's contact details",
    ]
    assert len(messages("US-NV", "Nothing.", "drivers_licence")) == 12  # a state with no rule
    assert messages("US-TX", COMPLETE, "ssn", "contact") == []
    assert messages("US-TX", "Nothing.", "contact") == []  # no SSN: the rule's fields only
    assert messages("GB", "Nothing.", "ssn") == []  # not a US reader


def test_a_reader_whose_state_is_unknown_gets_every_states_statements() -> None:
    assert fields_for("US", BY_RESIDENCE) >= {"police_report_right", "credit_agencies"}
    assert any("police report" in m for _, m in messages("US", "Nothing.", "contact"))


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=300),
    where=st.sampled_from(["US-MA", "US-TX", "US", "GB", "HK", ""]),
    codes=st.lists(st.sampled_from(["ssn", "drivers_licence", "contact", "health"]), max_size=3),
)
def test_any_text_gives_findings_only_for_what_is_missing(
    text: str, where: str, codes: list[str]
) -> None:
    found = messages(where, text, *codes) if where else []
    with_complete = messages(where, text + " " + COMPLETE, *codes) if where else []
    assert with_complete == []
    assert all(where in message for _, message in found)


def without_residence_statements(folder: Path) -> Path:
    """The built-in English notice with its Massachusetts and credit-agency blocks cut out."""
    target = folder / "email" / "subject_notice" / "en"
    target.mkdir(parents=True)
    for name in ("body.txt.j2", "body.html.j2"):
        text = (builtin_templates_dir() / "email" / "subject_notice" / "en" / name).read_text()
        cut = re.sub(r"{% if (us_ma|credit_data) %}.*?{% endif %}\n", "", text, flags=re.DOTALL)
        assert cut != text
        (target / name).write_text(cut)
    return folder


async def test_check_names_the_readers_whose_notice_lacks_their_statements(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    incident = await make_incident()
    await make_subject(incident, "GB-1", ["contact"])
    await make_subject(incident, "TX-PLAIN", ["contact"], jurisdiction="US-TX")
    await make_subject(incident, "TX-SSN", ["contact", "ssn"], jurisdiction="US-TX")
    await make_subject(incident, "MA-1", ["contact"], jurisdiction="US-MA")

    async def check(config: Settings) -> review.CheckReport:
        return await review.check_incident(
            incident_ref=incident.ref, kind=NoticeKind.SUBJECT_NOTICE, settings=config
        )

    built_in = await check(settings_for(db_conn))
    assert built_in.ok, built_in.locales["en"].findings  # the shipped notice says it all
    assert {"GB-1", "TX-PLAIN", "TX-SSN", "MA-1"} <= set(built_in.locales["en"].samples)
    operator = settings_for(db_conn, templates_dir=str(without_residence_statements(tmp_path)))
    report = await check(operator)
    by_reader: dict[str, set[str]] = {}
    for who, finding in report.locales["en"].findings:
        assert finding.code == "missing_statement"
        by_reader.setdefault(who, set()).add(finding.message)
    assert by_reader["MA-1"] == {
        "US-MA notices must state the right to obtain a police report",
        "US-MA notices must state how to place a security freeze (free of charge)",
    }
    assert "US-TX notices must name Equifax" in by_reader["TX-SSN"]
    assert set(by_reader) == {"MA-1", "TX-SSN"}
    assert not report.ok
