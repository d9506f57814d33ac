"""The obligations engine: rules plus one incident's facts give every obligation and its status.

For each rule id (derived clocks after the rules they derive from) and each place it covers:
pick the version in force on the clock start's date, decide whether it applies, work out the
due time, and see whether it was met (recorded, or for the people: reached by campaigns),
declined (a recorded decision not to notify), late or still open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime

from incident_svc.domain.codes import EU_MEMBER_STATES
from incident_svc.domain.compliance.applicability import applicability
from incident_svc.domain.compliance.calendar import due_time
from incident_svc.domain.compliance.facts import (
    Counted,
    Fulfilment,
    IncidentFacts,
    Reach,
    count_in,
    covers,
)
from incident_svc.domain.compliance.obligation import Obligation
from incident_svc.domain.compliance.rule import Rule
from incident_svc.domain.compliance.vocabulary import (
    CLOCK_OPTIONS,
    EU,
    Applicability,
    ClockKind,
    FanOut,
    RecipientKind,
    Status,
)

_ORDER = {
    Status.LATE: 0,
    Status.OPEN: 1,
    Status.NO_FIXED_DEADLINE: 2,
    Status.MET: 3,
    Status.NOT_APPLICABLE: 4,
}


def compute_obligations(
    rules: Sequence[Rule],
    facts: IncidentFacts,
    *,
    now: datetime,
    fulfilments: Iterable[Fulfilment] = (),
    reach: Mapping[str, Reach] | None = None,
) -> list[Obligation]:
    """Every obligation of the incident at ``now``: late first, then by due time.

    ``fulfilments`` are the recorded met/declined entries; ``reach`` the people reached by
    the incident's notices, by residence code (what meets obligations to the people).
    """
    versions: dict[str, list[Rule]] = {}
    for rule in rules:
        versions.setdefault(rule.id, []).append(rule)
    records = {f.key: f for f in fulfilments}
    met: dict[str, datetime] = {}
    found: list[Obligation] = []
    for rule_id in _dependency_order(versions):
        for place in _places(versions[rule_id][0], facts):
            obligation = _one(versions[rule_id], place, facts, now, records, reach or {}, met)
            if obligation.met_at is not None:
                met[obligation.key] = obligation.met_at
            found.append(obligation)
    strictest = strictest_due(found)
    if strictest is not None:
        found = [_with_strictest(o, strictest) for o in found]
    return sorted(found, key=_sort_key)


def strictest_due(obligations: Iterable[Obligation]) -> Obligation | None:
    """The open obligation with a fixed due time that falls first (what "without undue
    delay" obligations are reminded by)."""
    fixed = [o for o in obligations if o.fixed and o.due_at is not None]
    return min(fixed, key=lambda o: (o.due_at, o.key), default=None)


def obligation_key(rule: Rule, place: str) -> str:
    return rule.id if rule.fan_out is FanOut.NONE else f"{rule.id}:{place}"


def _sort_key(o: Obligation) -> tuple[int, str, str]:
    return (_ORDER[o.status], o.due_at.isoformat() if o.due_at else "~", o.key)


def _dependency_order(versions: Mapping[str, list[Rule]]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(rule_id: str) -> None:
        if rule_id in seen or rule_id not in versions:
            return
        seen.add(rule_id)
        for rule in versions[rule_id]:
            for dependency in (rule.after, rule.not_later_than):
                if dependency is not None:
                    visit(dependency)
        order.append(rule_id)

    for rule_id in sorted(versions):
        visit(rule_id)
    return order


def _places(rule: Rule, facts: IncidentFacts) -> list[str]:
    if rule.fan_out is FanOut.MEMBER_STATE:
        if facts.eu_main_establishment:
            return [facts.eu_main_establishment]
        members = {c.partition("-")[0] for c, n in facts.residents.items() if n and covers(EU, c)}
        return sorted(members & EU_MEMBER_STATES) or [EU]
    if rule.fan_out is FanOut.US_STATE:
        states = sorted(c for c, n in facts.residents.items() if n and c.startswith("US-"))
        if facts.residents.get("US"):
            states.append("US")
        return states or ["US"]
    return [rule.jurisdiction]


def _counted(rule: Rule, place: str, facts: IncidentFacts) -> Counted:
    if rule.fan_out is FanOut.US_STATE and place == "US":
        return Counted(0, facts.residents.get("US", 0))  # the people whose state is unknown
    return count_in(place, facts.residents)


def _one(
    versions: Sequence[Rule],
    place: str,
    facts: IncidentFacts,
    now: datetime,
    records: Mapping[str, Fulfilment],
    reach: Mapping[str, Reach],
    met: Mapping[str, datetime],
) -> Obligation:
    clock_at = _clock_at(versions[0], place, facts, met)
    day = (clock_at or now).date()
    rule = next((v for v in versions if v.in_force_on(day)), None)
    if rule is None:
        return _not_in_force(versions, place, clock_at, day)
    if rule.clock is not versions[0].clock or rule.after != versions[0].after:
        clock_at = _clock_at(rule, place, facts, met)
    counted = _counted(rule, place, facts)
    answer, reason = applicability(rule, place, counted, facts)
    applies = answer is not Applicability.NO
    base = Obligation(
        key=obligation_key(rule, place),
        rule=rule,
        place=place,
        recipient=_recipient(rule, place),
        clock=rule.clock,
        clock_at=clock_at,
        due_at=_due_at(rule, place, clock_at, facts, met) if applies else None,
        status=Status.OPEN,
        applicability=answer,
        reason=reason,
        residents=counted.residents,
        state_unknown=counted.state_unknown,
    )
    if not applies:
        return _replace(base, status=Status.NOT_APPLICABLE)
    return _settle(base, records.get(base.key), reach, now)


def _settle(
    base: Obligation, record: Fulfilment | None, reach: Mapping[str, Reach], now: datetime
) -> Obligation:
    if record is not None and record.kind == "declined":
        return _replace(
            base,
            status=Status.NOT_APPLICABLE,
            reason=f"decided not to notify: {record.reason}",
            decided_by=record.by,
            met_at=None,
        )
    if record is not None:
        late = base.due_at is not None and record.at > base.due_at
        return _replace(
            base,
            status=Status.MET,
            met_at=record.at,
            met_late=late,
            reference=record.reference,
            late_reason=record.late_reason,
        )
    reached = _reached(base, reach)
    if reached is not None and reached.residents and reached.reached >= reached.residents:
        late = (
            base.due_at is not None
            and reached.last_at is not None
            and reached.last_at > base.due_at
        )
        return _replace(
            base,
            status=Status.MET,
            met_at=reached.last_at,
            met_late=late,
            reference=f"notices reached all {reached.residents:,} residents",
        )
    progress = (
        f"; notices reached {reached.reached:,} of {reached.residents:,}"
        if reached is not None and reached.reached
        else ""
    )
    return _replace(base, status=_open_status(base, now), reason=_waiting(base) + progress)


def _open_status(base: Obligation, now: datetime) -> Status:
    if base.rule.voluntary or (base.rule.due is None and base.due_at is None):
        return Status.NO_FIXED_DEADLINE
    if base.due_at is not None and now > base.due_at:
        return Status.LATE
    return Status.OPEN


def _waiting(base: Obligation) -> str:
    rule = base.rule
    parts = [base.reason] if base.reason else []
    if rule.voluntary:
        parts.append("voluntary")
    if rule.due is not None and base.clock_at is None:
        if rule.after is not None:
            parts.append(f"the clock starts when {rule.after} is met")
        else:
            option = next(o for o, kind in CLOCK_OPTIONS.items() if kind is rule.clock)
            parts.append(f"clock not recorded: incident clock REF --{option} T")
    if rule.standard:
        parts.append(rule.standard)
    return "; ".join(parts)


def _reached(base: Obligation, reach: Mapping[str, Reach]) -> Reach | None:
    if base.rule.recipient_kind is not RecipientKind.INDIVIDUALS or not reach:
        return None
    inside = [r for code, r in reach.items() if covers(base.place, code)]
    if not inside:
        return None
    times = [r.last_at for r in inside if r.last_at is not None]
    return Reach(
        residents=sum(r.residents for r in inside),
        reached=sum(r.reached for r in inside),
        last_at=max(times, default=None),
    )


def _clock_at(
    rule: Rule, place: str, facts: IncidentFacts, met: Mapping[str, datetime]
) -> datetime | None:
    if rule.clock is ClockKind.OBLIGATION_MET:
        return _met_of(rule.after, place, met)
    return facts.clocks.get(rule.clock)


def _met_of(rule_id: str | None, place: str, met: Mapping[str, datetime]) -> datetime | None:
    if rule_id is None:
        return None
    return met.get(f"{rule_id}:{place}") or met.get(rule_id)


def _due_at(
    rule: Rule,
    place: str,
    clock_at: datetime | None,
    facts: IncidentFacts,
    met: Mapping[str, datetime],
) -> datetime | None:
    due = None
    if rule.due is not None and clock_at is not None:
        region = rule.holiday_calendar or place
        due = due_time(clock_at, rule.due.amount, rule.due.unit, region=region, zone=rule.timezone)
    bound = _met_of(rule.not_later_than, place, met)
    if bound is not None:
        due = bound if due is None else min(due, bound)
    delay = facts.law_enforcement_delay_until
    if due is not None and rule.law_enforcement_delay and delay is not None:
        due = max(due, delay)
    return due


def _recipient(rule: Rule, place: str) -> str:
    return rule.recipient if place == rule.jurisdiction else f"{rule.recipient} ({place})"


def _not_in_force(
    versions: Sequence[Rule], place: str, clock_at: datetime | None, day: date
) -> Obligation:
    latest = max(versions, key=lambda v: v.effective_from)
    spans = ", ".join(f"{v.effective_from}..{v.effective_to or ''}" for v in versions)
    return Obligation(
        key=obligation_key(latest, place),
        rule=latest,
        place=place,
        recipient=_recipient(latest, place),
        clock=latest.clock,
        clock_at=clock_at,
        due_at=None,
        status=Status.NOT_APPLICABLE,
        applicability=Applicability.NO,
        reason=f"not in force on {day} (in force {spans})",
        residents=0,
        state_unknown=0,
    )


def _with_strictest(o: Obligation, strictest: Obligation) -> Obligation:
    if o.status is not Status.NO_FIXED_DEADLINE or o.rule.voluntary:
        return o
    assert strictest.due_at is not None
    note = f"; remind by the strictest fixed deadline: {strictest.due_at.isoformat()} ({strictest.key})"
    return _replace(o, reason=o.reason + note)


def _replace(o: Obligation, **changes: object) -> Obligation:
    return replace(o, **changes)  # type: ignore[arg-type]
