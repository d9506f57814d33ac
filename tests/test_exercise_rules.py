"""Exercise rules without I/O: the clock, names, scenario files (errors and hostile input)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_svc.domain.exercise_clock import ExerciseClock, check_name, check_speed
from incident_svc.domain.exercise_scenario import Scenario, ScenarioError, parse
from incident_svc.domain.times import real_time, use_clock, utcnow
from incident_svc.errors import ValidationError
from incident_svc.services.exercises.injects import due

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).parent / "data" / "exercises" / "billing-72h.toml"


def test_clock_runs_speed_times_faster_from_the_real_start() -> None:
    real = [START + timedelta(seconds=60)]
    clock = ExerciseClock(started_at=START, speed=3600.0, real_now=lambda: real[0])
    assert clock.now() == START + timedelta(hours=60)
    assert clock.hour() == 60.0
    assert clock.real_at(START + timedelta(hours=72)) == START + timedelta(seconds=72)
    assert clock.real_seconds_until(72) == pytest.approx(12.0)
    assert clock.at(START - timedelta(seconds=5)) == START  # never before the start


def test_use_clock_is_scoped_to_its_block() -> None:
    clock = ExerciseClock(started_at=START, speed=10.0, real_now=lambda: START + timedelta(hours=1))
    with use_clock(clock):
        assert utcnow() == START + timedelta(hours=10)
        assert real_time(START + timedelta(hours=10)) == START + timedelta(hours=1)
    assert abs((utcnow() - datetime.now(UTC)).total_seconds()) < 5
    assert real_time(START) == START


@pytest.mark.parametrize("name", ["drill", "d1", "drill-2026-12", "a" * 40])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "1drill", "Drill", "dr ill", "dr_ill", "../etc", "a" * 41, "drill\n", "ünï"]
)
def test_bad_names_are_one_line(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_name(name)
    assert "\n" not in str(caught.value)
    assert "exercise name" in str(caught.value)


@pytest.mark.parametrize("speed", [0.0, 0.5, -3.0, 100_001.0])
def test_speed_out_of_range(speed: float) -> None:
    with pytest.raises(ValidationError, match="speed"):
        check_speed(speed)


def test_example_scenario_parses() -> None:
    scenario = parse(EXAMPLE.read_bytes(), name=str(EXAMPLE))
    assert scenario.hours == 72
    assert [(i.hour, i.kind) for i in scenario.injects] == [
        (20, "affected_grows"),
        (30, "relay_outage"),
        (36, "bounces"),
        (40, "law_enforcement_hold"),
    ]
    assert scenario.outage_at(31.5) and not scenario.outage_at(34.0)
    assert [i.kind for i in due(scenario, 36, {1})] == ["relay_outage", "bounces"]
    assert scenario.incident is not None and scenario.incident.categories == (
        "billing_address",
        "contact",
    )


BAD = b"""
[exercise]
hours = 72
colour = "red"

[incident]
title = "x"
summary = "y"
severity = "apocalyptic"
systems = ["db"]
categories = ["contact", "shoe_size"]

[people]
count = 0
jurisdictions = ["XX"]

[[inject]]
hour = 100
kind = "bounces"
count = 2

[[inject]]
hour = 5
kind = "meteor"

[[inject]]
hour = 6
kind = "law_enforcement_hold"
hours = true

