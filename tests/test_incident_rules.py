"""Pure rules: lifecycle, reference numbering, jurisdiction scope, text merging, row checks."""

from __future__ import annotations

import hashlib

import pytest

from incident_svc.domain.enums import IncidentStatus as S
from incident_svc.domain.incident_fields import merge_texts
from incident_svc.domain.inventory_rows import RowProblem, validate_row
from incident_svc.domain.lifecycle import TRANSITIONS, check_transition, next_ref
from incident_svc.domain.scope import covers, jurisdiction_filter, list_hash, list_line
from incident_svc.errors import ConflictError


@pytest.mark.parametrize("current", list(S))
def test_every_status_has_exactly_its_transitions(current: S) -> None:
    for target in S:
        if target in TRANSITIONS[current]:
            check_transition(current, target)
        else:
            with pytest.raises(ConflictError):
                check_transition(current, target)


def test_next_ref() -> None:
    assert next_ref(2026, []) == "INC-2026-0001"
    assert next_ref(2026, ["INC-2026-0009", "INC-2026-0010"]) == "INC-2026-0011"
    assert next_ref(2026, ["INC-2026-9999"]) == "INC-2026-10000"


@pytest.mark.parametrize(
    ("codes", "jurisdiction", "expected"),
    [
        ([], "HK", True),
        (["US"], "US-CA", True),
        (["US"], "US", True),
        (["US-CA"], "US-NY", False),
        (["US-CA"], "US", False),
        (["GB", "HK"], "DE", False),
        (["GB"], "GB-SCT", True),
    ],
)
def test_jurisdiction_cover(codes: list[str], jurisdiction: str, expected: bool) -> None:
    assert covers(jurisdiction_filter(codes), jurisdiction) is expected


def test_list_hash_is_over_sorted_lines() -> None:
    lines = [list_line("B", ["contact"]), list_line("A", ["contact", "billing_address"])]
    assert lines == ["B:contact", "A:billing_address,contact"]
    expected = hashlib.sha256(b"A:billing_address,contact\nB:contact\n").hexdigest()
    assert list_hash(lines) == expected
    assert list_hash(reversed(lines)) == expected
    assert list_hash(lines[:1]) != expected


def test_merge_texts_removes_empty() -> None:
    current = {"en": {"contact": "c", "measures": "m"}}
    merged = merge_texts(current, {"en": {"contact": ""}, "de": {"measures": "x"}})
    assert merged == {"en": {"measures": "m"}, "de": {"measures": "x"}}
    assert merge_texts(merged, {"de": {"measures": ""}}) == {"en": {"measures": "m"}}


def test_subject_row_normalised() -> None:
    row = validate_row(
        "subjects",
        [" S1 ", "A@Example.COM", "Ann", "zh_hant_hk", "us-ca", "", "Visitor", "yes", ""],
    )
    assert row == (
        "S1",
        "A@example.com",
        "Ann",
        "zh-Hant-HK",
        "US-CA",
        None,
        "visitor",
        True,
        "UTC",
    )


@pytest.mark.parametrize(
    ("index", "value", "field"),
    [
        (4, "US-ZZ", "jurisdiction"),
        (6, "boss", "role"),
        (8, "Mars/Base", "timezone"),
        (7, "maybe", "marketing_opt_out"),
        (2, "x" * 300, "name"),
        (0, "", "external_ref"),
    ],
)
def test_subject_row_problems(index: int, value: str, field: str) -> None:
    values = ["S1", "a@example.com", "Ann", "en", "GB", "", "", "", ""]
    values[index] = value
    with pytest.raises(RowProblem) as caught:
        validate_row("subjects", values)
    assert caught.value.field == field
