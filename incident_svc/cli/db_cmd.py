"""`incident-svc db`: create and upgrade the schema, and say where the database stands."""

from __future__ import annotations

from pathlib import Path

import typer

from incident_svc import db
from incident_svc.cli.output import JSON_OPTION, console, err_console, print_json
from incident_svc.cli.runtime import state, with_db
from incident_svc.config import Settings
from incident_svc.services.auditlog import audit_key, retention_key

app = typer.Typer(help="Create, upgrade and inspect the database schema.", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
    """Apply every pending migration. Safe to run again: it then changes nothing."""

    async def work(settings: Settings) -> tuple[list[str], audit_key.KeySetup, Path | None]:
        applied = await db.upgrade()
        key = await audit_key.ensure_key(settings)
        return applied, key, retention_key.ensure(settings)

    path = db.sqlite_path(state(ctx).settings.database_url)
    if path is not None and not path.exists():
        # said before it happens: run from the wrong folder, this is where the file goes
        err_console.print(f"creating a new database at {path.resolve()}")
    applied, key, retention_created = with_db(ctx, work, check_schema=False, create=True)
    url = db.redact_url(state(ctx).settings.database_url)
    if json_output:
        print_json(
            {
                "database": url,
                "applied": applied,
                "audit_key": _key_summary(key),
                "retention_key_created": str(retention_created) if retention_created else None,
            }
        )
        return
    if applied:
        console.print(f"applied {', '.join(applied)} to {url}", markup=False)
    else:
        console.print(f"{url} is up to date; nothing to apply", markup=False)
    console.print(_key_line(key), markup=False)
    if retention_created:
        console.print(
            f"retention key: created {retention_created} (mode 0600); keep a copy somewhere safe",
            markup=False,
        )


def _key_summary(key: audit_key.KeySetup) -> dict[str, object]:
    return {
        "source": key.key.source,
        "created": str(key.created) if key.created else None,
        "unkeyed_events": key.unkeyed_events,
    }


def _key_line(key: audit_key.KeySetup) -> str:
    if key.created:
        return f"audit key: created {key.created} (mode 0600); keep a copy somewhere safe"
    if key.key.keyed:
        return f"audit key: {key.key.source}"
    return (
        f"audit key: none, and the audit chain already has {key.unkeyed_events} events written "
        "without one, so none was created (see docs/audit.md, 'An existing unkeyed chain')"
    )


@app.command()
def status(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
    """Show which migrations are applied and which are pending."""

    async def work(settings: Settings) -> db.SchemaStatus:
        return await db.schema_status()

    url = db.redact_url(state(ctx).settings.database_url)
    path = db.sqlite_path(state(ctx).settings.database_url)
    missing = path is not None and not path.exists()
    if missing:  # read-only: say so, create nothing
        result = db.SchemaStatus(applied=[], available=db.available_migrations())
    else:
        result = with_db(ctx, work, check_schema=False)
    if json_output:
        print_json(
            {
                "database": url,
                "exists": not missing,
                "state": result.state,
                "applied": result.applied,
                "pending": result.pending,
                "unknown": result.unknown,
            }
        )
    else:
        console.print(f"database: {url}", markup=False)
        if missing and path is not None:
            console.print(f"file:     {path.resolve()} does not exist yet")
        console.print(f"state:    {result.state}", markup=False)
        console.print(f"applied:  {', '.join(result.applied) or '-'}", markup=False)
        console.print(f"pending:  {', '.join(result.pending) or '-'}", markup=False)
        if result.unknown:
            console.print(
                f"unknown:  {', '.join(result.unknown)} (newer code migrated this database)"
            )
        if result.state in {"empty", "behind"}:
            console.print(f"hint:     {db.UPGRADE_HINT}", markup=False)
    if result.state != "current":
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="db")
