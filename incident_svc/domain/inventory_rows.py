"""Validating one inventory row: pure, fast, and precise about which field is wrong.

Each kind (accounts, subjects, holdings) has a fixed column list. A row arrives as a list of
strings in that order and leaves as a tuple of normalised values, or raises RowProblem naming
the field. This is the reference; ``inventory_fast`` has the per-kind versions an import runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from incident_svc.domain.codes import (
    normalise_jurisdiction,
    normalise_locale,
    normalise_timezone,
)
from incident_svc.domain.emails import normalise_email
from incident_svc.domain.enums import DataCategory, Role

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# what the reader's errors="surrogateescape" makes of bytes that are not UTF-8
NOT_UTF8 = re.compile("[\udc80-\udcff]")
# either of the two: one search of a row's text finds both
SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\udc80-\udcff]")
NOT_UTF8_REASON = "is not valid UTF-8 text; the file must be UTF-8"
_REGION = re.compile(r"[A-Za-z0-9_-]{1,16}")
_TRUE = frozenset({"true", "yes", "1", "y"})
_FALSE = frozenset({"false", "no", "0", "n", ""})


class RowProblem(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


Check = Callable[[str], Any]


@dataclass(frozen=True)
class Column:
    name: str
    max_length: int
    required: bool = True
    check: Check | None = None
    default: str = ""


_ROLES = {role.value: role.value for role in Role}
_CATEGORIES = {category.value: category.value for category in DataCategory}


def _role(text: str) -> str:
    try:
        return _ROLES[text.lower()]
    except KeyError:
        raise ValueError(
            f"{text!r} is not a role; use one of {', '.join(r.value for r in Role)}"
        ) from None


def _flag(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a yes/no value; use true or false")


def _category(text: str) -> str:
    try:
        return _CATEGORIES[text.lower()]
    except KeyError:
        raise ValueError(
            f"{text!r} is not a data category; use one of "
            f"{', '.join(c.value for c in DataCategory)}"
        ) from None


def _region(text: str) -> str:
    if not _REGION.fullmatch(text):
        raise ValueError(f"{text!r} is not a region code (letters, digits, - and _; e.g. APAC)")
    return text.upper()


def _system(text: str) -> str:
    if "," in text:
        raise ValueError(f"{text!r}: a system name cannot contain a comma")
    return text


COLUMNS: dict[str, tuple[Column, ...]] = {
    "accounts": (
        Column("account_ref", 128),
        Column("name", 256),
        Column("region", 16, check=_region),
        Column("holder_email", 320, check=normalise_email),
        Column("holder_name", 256),
        Column("locale", 35, required=False, check=normalise_locale, default="en"),
    ),
    "subjects": (
        Column("external_ref", 128),
        Column("email", 320, check=normalise_email),
        Column("name", 256),
        Column("locale", 35, required=False, check=normalise_locale, default="en"),
        Column("jurisdiction", 6, check=normalise_jurisdiction),
        Column("account_ref", 128, required=False),
        Column("role", 32, required=False, check=_role, default="participant"),
        Column("marketing_opt_out", 5, required=False, check=_flag, default="false"),
        Column("timezone", 64, required=False, check=normalise_timezone, default="UTC"),
    ),
    "holdings": (
        Column("external_ref", 128),
        Column("system", 128, check=_system),
        Column("category", 64, check=_category),
    ),
}
KINDS = tuple(COLUMNS)


def column_names(kind: str) -> tuple[str, ...]:
    return tuple(column.name for column in COLUMNS[kind])


def validate_row(kind: str, values: Sequence[str]) -> tuple[Any, ...]:
    """Normalised values of one row, in column order; RowProblem names the first bad field."""
    columns = COLUMNS[kind]
    if SUSPECT.search("".join(values)):  # rare: find the field, in column order
        _suspect(columns, values)
    if len(values) != len(columns):
        raise RowProblem("line", f"expected {len(columns)} values, found {len(values)}")
    result: list[Any] = []
    append = result.append
    # one loop without a call per cell: this runs for every cell of millions of rows
    for column, raw in zip(columns, values, strict=True):
        value = raw.strip()
        if not value:
            if column.required:
                raise RowProblem(column.name, "is required and empty")
            value = column.default
        if len(value) > column.max_length:
            raise RowProblem(column.name, f"is longer than {column.max_length} characters")
        check = column.check
        if check is None:
            append(value or None)
            continue
        try:
            append(check(value))
        except ValueError as exc:
            raise RowProblem(column.name, str(exc)) from None
    return tuple(result)


def _suspect(columns: Sequence[Column], values: Sequence[str]) -> None:
    """Bytes that are not UTF-8 anywhere in the row come first, then control characters."""
    for pattern, reason in (
        (NOT_UTF8, NOT_UTF8_REASON),
        (_CONTROL, "contains a control character or line break"),
    ):
        for column, raw in zip(columns, values, strict=False):
            if pattern.search(raw):
                raise RowProblem(column.name, reason)


Problem = tuple[int, str, str]  # line, field, reason
