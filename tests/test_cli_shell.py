"""The CLI shell: help, global options, one-line errors, db and audit commands, on either backend."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import typer

from incident_svc import db

GROUPS = [
    "db",
    "subjects",
    "accounts",
    "incident",
    "notice",
    "campaign",
    "banner",
    "audit",
    "exercise",
]
COMMANDS = ["serve", "mailsink", "demo"]


def cli(
    *args: str, database_url: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_SVC_")}
    if database_url:
        full_env["INCIDENT_SVC_DATABASE_URL"] = database_url
        full_env["INCIDENT_SVC_VAR_DIR"] = _var_dir(database_url)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "incident_svc", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def _var_dir(database_url: str) -> str:
    """One state folder per database (its audit key, its checkpoints), never the project's."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:12]
    return str(Path(tempfile.gettempdir()) / f"incsvc-var-{digest}")


def test_help_lists_every_command_group() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for name in GROUPS + COMMANDS:
        assert f" {name} " in result.stdout, name


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("incident-svc ")


def test_missing_schema_is_one_line_naming_the_command(empty_database_url: str) -> None:
    result = cli("audit", "verify", database_url=empty_database_url)
    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0
    assert "incident-svc db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_configuration_is_one_line(database_url: str) -> None:
    result = cli("audit", "verify", database_url=database_url, env={"INCIDENT_SVC_SMTP__PORT": "x"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid configuration: smtp.port")
    assert result.stderr.strip().count("\n") == 0


@pytest.mark.slow
def test_db_upgrade_and_status(empty_database_url: str) -> None:
    before = cli("db", "status", "--json", database_url=empty_database_url)
    assert before.returncode == 1 and json.loads(before.stdout)["state"] == "empty"
    first = cli("db", "upgrade", "--json", database_url=empty_database_url)
    assert first.returncode == 0, first.stderr
    shipped = sorted(p.stem for p in db.MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert json.loads(first.stdout)["applied"] == shipped and shipped[0] == "0001_initial"
    again = cli("db", "upgrade", database_url=empty_database_url)
    assert again.returncode == 0 and "nothing to apply" in again.stdout
    after = cli("db", "status", "--json", database_url=empty_database_url)
    assert after.returncode == 0 and json.loads(after.stdout)["pending"] == []


def _append_events(database_url: str, actor_args: list[str], env: dict[str, str]) -> None:
    """Write audit events through the real append path in a child process."""
    script = (
        "import asyncio\n"
        "from incident_svc import db\n"
        "from incident_svc.services.auditlog import audit\n"
        "async def main():\n"
        f"    await db.open_database({database_url!r})\n"
        "    for i in range(5):\n"
        "        async with db.write_transaction() as conn:\n"
        "            await audit.record(conn, actor='alice', action='test.event', target_type='incident',\n"
        "                               target_id='INC-2026-0001', details={'i': i})\n"
        "    await db.close_database()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ, **env})


@pytest.mark.slow
def test_audit_verify_log_and_export(database_url: str, tmp_path: Path) -> None:
    _append_events(database_url, [], {})
    ok = cli("audit", "verify", database_url=database_url)
    assert ok.returncode == 0 and "intact: 5 events" in ok.stdout
    log = cli("audit", "log", "--incident", "INC-2026-0001", "--json", database_url=database_url)
    events = json.loads(log.stdout)
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert events[0]["details"] == {"i": 0}
    out = tmp_path / "audit.jsonl"
    exported = cli("audit", "export", str(out), database_url=database_url)
    assert exported.returncode == 0 and len(out.read_text().splitlines()) == 5


@pytest.mark.slow
def test_audit_verify_names_the_broken_sequence(database_url: str) -> None:
    _append_events(database_url, [], {})
    _tamper(database_url, "UPDATE audit_event SET actor = 'mallory' WHERE seq = 3")
    broken = cli("audit", "verify", "--json", database_url=database_url)
    assert broken.returncode == 1
    verdict = json.loads(broken.stdout)
    assert verdict["intact"] is False and verdict["first_bad_seq"] == 3


def _tamper(database_url: str, statement: str) -> None:
    script = (
        "import asyncio\n"
        "from tortoise import connections\n"
        "from incident_svc import db\n"
        "async def main():\n"
        f"    await db.open_database({database_url!r})\n"
        f"    await connections.get('default').execute_script({statement!r})\n"
        "    await db.close_database()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--actor", "carol"], {"INCIDENT_SVC_ACTOR": "dave"}, "carol"),
        ([], {"INCIDENT_SVC_ACTOR": "dave"}, "dave"),
    ],
)
def test_actor_resolution(args: list[str], env: dict[str, str], expected: str) -> None:
    from typer.testing import CliRunner

    from incident_svc.cli.main import app
    from incident_svc.cli.runtime import CliState

    seen: list[str] = []

    @app.command("whoami-test", hidden=True)
    def whoami(ctx: typer.Context) -> None:
        state = ctx.find_root().obj
        assert isinstance(state, CliState)
        seen.append(state.actor)

    try:
        result = CliRunner().invoke(app, [*args, "whoami-test"], env=env)
        assert result.exit_code == 0, result.output
        assert seen == [expected]
    finally:
        app.registered_commands = [c for c in app.registered_commands if c.name != "whoami-test"]


def test_actor_defaults_to_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    from incident_svc.cli.runtime import CliState

    monkeypatch.delenv("INCIDENT_SVC_ACTOR", raising=False)
    assert CliState().actor == getpass.getuser()


@pytest.mark.slow
def test_a_database_that_cannot_be_reached_is_one_line_and_exit_8() -> None:
    # nothing listens on port 1: refused at once, as a database that is down or restarting
    result = cli("campaign", "status", "1", database_url="postgres://postgres@127.0.0.1:1/x")
    assert result.returncode == 8, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the database" in lines[0]
    assert "run the same command again" in lines[0] and "Traceback" not in result.stderr
