"""Printing a campaign's audience groups (what `campaign create` chose from)."""

from __future__ import annotations

from typing import Any

import typer

from incident_svc.cli.output import console, print_table

AUDIENCE_OPTION = typer.Option(
    None,
    "--audience",
    help="Whom on the affected list: new (not sent this kind yet; the default once the kind "
    "was sent), not-reached (tried: accepted nowhere, or bounced), all (the default for a "
    "first notice), told (accepted any notice about the incident; update_notice's default).",
)
GROUP_LABELS = {
    "new": "never sent this kind",
    "not_reached": "tried, not reached (failed, bounced, substituted)",
    "in_flight": "on its way (pending or sending)",
    "reached": "reached with this kind",
    "told": "told anything about the incident (accepted)",
}
RULE_LABELS = {
    "new": "not sent this kind yet",
    "not-reached": "tried with this kind, accepted nowhere or bounced",
    "all": "everyone on the affected list",
    "told": "accepted any notice about the incident",
}
LEFT_OUT_WHY = (
    "left out: people whose address bounced; no campaign takes them until the inventory "
    "supplies a new address (their personal banner stands in: bounces substitute)"
)


def print_audience(data: dict[str, Any]) -> None:
    """The rule and the count the approval will freeze, what each rule would take and leave
    out, and the groups of the affected list, before approval."""
    groups: dict[str, int] = data.get("audience_groups") or {}
    rules: dict[str, dict[str, int]] = data.get("audience_by_rule") or {}
    rule = data.get("audience_rule")
    rule_text = str(getattr(rule, "value", rule))
    left_out = rules.get(rule_text, {}).get("left_out", 0)
    more = f", {left_out:,} left out (address bounced)" if left_out else ""
    if data.get("approval_required") is False:  # created while approval was off
        then = (
            f"approval is not required for it ({data.get('approval_source')}): the start "
            "freezes exactly these, and the audit log records that no approval was required"
        )
    else:
        then = "the approval freezes exactly these, and nothing is sent before a second person approves"
    console.print(
        f"audience: {rule_text}, {data.get('audience', 0):,} recipient(s){more}; {then}",
        markup=False,
    )
    if rules:
        rows = [
            {
                "audience": ("* " if name == rule_text else "") + name,
                "recipients": f"{counts['recipients']:,}",
                "left_out": f"{counts['left_out']:,}",
                "who": RULE_LABELS.get(name, name),
            }
            for name, counts in rules.items()
        ]
        print_table(
            rows, ["audience", "recipients", "left_out", "who"], title="each --audience now"
        )
    rows = [
        {
            "group": label,
            "recipients": f"{groups.get(key, 0):,}",
            "left_out": f"{groups.get(key + '_left_out', 0):,}",
        }
        for key, label in GROUP_LABELS.items()
    ]
    rows.append(
        {
            "group": "told, but no longer affected",
            "recipients": f"{groups.get('told_no_longer_affected', 0):,}",
            "left_out": "",
        }
    )
    print_table(rows, ["group", "recipients", "left_out"], title="the affected list now")
    console.print(LEFT_OUT_WHY, markup=False)
