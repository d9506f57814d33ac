"""`incident-svc accounts / subjects / holdings import`: load the inventory from CSV or JSON Lines."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from incident_svc.cli.output import JSON_OPTION, console, err_console, print_json
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.cli.safe_text import visible
from incident_svc.config import Settings
from incident_svc.domain.inventory_rows import COLUMNS
from incident_svc.services.inventory.importer import (
    SHOWN_PROBLEMS,
    ImportRejected,
    ImportResult,
    import_file,
)
from incident_svc.services.inventory.importer import (
    Progress as ProgressCallback,
)

FORMAT_OPTION = typer.Option(None, "--format", help="csv or jsonl (default: from the extension).")
IGNORE_EXTRA_OPTION = typer.Option(
    False, "--ignore-extra", help="Ignore columns this command does not know instead of failing."
)
SKIP_INVALID_OPTION = typer.Option(
    False,
    "--skip-invalid",
    help="Write the good rows and put each bad one, with its reason, in the rejects file.",
)
REJECTS_OPTION = typer.Option(
    None,
    "--rejects",
    help="Where --skip-invalid writes rejects (default: FILE.rejects.jsonl).",
)


def _columns(kind: str) -> str:
    return ", ".join(c.name + ("" if c.required else "?") for c in COLUMNS[kind])


@contextmanager
def _progress(enabled: bool, path: Path) -> Iterator[ProgressCallback | None]:
    if not enabled or not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows, {task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(visible(path.name), total=path.stat().st_size, rows=0, rate=0.0)

        def update(done: int, rows: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            bar.update(task, completed=done, rows=rows, rate=rows / elapsed if elapsed else 0.0)

        yield update


def _import(
    ctx: typer.Context,
    kind: str,
    file: Path,
    fmt: str | None,
    ignore_extra: bool,
    skip_invalid: bool,
    rejects: Path | None,
    json_output: bool,
) -> None:
    actor = state(ctx).actor

    async def work(settings: Settings) -> ImportResult:
        with _progress(not json_output, file) as progress:
            return await import_file(
                kind=kind,
                path=file,
                actor=actor,
                key=hmac_key(settings),
                fmt=fmt,
                ignore_extra=ignore_extra,
                skip_invalid=skip_invalid,
                rejects_path=rejects,
                progress=progress,
            )

    try:
        result = with_db(ctx, work)
    except ImportRejected as exc:
        for line, field, reason in exc.problems[1:SHOWN_PROBLEMS]:
            err_console.print(f"{file}:{line} field {field!r}: {reason}", markup=False)
        raise
    _report(result, json_output)


def _report(result: ImportResult, json_output: bool) -> None:
    if json_output:
        print_json(result.as_dict())
        return
    verdict = "" if result.changed else "nothing changed: "
    console.print(
        f"{verdict}{result.kind} from {result.file}: {result.rows:,} rows, "
        f"{result.inserted:,} inserted, {result.updated:,} updated, "
        f"{result.unchanged:,} unchanged, {result.rejected:,} rejected "
        f"({result.seconds:.1f} s)",
        markup=False,
    )
    if result.rejects_file and result.rejected:
        console.print(f"rejected rows and reasons: {result.rejects_file}", markup=False)


def _group(kind: str, help_text: str, example: str) -> typer.Typer:
    group = typer.Typer(help=help_text, no_args_is_help=True)

    @group.command("import")
    def import_(
        ctx: typer.Context,
        file: Path = typer.Argument(..., help="CSV with a header, or JSON Lines."),
        fmt: str | None = FORMAT_OPTION,
        ignore_extra: bool = IGNORE_EXTRA_OPTION,
        skip_invalid: bool = SKIP_INVALID_OPTION,
        rejects: Path | None = REJECTS_OPTION,
        json_output: bool = JSON_OPTION,
    ) -> None:
        _import(ctx, kind, file, fmt, ignore_extra, skip_invalid, rejects, json_output)

    import_.__doc__ = (
        f"Import {kind} from FILE, updating rows by reference.\n\n"
        f"Columns ('?' = optional): {_columns(kind)}.\n\n"
        "Every row is validated first; one bad row and nothing is written, unless "
        "--skip-invalid. Importing the same file again changes nothing.\n\n"
        f"Example:\n\n    {example}"
    )
    return group


def register(app: typer.Typer) -> None:
    app.add_typer(
        _group(
            "accounts",
            "Import customer organisations (accounts).",
            "incident-svc accounts import accounts.csv",
        ),
        name="accounts",
    )
    app.add_typer(
        _group(
            "subjects",
            "Import the people whose data we hold.",
            "incident-svc subjects import people.jsonl --skip-invalid",
        ),
        name="subjects",
    )
    app.add_typer(
        _group(
            "holdings",
            "Import which systems hold which categories of each person's data.",
            "incident-svc holdings import holdings.csv --json",
        ),
        name="holdings",
    )
