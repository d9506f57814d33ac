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
    """One line of the affected list as hashed: ``external_ref:cat1,cat2`` (categories sorted)."""
    return f"{external_ref}:{','.join(sorted(categories))}"


def list_hash(lines: Iterable[str]) -> str:
    """SHA-256 of the lines sorted in code-point order, each ending in a newline.

    The same bytes as ``sort`` with LC_ALL=C over the lines, so anyone can recompute it from
    an export; one subject's line never depends on another's.
    """
    ordered = sorted(lines)
    # one update of the whole text rather than two per line: the same bytes, far fewer calls
    text = "\n".join(ordered) + "\n" if ordered else ""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
