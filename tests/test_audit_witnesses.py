"""The witnesses for real: `serve` refusing to run unkeyed, its scheduled checkpoints to the
file, a real SMTP server and the feed route, and `audit verify --checkpoints URL` against them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from incident_svc.domain import checkpoints
from incident_svc.domain.times import utcnow
from incident_svc.models import AuditEvent
from incident_svc.services.auditlog import audit_checkpoints, checkpoint_store
from incident_svc.services.auditlog.audit_policy import UNKEYED_ACTION
from incident_svc.web.app import create_app
from tests.support.audit_chain_tools import append, execute, rechain
from tests.support.server import serving_in_thread
from tests.support.service_process import TEST_AUDIT_KEY, free_port, run_cli, service, service_env
from tests.support.smtp_catcher import Catcher, smtp_catcher

pytestmark = pytest.mark.slow
TEAM = "duty@security.example"
KEY = TEST_AUDIT_KEY.encode()


@pytest.fixture
async def catcher() -> AsyncIterator[Catcher]:
    async with smtp_catcher() as server:
        yield server


@pytest.fixture
def env(db_conn: str, catcher: Catcher, tmp_path: Path) -> dict[str, str]:
    return service_env(
        db_conn,
        smtp_port=catcher.port,
        var_dir=tmp_path / "var",
        INCIDENT_SVC_SECURITY_TEAM_EMAIL=TEAM,
        INCIDENT_SVC_MAIL_FROM="Example Security <security@notices.example.com>",
    )


def unkeyed(env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**{k: v for k, v in env.items() if k != "INCIDENT_SVC_AUDIT__HMAC_KEY"}, **extra}


async def test_serve_refuses_to_start_without_a_key(env: dict[str, str]) -> None:
    code, _, err = await run_cli(unkeyed(env), "serve", "--port", str(free_port()))
    assert code == 2
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: serve: no audit HMAC key") and line == err.splitlines()[-1]
    assert "audit.allow_unkeyed" in err and "Traceback" not in err
    assert await AuditEvent.all().count() == 0


async def test_serve_allowed_to_run_unkeyed_records_it(env: dict[str, str]) -> None:
    allowed = unkeyed(env, INCIDENT_SVC_AUDIT__ALLOW_UNKEYED="true")
    async with service(allowed, "--no-dispatch") as svc:
        assert await svc.terminate() == 0
    [event] = await AuditEvent.filter(action=UNKEYED_ACTION)
    details = json.loads(event.details)
    assert details["set_in"] == "$INCIDENT_SVC_AUDIT__ALLOW_UNKEYED"
    assert details["key"].startswith("none")


async def _wait_for_mail(catcher: Catcher, count: int, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while len(catcher.to(TEAM)) < count:
            await asyncio.sleep(0.05)


def _wire(mail: Any) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(mail.as_bytes(), policy=policy.default))


async def test_serve_checkpoints_to_file_mailbox_and_feed(
    env: dict[str, str], catcher: Catcher, tmp_path: Path
) -> None:
    await append(3, key=KEY)
    env["INCIDENT_SVC_AUDIT__CHECKPOINT_BY_EMAIL"] = "true"
    async with service(env, "--no-dispatch") as svc:
        await _wait_for_mail(catcher, 1)  # at start: the chain has grown since no checkpoint
        async with httpx.AsyncClient() as client:
            feed = await client.get(f"{svc.url}{checkpoint_store.FEED_PATH}")
        code, out, err = await run_cli(
            env, "audit", "verify", "--checkpoints", f"{svc.url}{checkpoint_store.FEED_PATH}"
        )
        assert code == 0, out + err
        assert "checkpoints: all 2 held (latest at sequence 3" in out  # the file and the feed
        await execute("DELETE FROM audit_event WHERE seq > 1")
        code, out, _ = await run_cli(
            env, "audit", "verify", "--checkpoints", f"{svc.url}{checkpoint_store.FEED_PATH}"
        )
        assert await svc.terminate() == 0
    assert code == 1 and "BROKEN at checkpoint sequence 3" in out
    # the file witness
    local = (tmp_path / "var" / checkpoint_store.FILE_NAME).read_text().splitlines()
    assert len(local) == 1
    point = checkpoints.parse(local[0])
    assert point.seq == 3 and point.key_id == checkpoints.key_id(KEY)
    # the feed: the same record, and nothing else
    assert feed.status_code == 200 and feed.headers["content-type"] == "application/json"
    assert feed.json() == {"schema": 1, "checkpoints": [point.as_dict()]}
    # the mailbox: a well-formed message whose last line is the checkpoint
    [mail] = [_wire(m) for m in catcher.to(TEAM)]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert str(mail["Message-ID"]).endswith("@notices.example.com>")
    assert parseaddr(str(mail["To"]))[1] == TEAM
    assert abs(parsedate_to_datetime(str(mail["Date"])) - utcnow()) < timedelta(minutes=1)
    body = mail.get_content().strip().splitlines()
    assert checkpoints.parse(body[-1]) == point


async def test_cli_checkpoint_email_failure_is_named_and_the_file_still_written(
    env: dict[str, str], catcher: Catcher, tmp_path: Path
) -> None:
    await append(2, key=KEY)
    env["INCIDENT_SVC_AUDIT__CHECKPOINT_BY_EMAIL"] = "true"
    catcher.refuse.append("554 5.7.1 not today")
    code, out, _ = await run_cli(env, "audit", "checkpoint")
    assert code == 1
    assert f"email {TEAM}: FAILED: " in out and "554" in out
    assert "file " in out and ": ok" in out
    code, out, _ = await run_cli(env, "audit", "checkpoint")
    assert code == 0, out
    assert len(catcher.to(TEAM)) == 1
    lines = (tmp_path / "var" / checkpoint_store.FILE_NAME).read_text().splitlines()
    assert [checkpoints.parse(line).seq for line in lines] == [2, 2]


async def test_schedule_checkpoints_when_the_chain_grows_and_when_a_campaign_completes(
    settings_for: Any, db_conn: str, tmp_path: Path
) -> None:
    settings = settings_for(db_conn)
    schedule = audit_checkpoints.Schedule(settings, key=KEY, send=None)
    t0 = utcnow()
    assert await schedule(t0) is None  # an empty chain: nothing to checkpoint
    await append(2, key=KEY)
    first = await schedule(t0)
    assert first is not None and first.checkpoint.seq == 2
    assert await schedule(t0 + timedelta(hours=1)) is None  # nothing changed since
    await append(1, key=KEY)
    assert await schedule(t0 + timedelta(minutes=5)) is None  # grown, but not 15 minutes yet
    await append(1, key=KEY, action=audit_checkpoints.COMPLETED_ACTION)
    completed = await schedule(t0 + timedelta(minutes=6))
    assert completed is not None and completed.checkpoint.seq == 4
    await append(1, key=KEY)
    assert await schedule(t0 + timedelta(minutes=20)) is None  # 14 minutes after the last
    later = await schedule(t0 + timedelta(minutes=21))
    assert later is not None and later.checkpoint.seq == 5
    # a restarted service picks up where the file left off
    again = audit_checkpoints.Schedule(settings, key=KEY, send=None)
    assert await again(t0 + timedelta(minutes=22)) is None


async def test_schedule_raises_the_alarm_once_for_a_rewritten_chain(
    settings_for: Any, db_conn: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(db_conn)
    await append(3, key=KEY)
    schedule = audit_checkpoints.Schedule(settings, key=KEY, send=None)
    t0 = utcnow()
    assert await schedule(t0) is not None
    await rechain(key=KEY, edit_seq=2)
    await append(1, key=KEY, action=audit_checkpoints.COMPLETED_ACTION)
    with caplog.at_level(logging.ERROR):
        assert await schedule(t0 + timedelta(minutes=1)) is None
        assert await schedule(t0 + timedelta(minutes=2)) is None
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "no longer holds the last checkpoint (sequence 3" in errors[0]


def test_the_feed_route_is_well_formed_whatever_the_file_holds(
    database_url: str, settings_for: Any
) -> None:
    settings = settings_for(database_url)
    path = checkpoint_store.checkpoint_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    with serving_in_thread(create_app(settings=settings)) as url, httpx.Client() as client:

        @hyp_settings(max_examples=60, deadline=None, database=None)
        @given(lines=st.lists(st.binary(max_size=120), max_size=6), good=st.integers(0, 3))
        def check(lines: list[bytes], good: int) -> None:
            valid = [make_point(seq) for seq in range(good)]
            path.write_bytes(b"\n".join([*lines, *(p.line().encode() for p in valid)]) + b"\n")
            answer = client.get(f"{url}{checkpoint_store.FEED_PATH}")
            assert answer.status_code == 200
            body = answer.json()
            assert set(body) == {"schema", "checkpoints"} and body["schema"] == 1
            served = [checkpoints.from_mapping(item) for item in body["checkpoints"]]
            assert served == valid  # the well-formed ones only, in file order
            again = client.get(
                f"{url}{checkpoint_store.FEED_PATH}",
                headers={"If-None-Match": answer.headers["etag"]},
            )
            assert again.status_code == 304

        check()


def make_point(seq: int) -> checkpoints.Checkpoint:
    return checkpoints.make(seq=seq, head="ab" * 32, at=utcnow(), key=KEY)
