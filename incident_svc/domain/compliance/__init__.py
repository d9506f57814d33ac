"""Notification law as data: rules, the facts they test, and the obligations they give. Pure.

The public API (what services and other commands build on):

- :func:`parse_rules` / :func:`merge_rules`: a rules file's mapping into checked :class:`Rule`\\ s;
- :func:`compute_obligations`: every obligation of one incident at one moment;
- :func:`due_time`: a clock start plus a duration, in hours, calendar or business days;
- the value types :class:`IncidentFacts`, :class:`Fulfilment`, :class:`Reach`, :class:`Obligation`.
"""

from incident_svc.domain.compliance.calendar import due_time
from incident_svc.domain.compliance.engine import compute_obligations, strictest_due
from incident_svc.domain.compliance.facts import Fulfilment, IncidentFacts, Reach
from incident_svc.domain.compliance.obligation import Obligation
from incident_svc.domain.compliance.rule import Rule
from incident_svc.domain.compliance.ruleset import RulesProblem, merge_rules, parse_rules
from incident_svc.domain.compliance.vocabulary import (
    Applicability,
    ClockKind,
    Confidence,
    RecipientKind,
    Status,
    Unit,
)

__all__ = [
    "Applicability",
    "ClockKind",
    "Confidence",
    "Fulfilment",
    "IncidentFacts",
    "Obligation",
    "Reach",
    "RecipientKind",
    "Rule",
    "RulesProblem",
    "Status",
    "Unit",
    "compute_obligations",
    "due_time",
    "merge_rules",
    "parse_rules",
    "strictest_due",
]
