"""`incident rules`: the notification rules in force, for review; `--check FILE` for your own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from incident_svc.cli.output import JSON_OPTION, console, print_json, print_table
from incident_svc.cli.runtime import state
from incident_svc.compliance_rules import load_rules
from incident_svc.domain.compliance import Rule


def rules_command(
    ctx: typer.Context,
    check: Path | None = typer.Option(
        None,
        "--check",
        dir_okay=False,
        help="Check this operator rules file (instead of compliance.rules_file) and list the result.",
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """List the rules the obligations are computed from, with citation, confidence and reviewer.

    The shipped rules plus compliance.rules_file (or --check FILE). Any problem in a file is
    one line naming the file, the entry and the field, and the exit code is 2. No database is
    needed. Not legal advice: see docs/obligations.md.

    Example: incident-svc incident rules --check /etc/incident-svc/rules.toml
    """
    settings = state(ctx).settings
    if check is not None:
        compliance = settings.compliance.model_copy(update={"rules_file": check})
        settings = settings.model_copy(update={"compliance": compliance})
    rules = load_rules(settings)
    if json_output:
        print_json([rule_dict(rule) for rule in rules])
        return
    print_table(
        (_row(rule) for rule in rules),
        ["id", "jurisdiction", "recipient", "clock", "due", "confidence", "citation"],
    )
    console.print(f"{len(rules)} rules; not legal advice (docs/obligations.md)", markup=False)


def rule_dict(rule: Rule) -> dict[str, Any]:
    return rule.model_dump(mode="json")


def _row(rule: Rule) -> dict[str, Any]:
    due = f"{rule.due.amount} {rule.due.unit.value}" if rule.due else rule.standard
    clock = rule.clock.value if rule.after is None else f"after {rule.after}"
    since = (
        f" (from {rule.effective_from})"
        if rule.effective_to is None
        else (f" ({rule.effective_from}..{rule.effective_to})")
    )
    return {
        "id": rule.id,
        "jurisdiction": rule.jurisdiction,
        "recipient": rule.recipient,
        "clock": clock,
        "due": f"{due}{since}",
        "confidence": rule.confidence.value,
        "citation": rule.citation,
    }


def register(app: typer.Typer) -> None:
    app.command("rules")(rules_command)
