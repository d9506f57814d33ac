"""Messages to the security team are well-formed: the regulator reminder through a real relay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

import dkim
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from incident_svc.config import Settings, load_settings
from incident_svc.errors import ValidationError
from incident_svc.mail.internal_message import internal_message, send_internal
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.services.obligations import reminders
from tests.support import rows
from tests.support.dkim_keys import make_key_pair
from tests.support.smtp_catcher import Catcher, smtp_catcher

T0 = datetime.fromisoformat("2026-11-28T09:00:00+00:00")
TEAM = "team@security.example"


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    return make_key_pair(tmp_path_factory.mktemp("dkim"))


@pytest.fixture
async def catcher() -> AsyncIterator[Catcher]:
    async with smtp_catcher() as server:
        yield server


def _config(settings_for: Any, db_conn: str, catcher: Catcher, **extra: Any) -> Settings:
    return settings_for(  # type: ignore[no-any-return]
        db_conn,
        mail_from="Example Security <security@notices.example.com>",
        security_team_email=TEAM,
        smtp={"host": catcher.host, "port": catcher.port},
        **extra,
    )


async def _reminder_wire(config: Settings, catcher: Catcher) -> bytes:
    await rows.incident("INC-2026-0042", discovered_at=T0)
    sent: list[bytes] = []
    async with SmtpPool(config.smtp) as pool:

        async def send(message: reminders.InternalMessage) -> object:
            sent.append(message.data)
            return await send_internal(pool, message)

        done = await reminders.send_due(now=T0 + timedelta(hours=49), settings=config, send=send)
    assert len(done) == 1
    assert len(catcher.to(TEAM)) == 1
    return sent[0]


async def test_reminder_is_a_well_formed_message(
    db_conn: str, settings_for: Any, catcher: Catcher
) -> None:
    wire = await _reminder_wire(_config(settings_for, db_conn, catcher), catcher)
    parsed = BytesParser(policy=policy.default).parsebytes(wire)
    assert parsedate_to_datetime(parsed["Date"]) == T0 + timedelta(hours=49)
    message_id = str(parsed["Message-ID"])
    assert message_id.startswith("<reminder.") and message_id.endswith("@notices.example.com>")
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["MIME-Version"] == "1.0"
    assert parseaddr(str(parsed["To"]))[1] == TEAM
    assert parseaddr(str(parsed["From"]))[1] == "security@notices.example.com"
    assert "DKIM-Signature" not in parsed  # not configured
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None and "regulator-notified INC-2026-0042" in body.get_content()
    assert not parsed.defects
    # what the relay received is the same message
    [received] = catcher.to(TEAM)
    assert received["Message-ID"] == message_id


async def test_reminder_is_dkim_signed_when_configured(
    db_conn: str, settings_for: Any, catcher: Catcher, key_pair: tuple[Path, bytes]
) -> None:
    private, record = key_pair
    dkim_settings = {"domain": "notices.example.com", "selector": "s1", "private_key_file": private}
    config = _config(settings_for, db_conn, catcher, dkim=dkim_settings)
    wire = await _reminder_wire(config, catcher)
    assert wire.startswith(b"DKIM-Signature:")
    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        asked.append(name)
        return record

    assert dkim.verify(wire, dnsfunc=dns)
    assert asked == [b"s1._domainkey.notices.example.com."]
    assert not dkim.verify(wire.replace(b"Subject: ", b"Subject: Re: ", 1), dnsfunc=dns)


@hsettings(max_examples=60, deadline=None)
@given(subject=st.text(max_size=200), text=st.text(max_size=300))
def test_any_subject_and_text_make_a_well_formed_message_or_one_refusal(
    subject: str, text: str
) -> None:
    config = load_settings(overrides={"security_team_email": TEAM})
    try:
        message = internal_message(config, subject=subject, text=text, kind="checkpoint")
    except ValidationError as exc:
        assert exc.field == "Subject"  # only a line break in the subject is refused
        return
    parsed = BytesParser(policy=policy.default).parsebytes(message.data)
    assert not parsed.defects
    assert str(parsed["Subject"]) == subject
    assert parsed["Message-ID"] == message.message_id
    assert parsed["Auto-Submitted"] == "auto-generated"
    # the body comes back line for line (any line break becomes CRLF on the wire)
    assert parsed.get_content().replace("\r\n", "\n") == (
        "".join(line.decode() + "\n" for line in text.encode().splitlines()) or "\n"
    )