[wat]
"""


def test_every_problem_is_one_line_naming_file_entry_and_field() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse(BAD, name="drill.toml")
    lines = caught.value.problems
    assert lines == [
        "drill.toml: [wat]: unknown section; use exercise, incident, inject, people",
        "drill.toml: [exercise] field 'colour': unknown field; use hours",
        "drill.toml: [incident] field 'severity': 'apocalyptic' is not a valid Severity",
        "drill.toml: [incident] field 'categories': 'shoe_size' is not a data category; use one "
        "of contact, billing_address, payment_card, usage_data, device_data, "
        "call_detail_records, cookies, credentials, communications, ssn, drivers_licence, "
        "government_id, financial_account, health, biometric",
        "drill.toml: [people] field 'count': must be between 1 and 10000, not 0",
        "drill.toml: [people] field 'jurisdictions': 'XX' is not an ISO 3166 country or "
        "subdivision code (examples: GB, HK, US-CA)",
        "drill.toml: inject 1 field 'hour': must be between 0 and 72, not 100",
        "drill.toml: inject 2 field 'kind': must be one of affected_grows, bounces, "
        "law_enforcement_hold, relay_outage",
        "drill.toml: inject 3 field 'authority': is required for kind 'law_enforcement_hold'",
        "drill.toml: inject 3 field 'hours': must be a number, not True",
    ]
    assert str(caught.value) == "\n".join(lines)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"[exercise\nhours=1", "drill.toml: file: not valid TOML"),
        (b"\xff\xfe", "drill.toml: file: not UTF-8"),
        (b"inject = 3", "drill.toml: [[inject]]: must be an array of tables"),
        (b"[[inject]]\nhour = 1", "drill.toml: inject 1 field 'kind': must be one of"),
    ],
)
def test_unreadable_files(data: bytes, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse(data, name="drill.toml")
    assert str(caught.value).startswith(expected)
    assert all("\n" not in line for line in caught.value.problems)


_toml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _toml(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_hostile_bytes_never_raise_anything_but_scenario_errors(data: bytes) -> None:
    try:
        parse(data, name="fuzz.toml")
    except ScenarioError as exc:
        assert all("\n" not in line and line.startswith("fuzz.toml: ") for line in exc.problems)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["affected_grows", "relay_outage", "bounces", "law_enforcement_hold", "x"]),
    st.dictionaries(
        st.sampled_from(["hour", "count", "hours", "authority", "jurisdictions", "note", "z"]),
        _toml_values,
        max_size=6,
    ),
    st.dictionaries(
        st.sampled_from(["title", "summary", "severity", "systems", "categories", "q"]),
        _toml_values,
        max_size=6,
    ),
)
def test_hostile_structures_are_problems_not_tracebacks(
    kind: str, inject: dict[str, object], incident: dict[str, object]
) -> None:
    lines = [f"[[inject]]\nkind = {_toml(kind)}"]
    lines += [f"{_toml(k)} = {_toml(v)}" for k, v in inject.items() if v is not None]
    lines += ["[incident]"] + [
        f"{_toml(k)} = {_toml(v)}" for k, v in incident.items() if v is not None
    ]
    text = "\n".join(lines)
    try:
        result = parse(text.encode("utf-8", "surrogatepass"), name="drill\nname.toml")
    except ScenarioError as exc:
        assert all("\n" not in line for line in exc.problems)
        return
    assert isinstance(result, Scenario)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_hostile_names_are_refused_in_one_line_or_safe(name: str) -> None:
    try:
        checked = check_name(name)
    except ValidationError as exc:
        assert "\n" not in str(exc)
        return
    assert "/" not in checked and "." not in checked and checked.isascii()


def test_report_verdicts_and_what_was_never_done() -> None:
    from dataclasses import replace

    from incident_svc.compliance_rules import load_rules
    from incident_svc.config import load_settings
    from incident_svc.domain.compliance import Obligation
    from incident_svc.domain.compliance.vocabulary import Applicability, ClockKind, Status
    from incident_svc.services.exercises.report import never_done, obligation_row, verdict

    rule = load_rules(load_settings())[0]
    due_at = START + timedelta(hours=72)
    open_one = Obligation(
        key=rule.id, rule=rule, place="GB", recipient="ICO", clock=ClockKind.AWARE,
        clock_at=START, due_at=due_at, status=Status.OPEN, applicability=Applicability.APPLIES,
        reason="", residents=3, state_unknown=0,
    )  # fmt: skip
    assert verdict(open_one, START + timedelta(hours=1)) == "open"
    assert verdict(open_one, due_at) == "missed"
    assert verdict(replace(open_one, status=Status.LATE), START) == "missed"
    met = replace(open_one, status=Status.MET, met_at=START + timedelta(hours=30))
    assert verdict(met, due_at) == "met"
    assert verdict(replace(met, met_late=True), due_at) == "met late"
    assert verdict(replace(open_one, status=Status.NOT_APPLICABLE), due_at) == "not applicable"
    declined = replace(open_one, status=Status.NOT_APPLICABLE, decided_by="carol")
    assert verdict(declined, due_at) == "declined"
    row = obligation_row(met, due_at, START)
    assert row["hours_from_awareness_to_met"] == 30.0
    assert row["due_hours_after_awareness"] == 72.0
    missed = obligation_row(open_one, due_at, START)
    assert never_done(
        [row, missed], resolved=False, sent=0, campaigns=[], banners=0, bounced=0
    ) == [
        "the affected list was never resolved (incident affected)",
        "no notice campaign was created",
        "no notice was sent",
        "no banner was published",
        f"obligation {rule.id} ({rule.regime}, ICO) was never met (due {due_at.isoformat()})",
    ]
    assert never_done(
        [row], resolved=True, sent=5, campaigns=["completed"], banners=1, bounced=2
    ) == ["2 bounced notices have no substitute notice (bounces substitute)"]
    assert (
        never_done(
            [row],
            resolved=True,
            sent=5,
            campaigns=["completed"],
            banners=3,
            bounced=2,
            substitutes=2,
        )
        == []
    )
