"""The `incident-svc` entry point: global options, command groups, and error reporting."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from incident_svc import __version__
from incident_svc.cli import (
    audit_cmd,
    banner_cmd,
    bounces_cmd,
    campaign_cmd,
    db_cmd,
    demo_cmd,
    disclosure_cmd,
    exercise_cmd,
    incident_cmd,
    inventory_cmd,
    logs,
    mailsink_cmd,
    notice_cmd,
    policy_cmd,
    register_cmd,
    retention_cmd,
    serve_cmd,
    subject_cmd,
)
from incident_svc.cli.output import error
from incident_svc.cli.runtime import CliState
from incident_svc.cli.usage_errors import OneLineGroup
from incident_svc.errors import IncidentSvcError, ValidationError

app = typer.Typer(
    name="incident-svc",
    help=(
        "Respond to a personal-data incident: record it, find exactly who is affected, "
        "notify them by email and website banner, and prove it with a tamper-evident audit log."
    ),
    cls=OneLineGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"incident-svc {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        envvar="INCIDENT_SVC_CONFIG",
        help="A TOML file whose keys override config/default.toml.",
        dir_okay=False,
    ),
    actor: str | None = typer.Option(
        None,
        "--actor",
        help="Who is acting, for the audit log. Default: $INCIDENT_SVC_ACTOR, else your OS user.",
    ),
    exercise: str | None = typer.Option(
        None,
        "--exercise",
        help=(
            "Act on this exercise instead of the real incident: its database, mail sink, feed "
            "path and clock. Default: $INCIDENT_SVC_EXERCISE. See `exercise --help`."
        ),
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    ctx.obj = CliState(config_file=config, actor_option=actor, exercise_option=exercise)


# Each module registers its own group or command, so that work on one never edits another.
db_cmd.register(app)
inventory_cmd.register(app)
incident_cmd.register(app)
notice_cmd.register(app)
campaign_cmd.register(app)
banner_cmd.register(app)
policy_cmd.register(app)
disclosure_cmd.register(app)
bounces_cmd.register(app)
audit_cmd.register(app)
register_cmd.register(app)
serve_cmd.register(app)
mailsink_cmd.register(app)
demo_cmd.register(app)
retention_cmd.register(app)
subject_cmd.register(app)
exercise_cmd.register(app)


def _refuse_undecodable_arguments() -> None:
    """Bytes that are not UTF-8 arrive as surrogate escapes, which no database or terminal can
    encode: refuse them here, naming the argument, rather than deep inside a command."""
    for number, argument in enumerate(sys.argv[1:], start=1):
        if any("\udc80" <= char <= "\udcff" for char in argument):
            shown = argument.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise ValidationError(f"argument {number} ({shown}) is not valid UTF-8 text")


def run() -> None:
    """Console-script entry: expected errors become one line on stderr and an exit code."""
    logs.install()
    try:
        _refuse_undecodable_arguments()
        app()
    except IncidentSvcError as exc:
        error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        error("interrupted")
        sys.exit(130)
