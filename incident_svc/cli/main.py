"""The `incident-svc` entry point: global options, command groups, and error reporting."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from incident_svc import __version__
from incident_svc.cli import logs
from incident_svc.cli.command_table import LazyRootGroup
from incident_svc.cli.output import error
from incident_svc.cli.runtime import CliState
from incident_svc.errors import IncidentSvcError, ValidationError

app = typer.Typer(
    name="incident-svc",
    help=(
        "Respond to a personal-data incident: record it, find exactly who is affected, "
        "notify them by email and website banner, and prove it with a tamper-evident audit log."
    ),
    cls=LazyRootGroup,
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
