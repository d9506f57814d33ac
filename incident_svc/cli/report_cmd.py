"""`incident-svc incident report`: draft the report one recipient is owed."""

from __future__ import annotations

from pathlib import Path

import typer

from incident_svc.cli.output import console
from incident_svc.cli.runtime import with_db
from incident_svc.config import Settings
from incident_svc.domain.reports.locales import check_locale
from incident_svc.domain.times import utcnow
from incident_svc.services.files.export_file import check_target
from incident_svc.services.obligations import reports


def report_command(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The incident (INC-...)."),
    rule: str = typer.Option(..., "--rule", help="The obligation's rule id, e.g. gdpr-art33."),
    fmt: str = typer.Option("md", "--format", help="md, json or html."),
    out: Path | None = typer.Option(
        None, "--out", dir_okay=False, help="Write to this file instead of the terminal."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out file."),
    locale: str = typer.Option(
        "en",
        "--locale",
        help="Wording of the labels and headings: en or zh-Hant-HK (the PCPD form's Chinese "
        "wording). The facts stay as recorded.",
    ),
) -> None:
    """Draft the report for one recipient from the incident's facts and its affected list.

    The draft holds the content fields the rule asks for (GDPR Art. 33(3) (a)-(d), the Hong
    Kong PCPD form, the Texas attorney general's form, the California sample copy), counts by
    data category and by residence, the dates, and the reasons for any delay. Facts the
    service does not hold are listed as missing, never filled in. Nothing is sent or changed.

    Examples:

        incident-svc incident report INC-2026-0007 --rule gdpr-art33

        incident-svc incident report INC-2026-0007 --rule hk-pcpd --format html --out pcpd.html

        incident-svc incident report INC-2026-0007 --rule hk-pdpo-pcpd --locale zh-Hant-HK
    """
    reports.check_format(fmt)
    locale = check_locale(locale)
    if out is not None:
        check_target(out, force=force)

    async def work(settings: Settings) -> str:
        report = await reports.draft(
            ref=ref, rule_id=rule, settings=settings, now=utcnow(), locale=locale
        )
        return reports.render(report, fmt, settings)

    text = with_db(ctx, work)
    if out is None:
        console.file.write(text)
        return
    reports.write(out, text, force=force)
    console.print(f"wrote the {rule} report ({fmt}) to {out}", markup=False)


def register(app: typer.Typer) -> None:
    """Adds the `report` command to the `incident` group."""
    app.command("report")(report_command)
