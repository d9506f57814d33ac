"""Whether a rule applies to an incident in one place: sectors, residents, categories, flags.

Each test answers yes, no, or "possible" (a flag not assessed yet, or people whose US state is
unknown who could tip a threshold). A "possible" obligation is shown, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

from incident_svc.domain.compliance.facts import Counted, IncidentFacts
from incident_svc.domain.compliance.rule import Rule, Threshold
from incident_svc.domain.compliance.vocabulary import Applicability, Comparator, Flag

YES, POSSIBLE, NO = Applicability.APPLIES, Applicability.POSSIBLE, Applicability.NO
Answer = tuple[Applicability, str]


def applicability(rule: Rule, place: str, counted: Counted, facts: IncidentFacts) -> Answer:
    """The combined answer and its reason (the first "no", else every "possible", else why yes)."""
    answers = [_sector(rule, facts), _residence(rule, place, counted), *_flags_hard(rule, facts)]
    answers.append(
        _any(rule, counted, facts) if rule.trigger == "any" else _all(rule, counted, facts)
    )
    noes = [reason for answer, reason in answers if answer is NO]
    if noes:
        return NO, noes[0]
    maybes = [reason for answer, reason in answers if answer is POSSIBLE]
    if maybes:
        return POSSIBLE, "; ".join(maybes)
    return YES, "; ".join(reason for _, reason in answers if reason)


def _sector(rule: Rule, facts: IncidentFacts) -> Answer:
    wanted = rule.conditions.sectors_any
    if not wanted:
        return YES, ""
    if set(wanted) & facts.sectors:
        return YES, f"sector {', '.join(sorted(set(wanted) & facts.sectors))}"
    have = ", ".join(sorted(facts.sectors)) or "none"
    return NO, f"only for sector {', '.join(wanted)} (the organisation's: {have})"


def _residence(rule: Rule, place: str, counted: Counted) -> Answer:
    if not rule.residence_required:
        return YES, ""
    if counted.residents:
        unknown = f" (+{counted.state_unknown:,} state unknown)" if counted.state_unknown else ""
        return YES, f"{counted.residents:,} affected residents of {place}{unknown}"
    if counted.state_unknown:
        return POSSIBLE, f"{counted.state_unknown:,} affected people in the US, state unknown"
    return NO, f"no affected residents of {place}"


def _flags_hard(rule: Rule, facts: IncidentFacts) -> Iterable[Answer]:
    for flag in rule.conditions.flags_all:
        value = facts.flags.get(flag.value)
        if value is False:
            yield NO, f"{flag.value} assessed as no"
        elif value is None:
            yield POSSIBLE, f"{flag.value} not assessed yet ({_option(flag)})"
    for flag in rule.conditions.flags_none:
        if facts.flags.get(flag.value) is True:
            yield NO, f"exempt: {flag.value}"


def _all(rule: Rule, counted: Counted, facts: IncidentFacts) -> Answer:
    answers = [_categories(rule, facts), _flags_any(rule, facts), _threshold(rule, counted, facts)]
    for wanted in (NO, POSSIBLE):
        found = [reason for answer, reason in answers if answer is wanted]
        if found:
            return wanted, "; ".join(found)
    return YES, "; ".join(reason for _, reason in answers if reason)


def _any(rule: Rule, counted: Counted, facts: IncidentFacts) -> Answer:
    tests = [_categories(rule, facts), _flags_any(rule, facts)]
    if rule.threshold is not None:
        tests.append(_threshold(rule, counted, facts))
    tested = [t for t in tests if t[1]]
    for wanted in (YES, POSSIBLE):
        found = [reason for answer, reason in tested if answer is wanted]
        if found:
            return wanted, "; ".join(found)
    return NO, "none of: " + "; ".join(reason for _, reason in tested)


def _categories(rule: Rule, facts: IncidentFacts) -> Answer:
    wanted = {category.value for category in rule.conditions.categories_any}
    if not wanted:
        return YES, ""
    hit = sorted(wanted & facts.categories)
    if hit:
        return YES, f"categories {', '.join(hit)}"
    return NO, f"none of the categories {', '.join(sorted(wanted))} is involved"


def _flags_any(rule: Rule, facts: IncidentFacts) -> Answer:
    flags = rule.conditions.flags_any
    if not flags:
        return YES, ""
    values = {flag.value: facts.flags.get(flag.value) for flag in flags}
    if any(values.values()):
        return YES, ", ".join(name for name, value in values.items() if value)
    unassessed = [name for name, value in values.items() if value is None]
    if unassessed:
        return POSSIBLE, f"{', '.join(unassessed)} not assessed yet"
    return NO, f"{', '.join(values)} assessed as no"


def _threshold(rule: Rule, counted: Counted, facts: IncidentFacts) -> Answer:
    limit = rule.threshold
    if limit is None:
        return YES, ""
    known, unknown = counted.residents, counted.state_unknown
    if limit.counts == "everyone":
        known, unknown = sum(facts.residents.values()), 0
    return _compare(limit, known, known + unknown)


def _compare(limit: Threshold, known: int, upper: int) -> Answer:
    text = f"{known:,} counted, {limit.comparator.symbol} {limit.residents:,} needed"
    if limit.comparator is Comparator.LT:
        if limit.comparator.holds(upper, limit.residents):
            return YES, text
        if limit.comparator.holds(known, limit.residents):
            return POSSIBLE, f"{text} (people with state unknown could change it)"
        return NO, text
    if limit.comparator.holds(known, limit.residents):
        return YES, text
    if limit.comparator.holds(upper, limit.residents):
        return POSSIBLE, f"{text}; met if the {upper - known:,} with state unknown live there"
    return NO, text


def _option(flag: Flag) -> str:
    if flag in (Flag.HIGH_RISK, Flag.ENCRYPTED):
        return f"incident clock REF --{flag.value.replace('_', '-')}"
    return f"incident clock REF --flag {flag.value}=yes|no"
