"""The top-level commands and the module that registers each: a command's module is imported
when that command runs (or when `--help` lists them all), not on every start.

Importing every command module costs about a second, most of it the parts only some commands
use (the web app and scheduler of `serve`, the exercise runner, DKIM, holiday calendars);
`incident-svc incident list` need not pay for `serve`. ``tests/test_cli_commands.py`` checks
that this table names exactly what the modules register.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

import typer
import typer.main
from typer._click.core import Command, Context

from incident_svc.cli.usage_errors import OneLineGroup

# command name -> the module under incident_svc.cli whose register(app) adds it, in help order
COMMANDS: dict[str, str] = {
    "serve": "serve_cmd",
    "mailsink": "mailsink_cmd",
    "demo": "demo_cmd",
    "db": "db_cmd",
    "accounts": "inventory_cmd",
    "subjects": "inventory_cmd",
    "holdings": "inventory_cmd",
    "incident": "incident_cmd",
    "notice": "notice_cmd",
    "campaign": "campaign_cmd",
    "banner": "banner_cmd",
    "policy": "policy_cmd",
    "disclosure": "disclosure_cmd",
    "bounces": "bounces_cmd",
    "audit": "audit_cmd",
    "register": "register_cmd",
    "retention": "retention_cmd",
    "subject": "subject_cmd",
    "exercise": "exercise_cmd",
}


@cache
def registered_by(module: str) -> dict[str, Command]:
    """The commands ``incident_svc.cli.<module>`` registers, as Click commands by name."""
    holder = typer.Typer()
    importlib.import_module(f"incident_svc.cli.{module}").register(holder)
    return dict(typer.main.get_group(holder).commands)


class LazyRootGroup(OneLineGroup):
    """The root command: its subcommands come from :data:`COMMANDS`, each loaded on first use."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*COMMANDS, *super().list_commands(ctx)]  # then any added on the app itself

    def get_command(self, ctx: Context, cmd_name: str) -> Any:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        return registered_by(module).get(cmd_name)
