"""A tabletop scenario file (TOML): the incident, its people, and injects at exercise hours.

Pure: it parses bytes and returns a :class:`Scenario` or raises :class:`ScenarioError` with
one line per problem, each naming the file, the entry and the field. Example
(docs/exercises.md has the full reference)::

    [exercise]
    hours = 72

    [incident]
    title = "Billing database copied"
    summary = "An attacker copied the billing database."
    severity = "high"
    systems = ["billing-db"]
    categories = ["contact", "billing_address"]

    [people]
    count = 20
    jurisdictions = ["GB", "US-CA", "HK"]

    [[inject]]
    hour = 20
    kind = "affected_grows"
    count = 15
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from incident_svc.domain import incident_fields
from incident_svc.domain.codes import normalise_jurisdiction
from incident_svc.domain.enums import Severity
from incident_svc.errors import ValidationError

MAX_HOURS = 24 * 90  # a 30-day (or 90-day) duty fits; longer is not a tabletop exercise
MAX_PEOPLE = 10_000
MAX_INJECTS = 200
MAX_BYTES = 1_000_000

KINDS: dict[str, dict[str, str]] = {
    # kind: {field: type}; every inject also has "hour" and "kind", optional "note"
    "affected_grows": {"count": "count", "jurisdictions": "jurisdictions"},
    "relay_outage": {"hours": "hours"},
    "bounces": {"count": "count"},
    "law_enforcement_hold": {"hours": "hours", "authority": "text"},
}
REQUIRED: dict[str, frozenset[str]] = {
    "affected_grows": frozenset({"count"}),
    "relay_outage": frozenset({"hours"}),
    "bounces": frozenset({"count"}),
    "law_enforcement_hold": frozenset({"hours", "authority"}),
}
_SECTIONS = frozenset({"exercise", "incident", "people", "inject"})
_INCIDENT_KEYS = frozenset(
    {"title", "summary", "severity", "systems", "categories", "occurred_hours_before"}
)


@dataclass(frozen=True)
class Inject:
    index: int  # position in the file, from 1: the inject's stable identity
    hour: float
    kind: str
    count: int = 0
    hours: float = 0.0
    jurisdictions: tuple[str, ...] = ()
    authority: str = ""
    note: str = ""

    def label(self) -> str:
        return f"inject {self.index} ({self.kind} at hour {self.hour:g})"


@dataclass(frozen=True)
class ScenarioIncident:
    title: str
    summary: str
    severity: Severity
    systems: tuple[str, ...]
    categories: tuple[str, ...]
    occurred_hours_before: float = 0.0


@dataclass(frozen=True)
class Scenario:
    hours: float
    incident: ScenarioIncident | None
    people: int
    jurisdictions: tuple[str, ...]
    injects: tuple[Inject, ...] = field(default_factory=tuple)

    def outage_at(self, hour: float) -> bool:
        """Whether a scripted relay outage covers exercise hour ``hour``."""
        return any(
            i.kind == "relay_outage" and i.hour <= hour < i.hour + i.hours for i in self.injects
        )


class ScenarioError(ValidationError):
    """Every problem of one scenario file, one line each (file, entry, field, reason)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _Problems:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []

    def add(self, entry: str, fld: str | None, reason: str) -> None:
        where = f"{self.name}: {entry}" + (f" field {fld!r}" if fld else "")
        self.lines.append(f"{where}: {_one_line(reason)}")


