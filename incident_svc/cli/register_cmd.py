"""`incident-svc register`: the breach register of every incident (GDPR Art. 33(5))."""

from __future__ import annotations

import io
from pathlib import Path

import typer

from incident_svc.cli.output import console
from incident_svc.cli.runtime import with_db
from incident_svc.config import Settings
from incident_svc.domain.times import utcnow
from incident_svc.services.files.export_file import check_target, export_file
from incident_svc.services.obligations import register as breach_register

app = typer.Typer(
    help="The breach register: every incident, notified or not, with its decisions.",
    no_args_is_help=True,
)


@app.command("export")
def export(
    ctx: typer.Context,
    fmt: str = typer.Option("csv", "--format", help="csv or jsonl."),
    out: Path | None = typer.Option(
        None, "--out", dir_okay=False, help="Write to this file instead of the terminal."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out file."),
) -> None:
    """Export the breach register: one row per incident, notified or not.

    Each row holds the incident's facts (when it happened, was discovered and each clock
    started; systems, data categories, people by category and residence), its effects and
    remedies (consequences, measures), whether and when the regulator and the people were
    told, every obligation with its status, and every decision with who made it and why.
    CSV cells that a spreadsheet would run as a formula are escaped.

    Examples:

        incident-svc register export --out register.csv

        incident-svc register export --format jsonl | jq .decisions
    """
    breach_register.check_format(fmt)
    if out is not None:
        check_target(out, force=force)

    async def work(settings: Settings) -> tuple[str, int]:
        buffer = io.StringIO(newline="")
        count = await breach_register.write(buffer, fmt=fmt, settings=settings, now=utcnow())
        return buffer.getvalue(), count

    text, count = with_db(ctx, work)
    if out is None:
        console.file.write(text)
        return
    with export_file(out, force=force) as handle:
        handle.write(text)
    console.print(f"wrote {count} incident(s) to {out}", markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="register")
