"""Read-only commands create nothing: no folder, no database file; `db upgrade` says where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.databases import BACKEND
from tests.test_cli_shell import cli

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="about SQLite files")

READ_ONLY = [
    ["db", "status"],
    ["db", "status", "--json"],
    ["audit", "verify"],
    ["audit", "log"],
    ["incident", "list"],
    ["campaign", "list"],
    ["banner", "list"],
]


@pytest.mark.slow
@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a))
def test_a_read_only_command_creates_no_folder_or_file(tmp_path: Path, args: list[str]) -> None:
    target = tmp_path / "nowhere" / "db.sqlite3"
    result = cli(*args, database_url=f"sqlite://{target}")
    assert not target.parent.exists()
    assert "Traceback" not in result.stderr
    if args[:2] == ["db", "status"]:
        assert result.returncode == 1
        if "--json" in args:
            data = json.loads(result.stdout)
            assert (data["state"], data["exists"]) == ("empty", False)
        else:
            assert f"{target} does not exist yet" in result.stdout
        return
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert f"error: no database at {target}" in result.stderr
    assert "incident-svc db upgrade" in result.stderr


@pytest.mark.slow
def test_db_upgrade_says_where_it_creates_the_database(tmp_path: Path) -> None:
    target = tmp_path / "var" / "db.sqlite3"
    made = cli("db", "upgrade", database_url=f"sqlite://{target}")
    assert made.returncode == 0, made.stderr
    assert made.stderr == f"creating a new database at {target}\n"
    assert target.is_file()
    again = cli("db", "upgrade", database_url=f"sqlite://{target}")
    assert again.returncode == 0 and again.stderr == ""
