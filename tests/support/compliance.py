"""Facts for the obligations engine, built in one line per test row (shipped rules, pure)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from incident_svc.compliance_rules import read_rules_file
from incident_svc.domain.compliance import (
    ClockKind,
    Fulfilment,
    IncidentFacts,
    Obligation,
    Rule,
    compute_obligations,
    merge_rules,
)
from incident_svc.resources import builtin_rules_file

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@functools.cache
def shipped() -> tuple[Rule, ...]:
    path = builtin_rules_file()
    return merge_rules([(str(path), read_rules_file(path))])


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def facts(
    *,
    residents: Mapping[str, int],
    clocks: Mapping[str, str] | None = None,
    categories: Iterable[str] = ("contact",),
    flags: Mapping[str, bool] | None = None,
    sectors: Iterable[str] = (),
    delay_until: str | None = None,
    eu_main: str | None = None,
) -> IncidentFacts:
    return IncidentFacts(
        ref="INC-TEST",
        clocks={ClockKind(k): utc(v) for k, v in (clocks or {}).items()},
        categories=frozenset(categories),
        flags=dict(flags or {}),
        sectors=frozenset(sectors),
        residents=dict(residents),
        law_enforcement_delay_until=utc(delay_until) if delay_until else None,
        eu_main_establishment=eu_main,
    )


def met(key: str, at: str) -> Fulfilment:
    return Fulfilment(key=key, kind="met", at=utc(at), by="tester", reference="ref")


def obligation(
    key: str,
    given: IncidentFacts,
    *,
    now: datetime = NOW,
    fulfilments: Iterable[Fulfilment] = (),
    rules: Iterable[Rule] | None = None,
) -> Obligation:
    found = compute_obligations(
        tuple(rules) if rules is not None else shipped(), given, now=now, fulfilments=fulfilments
    )
    matches = [o for o in found if o.key == key]
    assert matches, f"no obligation {key}; have {[o.key for o in found]}"
    return matches[0]
