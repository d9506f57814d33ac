"""`incident-svc bounces ingest` end to end: a Maildir and an mbox of real-shaped reports for a
campaign sent to aiosmtpd, ingested twice, with hostile files among them."""

from __future__ import annotations

import asyncio
import json
import mailbox
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner, Result

from incident_svc import db
from incident_svc.cli.main import app
from incident_svc.domain.verp import ReturnPaths
from incident_svc.models import AuditEvent, BounceReport, Delivery, Subject
from tests.support import bounce_reports as reports
from tests.support.smtpd import smtp_server
from tests.test_bounces import SECRET, bounce_settings, sent_campaign, sent_messages
from tests.test_cli_shell import cli as shell

T = TypeVar("T")


def in_db(url: str, work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        async with db.database(url):
            return await work()

    return asyncio.run(main())


def seeded(url: str, settings_for: Any) -> dict[str, reports.Sent]:
    async def work() -> dict[str, reports.Sent]:
        async with smtp_server() as server:
            await sent_campaign(bounce_settings(settings_for, url, server), server, subjects=4)
        return await sent_messages(server)

    return in_db(url, work)


def state(url: str) -> tuple[Any, ...]:
    async def work() -> tuple[Any, ...]:
        return (
            await BounceReport.all().count(),
            await AuditEvent.all().count(),
            await Delivery.all().order_by("id").values_list("outcome", "substituted_at"),
            await Subject.all().order_by("id").values_list("email_status", flat=True),
        )

    return in_db(url, work)


def cli(url: str, *args: str) -> Result:
    env = {
        "INCIDENT_SVC_DATABASE_URL": url,
        "INCIDENT_SVC_BOUNCES__DOMAIN": "bounces.example.com",
        "INCIDENT_SVC_BOUNCES__TOKEN_SECRET": SECRET,
        "INCIDENT_SVC_ACTOR": "carol",
    }
    return CliRunner().invoke(app, list(args), env=env)


def test_ingest_a_maildir_twice_then_the_same_as_mbox(
    database_url: str, settings_for: Any, tmp_path: Path
) -> None:
    sent = seeded(database_url, settings_for)
    first, second, third = (sent[a] for a in sorted(sent)[:3])
    forged = reports.Sent(
        ReturnPaths(b"z" * 32, "bounce", "bounces.example.com").address(1),
        first.recipient,
        first.message_id,
    )
    good = [reports.dsn(first), reports.qmail(second), reports.arf(third)]
    bad = [b"\x00\xff not a message", reports.dsn(forged)]
    maildir = mailbox.Maildir(tmp_path / "bounces", create=True)
    for raw in [*good, *bad]:
        maildir.add(raw)
    result = cli(database_url, "bounces", "ingest", str(tmp_path / "bounces"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["reports"], summary["recorded"], summary["refused"]) == (5, 3, 1)
    assert summary["unreadable"] == 1 and summary["format"] == "maildir"
    assert summary["outcomes"] == {"bounced": 2, "delayed": 0, "complained": 1}
    assert summary["substituted"] == 2  # the two people whose notice bounced
    complaints = result.stderr.strip().splitlines()
    assert len(complaints) == 2 and all("Traceback" not in line for line in complaints)
    assert any("refused" in line and "does not verify" in line for line in complaints)
    after_first = state(database_url)
    assert after_first[0] == 3

    again = cli(database_url, "bounces", "ingest", str(tmp_path / "bounces"), "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["duplicate"] == 3
    assert json.loads(again.stdout)["substituted"] == 0
    assert state(database_url) == after_first  # ingesting twice changes nothing

    box = mailbox.mbox(tmp_path / "bounces.mbox", create=True)
    for raw in good:
        box.add(raw)
    box.flush()
    box.close()
    from_mbox = cli(database_url, "bounces", "ingest", str(tmp_path / "bounces.mbox"), "--json")
    assert from_mbox.exit_code == 0, from_mbox.output
    data = json.loads(from_mbox.stdout)
    assert (data["format"], data["reports"], data["duplicate"]) == ("mbox", 3, 3)
    assert state(database_url) == after_first

    human = cli(database_url, "bounces", "ingest", str(tmp_path / "bounces"))
    assert human.exit_code == 0 and "duplicate" in human.stdout


@pytest.mark.slow
def test_a_path_that_is_not_a_mailbox_is_one_line(database_url: str, tmp_path: Path) -> None:
    """Through the console script: one line on stderr, the documented exit code."""
    missing = shell("bounces", "ingest", str(tmp_path / "nothing"), database_url=database_url)
    assert missing.returncode == 4 and "no such file or folder" in missing.stderr
    (tmp_path / "plain").mkdir()
    folder = shell("bounces", "ingest", str(tmp_path / "plain"), database_url=database_url)
    assert folder.returncode == 5 and "not a Maildir" in folder.stderr
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    notes = shell("bounces", "ingest", str(text), database_url=database_url)
    assert notes.returncode == 5 and "not an mbox" in notes.stderr
    for result in (missing, folder, notes):
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
