"""`incident-svc incident`: record incidents, move them through their lifecycle, find who is affected."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from incident_svc.cli import affected_cmd, notices_cmd, obligations_cmd, report_cmd
from incident_svc.cli.change_lines import change_lines
from incident_svc.cli.output import JSON_OPTION, console, print_fields, print_json, print_table
from incident_svc.cli.params import aware_time
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.config import Settings
from incident_svc.domain.enums import IncidentStatus, Severity
from incident_svc.domain.strict_json import StrictJSONError, loads
from incident_svc.errors import ValidationError
from incident_svc.models import Incident
from incident_svc.services.files.input_file import read_capped
from incident_svc.services.incident import incidents

app = typer.Typer(
    help="Record incidents, move them through their lifecycle, and find exactly who is affected.",
    no_args_is_help=True,
)

TEXTS_MAX_BYTES = 1024 * 1024  # notice texts for every locale fit in far less
TEXT_HELP = "Notice text for --locale ({}); an empty value removes it."


def _texts_options() -> dict[str, Any]:
    return {
        "what_happened": typer.Option(
            None, "--what-happened", help=TEXT_HELP.format("what happened")
        ),
        "consequences": typer.Option(
            None, "--consequences", help=TEXT_HELP.format("likely consequences")
        ),
        "measures": typer.Option(None, "--measures", help=TEXT_HELP.format("measures taken")),
        "protective_steps": typer.Option(
            None, "--protective-steps", help=TEXT_HELP.format("what people should do")
        ),
        "contact": typer.Option(None, "--contact", help=TEXT_HELP.format("contact point")),
    }


_T = _texts_options()
LOCALE_OPTION = typer.Option("en", "--locale", help="Locale of the text options (e.g. zh-Hant-HK).")
TEXTS_FILE_OPTION = typer.Option(
    None,
    "--texts",
    help="TOML or JSON file of texts by locale: {en = {what_happened = '...', ...}, ...}.",
)


def split(value: str | None) -> list[str] | None:
    """`a,b` -> ['a', 'b']; None stays None (option not given)."""
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def read_texts_file(path: Path) -> dict[str, Any]:
    raw = read_capped(path, TEXTS_MAX_BYTES, "--texts")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("is not UTF-8 text", file=str(path)) from None
    try:
        data = loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except StrictJSONError as exc:
        raise ValidationError(str(exc), file=str(path)) from None
    except (ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise ValidationError(f"not valid TOML: {reason}", file=str(path)) from None
    if not isinstance(data, dict):
        raise ValidationError("must hold an object of locales", file=str(path))
    return data


def gather_texts(
    texts_file: Path | None, locale: str, given: dict[str, str | None]
) -> dict[str, Any]:
    texts: dict[str, Any] = read_texts_file(texts_file) if texts_file else {}
    chosen = {key: value for key, value in given.items() if value is not None}
    if chosen:
        texts.setdefault(locale, {}).update(chosen)
    return texts


def incident_dict(incident: Incident) -> dict[str, Any]:
    return {
        "ref": incident.ref,
        "title": incident.title,
        "status": incident.status,
        "severity": incident.severity,
        "summary": incident.summary,
        "discovered_at": incident.discovered_at,
        "occurred_from": incident.occurred_from,
        "occurred_to": incident.occurred_to,
        "systems": incident.systems,
        "categories": incident.categories,
        "jurisdictions": incident.jurisdictions,
        "accounts": incident.account_refs,
        "affected_count": incident.affected_count,
        "affected_hash": incident.affected_hash,
        "affected_resolved_at": incident.affected_resolved_at,
        "regulator_notified_at": incident.regulator_notified_at,
        "regulator_reference": incident.regulator_reference,
        "created_by": incident.created_by,
        "created_at": incident.created_at,
        "texts": incident.texts,
    }


@app.command()
def create(
    ctx: typer.Context,
    title: str = typer.Option(..., "--title", help="One line that names the incident."),
    summary: str = typer.Option(..., "--summary", help="What is known, for the team."),
    severity: Severity = typer.Option(..., "--severity", help="low, medium, high or critical."),
    discovered_at: datetime = typer.Option(
        ...,
        "--discovered-at",
        parser=aware_time,
        help="When we became aware (ISO 8601 with offset).",
    ),
    occurred_from: datetime | None = typer.Option(None, "--occurred-from", parser=aware_time),
    occurred_to: datetime | None = typer.Option(None, "--occurred-to", parser=aware_time),
    systems: str = typer.Option(..., "--systems", help="Comma-separated systems involved."),
    categories: str = typer.Option(..., "--categories", help="Comma-separated data categories."),
    jurisdictions: str | None = typer.Option(
        None, "--jurisdictions", help="Only people in these (GB, HK, US or US-CA ...)."
    ),
    accounts: str | None = typer.Option(None, "--accounts", help="Only people of these accounts."),
    what_happened: str | None = _T["what_happened"],
    consequences: str | None = _T["consequences"],
    measures: str | None = _T["measures"],
    protective_steps: str | None = _T["protective_steps"],
    contact: str | None = _T["contact"],
    locale: str = LOCALE_OPTION,
    texts_file: Path | None = TEXTS_FILE_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Record an incident; prints its reference (INC-2026-0001).

    Example:

        incident-svc incident create --title "CRM export exposed" --summary "..."
        --severity high --discovered-at 2026-11-28T09:00:00+08:00 --systems crm
        --categories contact,billing_address --jurisdictions HK,GB
        --what-happened "..." --locale en
    """
    texts = gather_texts(
        texts_file,
        locale,
        {
            "what_happened": what_happened,
            "consequences": consequences,
            "measures": measures,
            "protective_steps": protective_steps,
            "contact": contact,
        },
    )
    actor = state(ctx).actor

    async def work(settings: Settings) -> Incident:
        return await incidents.create(
            actor=actor,
            key=hmac_key(settings),
            title=title,
            summary=summary,
            severity=severity,
            discovered_at=discovered_at,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
            systems=split(systems) or [],
            categories=split(categories) or [],
            jurisdictions=split(jurisdictions) or [],
            account_refs=split(accounts) or [],
            texts=texts,
        )

    incident = with_db(ctx, work)
    if json_output:
        print_json(incident_dict(incident))
    else:
        console.print(incident.ref, markup=False)


