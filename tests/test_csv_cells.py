"""CSV cells never start a formula, whichever separator a spreadsheet splits them with."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from incident_svc.domain.csv_cells import FORMULA_STARTS, safe_cell

PIECE_START = re.compile(r'^[ "]*')  # a spreadsheet skips these; an apostrophe makes text
CELLS = st.text(alphabet=st.sampled_from("=+-@\t\r\0,; \"'ab1"), max_size=30) | st.text()


def _pieces(cell: str) -> list[str]:
    """How a spreadsheet may cut a cell: whole, at commas, or at semicolons."""
    return [cell, *cell.split(","), *cell.split(";")]


@settings(max_examples=300, deadline=None)
@given(cell=CELLS)
@example(cell='billing;=HYPERLINK("http://evil")')
@example(cell="a, -2+3")
@example(cell='x;"=cmd|calc"')
def test_no_piece_of_a_cell_starts_a_formula(cell: str) -> None:
    safe = safe_cell(cell)
    for piece in _pieces(safe):
        rest = piece[PIECE_START.match(piece).end() :]  # type: ignore[union-attr]
        unquoted = piece if piece is safe else rest
        assert not unquoted.startswith(FORMULA_STARTS), (cell, safe, piece)
    # nothing else changes: taking the apostrophes back out gives the cell again
    assert safe.replace("'", "") == cell.replace("'", "")


@settings(max_examples=100, deadline=None)
@given(cells=st.lists(CELLS, min_size=1, max_size=5))
def test_cells_survive_a_csv_round_trip(cells: list[str]) -> None:
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell(c) for c in cells])
    [row] = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert row == [safe_cell(c) for c in cells]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("contact;billing", "contact;billing"),
        ("a;=cmd", "a;'=cmd"),
        ("a, @SUM(A1)", "a, '@SUM(A1)"),
        ('x;"=cmd"', 'x;"\'=cmd"'),
        (7, 7),
        (None, None),
    ],
)
def test_examples(cell: object, expected: object) -> None:
    assert safe_cell(cell) == expected
