"""`incident clock`, `incident obligations`, `incident obligation-met`, `incident obligation-decline`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer

from incident_svc.cli import rules_cmd
from incident_svc.cli.output import JSON_OPTION, console, print_json, print_table
from incident_svc.cli.params import aware_time
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.config import Settings
from incident_svc.domain.compliance import ClockKind, Obligation, Status
from incident_svc.domain.compliance.vocabulary import Flag
from incident_svc.errors import ValidationError
from incident_svc.services.obligations import export, facts, records
from incident_svc.services.obligations.compute import Computed, obligations_for

T_HELP = "ISO 8601 with offset."
_SHORT = "%Y-%m-%d %H:%M"


def clock_command(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The incident (INC-...)."),
    reason: str = typer.Option(..., "--reason", help="Why, for the audit log."),
    aware: datetime | None = typer.Option(None, "--aware", parser=aware_time, help=T_HELP),
    discovered: datetime | None = typer.Option(None, "--discovered", parser=aware_time),
    determined: datetime | None = typer.Option(None, "--determined", parser=aware_time),
    assessed: datetime | None = typer.Option(
        None, "--assessed", parser=aware_time, help="Assessed as notifiable (Singapore)."
    ),
    materiality: datetime | None = typer.Option(
        None, "--materiality", parser=aware_time, help="Determined material (SEC 8-K)."
    ),
    suspected: datetime | None = typer.Option(None, "--suspected", parser=aware_time),
    classified_major: datetime | None = typer.Option(None, "--classified-major", parser=aware_time),
    high_risk: bool | None = typer.Option(None, "--high-risk/--not-high-risk"),
    encrypted: bool | None = typer.Option(None, "--encrypted/--not-encrypted"),
    flag: list[str] | None = typer.Option(
        None,
        "--flag",
        help="Another flag: NAME=yes|no (significant, bad_intent, serious, material).",
    ),
    delay_until: datetime | None = typer.Option(
        None, "--law-enforcement-delay-until", parser=aware_time, help="Police asked to wait."
    ),
    unset: list[str] | None = typer.Option(None, "--unset", help="Forget a fact (by name)."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Record the instants that start legal clocks, and the flags the rules test.

    Each rule starts its clock at one of these (docs/obligations.md); `aware` defaults to the
    incident's --discovered-at. Every change is audited with who and --reason.

    Example: incident-svc incident clock INC-2026-0001 --determined 2026-11-29T10:00:00Z
    --high-risk --reason "forensics report confirms exfiltration"
    """
    given = {
        ClockKind.AWARE: aware,
        ClockKind.DISCOVERED: discovered,
        ClockKind.DETERMINED: determined,
        ClockKind.ASSESSED: assessed,
        ClockKind.MATERIALITY: materiality,
        ClockKind.SUSPECTED: suspected,
        ClockKind.CLASSIFIED_MAJOR: classified_major,
    }
    clocks = {kind: at for kind, at in given.items() if at is not None}
    flags = parse_flags(flag or [])
    for name, value in ((Flag.HIGH_RISK, high_risk), (Flag.ENCRYPTED, encrypted)):
        if value is not None:
            flags[name] = value
    actor = state(ctx).actor

    async def work(settings: Settings) -> dict[str, dict[str, Any]]:
        return await facts.set_facts(
            ref=ref,
            actor=actor,
            key=hmac_key(settings),
            reason=reason,
            clocks=clocks,
            flags=flags,
            law_enforcement_delay_until=delay_until,
            unset=unset or [],
        )

    diff = with_db(ctx, work)
    if json_output:
        print_json({"ref": ref.strip().upper(), "changes": diff})
        return
    if not diff:
        console.print("nothing changed", markup=False)
    for fact, change in diff.items():
        console.print(f"{fact}: {change['old']} -> {change['new']}", markup=False)


def parse_flags(values: list[str]) -> dict[Flag, bool]:
    flags: dict[Flag, bool] = {}
    for text in values:
        name, _, answer = text.partition("=")
        try:
            flag = Flag(name.strip().lower().replace("-", "_"))
        except ValueError:
            known = ", ".join(f.value for f in Flag)
            raise ValidationError(f"{name!r} is not a flag; use {known}", field="flag") from None
        if answer.strip().lower() not in {"yes", "no"}:
            raise ValidationError(f"{text!r}: write NAME=yes or NAME=no", field="flag")
        flags[flag] = answer.strip().lower() == "yes"
    return flags


