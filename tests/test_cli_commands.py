"""The command table loads each top-level command's module only when it is used, and names
exactly what those modules register."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict

from typer.testing import CliRunner

from incident_svc.cli import command_table
from incident_svc.cli.main import app


def test_the_table_names_exactly_what_each_module_registers() -> None:
    by_module: dict[str, list[str]] = defaultdict(list)
    for name, module in command_table.COMMANDS.items():
        by_module[module].append(name)
    for module, names in by_module.items():
        assert sorted(command_table.registered_by(module)) == sorted(names), module


def test_help_lists_every_command_and_an_unknown_one_is_one_line() -> None:
    shown = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert shown.exit_code == 0
    for name in command_table.COMMANDS:
        assert f" {name} " in shown.output, name
    unknown = CliRunner().invoke(app, ["nonesuch"])
    assert unknown.exit_code == 2 and "nonesuch" in unknown.output


def test_a_command_loads_only_its_own_module() -> None:
    probe = (
        "import sys\n"
        "from incident_svc.cli.main import run\n"
        "sys.argv = ['incident-svc', 'db', 'status', '--help']\n"
        "try:\n"
        "    run()\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in ('incident_svc.cli.serve_cmd', 'incident_svc.web.app',\n"
        "          'incident_svc.services.exercises.running', 'incident_svc.cli.campaign_cmd')\n"
        "          if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert "LOADED []" in done.stdout, done.stdout + done.stderr