@app.command("list")
def list_(
    ctx: typer.Context,
    status: IncidentStatus | None = typer.Option(None, "--status", help="Only this status."),
    json_output: bool = JSON_OPTION,
) -> None:
    """List incidents, newest first.

    Example: incident-svc incident list --status investigating --json
    """

    async def work(settings: Settings) -> list[Incident]:
        return await incidents.list_incidents(status=status)

    found = with_db(ctx, work)
    if json_output:
        print_json([incident_dict(i) for i in found])
        return
    print_table(
        (incident_dict(i) for i in found),
        ["ref", "status", "severity", "title", "discovered_at", "affected_count"],
    )


@app.command()
def show(
    ctx: typer.Context, ref: str = typer.Argument(...), json_output: bool = JSON_OPTION
) -> None:
    """Show one incident with its texts and its last affected list.

    Example: incident-svc incident show INC-2026-0001
    """

    async def work(settings: Settings) -> Incident:
        return await incidents.get(ref=ref)

    data = incident_dict(with_db(ctx, work))
    if json_output:
        print_json(data)
        return
    texts = data.pop("texts")
    print_fields(data)
    for locale, entries in sorted(texts.items()):
        for key, text in entries.items():
            console.print(f"[{locale}] {key.replace('_', ' ')}: {text}", markup=False)


