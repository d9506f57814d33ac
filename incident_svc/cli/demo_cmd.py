"""`incident-svc demo`: the whole story on embedded defaults."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from incident_svc.cli.output import JSON_OPTION, console, print_fields, print_json
from incident_svc.cli.runtime import state
from incident_svc.cli.safe_text import visible
from incident_svc.demo.run import run_demo
from incident_svc.demo.story import DemoSummary, no_bar
from incident_svc.services.delivery.outbox import BatchSummary


def demo_command(
    ctx: typer.Context,
    subjects: int = typer.Option(
        3000, "--subjects", min=10, max=1_000_000, help="People in the generated inventory."
    ),
    folder: Path | None = typer.Option(
        None,
        "--folder",
        help="Where the demo writes its inventory files and notice previews. "
        "Default: <var_dir>/demo.",
        file_okay=False,
    ),
    database_url: str | None = typer.Option(
        None,
        "--database",
        help="Run the story on this database instead of the configured SQLite one "
        "(needed for PostgreSQL: use a scratch database).",
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Run the whole story on SQLite and the development mail sink, with no setup.

    Generates an inventory (accounts in HK, GB, US and DE; people reading English or
    Traditional Chinese), records an incident, finds who is affected, checks every notice,
    creates the subject and account-holder campaigns and approves them as a second person
    (two SSH keys made for the demo, signed approval mode: see docs/audit.md),
    sends them to a mail sink started in this process, publishes a banner and verifies the
    audit log. Running it again changes nothing and sends nothing twice.

    Examples:

        incident-svc demo

        incident-svc demo --subjects 20000 --json

        mutt -f var/demo/mail        # read what was sent
    """
    settings = state(ctx).settings
    report = (lambda line: None) if json_output else _progress
    on_terminal = console.is_terminal and not json_output
    summary = asyncio.run(
        run_demo(
            settings,
            folder=(folder or settings.var_dir / "demo").resolve(),
            maildir=(settings.var_dir / "mail").resolve(),
            subjects=subjects,
            report=report,
            database_url=database_url,
            bar=_bar if on_terminal else no_bar,
        )
    )
    if json_output:
        print_json(asdict(summary))
    else:
        _print_summary(summary)
    if not summary.audit_ok:
        raise typer.Exit(1)


@contextlib.contextmanager
def _bar(description: str, total: int) -> Iterator[Callable[[BatchSummary], None]]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total or None)
        yield lambda summary: bar.advance(task, summary.sent + summary.failed)


def _progress(line: str) -> None:
    console.print(f"[dim]·[/dim] {escape(visible(line))}", markup=True)


def _print_summary(summary: DemoSummary) -> None:
    console.print()
    console.print("[bold]Demo summary[/bold]", markup=True)
    sent = {kind: campaign.get("sent", 0) for kind, campaign in summary.campaigns.items()}
    print_fields(
        {
            "incident": summary.incident,
            "database": summary.database,
            "people in inventory": summary.subjects_imported,
            "affected people": summary.affected,
            "by jurisdiction": _pairs(summary.affected_by_jurisdiction),
            "by locale": _pairs(summary.affected_by_locale),
            "affected accounts": summary.account_holders,
            "notices sent": _pairs(sent),
            "four eyes (SSH-signed)": ", ".join(
                f"{kind} created by {c.get('created_by')}, approved by {c.get('approved_by')}"
                for kind, c in summary.campaigns.items()
            ),
            "accepted this run": summary.emails_accepted_this_run,
            "emails in Maildir": summary.emails_in_maildir,
            "Maildir": summary.maildir,
            "banner": summary.banner_id,
            "banner feed": f"{summary.feed_url}  (start it with `incident-svc serve`)",
            "audit verify": f"{'intact' if summary.audit_ok else 'BROKEN'}: "
            f"{summary.audit_events} events; {summary.audit_message}",
            "took": f"{summary.seconds} s",
        }
    )


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items()) or "-"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