def obligations_command(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The incident (INC-...)."),
    at: datetime | None = typer.Option(
        None, "--at", parser=aware_time, help="Compute as of this time (default now)."
    ),
    export_file: Path | None = typer.Option(
        None,
        "--export",
        dir_okay=False,
        help="Also write every obligation to a .json or .csv file.",
    ),
    show_all: bool = typer.Option(False, "--all", help="List the rules that do not apply too."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Every obligation the incident gives: who is told, by when, and whether it was met.

    Due times are kept in UTC and shown also in compliance.timezone. Status: open, met, late,
    not_applicable (with the reason) or no_fixed_deadline ("without undue delay"). Each row
    carries the rule's citation and confidence: the rules are data, not legal advice.

    Example: incident-svc incident obligations INC-2026-0001 --export obligations.csv
    """
    if export_file is not None:
        export.export_format(export_file)

    async def work(settings: Settings) -> tuple[Computed, str]:
        return await obligations_for(
            ref=ref, settings=settings, at=at
        ), settings.compliance.timezone

    computed, zone = with_db(ctx, work)
    if export_file is not None:
        export.write(export_file, computed.obligations, computed.now, zone)
    if json_output:
        print_json([o.as_dict(computed.now, zone) for o in computed.obligations])
        return
    _print(computed, zone, show_all)
    if export_file is not None:
        console.print(
            f"wrote {len(computed.obligations)} obligations to {export_file}", markup=False
        )


def _print(computed: Computed, zone: str, show_all: bool) -> None:
    shown = [o for o in computed.obligations if show_all or o.status is not Status.NOT_APPLICABLE]
    tz = ZoneInfo(zone)
    console.print(f"due times in UTC and in {zone} (compliance.timezone)", markup=False)
    print_table(
        [_row(o, computed.now, tz) for o in shown],
        ["key", "status", "due_utc", f"due_{zone}", "left", "residents"],
        title=f"{computed.incident.ref} at {computed.now.isoformat(timespec='minutes')}",
    )
    for o in shown:
        clock = o.clock.value if o.rule.after is None else f"after {o.rule.after} is met"
        started = f" {o.clock_at.isoformat(timespec='minutes')}" if o.clock_at else ""
        console.print(
            f"{o.key}: {o.recipient}; clock {clock}{started}; {o.rule.citation} "
            f"[confidence {o.rule.confidence.value}]; {o.reason}",
            markup=False,
        )
    hidden = len(computed.obligations) - len(shown)
    if hidden:
        console.print(
            f"{hidden} rules do not apply (--all lists them with the reason)", markup=False
        )


def _row(o: Obligation, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    residents = f"{o.residents:,}" + (f" +{o.state_unknown:,}?" if o.state_unknown else "")
    status = o.status.value + (" (late)" if o.met_late else "")
    if o.applicability.value == "possible":
        status += " (possible)"
    return {
        "key": o.key,
        "status": status,
        "due_utc": o.due_at.isoformat(timespec="minutes") if o.due_at else o.rule.standard,
        f"due_{tz.key}": o.due_at.astimezone(tz).isoformat(timespec="minutes")
        if o.due_at
        else None,
        "left": time_left(o.seconds_left(now)),
        "residents": residents,
    }


def time_left(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    late = seconds < 0
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    text = f"{days}d {hours}h" if days else f"{hours}h {mins}m"
    return f"overdue {text}" if late else text


def met_command(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The incident (INC-...)."),
    rule: str = typer.Argument(..., help="The obligation (rule id, or rule-id:DE for one place)."),
    at: datetime = typer.Option(..., "--at", parser=aware_time, help="When it was met."),
    reference: str = typer.Option(..., "--reference", help="Case number, filing id, receipt."),
    evidence: Path | None = typer.Option(
        None, "--evidence", dir_okay=False, help="A file kept with its SHA-256 (receipt, PDF)."
    ),
    late_reason: str | None = typer.Option(
        None, "--late-reason", help="Required when --at is after the due time."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Record that an obligation was met (the regulator told, the filing made).

    Example: incident-svc incident obligation-met INC-2026-0001 uk-gdpr-33-ico
    --at 2026-11-29T10:00:00Z --reference ICO-123456 --evidence ico-receipt.pdf
    """
    actor = state(ctx).actor

    async def work(settings: Settings) -> records.Recorded:
        return await records.record_met(
            ref=ref,
            rule_key=rule,
            at=at,
            reference=reference,
            actor=actor,
            key=hmac_key(settings),
            settings=settings,
            evidence=evidence,
            late_reason=late_reason,
        )

    _report(with_db(ctx, work), json_output)


def decline_command(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The incident (INC-...)."),
    rule: str = typer.Argument(..., help="The obligation (rule id, or rule-id:DE for one place)."),
    reason: str = typer.Option(
        ..., "--reason", help="Why not (e.g. GDPR Art. 34(3)(a): data encrypted)."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Record a decision not to notify under one obligation, with its reason and who decided.

    Example: incident-svc incident obligation-decline INC-2026-0001 fl-people
    --reason "no-harm determination after consulting law enforcement"
    """
    actor = state(ctx).actor

    async def work(settings: Settings) -> records.Recorded:
        return await records.record_declined(
            ref=ref,
            rule_key=rule,
            reason=reason,
            actor=actor,
            key=hmac_key(settings),
            settings=settings,
        )

    _report(with_db(ctx, work), json_output)


def _report(done: records.Recorded, json_output: bool) -> None:
    record = done.record
    data = {
        "obligation": record.key,
        "kind": record.kind,
        "at": record.at,
        "reference": record.reference,
        "reason": record.reason,
        "late": done.late,
        "late_reason": record.late_reason,
        "evidence_sha256": record.evidence_sha256,
        "recorded_by": record.recorded_by,
        "retain_until": record.retain_until,
    }
    if json_output:
        print_json(data)
        return
    late = " (late)" if done.late else ""
    console.print(f"{record.key}: {record.kind}{late} by {record.recorded_by}", markup=False)
    if record.evidence_sha256:
        console.print(f"evidence sha256 {record.evidence_sha256}", markup=False)


def register(app: typer.Typer) -> None:
    """Adds the obligation commands to the `incident` group."""
    app.command("clock")(clock_command)
    app.command("obligations")(obligations_command)
    app.command("obligation-met")(met_command)
    app.command("obligation-decline")(decline_command)
    rules_cmd.register(app)
