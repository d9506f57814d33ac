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
    "told_no_longer_affected": "told, but no longer affected",
}


def print_audience(data: dict[str, Any]) -> None:
    """The rule, the chosen count and the groups of the affected list, before approval."""
    groups: dict[str, int] = data.get("audience_groups") or {}
    rule = data.get("audience_rule")
    rule_text = getattr(rule, "value", rule)
    console.print(
        f"audience: {rule_text}, {data.get('audience', 0):,} recipient(s); nothing is sent "
        "before a second person approves",
        markup=False,
    )
    rows = [
        {"group": label, "count": f"{groups.get(key, 0):,}"} for key, label in GROUP_LABELS.items()
    ]
    print_table(rows, ["group", "count"], title="the affected list now")
