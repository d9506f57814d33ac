"""Per-kind row validators specialised for speed, and ``validate_chunk`` that runs them.

An import validates millions of rows, and the general ``validate_row`` spends most of its
time on the loop over column descriptions. Each function here does the same checks for one
kind in straight-line code for the common case: every value present or defaulted, short
enough and valid. Anything else (a missing value, a bad one, a control character) goes to
``validate_row``, so every problem and its wording are the general validator's.
tests/test_inventory_fast.py checks with hypothesis that the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from incident_svc.domain.codes import jurisdictions, normalise_locale, timezones
from incident_svc.domain.emails import normalise_email
from incident_svc.domain.enums import DataCategory, Role
from incident_svc.domain.inventory_rows import (
    SUSPECT,
    Problem,
    RowProblem,
    validate_row,
)

_CATEGORIES = {category.value: category.value for category in DataCategory}
_ROLES = {role.value: role.value for role in Role}
_FLAGS = {"true": True, "yes": True, "1": True, "y": True, "false": False, "no": False,
          "0": False, "n": False}  # fmt: skip


class _Fallback(Exception):
    """The common case does not apply: ask the general validator."""


def _holdings(values: Sequence[str]) -> tuple[Any, ...]:
    if SUSPECT.search("".join(values)):  # before stripping: strip() takes line breaks away
        raise _Fallback
    ref, system, category = values
    ref = ref.strip()
    system = system.strip()
    found = _CATEGORIES.get(category.strip().lower())
    if (
        not ref
        or len(ref) > 128
        or not system
        or len(system) > 128
        or "," in system
        or found is None
    ):
        raise _Fallback
    return (ref, system, found)


def _locale(text: str) -> str:
    value = text.strip() or "en"
    if len(value) > 35:
        raise _Fallback
    return normalise_locale(value)


def _email(text: str) -> str:
    value = text.strip()
    if not value or len(value) > 320:
        raise _Fallback
    return normalise_email(value)


def _accounts(values: Sequence[str]) -> tuple[Any, ...]:
    if SUSPECT.search("".join(values)):
        raise _Fallback
    ref, name, region, email, holder, locale = values
    ref, name, region, holder = ref.strip(), name.strip(), region.strip(), holder.strip()
    if not ref or len(ref) > 128 or not name or len(name) > 256 or not holder or len(holder) > 256:
        raise _Fallback
    region = _region(region)
    return (ref, name, region, _email(email), holder, _locale(locale))


def _region(value: str) -> str:
    letters = value.replace("-", "").replace("_", "")
    if not value or len(value) > 16 or not (value.isascii() and letters.isalnum()):
        raise _Fallback
    return value.upper()


def _subjects(values: Sequence[str]) -> tuple[Any, ...]:
    if SUSPECT.search("".join(values)):
        raise _Fallback
    ref, email, name, locale, jurisdiction, account, role, flag, zone = values
    ref, name, jurisdiction = ref.strip(), name.strip(), jurisdiction.strip()
    account = account.strip()
    role = role.strip() or "participant"
    flag = flag.strip() or "false"
    zone = zone.strip() or "UTC"
    code = jurisdiction.upper()
    opt_out = _FLAGS.get(flag.lower()) if len(flag) <= 5 else None
    found_role = _ROLES.get(role.lower()) if len(role) <= 32 else None
    if (
        not ref
        or len(ref) > 128
        or not name
        or len(name) > 256
        or not jurisdiction
        or len(jurisdiction) > 6
        or code not in jurisdictions()
        or len(account) > 128
        or found_role is None
        or opt_out is None
        or len(zone) > 64
        or zone not in timezones()
    ):
        raise _Fallback
    return (
        ref,
        _email(email),
        name,
        _locale(locale),
        code,
        account or None,
        found_role,
        opt_out,
        zone,
    )


_FAST: dict[str, Callable[[Sequence[str]], tuple[Any, ...]]] = {
    "accounts": _accounts,
    "subjects": _subjects,
    "holdings": _holdings,
}


def validate_chunk(
    kind: str, rows: Sequence[tuple[int, Sequence[str]]]
) -> tuple[list[tuple[Any, ...]], list[Problem]]:
    """Validate ``(line, values)`` rows: good rows as ``(line, *values)``, and the problems."""
    fast = _FAST[kind]
    good: list[tuple[Any, ...]] = []
    bad: list[Problem] = []
    append = good.append
    for line, values in rows:
        try:
            append((line, *fast(values)))
        except (_Fallback, ValueError):
            try:
                append((line, *validate_row(kind, values)))
            except RowProblem as problem:
                bad.append((line, problem.field, problem.reason))
    return good, bad
