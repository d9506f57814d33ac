"""A rules file's content into checked rules; the shipped file merged with an operator's.

Every problem is one line naming the file, the entry (its position and id) and the field,
and all of them are reported at once, so a reviewer fixes a file in one pass. An operator
entry replaces every shipped entry with the same id (all its versions); new ids are added.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pydantic

from incident_svc.domain.compliance.rule import Rule
from incident_svc.domain.compliance.vocabulary import EU, ClockKind, FanOut
from incident_svc.errors import ConfigError

MAX_ENTRIES = 5000


@dataclass(frozen=True)
class Problem:
    source: str
    entry: int | None  # 1-based position in the file's [[rule]] list
    rule_id: str | None
    field: str
    message: str

    def line(self) -> str:
        where = _visible(self.source)
        if self.entry is not None:
            where += f": entry {self.entry}"
            if self.rule_id:
                where += f" ({_visible(self.rule_id)})"
        return f"{where} field {self.field!r}: {self.message}"


def _visible(text: str) -> str:
    """A file's own words in one line: control and other unprintable characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class RulesProblem(ConfigError):
    """The rules could not be loaded; ``problems`` holds one line each."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(p.line() for p in self.problems), key="compliance.rules_file")


@dataclass(frozen=True)
class _Located:
    rule: Rule
    source: str
    entry: int


def parse_rules(data: Mapping[str, Any], *, source: str) -> list[Rule]:
    """The entries of one file (``{"rule": [{...}, ...]}``); RulesProblem lists every problem."""
    located, problems = _parse(data, source)
    if problems:
        raise RulesProblem(problems)
    return [item.rule for item in located]


def merge_rules(sources: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[Rule, ...]:
    """Parse each ``(name, content)`` in order; later files replace earlier ids. Checked whole."""
    merged: dict[str, list[_Located]] = {}
    problems: list[Problem] = []
    for source, data in sources:
        located, found = _parse(data, source)
        problems += found
        replaced: dict[str, list[_Located]] = {}
        for item in located:
            replaced.setdefault(item.rule.id, []).append(item)
        merged.update(replaced)
    everything = [item for versions in merged.values() for item in versions]
    problems += _across(everything)
    if problems:
        raise RulesProblem(problems)
    return tuple(item.rule for item in everything if item.rule.enabled)


def _parse(data: Mapping[str, Any], source: str) -> tuple[list[_Located], list[Problem]]:
    if not isinstance(data, Mapping):
        return [], [Problem(source, None, None, "rule", "the file must be a table")]
    problems = [
        Problem(source, None, None, key, "unknown top-level key; entries go in [[rule]]")
        for key in data
        if key != "rule"
    ]
    entries = data.get("rule", [])
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        problems.append(
            Problem(source, None, None, "rule", f"must be a list of at most {MAX_ENTRIES} [[rule]]")
        )
        return [], problems
    located: list[_Located] = []
    for number, entry in enumerate(entries, start=1):
        rule, found = _one(entry, source, number)
        problems += found
        if rule is not None:
            located.append(_Located(rule, source, number))
    return located, problems


def _one(entry: Any, source: str, number: int) -> tuple[Rule | None, list[Problem]]:
    rule_id = entry.get("id") if isinstance(entry, Mapping) else None
    shown_id = rule_id if isinstance(rule_id, str) and len(rule_id) <= 64 else None
    if not isinstance(entry, Mapping):
        return None, [Problem(source, number, None, "rule", "must be a table")]
    try:
        rule = Rule.model_validate(dict(entry))
    except pydantic.ValidationError as exc:
        return None, [
            Problem(source, number, shown_id, _loc(error["loc"]), _message(error))
            for error in exc.errors()
        ]
    found = [Problem(source, number, rule.id, f, m) for f, m in _within(rule)]
    return (None if found else rule), found


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "rule"


def _message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        shown = repr(value)
        message += f" (got {shown[:60]}{'…' if len(shown) > 60 else ''})"
    return message


def _within(rule: Rule) -> list[tuple[str, str]]:
    """Checks that need more than one field of one entry: (field, message) each."""
    found: list[tuple[str, str]] = []
    if (rule.clock is ClockKind.OBLIGATION_MET) != (rule.after is not None):
        found.append(("after", 'is needed with clock = "obligation_met", and only with it'))
    if rule.after is not None and rule.after == rule.id:
        found.append(("after", "names the rule itself"))
    if rule.due is None and rule.standard is None:
        found.append(
            ("due", 'give a due time (amount, unit) or a standard ("without undue delay")')
        )
    if rule.effective_to is not None and rule.effective_to < rule.effective_from:
        found.append(("effective_to", "is before effective_from"))
    if rule.fan_out is FanOut.MEMBER_STATE and rule.jurisdiction != EU:
        found.append(("fan_out", 'member_state needs jurisdiction = "EU"'))
    if rule.fan_out is FanOut.US_STATE and rule.jurisdiction != "US":
        found.append(("fan_out", 'us_state needs jurisdiction = "US"'))
    if rule.trigger == "any" and not (
        rule.threshold or rule.conditions.categories_any or rule.conditions.flags_any
    ):
        found.append(("trigger", '"any" needs a threshold, categories_any or flags_any'))
    return found


def _across(items: Sequence[_Located]) -> list[Problem]:
    """Checks across entries: references resolve, versions of one id do not overlap, no cycles."""
    ids = {item.rule.id for item in items}
    problems: list[Problem] = []
    for item in items:
        for field in ("after", "not_later_than"):
            target = getattr(item.rule, field)
            if target is not None and target not in ids:
                problems.append(_at(item, field, f"no rule has the id {target!r}"))
    problems += _overlaps(items)
    problems += _cycles(items)
    return problems


def _at(item: _Located, field: str, message: str) -> Problem:
    return Problem(item.source, item.entry, item.rule.id, field, message)


def _overlaps(items: Sequence[_Located]) -> list[Problem]:
    by_id: dict[str, list[_Located]] = {}
    for item in items:
        by_id.setdefault(item.rule.id, []).append(item)
    problems: list[Problem] = []
    for versions in by_id.values():
        ordered = sorted(versions, key=lambda i: i.rule.effective_from)
        for earlier, later in itertools.pairwise(ordered):
            end = earlier.rule.effective_to
            if end is None or end >= later.rule.effective_from:
                problems.append(
                    _at(
                        later,
                        "effective_from",
                        f"overlaps the version in {earlier.source} entry {earlier.entry}; "
                        "versions of one id need disjoint effective_from..effective_to",
                    )
                )
    return problems


def _cycles(items: Sequence[_Located]) -> list[Problem]:
    edges: dict[str, set[str]] = {}
    for item in items:
        for target in (item.rule.after, item.rule.not_later_than):
            if target is not None:
                edges.setdefault(item.rule.id, set()).add(target)
    problems: list[Problem] = []
    for item in items:
        if _reaches(item.rule.id, item.rule.id, edges, set()):
            problems.append(_at(item, "after", "the derived clocks form a cycle"))
    return problems


def _reaches(start: str, goal: str, edges: Mapping[str, set[str]], seen: set[str]) -> bool:
    for nxt in edges.get(start, ()):
        if nxt == goal:
            return True
        if nxt not in seen:
            seen.add(nxt)
            if _reaches(nxt, goal, edges, seen):
                return True
    return False
