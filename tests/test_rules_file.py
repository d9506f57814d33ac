"""An operator's rules file: every field checked at load, one line per problem naming the file,
the entry and the field; hostile files (hypothesis) give RulesProblem, never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc.compliance_rules import load_rules, read_rules_file
from incident_svc.config import load_settings
from incident_svc.domain.compliance import RulesProblem, merge_rules, parse_rules
from incident_svc.errors import ConfigError
from tests.support.compliance import shipped

GOOD: dict[str, Any] = {
    "id": "acme-hk-board",
    "regime": "ACME policy",
    "jurisdiction": "HK",
    "recipient_kind": "regulator",
    "recipient": "The board",
    "clock": "aware",
    "due": {"amount": 24, "unit": "hours"},
    "threshold": {"residents": 10, "comparator": "ge"},
    "conditions": {"categories_any": ["ssn"], "flags_all": ["high_risk"], "sectors_any": ["acme"]},
    "content": ["nature"],
    "citation": "ACME policy 7",
    "confidence": "M",
    "reviewed_by": "Counsel",
    "reviewed_at": "2026-11-01",
    "effective_from": "2026-01-01",
}

# one bad value per field, and the field the problem must name
BAD = [
    ("id", "Has Spaces", "id"),
    ("regime", "", "regime"),
    ("jurisdiction", "XX-NOPE", "jurisdiction"),
    ("recipient_kind", "the press", "recipient_kind"),
    ("recipient", "line\nbreak", "recipient"),
    ("clock", "yesterday", "clock"),
    ("due", {"amount": 0, "unit": "hours"}, "due.amount"),
    ("due", {"amount": 3, "unit": "fortnights"}, "due.unit"),
    ("standard", 5, "standard"),
    ("after", "ghost-rule", "after"),
    ("not_later_than", "ghost-rule", "not_later_than"),
    ("timezone", "Mars/Olympus", "timezone"),
    ("holiday_calendar", "ZZ", "holiday_calendar"),
    ("threshold", {"residents": -1, "comparator": "ge"}, "threshold.residents"),
    ("threshold", {"residents": 5, "comparator": "about"}, "threshold.comparator"),
    ("trigger", "sometimes", "trigger"),
    ("residence_required", "maybe", "residence_required"),
    ("fan_out", "galaxy", "fan_out"),
    ("conditions", {"categories_any": ["dna"]}, "conditions.categories_any.0"),
    ("conditions", {"flags_all": ["lucky"]}, "conditions.flags_all.0"),
    ("conditions", {"sectors_any": ["Bad Sector"]}, "conditions.sectors_any.0"),
    ("conditions", {"colour": "red"}, "conditions.colour"),
    ("law_enforcement_delay", "perhaps", "law_enforcement_delay"),
    ("voluntary", "perhaps", "voluntary"),
    ("content", ["gossip"], "content.0"),
    ("citation", "", "citation"),
    ("confidence", "X", "confidence"),
    ("reviewed_by", "", "reviewed_by"),
    ("reviewed_at", "last week", "reviewed_at"),
    ("effective_from", "soon", "effective_from"),
    ("effective_to", "2025-01-01", "effective_to"),
    ("retention_years", 500, "retention_years"),
    ("enabled", "sometimes", "enabled"),
    ("surprise", 1, "surprise"),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("field", "value", "named"), BAD, ids=[f"{b[0]}-{b[2]}" for b in BAD])
def test_an_error_in_each_field_is_named(field: str, value: Any, named: str) -> None:
    entry = {**GOOD, field: value}
    with pytest.raises(RulesProblem) as caught:
        merge_rules([("shipped.toml", {"rule": []}), ("ops.toml", {"rule": [GOOD, entry]})])
    lines = str(caught.value).splitlines()
    assert len(lines) == len(caught.value.problems) >= 1
    assert any(
        line.startswith("ops.toml: entry 2") and f"field {named!r}" in line for line in lines
    ), lines
    assert caught.value.exit_code == 2


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    entries = [{**GOOD, "id": "a", "clock": "never"}, {**GOOD, "id": "b", "confidence": "Z"}]
    with pytest.raises(RulesProblem) as caught:
        parse_rules({"rule": entries}, source="ops.toml")
    assert [p.rule_id for p in caught.value.problems] == ["a", "b"]


def test_cross_entry_checks_name_their_field() -> None:
    derived = {**GOOD, "id": "b", "clock": "obligation_met"}  # no `after`
    overlapping = {**GOOD, "effective_from": "2026-06-01"}  # same id, overlaps the first
    looped = [
        {**GOOD, "id": "x", "clock": "obligation_met", "after": "y"},
        {**GOOD, "id": "y", "clock": "obligation_met", "after": "x"},
    ]
    with pytest.raises(RulesProblem) as caught:
        merge_rules([("ops.toml", {"rule": [GOOD, derived, overlapping, *looped]})])
    text = str(caught.value)
    assert "entry 2 (b) field 'after': is needed with clock" in text
    assert "entry 3 (acme-hk-board) field 'effective_from': overlaps" in text
    assert "entry 4 (x) field 'after': the derived clocks form a cycle" in text


def test_an_operator_entry_replaces_the_shipped_one_and_adds_new_ones() -> None:
    base = [
        ("shipped", {"rule": [{**GOOD, "id": "gdpr-x", "due": {"amount": 72, "unit": "hours"}}]})
    ]
    mine = (
        "ops",
        {"rule": [{**GOOD, "id": "gdpr-x", "due": {"amount": 96, "unit": "hours"}}, GOOD]},
    )
    rules = {r.id: r for r in merge_rules([*base, mine])}
    assert rules["gdpr-x"].due is not None and rules["gdpr-x"].due.amount == 96
    assert "acme-hk-board" in rules
    off = ("ops", {"rule": [{**GOOD, "id": "gdpr-x", "enabled": False}]})
    assert "gdpr-x" not in {r.id for r in merge_rules([*base, off])}


def test_the_configured_rules_file_is_read_and_checked(tmp_path: Path) -> None:
    path = write(tmp_path, '[[rule]]\nid = "x"\nclock = "whenever"\n')
    settings = load_settings(overrides={"compliance": {"rules_file": str(path)}})
    with pytest.raises(RulesProblem) as caught:
        load_rules(settings)
    assert f"{path}: entry 1 (x) field 'clock'" in str(caught.value)
    broken = write(tmp_path, "[[rule]\nid = 1")
    with pytest.raises(RulesProblem, match=r"rules.toml field 'file': is not valid TOML.*line 1"):
        load_rules(load_settings(overrides={"compliance": {"rules_file": str(broken)}}))
    with pytest.raises(RulesProblem, match="is not a regular file"):
        read_rules_file(tmp_path)


def test_configured_sectors_must_be_ones_the_rules_test() -> None:
    with pytest.raises(ConfigError, match="no rule tests hipaa_coverd"):
        load_rules(load_settings(overrides={"compliance": {"sectors": ["hipaa_coverd"]}}))
    rules = load_rules(load_settings(overrides={"compliance": {"sectors": ["hipaa_covered"]}}))
    assert rules == shipped()


def test_the_shipped_file_has_provenance_on_every_entry() -> None:
    for rule in shipped():
        assert rule.citation and rule.reviewed_by and rule.reviewed_at
        assert rule.confidence.value in {"H", "M", "L"}


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
_entries = st.fixed_dictionaries(
    {}, optional={name: _values for name in [*GOOD, "after", "standard", "fan_out", "trigger"]}
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.lists(
        st.one_of(_entries, st.builds(lambda e: {**GOOD, **e}, _entries), _values), max_size=4
    ),
    top=_values,
)
def test_hostile_rules_content_is_refused_cleanly(entries: list[Any], top: Any) -> None:
    for data in ({"rule": entries}, top, {"rule": entries, "extra": top}):
        try:
            rules = merge_rules([("hostile.toml", data)])
        except RulesProblem as problem:
            assert problem.problems
            assert all(line.startswith("hostile.toml") for line in str(problem).splitlines())
        else:
            assert all(rule.id for rule in rules)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_hostile_rules_file_text_is_refused_cleanly(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("hostile") / "rules.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        data = read_rules_file(path)
        merge_rules([(str(path), data)])
    except RulesProblem as problem:
        assert str(path) in str(problem)


def test_the_shipped_file_is_valid_toml_text() -> None:
    from incident_svc.resources import builtin_rules_file

    assert tomllib.loads(builtin_rules_file().read_text(encoding="utf-8"))["rule"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "compliance.timezone"),
        ("eu_main_establishment", "GB", "compliance.eu_main_establishment"),
        ("sectors", ["Not A Sector"], "compliance.sectors"),
        ("evidence_max_bytes", 0, "compliance.evidence_max_bytes"),
    ],
)
def test_bad_compliance_settings_name_their_key(key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(overrides={"compliance": {key: value}})
    assert caught.value.exit_code == 2


def test_compliance_settings_are_normalised() -> None:
    compliance = load_settings(
        overrides={"compliance": {"eu_main_establishment": " ie ", "sectors": ["b", "a", "a"]}}
    ).compliance
    assert compliance.eu_main_establishment == "IE" and compliance.sectors == ["a", "b"]


def test_an_unprintable_rule_id_is_shown_escaped_on_one_line() -> None:
    with pytest.raises(RulesProblem) as refused:
        merge_rules([("hostile.toml", {"rule": [{"id": "\x1e\x1b[31m\n"}]})])
    text = str(refused.value)
    assert "\x1e" not in text and "\x1b" not in text
    assert "(\\x1e\\x1b[31m\\n)" in text
    assert all(line.startswith("hostile.toml") for line in text.splitlines())
