"""Stored values reach the terminal literally: Rich markup is never read, control characters
are made visible, tables fit 80 columns; --json gives the values back exactly."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from typer.testing import CliRunner

from incident_svc import db
from incident_svc.cli.main import app
from incident_svc.cli.safe_text import visible
from incident_svc.db import write_transaction
from incident_svc.domain.enums import CampaignStatus, NoticeKind, Severity
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError
from incident_svc.models import Campaign, Incident
from incident_svc.services.auditlog import audit
from tests.support.databases import BACKEND
from tests.test_cli_shell import _append_events, _tamper, cli

PIECES = ["[/x]", "[bold]", "[red]x[/red]", "\x1b[2J", "\x1b]0;pwned\x07", "\n", "\r", "\t",
          ":smile:", "\u202e", "\u2028", "\x00", "\x9b", "é", "中文", "\\x1b", "  "]  # fmt: skip
HOSTILE = st.lists(
    st.sampled_from(PIECES) | st.text(st.characters(blacklist_categories=("Cs",)), max_size=6),
    min_size=1,
    max_size=6,
).map(lambda parts: "".join(parts) if BACKEND == "sqlite" else "".join(parts).replace("\x00", ""))
# (PostgreSQL text cannot hold NUL at all, so no such value can be stored there)
# what must never reach the terminal: controls other than the layout's own line breaks
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


async def _store(url: str, title: str, actor: str, reason: str) -> int:
    async with db.database(url):
        incident = await Incident.create(
            ref="INC-2026-0001", title=title, summary=title, severity=Severity.HIGH,
            discovered_at=utcnow(), created_by=actor, systems=["crm"], categories=["contact"],
            account_refs=[title],
        )  # fmt: skip
        campaign = await Campaign.create(
            incident=incident, kind=NoticeKind.SUBJECT_NOTICE, status=CampaignStatus.APPROVED,
            hold_until=utcnow() + timedelta(days=1), hold_reason=reason, created_by=actor,
            approved_by=actor,
        )  # fmt: skip
        async with write_transaction() as conn:
            await audit.record(
                conn, actor=actor, action="test.hostile", target_type="incident",
                target_id="INC-2026-0001", details={"incident": "INC-2026-0001", "t": title},
            )  # fmt: skip
        return int(campaign.id)


async def _clear(url: str) -> None:
    async with db.database(url):
        await Campaign.all().delete()
        await Incident.all().delete()


TABLES = [
    ["incident", "list"],
    ["campaign", "list"],
    ["audit", "log", "--incident", "INC-2026-0001"],
]
FIELDS = [["incident", "show", "INC-2026-0001"], ["campaign", "show"]]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@pytest.mark.slow
@given(title=HOSTILE, actor=HOSTILE, reason=HOSTILE)
def test_stored_values_are_shown_literally(
    database_url: str, title: str, actor: str, reason: str
) -> None:
    asyncio.run(_clear(database_url))
    campaign_id = asyncio.run(_store(database_url, title, actor, reason))
    env = {"INCIDENT_SVC_DATABASE_URL": database_url, "COLUMNS": "80"}
    for args in [*TABLES, FIELDS[0], [*FIELDS[1], str(campaign_id)]]:
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 0 and result.exception is None, (args, result.output)
        assert not RAW.search(result.output), (args, result.output)
        if args in TABLES:  # fields print whole, one a line; tables fit the terminal
            assert all(cell_len(line) <= 80 for line in result.output.splitlines()), result.output
    shown = CliRunner().invoke(app, ["incident", "show", "INC-2026-0001"], env=env).output
    assert "title  " in shown and visible(title) in shown  # fields print whole, one line each
    exact = CliRunner().invoke(app, ["incident", "show", "INC-2026-0001", "--json"], env=env)
    assert json.loads(exact.output)["title"] == title  # JSON is not touched


LONG = [
    "x" * 250,  # one word, far wider than the terminal
    "[/x][bold]" * 12 + "\x1b[2J\x1b]0;pwned\x07" * 4,
    " ".join(["customer-records"] * 14),
    "中文" * 60,  # two terminal cells a character
    "\u202e\u2028\n" * 20 + "a" * 40,
]
DISCOVERED, SCHEDULED, HELD = "2026-11-28T06:12:00Z", "2026-12-29T10:00:00Z", "2026-12-30T00:00:00Z"


async def _fixed_times(url: str, campaign_id: int) -> None:
    async with db.database(url):
        await Incident.all().update(discovered_at=datetime.fromisoformat(DISCOVERED))
        await Campaign.filter(id=campaign_id).update(
            scheduled_at=datetime.fromisoformat(SCHEDULED),
            hold_until=datetime.fromisoformat(HELD),
        )


@pytest.mark.parametrize("title", LONG, ids=["word", "markup", "words", "wide", "controls"])
def test_references_and_times_stay_whole_at_80_columns(database_url: str, title: str) -> None:
    """Long hostile titles, actors and references give way before the reference, the id and
    the times, which are printed whole, and every line fits 80 columns."""
    asyncio.run(_clear(database_url))
    campaign_id = asyncio.run(_store(database_url, title, title[:128], title))
    asyncio.run(_fixed_times(database_url, campaign_id))
    env = {"INCIDENT_SVC_DATABASE_URL": database_url, "COLUMNS": "80"}
    wanted = {
        ("incident", "list"): ["INC-2026-0001", DISCOVERED],
        ("campaign", "list"): ["INC-2026-0001", SCHEDULED, HELD],
        ("audit", "log", "--incident", "INC-2026-0001"): ["INC-2026-0001"],
    }
    for args, whole in wanted.items():
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == 0 and result.exception is None, (args, result.output)
        assert not RAW.search(result.output), (args, result.output)
        assert all(cell_len(line) <= 80 for line in result.output.splitlines()), result.output
        for text in whole:
            assert text in result.output, (args, text, result.output)
    shown = CliRunner().invoke(app, ["campaign", "list"], env=env).output
    assert re.search(rf"^[│ ]*{campaign_id} ", shown, re.MULTILINE), shown  # the id, whole


async def _sending(url: str, campaign_id: int) -> None:
    async with db.database(url):
        await Campaign.filter(id=campaign_id).update(status=CampaignStatus.SENDING)


@pytest.mark.parametrize("sending", [False, True], ids=["approved", "sending"])
def test_send_now_on_a_held_campaign_returns_at_once_with_the_hold(
    database_url: str, sending: bool
) -> None:
    campaign_id = asyncio.run(_store(database_url, "t", "alice", "police request 17"))
    if sending:  # held while it was sending: the case that used to wait out the hold
        asyncio.run(_sending(database_url, campaign_id))
    env = {"INCIDENT_SVC_DATABASE_URL": database_url}
    started = time.monotonic()
    result = CliRunner().invoke(app, ["campaign", "send", str(campaign_id), "--now"], env=env)
    assert time.monotonic() - started < 10  # not waiting out the day-long hold
    assert isinstance(result.exception, ConflictError) and result.exception.exit_code == 6
    message = str(result.exception)
    assert f"campaign {campaign_id} is on hold until " in message
    assert "police request 17" in message and f"campaign release {campaign_id}" in message


@pytest.mark.slow
def test_arguments_that_are_not_utf8_are_one_line(database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_SVC_")}
    env["INCIDENT_SVC_DATABASE_URL"] = database_url
    for args in (
        [b"incident", b"show", b"INC-\xff\x1b"],
        [b"--actor", b"\xc3", b"incident", b"list"],
    ):
        result = subprocess.run(
            [sys.executable.encode(), b"-m", b"incident_svc", *args],
            capture_output=True,
            env=env,
            timeout=60,
        )
        assert result.returncode == 5
        assert result.stderr.count(b"\n") == 1 and b"is not valid UTF-8 text" in result.stderr
        assert b"\x1b" not in result.stderr


@pytest.mark.slow
def test_a_non_ascii_audit_hash_is_a_broken_chain_not_a_crash(database_url: str) -> None:
    _append_events(database_url, [], {})
    _tamper(database_url, "UPDATE audit_event SET hash = 'é' || substr(hash, 2) WHERE seq = 2")
    verdict = cli("audit", "verify", database_url=database_url)
    assert verdict.returncode == 1 and "Traceback" not in verdict.stderr
    assert "BROKEN at sequence 2: stored hash is not 64 lowercase hex digits" in verdict.stdout
    shown = cli("audit", "log", database_url=database_url)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr


def test_visible_spells_out_controls() -> None:
    assert visible("a\x1b[2J\n\tb\u202ec\x9b\udcff") == "a\\x1b[2J\\n\\tb\\u202ec\\x9b\\udcff"
    assert visible("a\x1b\n\tb", keep="\n\t") == "a\\x1b\n\tb"
    assert visible("[/x] 中文 é") == "[/x] 中文 é"  # printable text, markup-looking or not
