"""The SQL of audience rules and notice history: who was sent, reached or told what.

Every rule is a ``NOT EXISTS`` or ``EXISTS`` on ``delivery`` joined to its campaign, looked up
through the index ``delivery (subject_id | account_id, campaign_id, status, outcome)``: one
index probe per member of the affected list, never a loop in Python. A rule never counts the
campaign it is computed for (``c.id <> ?``), so its own deliveries do not move its audience.
"""

from __future__ import annotations

from typing import Any

from incident_svc.domain.enums import AudienceRule, NoticeKind
from incident_svc.domain.notice_history import PERSON_KINDS

# a delivery that reached its reader: accepted, and no bounce or substitute notice since
# a complaint or a delay report still means accepted; only a bounce undoes it
REACHED = "(d.status = 'sent' AND (d.outcome IS NULL OR d.outcome <> 'bounced'))"
IN_FLIGHT = "d.status IN ('pending', 'sending')"
# failed, or accepted and then bounced or replaced by substitute notice
TRIED_NOT_REACHED = f"(d.status NOT IN ('pending', 'sending', 'cancelled') AND NOT {REACHED})"
# a member's best delivery of a kind: 3 reached, 2 on its way, 1 tried and not reached,
# 0 cancelled before it was sent (none at all: NULL)
RANK = f"CASE WHEN {REACHED} THEN 3 WHEN {IN_FLIGHT} THEN 2 WHEN d.status = 'cancelled' THEN 0 ELSE 1 END"


def member_column(kind: NoticeKind) -> str:
    """The delivery column naming a member of the kind's audience."""
    return "subject_id" if kind in PERSON_KINDS else "account_id"


def told_kinds(kind: NoticeKind) -> str:
    """The kinds that count as having told a member of ``kind``'s audience (SQL list)."""
    kinds = PERSON_KINDS if kind in PERSON_KINDS else (NoticeKind.ACCOUNT_HOLDER_NOTICE,)
    return ", ".join(f"'{k.value}'" for k in kinds)


def _deliveries(kind: NoticeKind, member: str, kinds: str, condition: str) -> str:
    return (
        "SELECT 1 FROM delivery d JOIN campaign c ON c.id = d.campaign_id "
        f"WHERE d.{member_column(kind)} = {member} AND c.incident_id = ? "
        f"AND c.kind IN ({kinds}) AND c.id <> ? AND {condition}"
    )


def rule_filter(
    kind: NoticeKind, rule: AudienceRule, member: str, *, incident_id: int, campaign_id: int
) -> tuple[str, list[Any]]:
    """``AND ...`` narrowing a live audience (one row per ``member`` id) to ``rule``, and its
    parameters. ``campaign_id`` is the campaign the audience is for (0 before it exists)."""
    same = f"'{kind.value}'"
    both = [incident_id, campaign_id]
    if rule is AudienceRule.NEW:
        sent = _deliveries(kind, member, same, "d.status <> 'cancelled'")
        return f"AND NOT EXISTS ({sent})", both
    if rule is AudienceRule.NOT_REACHED:
        tried = _deliveries(kind, member, same, TRIED_NOT_REACHED)
        fine = _deliveries(kind, member, same, f"({REACHED} OR {IN_FLIGHT})")
        return f"AND EXISTS ({tried}) AND NOT EXISTS ({fine})", both + both
    if rule is AudienceRule.TOLD:
        return f"AND EXISTS ({_deliveries(kind, member, told_kinds(kind), REACHED)})", both
    return "", []


# a person whose address bounced is left out of every audience until the inventory supplies a
# new address (substitute notice reaches them meanwhile): the same test as the approval's
# freeze (services.delivery.approved_audience), so what creation counts is what approval freezes
LEFT_OUT = "CASE WHEN s.email_status = 'bounced' THEN 1 ELSE 0 END"


def members(kind: NoticeKind) -> str:
    """Ids of the current affected list's members for ``kind``, each with ``left_out`` (1:
    no audience takes them now); one parameter: incident."""
    if kind in PERSON_KINDS:
        return (
            f"SELECT e.subject_id AS member, {LEFT_OUT} AS left_out FROM exposure e "
            "JOIN subject s ON s.id = e.subject_id WHERE e.incident_id = ?"
        )
    return (
        "SELECT DISTINCT s.account_id AS member, 0 AS left_out FROM exposure e JOIN subject s "
        "ON s.id = e.subject_id WHERE e.incident_id = ? AND s.account_id IS NOT NULL"
    )


def group_counts_sql(kind: NoticeKind) -> str:
    """Members by rank and left out or not, with how many of each were told before;
    parameters: incident (rank), incident (told), incident (members)."""
    column = member_column(kind)
    return (
        "SELECT rnk, left_out, count(*) AS n, sum(told) AS told FROM ("
        f"SELECT (SELECT max({RANK}) FROM delivery d JOIN campaign c ON c.id = d.campaign_id "
        f"WHERE d.{column} = m.member AND c.incident_id = ? AND c.kind = '{kind.value}') AS rnk, "
        "CASE WHEN EXISTS (SELECT 1 FROM delivery d JOIN campaign c ON c.id = d.campaign_id "
        f"WHERE d.{column} = m.member AND c.incident_id = ? AND c.kind IN ({told_kinds(kind)}) "
        f"AND {REACHED}) THEN 1 ELSE 0 END AS told, m.left_out AS left_out "
        f"FROM ({members(kind)}) AS m) AS t GROUP BY rnk, left_out"
    )
