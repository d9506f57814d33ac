"""Scope rules: which subjects an incident's jurisdictions cover, and the affected-list hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class JurisdictionFilter:
    """A country covers itself and its subdivisions (``US`` covers ``US-CA``); a subdivision
    covers only itself. ``exact`` is matched as is, ``countries`` against the first two letters
    of a subdivision code."""

    exact: tuple[str, ...]
    countries: tuple[str, ...]


def jurisdiction_filter(codes: Iterable[str]) -> JurisdictionFilter:
    unique = sorted(set(codes))
    return JurisdictionFilter(
        exact=tuple(unique), countries=tuple(code for code in unique if "-" not in code)
    )


def covers(rule: JurisdictionFilter, jurisdiction: str) -> bool:
    """The same rule as the SQL, for unit tests and single checks."""
    if not rule.exact:
        return True
    return jurisdiction in rule.exact or (
        "-" in jurisdiction and jurisdiction.split("-", 1)[0] in rule.countries
    )


def list_line(external_ref: str, categories: Iterable[str]) -> str:
    return f"{external_ref}:{','.join(sorted(categories))}\n"


class ListHasher:
    """SHA-256 over ``external_ref:cat1,cat2`` lines in reference order (fed in that order)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.count = 0

    def add(self, external_ref: str, categories: Iterable[str]) -> None:
        self._hash.update(list_line(external_ref, categories).encode("utf-8"))
        self.count += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