@app.command()
def update(
    ctx: typer.Context,
    ref: str = typer.Argument(...),
    title: str | None = typer.Option(None, "--title"),
    summary: str | None = typer.Option(None, "--summary"),
    severity: Severity | None = typer.Option(None, "--severity"),
    discovered_at: datetime | None = typer.Option(None, "--discovered-at", parser=aware_time),
    occurred_from: datetime | None = typer.Option(None, "--occurred-from", parser=aware_time),
    occurred_to: datetime | None = typer.Option(None, "--occurred-to", parser=aware_time),
    systems: str | None = typer.Option(None, "--systems", help="Replaces the list."),
    categories: str | None = typer.Option(None, "--categories", help="Replaces the list."),
    jurisdictions: str | None = typer.Option(
        None, "--jurisdictions", help="Replaces the list; '' clears it."
    ),
    accounts: str | None = typer.Option(
        None, "--accounts", help="Replaces the list; '' clears it."
    ),
    what_happened: str | None = _T["what_happened"],
    consequences: str | None = _T["consequences"],
    measures: str | None = _T["measures"],
    protective_steps: str | None = _T["protective_steps"],
    contact: str | None = _T["contact"],
    locale: str = LOCALE_OPTION,
    texts_file: Path | None = TEXTS_FILE_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Change fields or texts; every change is audited with its old and new value.

    Example:

        incident-svc incident update INC-2026-0001 --severity critical
        --protective-steps "請更改密碼" --locale zh-Hant-HK
    """
    given = {
        "title": title,
        "summary": summary,
        "severity": severity,
        "discovered_at": discovered_at,
        "occurred_from": occurred_from,
        "occurred_to": occurred_to,
        "systems": split(systems),
        "categories": split(categories),
        "jurisdictions": split(jurisdictions),
        "account_refs": split(accounts),
    }
    changes = {name: value for name, value in given.items() if value is not None}
    texts = gather_texts(
        texts_file,
        locale,
        {
            "what_happened": what_happened,
            "consequences": consequences,
            "measures": measures,
            "protective_steps": protective_steps,
            "contact": contact,
        },
    )
    actor = state(ctx).actor

    async def work(settings: Settings) -> tuple[Incident, dict[str, dict[str, Any]]]:
        return await incidents.update(
            ref=ref, actor=actor, key=hmac_key(settings), changes=changes, texts=texts
        )

    incident, diff = with_db(ctx, work)
    if json_output:
        print_json({"ref": incident.ref, "changes": diff})
    elif not diff:
        console.print(f"{incident.ref}: nothing changed", markup=False)
    else:
        for line in change_lines(incident.ref, diff):
            console.print(line)


@app.command()
def status(
    ctx: typer.Context,
    ref: str = typer.Argument(...),
    new_status: IncidentStatus = typer.Argument(..., metavar="STATUS"),
    reason: str | None = typer.Option(None, "--reason", help="Why, for the audit log."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Move an incident through its lifecycle; an illegal move lists the allowed ones.

    investigating -> confirmed | dismissed; confirmed -> notifying | closed | investigating;
    notifying -> closed; closed, dismissed -> investigating (reopen).

    Example: incident-svc incident status INC-2026-0001 confirmed --reason "logs confirm"
    """
    actor = state(ctx).actor

    async def work(settings: Settings) -> Incident:
        return await incidents.set_status(
            ref=ref, status=new_status, actor=actor, key=hmac_key(settings), reason=reason
        )

    incident = with_db(ctx, work)
    if json_output:
        print_json({"ref": incident.ref, "status": incident.status})
    else:
        console.print(f"{incident.ref} is now {incident.status.value}", markup=False)


@app.command("regulator-notified")
def regulator_notified(
    ctx: typer.Context,
    ref: str = typer.Argument(...),
    at: datetime = typer.Option(
        ..., "--at", parser=aware_time, help="When (ISO 8601 with offset)."
    ),
    reference: str = typer.Option(..., "--reference", help="The regulator's case reference."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Record that the regulator was notified, when, and under which reference.

    Example: incident-svc incident regulator-notified INC-2026-0001 --at 2026-11-29T10:00:00Z
    --reference PCPD-2026-123
    """
    actor = state(ctx).actor

    async def work(settings: Settings) -> Incident:
        return await incidents.regulator_notified(
            ref=ref, at=at, reference=reference, actor=actor, key=hmac_key(settings)
        )

    incident = with_db(ctx, work)
    data = {
        "ref": incident.ref,
        "regulator_notified_at": incident.regulator_notified_at,
        "regulator_reference": incident.regulator_reference,
    }
    if json_output:
        print_json(data)
    else:
        print_fields(data)


affected_cmd.register(app)
notices_cmd.register(app)
obligations_cmd.register(app)
report_cmd.register(app)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="incident")
