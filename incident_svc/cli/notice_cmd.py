"""`incident-svc notice`: preview exactly what a person receives; check every locale in use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from incident_svc.cli.output import JSON_OPTION, console, error, print_json, print_table
from incident_svc.cli.runtime import with_db
from incident_svc.cli.safe_text import visible
from incident_svc.config import Settings
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import ValidationError
from incident_svc.notices import review
from incident_svc.services.files.export_file import check_target, export_file

app = typer.Typer(
    help="Preview and check the notices people will receive.",
    no_args_is_help=True,
)

FORMATS = ("text", "html", "eml")


@app.command()
def preview(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The incident reference, e.g. INC-2026-0007."),
    subject: str | None = typer.Option(
        None, "--subject", help="The affected person's external reference."
    ),
    account: str | None = typer.Option(
        None, "--account", help="The account reference (for account-holder notices)."
    ),
    kind: NoticeKind | None = typer.Option(
        None,
        "--kind",
        help="subject_notice (default with --subject) or account_holder_notice (with --account).",
    ),
    locale: str | None = typer.Option(
        None, "--locale", help="Render in this locale instead of the reader's own, e.g. en."
    ),
    fmt: str = typer.Option("text", "--format", help="text, html, or eml (the raw message)."),
    out: Path | None = typer.Option(
        None, "--out", help="Write to this file instead of the terminal."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out file."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Render exactly what one person (or account holder) would receive, without sending.

    The notice goes through the same composer the dispatcher sends with: the same
    templates, data, CSS inlining and MIME assembly. Only Date and Message-ID differ.

    Examples:

        incident-svc notice preview INC-2026-0007 --subject C-10042

        incident-svc notice preview INC-2026-0007 --subject C-10042 --locale zh-Hant-HK \\
            --format html --out notice.html

        incident-svc notice preview INC-2026-0007 --account ACME --format eml --out acme.eml
    """
    chosen = _kind(kind, subject, account)
    if fmt not in FORMATS:
        raise ValidationError(f"{fmt!r} is not one of {', '.join(FORMATS)}", field="--format")
    if out is not None:
        check_target(out, force=force)

    async def work(settings: Settings) -> review.Preview:
        return await review.preview_notice(
            incident_ref=ref,
            kind=chosen,
            settings=settings,
            subject_ref=subject,
            account_ref=account,
            locale=locale,
        )

    result = with_db(ctx, work)
    if json_output:
        print_json(_preview_json(result, fmt))
        return
    _emit(result, fmt, out, force)


def _kind(kind: NoticeKind | None, subject: str | None, account: str | None) -> NoticeKind:
    if (subject is None) == (account is None):
        raise ValidationError("give exactly one of --subject or --account", field="--subject")
    wanted = kind or (NoticeKind.SUBJECT_NOTICE if subject else NoticeKind.ACCOUNT_HOLDER_NOTICE)
    if wanted in (NoticeKind.SUBJECT_NOTICE, NoticeKind.UPDATE_NOTICE) and subject is None:
        raise ValidationError(f"a {wanted} needs --subject", field="--subject")
    if wanted == NoticeKind.ACCOUNT_HOLDER_NOTICE and account is None:
        raise ValidationError("an account_holder_notice needs --account", field="--account")
    if wanted == NoticeKind.BANNER:
        raise ValidationError("banners are previewed with `banner publish`", field="--kind")
    return wanted


def _body(result: review.Preview, fmt: str) -> bytes:
    if fmt == "eml":
        return result.eml
    if fmt == "html":
        return result.html.replace("\r\n", "\n").encode("utf-8")
    return f"Subject: {result.subject}\n\n{result.text}".replace("\r\n", "\n").encode("utf-8")


def _emit(result: review.Preview, fmt: str, out: Path | None, force: bool) -> None:
    data = _body(result, fmt)
    if out is None:
        text = data.decode("utf-8", "replace").replace("\r\n", "\n")
        # the notice as it is, but no escape sequence of its data reaches the terminal
        console.file.write(visible(text, keep="\n\t"))
        return
    with export_file(out, force=force, binary=True) as handle:
        handle.write(data)
    console.print(
        f"wrote {fmt} for {result.recipient} ({result.locale}) to {out}; "
        f"template hash {result.template_hash[:16]}",
        markup=False,
    )