def _one_line(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= 300 else flat[:297] + "..."


def parse(data: bytes, *, name: str) -> Scenario:
    """The scenario in ``data`` (the file named ``name``), or ScenarioError."""
    shown = _one_line(name.encode("utf-8", "backslashreplace").decode("utf-8"))
    problems = _Problems(shown)
    if len(data) > MAX_BYTES:
        raise ScenarioError([f"{shown}: file: larger than {MAX_BYTES} bytes"])
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{shown}: file: not UTF-8 (byte {exc.start})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{shown}: file: not valid TOML: {_one_line(str(exc))}"]) from None
    for key in sorted(set(document) - _SECTIONS):
        problems.add(f"[{_one_line(key)[:60]}]", None, "unknown section; use " + _known(_SECTIONS))
    hours = _exercise(document.get("exercise", {}), problems)
    incident = _incident(document.get("incident"), problems)
    people, places = _people(document.get("people", {}), problems)
    injects = _injects(document.get("inject", []), hours, problems)
    if problems.lines:
        raise ScenarioError(problems.lines)
    return Scenario(hours, incident, people, places, tuple(injects))


def _known(names: frozenset[str] | set[str]) -> str:
    return ", ".join(sorted(names))


def _table(value: Any, entry: str, allowed: frozenset[str], problems: _Problems) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.add(entry, None, "must be a table")
        return {}
    for key in sorted(set(value) - allowed):
        problems.add(entry, _one_line(key)[:60], "unknown field; use " + _known(allowed))
    return value


def _exercise(value: Any, problems: _Problems) -> float:
    table = _table(value, "[exercise]", frozenset({"hours"}), problems)
    hours = _number(table.get("hours", 72), "[exercise]", "hours", problems, low=1, high=MAX_HOURS)
    return hours if hours is not None else 72.0


def _number(
    value: Any, entry: str, fld: str, problems: _Problems, *, low: float, high: float
) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        problems.add(entry, fld, f"must be a number, not {_one_line(repr(value))[:40]}")
        return None
    if not low <= value <= high:
        problems.add(entry, fld, f"must be between {low:g} and {high:g}, not {value:g}")
        return None
    return float(value)


def _count(value: Any, entry: str, fld: str, problems: _Problems) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(entry, fld, f"must be a whole number, not {_one_line(repr(value))[:40]}")
        return None
    if not 1 <= value <= MAX_PEOPLE:
        problems.add(entry, fld, f"must be between 1 and {MAX_PEOPLE}, not {value}")
        return None
    return value


def _checked(check: Any, value: Any, entry: str, fld: str, problems: _Problems) -> Any:
    """Run one of incident_fields' checks; a refusal becomes a problem line."""
    try:
        return check(value)
    except (ValidationError, ValueError, TypeError, AttributeError) as exc:
        reason = exc.reason if isinstance(exc, ValidationError) else str(exc)
        problems.add(entry, fld, reason or "not a valid value")
        return None


def _strings(value: Any, entry: str, fld: str, problems: _Problems) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(entry, fld, "must be a list of strings")
        return None
    return value


def _incident(value: Any, problems: _Problems) -> ScenarioIncident | None:
    if value is None:
        return None
    entry = "[incident]"
    table = _table(value, entry, _INCIDENT_KEYS, problems)
    if not table:
        return None
    title = _text(table.get("title"), entry, "title", problems)
    summary = _text(table.get("summary"), entry, "summary", problems, long=True)
    severity = _checked(Severity, table.get("severity", "high"), entry, "severity", problems)
    systems = _strings(table.get("systems"), entry, "systems", problems)
    if systems is not None:
        systems = _checked(
            lambda v: incident_fields.names(v, field="systems", required=True),
            systems,
            entry,
            "systems",
            problems,
        )
    categories = _strings(table.get("categories"), entry, "categories", problems)
    if categories is not None:
        categories = _checked(incident_fields.categories, categories, entry, "categories", problems)
    before = _number(
        table.get("occurred_hours_before", 0), entry, "occurred_hours_before", problems,
        low=0, high=MAX_HOURS,
    )  # fmt: skip
    if None in (title, summary, severity, systems, categories, before):
        return None
    return ScenarioIncident(
        title, summary, severity, tuple(systems or ()), tuple(categories or ()), before or 0.0
    )


def _text(value: Any, entry: str, fld: str, problems: _Problems, *, long: bool = False) -> Any:
    if not isinstance(value, str):
        problems.add(entry, fld, "must be a string" if value is not None else "is required")
        return None
    if long:
        return _checked(
            lambda v: incident_fields.free_text(v, field=fld) or None, value, entry, fld, problems
        )
    return _checked(lambda v: incident_fields.one_line(v, field=fld), value, entry, fld, problems)


def _places(value: Any, entry: str, problems: _Problems) -> tuple[str, ...] | None:
    listed = _strings(value, entry, "jurisdictions", problems)
    if listed is None:
        return None
    if not listed or len(listed) > 50:
        problems.add(entry, "jurisdictions", "needs 1 to 50 codes")
        return None
    codes = [_checked(normalise_jurisdiction, v, entry, "jurisdictions", problems) for v in listed]
    return None if None in codes else tuple(codes)


def _people(value: Any, problems: _Problems) -> tuple[int, tuple[str, ...]]:
    entry = "[people]"
    table = _table(value, entry, frozenset({"count", "jurisdictions"}), problems)
    count = _count(table.get("count", 20), entry, "count", problems)
    places = _places(table.get("jurisdictions", ["GB", "US-CA", "HK"]), entry, problems)
    return count or 0, places or ()


def _injects(value: Any, hours: float, problems: _Problems) -> list[Inject]:
    if not isinstance(value, list):
        problems.add("[[inject]]", None, "must be an array of tables ([[inject]])")
        return []
    if len(value) > MAX_INJECTS:
        problems.add("[[inject]]", None, f"at most {MAX_INJECTS} injects")
        return []
    found = [_inject(index, item, hours, problems) for index, item in enumerate(value, start=1)]
    return sorted((i for i in found if i is not None), key=lambda i: (i.hour, i.index))


def _inject(index: int, value: Any, hours: float, problems: _Problems) -> Inject | None:
    entry = f"inject {index}"
    if not isinstance(value, dict):
        problems.add(entry, None, "must be a table")
        return None
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        problems.add(entry, "kind", f"must be one of {_known(set(KINDS))}")
        return None
    table = _table(value, entry, frozenset({"hour", "kind", "note", *KINDS[kind]}), problems)
    before = len(problems.lines)
    hour = _number(table.get("hour"), entry, "hour", problems, low=0, high=hours)
    for missing in sorted(REQUIRED[kind] - set(table)):
        problems.add(entry, missing, f"is required for kind {kind!r}")
    fields: dict[str, Any] = {}
    for name, kind_of in KINDS[kind].items():
        if name in table:
            fields[name] = _field(kind_of, table[name], entry, name, hours, problems)
    note = _text(table["note"], entry, "note", problems) if "note" in table else ""
    if len(problems.lines) > before or hour is None:
        return None
    return Inject(index=index, hour=hour, kind=kind, note=note or "", **fields)


def _field(kind_of: str, value: Any, entry: str, name: str, hours: float, p: _Problems) -> Any:
    if kind_of == "count":
        return _count(value, entry, name, p)
    if kind_of == "hours":
        return _number(value, entry, name, p, low=0.01, high=MAX_HOURS)
    if kind_of == "jurisdictions":
        return _places(value, entry, p)
    return _text(value, entry, name, p)
