"""`incident-svc exercise ...` and `--exercise NAME` as an operator runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from incident_svc.cli.main import app
from incident_svc.errors import IncidentSvcError
from incident_svc.services.exercises import registry
from tests.support.databases import BACKEND, admin_execute

EXAMPLE = Path(__file__).parent / "data" / "exercises" / "billing-72h.toml"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    var = tmp_path / "var"
    chosen = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_SVC_")}
    chosen |= {
        "INCIDENT_SVC_DATABASE_URL": database_url,
        "INCIDENT_SVC_VAR_DIR": str(var),
        "INCIDENT_SVC_ACTOR": "carol",
    }
    yield chosen
    if BACKEND == "postgres":
        for exercise in registry.all_exercises(var):
            name = exercise.database_url.rsplit("/", 1)[1]
            admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(env: dict[str, str], *args: str, **more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "incident_svc", *args],
        capture_output=True,
        text=True,
        env=env | more,
        timeout=120,
    )


def inproc(env: dict[str, str], *args: str, **more: str) -> tuple[int, str]:
    """In this process (a subprocess costs seconds on a loaded machine): exit code, output."""
    result = CliRunner().invoke(app, list(args), env=env | more)
    if isinstance(result.exception, IncidentSvcError):
        return result.exception.exit_code, str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.slow
def test_the_team_acts_on_the_exercise_with_the_normal_commands(env: dict[str, str]) -> None:
    code, out = inproc(env, "exercise", "start", "drill", "--scenario", str(EXAMPLE), "--json")
    assert code == 0, out
    record = json.loads(out)
    assert record["incident_ref"] == "INC-2026-0001"
    assert record["feed_path"] == "/exercises/drill"

    by_option = inproc(env, "--exercise", "drill", "incident", "list", "--json")
    by_env = inproc(env, "incident", "list", "--json", INCIDENT_SVC_EXERCISE="drill")
    real = inproc(env, "incident", "list", "--json")
    assert [i["ref"] for i in json.loads(by_option[1])] == ["INC-2026-0001"]
    assert json.loads(by_env[1]) == json.loads(by_option[1])
    assert json.loads(real[1]) == []  # the real database never saw it

    listed = json.loads(inproc(env, "exercise", "list", "--json")[1])
    assert [(e["name"], e["started_by"], e["ended_at"]) for e in listed] == [
        ("drill", "carol", None)
    ]
    code, out = inproc(env, "exercise", "end", "drill")
    assert code == 0 and "exercise drill ended" in out
    assert inproc(env, "--exercise", "drill", "incident", "list") == (
        6,
        "exercise 'drill' has ended; read it with `incident-svc exercise report drill`",
    )
    report = json.loads(inproc(env, "exercise", "report", "drill", "--json")[1])
    assert report["exercise"] == "drill" and report["ended"] is True
    assert "no notice was sent" in report["never_done"]
    assert (
        "awareness to first notice: no notice was sent"
        in inproc(env, "exercise", "report", "drill")[1]
    )

    log = json.loads(inproc(env, "audit", "log", "--json")[1])
    assert [(e["action"], e["actor"]) for e in log] == [
        ("exercise.started", "carol"),
        ("exercise.ended", "carol"),
    ]


def test_bad_input_is_one_line_per_problem_with_exit_5(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[exercise]\nhours = 0\n[[inject]]\nhour = 1\nkind = "bounces"\n')
    result = run(env, "exercise", "start", "drill", "--scenario", str(bad))  # the real shell
    assert result.returncode == 5
    assert result.stderr.splitlines() == [
        f"error: {bad}: [exercise] field 'hours': must be between 1 and 2160, not 0",
        f"error: {bad}: inject 1 field 'count': is required for kind 'bounces'",
    ]
    for name in ("Drill", "../x", "a b"):
        code, message = inproc(env, "exercise", "start", name, "--scenario", str(EXAMPLE))
        assert code == 5 and "\n" not in message and "exercise name" in message
    code, message = inproc(env, "--exercise", "../etc", "incident", "list")
    assert code == 5 and "field '--exercise'" in message
    assert inproc(env, "--exercise", "nope", "incident", "list")[0] == 4
    assert not (tmp_path / "var" / "exercises").exists() or not any(
        (tmp_path / "var" / "exercises").iterdir()
    )


def test_exercise_run_shows_stored_values_literally(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subject the sink received and a stored summary reach the terminal as one visible line
    each: no escape sequence, no forged line, no markup read."""
    from datetime import UTC, datetime

    from incident_svc.mail.sink import Stored
    from incident_svc.services.exercises import running

    code, out = inproc(env, "exercise", "start", "drill", "--scenario", str(EXAMPLE))
    assert code == 0, out
    hostile = "[/x]\x1b[2J\x1b]0;pwned\x07\n[drill] hour 99: forged\u202e\r"
    stored = Stored(datetime(2026, 11, 28, tzinfo=UTC), "s@x.example", ("a@x.example",),
                    "<m@x.example>", hostile, 10, "k")  # fmt: skip

    async def fake_run(exercise: Any, settings: Any, var_dir: Any, *, say: Any) -> None:
        say(f"mail sink: {stored.line()}")
        say(f"hour 1: note: {hostile}")

    monkeypatch.setattr(running, "run", fake_run)
    code, out = inproc(env, "exercise", "run", "drill")
    assert code == 0, out
    lines = out.splitlines()
    assert len(lines) == 2 and all(line.startswith("[drill] ") for line in lines), out
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", out), repr(out)
    shown = "[/x]\\x1b[2J\\x1b]0;pwned\\x07\\n[drill] hour 99: forged\\u202e\\r"
    assert lines[1] == f"[drill] hour 1: note: {shown}"
    assert f'"{shown}"' in lines[0]


@pytest.mark.slow
@pytest.mark.timeout(300)  # two service processes start on a shared 2-core machine
def test_exercise_run_serves_its_own_feed_path_applies_injects_and_stops_on_sigterm(
    env: dict[str, str],
) -> None:
    started = run(
        env, "exercise", "start", "live", "--scenario", str(EXAMPLE), "--speed", "3600", "--json"
    )
    assert started.returncode == 0, started.stderr
    record = json.loads(started.stdout)
    child = subprocess.Popen(
        [sys.executable, "-m", "incident_svc", "exercise", "run", "live"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(child.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    try:
        base = f"http://127.0.0.1:{record['feed_port']}"
        answers: dict[str, int] = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(answers) < 2:
            try:
                answers["exercise"] = httpx.get(f"{base}/exercises/live/v1/banners").status_code
                answers["public"] = httpx.get(f"{base}/v1/banners").status_code
            except httpx.TransportError:
                time.sleep(0.3)
        while time.monotonic() < deadline and not any("affected_grows" in x for x in lines):
            time.sleep(0.3)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reader.join(timeout=10)
    assert child.returncode == 0, child.stderr.read()[-2000:]  # type: ignore[union-attr]
    assert answers == {"exercise": 200, "public": 404}
    assert any(x.startswith("[live] hour 20: affected_grows: 4 more people") for x in lines)
