"""The per-kind fast row validators agree with the general ``validate_row``.

Same normalised values for every row it accepts, the same field and reason for every row
it refuses. The generators mix good values with the edges of each rule: empty, blank,
over-long, padded with spaces or line breaks, wrong case, control characters, bytes that
were not UTF-8, unknown codes, and a wrong number of values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc.domain.inventory_fast import validate_chunk
from incident_svc.domain.inventory_rows import COLUMNS, RowProblem, validate_row

EDGES = ["", " ", "\t", " x ", "a\r\nb", "a\x00", "\x85", "x\u2028", "M\udcfcller", "é", ","]
GOOD = {
    "account_ref": ["", "A1", "ACME", " a-b "],
    "name": ["Org", "Ann Boss", "陳大文"],
    "region": ["APAC", "eu-west", "a_b", "-", "x" * 16, "x" * 17, "AP AC", "ÄP"],
    "holder_email": ["a@b.example", "Info@X.Example", "bad", "a@b.test", "ü@b.example"],
    "holder_name": ["H", "Holder Name"],
    "locale": ["", "en", "zh-Hant-HK", "en_GB", "ZH_hant_hk", "qq-ZZ", "x" * 36],
    "external_ref": ["S1", "S00000001", "x" * 128, "x" * 129],
    "email": ["p@x.example", "P.Q@X.EXAMPLE", "a..b@x.example", "p@xn--p1ai", "x@localhost"],
    "jurisdiction": ["GB", "hk", "US-CA", "us-ca", "XX", "GB-SCT", "GBR-SCT1"],
    "role": ["", "participant", "Visitor", "BILLING_CONTACT", "boss", "x" * 33],
    "marketing_opt_out": ["", "true", "FALSE", "yes", "N", "1", "maybe", "truest"],
    "timezone": ["", "UTC", "Asia/Hong_Kong", "asia/hong_kong", "Mars/Base"],
    "system": ["crm", "web", "a,b", "x" * 128, "x" * 129],
    "category": ["contact", "PAYMENT_CARD", "device_data", "shoes", "x" * 65],
}


def _value(name: str) -> st.SearchStrategy[str]:
    good = st.sampled_from(GOOD.get(name, ["x"]))
    padded = st.tuples(st.sampled_from(["", " ", "\n"]), good, st.sampled_from(["", " ", "\t"]))
    odd = st.one_of(padded.map("".join), st.sampled_from(EDGES), st.text(max_size=8))
    # mostly good values, so that whole rows pass often enough to compare what they become
    return st.one_of(good, good, good, good, odd)


def _rows(kind: str) -> st.SearchStrategy[list[str]]:
    row = st.tuples(*(_value(column.name) for column in COLUMNS[kind])).map(list)
    short = row.map(lambda values: values[:-1])
    return st.one_of(row, row, row, short)


def _general(kind: str, values: Sequence[str]) -> tuple[str, Any]:
    try:
        return ("ok", validate_row(kind, values))
    except RowProblem as problem:
        return ("problem", (problem.field, problem.reason))


def _fast(kind: str, values: Sequence[str]) -> tuple[str, Any]:
    """What the import runs: ``validate_chunk`` on a one-row chunk."""
    good, bad = validate_chunk(kind, [(1, values)])
    if good:
        return ("ok", good[0][1:])
    [(_, field, reason)] = bad
    return ("problem", (field, reason))


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(COLUMNS))
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_validator_agrees_with_the_general_one(kind: str, data: st.DataObject) -> None:
    values = data.draw(_rows(kind))
    assert _fast(kind, values) == _general(kind, values)


@pytest.mark.parametrize(
    ("kind", "values", "field"),
    [
        ("holdings", ["S1", "crm", "shoes"], "category"),
        ("holdings", [" S1\n", "crm", "contact"], "external_ref"),
        ("holdings", ["S1", "a,b", "contact"], "system"),
        ("subjects", ["S1", "p@x.example", "P", "", "XX", "", "", "", ""], "jurisdiction"),
        ("subjects", ["S1", "p@x.example", "M\udcfcller", "", "GB", "", "", "", ""], "name"),
        ("accounts", ["A", "Org", "AP AC", "h@x.example", "H", ""], "region"),
    ],
)
def test_fast_chunk_reports_the_general_problem(kind: str, values: list[str], field: str) -> None:
    good, bad = validate_chunk(kind, [(3, values)])
    assert good == []
    assert [(line, name) for line, name, _ in bad] == [(3, field)]


def test_fast_chunk_normalises_like_the_general_validator() -> None:
    values = ["S1", "P@X.Example", " Pat ", "zh_hant_hk", "us-ca", "", "Visitor", "YES", ""]
    good, bad = validate_chunk("subjects", [(2, values)])
    assert bad == []
    assert good == [(2, *validate_row("subjects", values))]
    expected = ("S1", "P@x.example", "Pat", "zh-Hant-HK", "US-CA", None, "visitor", True, "UTC")
    assert good[0][1:] == expected
