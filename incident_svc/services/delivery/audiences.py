"""Choosing a campaign's audience from the notice history, and counting its groups.

At creation the incident's current affected list is split into groups for the campaign's
kind (never sent, tried but not reached, on its way, reached; and who was told anything about
the incident before), the audience rule is chosen (``--audience``, or the default of
``domain.notice_history.default_rule``) and its size counted. All of it is a few aggregate
queries (services.delivery.audience_rules); the exact list is frozen at approval
(services.delivery.approved_audience) with the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.domain.enums import AudienceRule, NoticeKind
from incident_svc.domain.notice_history import GROUPS, PERSON_KINDS, default_rule, group_of
from incident_svc.rawsql import query
from incident_svc.services.delivery.audience_rules import REACHED, group_counts_sql, told_kinds

_SENT_BEFORE = (
    "SELECT 1 AS one FROM campaign c WHERE c.incident_id = ? AND c.kind = ? AND EXISTS "
    "(SELECT 1 FROM delivery d WHERE d.campaign_id = c.id AND d.status <> 'cancelled') LIMIT 1"
)
# people told about the incident (accepted) who are no longer on its affected list
NO_LONGER_AFFECTED = """
FROM delivery d JOIN campaign c ON c.id = d.campaign_id {join}
WHERE c.incident_id = ? AND c.kind IN ({kinds}) AND {reached}
  AND NOT EXISTS (SELECT 1 FROM exposure e WHERE e.incident_id = ? AND e.subject_id = d.subject_id)
"""


@dataclass(frozen=True)
class AudienceChoice:
    rule: AudienceRule
    defaulted: bool  # the rule was not given: the kind's default
    chosen: int  # recipients the rule picks now
    groups: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.value,
            "defaulted": self.defaulted,
            "chosen": self.chosen,
            "groups": dict(self.groups),
        }


async def choose(
    conn: BaseDBAsyncClient, *, incident_id: int, kind: NoticeKind, rule: AudienceRule | None
) -> AudienceChoice:
    """The rule (given, or the kind's default), the size of its audience and every group."""
    sent = bool(await query(conn, _SENT_BEFORE, [incident_id, kind.value]))
    chosen_rule = rule or default_rule(kind, sent_before=sent)
    groups = await group_counts(conn, incident_id=incident_id, kind=kind)
    return AudienceChoice(chosen_rule, rule is None, chosen_count(chosen_rule, groups), groups)


def chosen_count(rule: AudienceRule, groups: dict[str, int], suffix: str = "") -> int:
    """The rule's audience size read off the groups: each rule is one group (or all of them),
    by the same definitions (services.delivery.audience_rules), so no further pass is needed.
    ``suffix`` ``_left_out``: how many the rule would take but for a bounced address."""
    if rule is AudienceRule.ALL:
        return sum(groups.get(group + suffix, 0) for group in GROUPS)
    group = {AudienceRule.NEW: "new", AudienceRule.NOT_REACHED: "not_reached"}.get(rule, "told")
    return groups.get(group + suffix, 0)


def by_rule(groups: dict[str, int]) -> dict[str, dict[str, int]]:
    """Each ``--audience`` rule's size now and how many it leaves out (address bounced), read
    off the groups counted at creation."""
    if not groups:
        return {}
    return {
        rule.value: {
            "recipients": chosen_count(rule, groups),
            "left_out": chosen_count(rule, groups, LEFT_OUT_SUFFIX),
        }
        for rule in (
            AudienceRule.NEW,
            AudienceRule.NOT_REACHED,
            AudienceRule.ALL,
            AudienceRule.TOLD,
        )
    }


LEFT_OUT_SUFFIX = "_left_out"


async def group_counts(
    conn: BaseDBAsyncClient, *, incident_id: int, kind: NoticeKind
) -> dict[str, int]:
    """The current affected list (people, or accounts for holder notices) by group: in each
    group, the members an approval would freeze (``new``, ...) and those it leaves out because
    their address bounced (``new_left_out``, ...), counted by the freeze's own test."""
    rows = await query(conn, group_counts_sql(kind), [incident_id, incident_id, incident_id])
    names = [*GROUPS, "told"]
    counts = dict.fromkeys([*names, *(n + LEFT_OUT_SUFFIX for n in names)], 0)
    for row in rows:
        suffix = LEFT_OUT_SUFFIX if int(row["left_out"] or 0) else ""
        counts[group_of(row["rnk"]) + suffix] += int(row["n"])
        counts["told" + suffix] += int(row["told"] or 0)
    counts["told_no_longer_affected"] = (
        await no_longer_affected_count(conn, incident_id=incident_id) if kind in PERSON_KINDS else 0
    )
    return counts


async def no_longer_affected_count(conn: BaseDBAsyncClient, *, incident_id: int) -> int:
    sql = "SELECT count(DISTINCT d.subject_id) AS n " + NO_LONGER_AFFECTED.format(
        kinds=told_kinds(NoticeKind.SUBJECT_NOTICE), reached=REACHED, join=""
    )
    rows = await query(conn, sql, [incident_id, incident_id])
    return int(rows[0]["n"])