def _preview_json(result: review.Preview, fmt: str) -> dict[str, Any]:
    return {
        "incident": result.incident_ref,
        "recipient": result.recipient,
        "kind": result.kind,
        "locale": result.locale,
        "subject": result.subject,
        "templates": list(result.templates),
        "template_hash": result.template_hash,
        "sha256": result.sha256,
        "format": fmt,
        "content": _body(result, fmt).decode("utf-8"),
    }


@app.command()
def check(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The incident reference, e.g. INC-2026-0007."),
    kind: NoticeKind = typer.Option(NoticeKind.SUBJECT_NOTICE, "--kind"),
    sample: int = typer.Option(
        3, "--sample", min=1, max=1000, help="People rendered per locale in use."
    ),
    online_links: bool = typer.Option(
        False, "--online-links", help="Also fetch every http(s) link once (HEAD, then GET)."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Render the notice for a sample of affected people in every locale in use and check it.

    Reports, per locale: missing required elements (GDPR Art. 34(2): what happened and when,
    the reader's own data, likely consequences, measures, protective steps, contact point;
    the service-message statement), for US-CA readers the "Notice of Data Breach" title and
    its five headings, for US-MA readers the right to a police report and a free security
    freeze, for US readers whose SSN or driver's licence number is involved the three
    consumer reporting agencies, the FTC, fraud alerts and freezes; undefined variables, subject lines over 78 columns, and broken
    links (malformed ones always; with --online-links also those that do not answer 2xx or
    3xx). Exits 1 when anything is found, so it can gate an approval in a script.

    Examples:

        incident-svc notice check INC-2026-0007

        incident-svc notice check INC-2026-0007 --kind account_holder_notice --json

        incident-svc notice check INC-2026-0007 --online-links
    """

    show_bar = console.is_terminal and not json_output

    async def work(settings: Settings) -> review.CheckReport:
        with Progress(
            TextColumn("rendering samples"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
            disable=not show_bar,
        ) as bar:
            task = bar.add_task("check", total=None)
            return await review.check_incident(
                incident_ref=ref,
                kind=kind,
                settings=settings,
                per_locale=sample,
                online_links=online_links,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )

    report = with_db(ctx, work)
    if json_output:
        print_json(_report_json(report))
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _report_json(report: review.CheckReport) -> dict[str, Any]:
    return {
        "incident": report.incident_ref,
        "kind": report.kind,
        "template_hash": report.template_hash,
        "ok": report.ok,
        "locales": {
            locale: {
                "samples": entry.samples,
                "findings": [
                    {"recipient": who, "code": f.code, "part": f.part, "message": f.message}
                    for who, f in entry.findings
                ],
            }
            for locale, entry in report.locales.items()
        },
    }


def _print_report(report: review.CheckReport) -> None:
    if not report.locales:
        error(f"{report.incident_ref} has nobody to notify: resolve the affected list first")
        return
    for locale, entry in report.locales.items():
        status = "ok" if not entry.findings else f"{len(entry.findings)} problem(s)"
        console.print(f"{locale}: {len(entry.samples)} sampled, {status}", markup=False)
        if entry.findings:
            rows = [
                {
                    "recipient": who,
                    "code": f.code,
                    "part": _short_part(f.part),
                    "message": f.message,
                }
                for who, f in entry.findings
            ]
            print_table(rows, ["recipient", "code", "part", "message"])
    console.print(
        f"template hash {report.template_hash[:16]}: " + ("all good" if report.ok else "FAILED"),
        markup=False,
    )


def _short_part(part: str) -> str:
    """A template file as kind/locale/name, enough to find it, short enough for a column."""
    pieces = part.split("/")
    return "/".join(pieces[-3:]) if len(pieces) > 3 else part


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="notice")
