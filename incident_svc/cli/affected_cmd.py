"""`incident-svc incident affected`: resolve, store and explain who an incident affects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import typer

from incident_svc.cli.output import JSON_OPTION, console, print_json, print_table
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.config import Settings
from incident_svc.services.delivery import notice_history
from incident_svc.services.files.export_file import check_target, export_file
from incident_svc.services.incident import affected, affected_export


def affected_command(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The incident (INC-...)."),
    include: Path | None = typer.Option(
        None, "--include", help="References to add (one a line, or a CSV)."
    ),
    exclude: Path | None = typer.Option(
        None, "--exclude", help="References to leave out (one a line, or a CSV)."
    ),
    export: Path | None = typer.Option(
        None, "--export", help="Write the full list to this .csv or .jsonl file."
    ),
    export_format: str | None = typer.Option(None, "--export-format", help="csv or jsonl."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --export file."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Find exactly who the incident affects and store it as the incident's affected list.

    A subject is affected when one of their holdings is in one of the incident's systems AND
    categories, narrowed by the incident's jurisdictions (a country covers its subdivisions)
    and accounts when it has them; plus --include, minus --exclude. Each person gets only
    their own categories of the incident's, and the reasons (matching holdings or the list).

    Run it again after the scope or the inventory changed: it shows what was added and
    removed, and records the new size and hash in the audit log.

    Example: incident-svc incident affected INC-2026-0001 --exclude staff.txt --export out.csv
    """
    fmt = affected_export.export_format(export, export_format) if export else None
    if export:
        check_target(export, force=force)  # refused before any work
    include_list = affected.read_ref_list("include", include) if include else None
    exclude_list = affected.read_ref_list("exclude", exclude) if exclude else None
    actor = state(ctx).actor

    async def work(settings: Settings) -> tuple[affected.Resolution, int | None, dict[str, Any]]:
        if export is None or fmt is None:
            result = await resolve(settings, None)
            return result, None, await notice_history.told_no_longer_affected(ref)
        # the list goes into a temporary file inside the run's transaction: an export that
        # fails rolls the run back (nothing committed or audited); the file gets its name
        # only after the commit
        written: list[int] = []
        with export_file(export, force=force) as handle:

            async def write() -> None:
                written.append(await affected_export.write(handle, ref=ref, fmt=fmt))

            result = await resolve(settings, write)
        return result, written[0], await notice_history.told_no_longer_affected(ref)

    async def resolve(
        settings: Settings, before_commit: Callable[[], Awaitable[None]] | None
    ) -> affected.Resolution:
        return await affected.resolve(
            ref=ref,
            actor=actor,
            key=hmac_key(settings),
            include=include_list,
            exclude=exclude_list,
            before_commit=before_commit,
        )

    result, written, gone = with_db(ctx, work)
    if json_output:
        print_json(
            {
                **result.as_dict(),
                "export": str(export) if export else None,
                "told_no_longer_affected": gone,
            }
        )
        return
    _print(result)
    _print_gone(gone)
    if export:
        console.print(f"wrote {written:,} people to {export}", markup=False)


def _print(result: affected.Resolution) -> None:
    console.print(
        f"{result.incident}: {result.total:,} affected "
        f"(+{result.added:,} added, -{result.removed:,} removed, {result.changed:,} changed "
        f"categories), hash {result.hash[:16]}…",
        markup=False,
    )
    if result.previous_hash == result.hash:
        console.print("the list is the same as last time", markup=False)
    for title, counts in (
        ("by jurisdiction", result.by_jurisdiction),
        ("by account", result.by_account),
        ("by category", result.by_category),
    ):
        print_table(_rows(counts), ["key", "people"], title=title)
    for label, sample in (("added", result.added_sample), ("removed", result.removed_sample)):
        if sample:
            more = "" if len(sample) < affected.SAMPLE else " …"
            console.print(f"{label}: {', '.join(sample)}{more}", markup=False)


def _print_gone(gone: dict[str, Any]) -> None:
    """People told about the incident who are no longer on its list: a correction may be due."""
    if not gone["count"]:
        return
    console.print(
        f"told but no longer affected: {gone['count']:,} (decide whether they need a correction)",
        markup=False,
    )
    print_table(gone["people"], ["ref", "address", "notices", "last_told"])


def _rows(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [{"key": key, "people": f"{value:,}"} for key, value in counts.items()]


def register(app: typer.Typer) -> None:
    """Adds the `affected` command to the `incident` group."""
    app.command("affected")(affected_command)
