"""The development mail sink: a real server, a real Maildir, a line per message, and the CLI."""

from __future__ import annotations

import mailbox
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from incident_svc.config import SmtpSettings
from incident_svc.mail.sink import Stored, message_ids, serve
from incident_svc.mail.smtp_pool import SmtpPool


def _message(n: int) -> bytes:
    return (
        f"From: security@example.com\r\nTo: p{n}@example.org\r\nMessage-ID: <n{n}@example.com>\r\n"
        f"Subject: =?utf-8?q?Notice_{n}?=\r\n\r\nHello {n}\r\n"
    ).encode()


async def test_every_message_lands_in_the_maildir_and_is_announced(tmp_path: Path) -> None:
    seen: list[Stored] = []
    async with (
        serve(host="127.0.0.1", port=0, maildir=tmp_path / "mail", announce=seen.append) as bound,
        SmtpPool(SmtpSettings(host=bound[0], port=bound[1], pool_size=2)) as pool,
    ):
        for n in range(3):
            accepted = await pool.send(
                sender="security@example.com", recipient=f"p{n}@example.org", data=_message(n)
            )
            assert accepted.reply.startswith("250 2.0.0 Ok: stored as ")
    assert sorted(message_ids(tmp_path / "mail")) == [
        "<n0@example.com>",
        "<n1@example.com>",
        "<n2@example.com>",
    ]
    assert [s.recipients for s in seen] == [
        ("p0@example.org",),
        ("p1@example.org",),
        ("p2@example.org",),
    ]
    assert "security@example.com -> p1@example.org <n1@example.com>" in seen[1].line()
    box = mailbox.Maildir(tmp_path / "mail", create=False)
    first = next(iter(box))
    assert first["Return-Path"] == "<security@example.com>"
    assert first.get_payload().startswith("Hello")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_runs_until_interrupted_and_prints_a_line_per_message(tmp_path: Path) -> None:
    import smtplib

    port = _free_port()
    env = {**os.environ, "INCIDENT_SVC_VAR_DIR": str(tmp_path / "var")}
    child = subprocess.Popen(
        [sys.executable, "-m", "incident_svc", "mailsink", "--port", str(port), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client = smtplib.SMTP("127.0.0.1", port, timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "mailsink did not start"
                time.sleep(0.1)
        with client:
            client.sendmail("security@example.com", ["p9@example.org"], _message(9))
    finally:
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
    assert child.returncode == 0, err
    assert '"message_id": "<n9@example.com>"' in out
    assert f"listening on 127.0.0.1:{port}" in err
    assert message_ids(tmp_path / "var" / "mail") == ["<n9@example.com>"]


async def test_the_sink_offers_smtputf8_for_international_addresses(tmp_path: Path) -> None:
    seen: list[Stored] = []
    recipient = "用户@例子.广告"
    data = (
        f"From: security@example.com\r\nTo: {recipient}\r\nMessage-ID: <u1@example.com>\r\n"
        "Subject: Notice\r\n\r\nHello\r\n"
    ).encode()
    async with (
        serve(host="127.0.0.1", port=0, maildir=tmp_path / "mail", announce=seen.append) as bound,
        SmtpPool(SmtpSettings(host=bound[0], port=bound[1], pool_size=1)) as pool,
    ):
        await pool.send(sender="security@example.com", recipient=recipient, data=data)
    assert [s.recipients for s in seen] == [("用户@xn--fsqu00a.xn--4rr70v",)]
    assert message_ids(tmp_path / "mail") == ["<u1@example.com>"]


def test_the_line_shows_the_subject_as_people_read_it() -> None:
    from datetime import UTC, datetime

    stored = Stored(
        datetime(2026, 11, 28, tzinfo=UTC), "a@example.com", ("b@example.org",), "<m@x>",
        "=?utf-8?b?6LOH5paZ?= INC-1", 10, "k",
    )  # fmt: skip
    assert stored.line().endswith('10B "資料 INC-1"')
