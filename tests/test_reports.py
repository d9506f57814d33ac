"""`incident report`: drafts from a real incident in the database, in every format, parsed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc import db
from incident_svc.compliance_rules import load_rules
from incident_svc.config import Settings, load_settings
from incident_svc.domain.compliance import Applicability, ClockKind, Obligation, Status
from incident_svc.domain.reports.build import build_report
from incident_svc.domain.reports.facts import Organisation, ReportFacts
from incident_svc.domain.reports.forms import FORMS, ReportRule
from incident_svc.domain.times import utcnow
from incident_svc.errors import NotFoundError, ValidationError
from incident_svc.services.delivery import campaigns
from incident_svc.services.obligations import records, reports
from tests.notice_data import make_subject
from tests.support import rows
from tests.support.html_check import parse_strict
from tests.support.report_data import DISCOVERED, spread_incident
from tests.test_cli_shell import cli

NOW = DISCOVERED + timedelta(hours=10)
RULES = ("gdpr-33-sa", "hk-pdpo-pcpd", "tx-ag", "ca-ag")


@pytest.fixture
def config(db_conn: str, settings_for: Any) -> Settings:
    return settings_for(db_conn)  # type: ignore[no-any-return]


async def draft(config: Settings, rule: str, fmt: str, now: datetime = NOW) -> str:
    report = await reports.draft(ref="INC-2026-0001", rule_id=rule, settings=config, now=now)
    return reports.render(report, fmt, config)


@pytest.mark.parametrize("rule", RULES)
async def test_every_rule_in_every_format_parses(config: Settings, rule: str) -> None:
    await spread_incident()
    data = json.loads(await draft(config, rule, "json"))
    assert data["rule"]["id"] == ("gdpr-33-sa:FR" if rule == "gdpr-33-sa" else rule)
    keys = [f["key"] for f in data["fields"]]
    assert set(FORMS[rule].fields) | {"occurred", "delay_reasons"} <= set(keys)
    assert len(keys) == len(set(keys))
    assert data["counts"] == {
        "people": 10,
        "by_category": {"contact": 10, "drivers_licence": 1, "payment_card": 4, "ssn": 2},
        "by_residence": {"FR": 1, "GB": 3, "HK": 2, "US": 1, "US-CA": 1, "US-TX": 2},
    }
    html = parse_strict(await draft(config, rule, "html"))
    sections = [f["label"] for f in data["fields"]]
    assert all(label in "".join(html.text) for label in sections)
    markdown = await draft(config, rule, "md")
    assert [line[3:] for line in markdown.splitlines() if line.startswith("## ")] == [
        *sections,
        "Counts",
        "Missing facts",
    ]


async def test_gdpr_fields_a_to_d(config: Settings) -> None:
    await spread_incident()
    data = json.loads(await draft(config, "gdpr-33-sa", "json"))
    fields = {f["key"]: f for f in data["fields"]}
    assert fields["people_count"]["value"] == "10"
    assert fields["records_count"]["value"].startswith("17 ")  # person x category
    assert "unauthorised party copied" in " ".join(fields["nature"]["value"])  # (a)
    assert "Email: privacy@example.com" in fields["contact"]["value"]  # (b)
    assert fields["consequences"]["value"].startswith("Someone could try")  # (c)
    assert fields["measures"]["value"].startswith("We revoked")  # (d)
    assert data["rule"]["due_at"] == "2026-11-25T09:15+00:00"  # awareness + 72 h
    assert fields["delay_reasons"]["value"] == "Not late: due 2026-11-25T09:15+00:00."
    assert data["missing"] == []


async def test_missing_facts_are_listed_not_invented(config: Settings) -> None:
    await spread_incident(occurred_from=None, occurred_to=None, texts={"en": {}})
    data = json.loads(await draft(config, "hk-pdpo-pcpd", "json"))
    missing = {m["key"] for m in data["missing"]}
    assert missing == {
        "data_user",  # no org.postal_address
        "sector",
        "occurred",
        "service_provider",
        "cause",
        "risk",
        "measures",
    }
    assert all(m["hint"] for m in data["missing"])
    html = await draft(config, "hk-pdpo-pcpd", "html")
    assert html.count('class="missing"') == 2 * len(missing)  # in place and in the list
    markdown = await draft(config, "hk-pdpo-pcpd", "md")
    assert markdown.count("**MISSING**") == len(missing)


async def test_a_late_report_needs_its_reasons(config: Settings) -> None:
    incident = await spread_incident()
    late = DISCOVERED + timedelta(hours=80)
    data = json.loads(await draft(config, "gdpr-33-sa", "json", now=late))
    assert [m["key"] for m in data["missing"]] == ["delay_reasons"]
    campaign = await rows.campaign(incident, None)
    await campaigns.hold(
        campaign_id=campaign.id,
        until=utcnow() + timedelta(days=2),
        reason="police asked us to wait",
        actor="alice",
        key=None,
    )
    data = json.loads(await draft(config, "gdpr-33-sa", "json", now=late))
    fields = {f["key"]: f["value"] for f in data["fields"]}
    assert fields["delay_reasons"] == ["Notice to the people held: police asked us to wait"]


async def test_state_rules_count_their_residents_and_the_state_unknown(config: Settings) -> None:
    await spread_incident()
    texas = json.loads(await draft(config, "tx-ag", "json"))
    fields = {f["key"]: f["value"] for f in texas["fields"]}
    assert fields["residents"] == {"US-TX": 2, "US (state unknown)": 1}
    assert any("Equifax" in line for line in fields["credit_agencies"])
    assert {m["key"] for m in texas["missing"]} == {
        "data_user",
        "notification_method",
        "credit_monitoring",
    }


async def test_california_sample_copy_is_the_notice(config: Settings) -> None:
    await spread_incident()
    data = json.loads(await draft(config, "ca-ag", "json"))
    sample = data["fields"][0]["value"]
    assert sample.startswith("Subject: ")
    for heading in ("What Happened", "What Information Was Involved", "For More Information"):
        assert heading in sample
    assert "Dear Person P-8" in sample  # the one Californian


async def test_unknown_rule(config: Settings) -> None:
    await spread_incident()
    with pytest.raises(NotFoundError, match="INC-2026-0001 has no obligation 'nope'"):
        await draft(config, "nope", "json")


@pytest.mark.slow
def test_cli_writes_through_the_safe_export(database_url: str, tmp_path: Path) -> None:
    async def seed() -> None:
        await db.open_database(database_url)
        try:
            await spread_incident()
        finally:
            await db.close_database()

    asyncio.run(seed())
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "report.json"
    args = ("incident", "report", "INC-2026-0001", "--rule", "tx-ag", "--format", "json")
    done = cli(*args, "--out", str(out), database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["rule"]["id"] == "tx-ag"
    out.write_text("keep me")
    again = cli(*args, "--out", str(out), database_url=database_url)
    assert again.returncode == 6
    assert "exists; pass --force" in again.stderr
    assert out.read_text() == "keep me"
    forced = cli(*args, "--out", str(out), "--force", database_url=database_url)
    assert forced.returncode == 0, forced.stderr
    assert json.loads(out.read_text())["incident"] == "INC-2026-0001"
    assert [p.name for p in out.parent.iterdir()] == ["report.json"]  # no temporary left
    shown = cli(
        "incident", "report", "INC-2026-0001", "--rule", "hk-pdpo-pcpd", database_url=database_url
    )
    assert shown.returncode == 0 and shown.stdout.startswith("# Data breach notification form")
    bad = cli(*args[:5], "--format", "pdf", database_url=database_url)
    assert bad.returncode == 5 and "'pdf' is not one of md, json, html" in bad.stderr
    unknown = cli("incident", "report", "INC-2026-0001", "--rule", "x", database_url=database_url)
    assert unknown.returncode == 4
    nothing = cli(
        "incident", "report", "INC-2026-0404", "--rule", "tx-ag", database_url=database_url
    )
    assert nothing.returncode == 4


HOSTILE_RULES = [
    ReportRule(key, form.title, "them", "a law", (*form.fields, "occurred"), jurisdiction="US-TX")
    for key, form in FORMS.items()
]
PLAIN = load_settings(overrides={"database_url": "sqlite://:memory:"})
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80)
HOSTILE = st.one_of(
    TEXT,
    st.sampled_from(["<script>alert(1)</script>", "</section>", "| x |", "\n## x", "{{ 7*7 }}"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=HOSTILE, what=HOSTILE, residence=HOSTILE, category=HOSTILE)
def test_hostile_facts_stay_text_in_every_format(
    title: str, what: str, residence: str, category: str
) -> None:
    facts = ReportFacts(
        ref="INC-2026-0001",
        title=title,
        summary=what,
        severity="high",
        status="confirmed",
        discovered_at=DISCOVERED,
        organisation=Organisation(name=title, contact_email="privacy@example.com"),
        texts={"what_happened": what, "consequences": what, "contact": title},
        affected_resolved=True,
        people=1,
        by_category={category: 1},
        by_residence={residence: 1},
    )
    for rule in HOSTILE_RULES:
        report = build_report(facts, rule, now=datetime(2026, 12, 1, tzinfo=UTC))
        data = json.loads(reports.render(report, "json", PLAIN))
        assert data["counts"]["by_residence"] == {residence: 1}
        html = parse_strict(reports.render(report, "html", PLAIN))
        assert "script" not in html.tags
        markdown = reports.render(report, "md", PLAIN)
        if "consequences" in rule.content:
            assert _words(what) in _words("".join(html.text))
            # never evaluated as a template; facts are listed a line at a time (split as
            # str.splitlines does, so \x1c-\x1f and U+2028 end a line too)
            for part in what.splitlines():
                assert reports.md_text(part.strip()) in markdown
        headings = [line for line in markdown.splitlines() if line.startswith("#")]
        assert len(headings) == 1 + len(rule.content) + 2
        for line in markdown.splitlines():
            if line.startswith("| ") and line.endswith(" |"):
                assert line.replace("\\|", "").count("|") == 3, line


def _words(text: str) -> str:
    return " ".join(text.split())


async def test_a_late_obligation_carries_its_recorded_reason(config: Settings) -> None:
    await spread_incident()
    await records.record_met(
        ref="INC-2026-0001",
        rule_key="gdpr-33-sa:FR",
        at=DISCOVERED + timedelta(hours=80),
        reference="CNIL-123",
        late_reason="the processor told us on day three",
        actor="alice",
        key=None,
        settings=config,
    )
    data = json.loads(await draft(config, "gdpr-33-sa", "json", now=utcnow()))
    fields = {f["key"]: f["value"] for f in data["fields"]}
    assert data["rule"]["status"] == "met"
    assert fields["delay_reasons"] == ["the processor told us on day three"]


async def test_a_rule_with_one_obligation_per_place_needs_the_place(config: Settings) -> None:
    incident = await spread_incident()
    await make_subject(incident, "P-DE", ["contact"], jurisdiction="DE")
    with pytest.raises(ValidationError, match="name one of gdpr-33-sa:DE, gdpr-33-sa:FR"):
        await draft(config, "gdpr-33-sa", "json")
    data = json.loads(await draft(config, "GDPR-33-SA:de", "json"))
    assert {f["key"]: f["value"] for f in data["fields"]}["residents"] == {"DE": 1}


@settings(max_examples=200, deadline=None)
@given(wanted=st.text(max_size=80))
def test_any_rule_name_is_found_or_refused_in_one_line(wanted: str) -> None:
    obligations = [
        Obligation(
            key=key,
            rule=rule,
            place=place,
            recipient="x",
            clock=ClockKind.AWARE,
            clock_at=DISCOVERED,
            due_at=None,
            status=Status.OPEN,
            applicability=Applicability.APPLIES,
            reason="",
            residents=1,
            state_unknown=0,
        )
        for key, rule, place in RULE_KEYS
    ]
    try:
        found = reports.choose(obligations, wanted, "INC-2026-0001")
    except (NotFoundError, ValidationError) as exc:
        assert "\n" not in str(exc).replace(repr(wanted), "")
    else:
        assert (
            found.key.lower() == wanted.strip().lower() or found.rule.id == wanted.strip().lower()
        )


def _rule(rule_id: str) -> Any:
    return next(r for r in load_rules(PLAIN) if r.id == rule_id)


RULE_KEYS = [
    ("gdpr-33-sa:DE", _rule("gdpr-33-sa"), "DE"),
    ("gdpr-33-sa:FR", _rule("gdpr-33-sa"), "FR"),
    ("tx-ag", _rule("tx-ag"), "US-TX"),
]
