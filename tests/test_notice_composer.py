"""Composing notices from real rows: both locales, fallback, account holders, hostile names."""

from __future__ import annotations

import hashlib
import logging
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast

import pytest

from incident_svc.config import Settings
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import NotFoundError, ValidationError
from incident_svc.models import Subject
from incident_svc.notices.composer import ComposeItem, Composer, OutgoingMessage, load_composer
from incident_svc.notices.errors import ComposeItemError
from tests.notice_data import EN_TEXTS, ZH_TEXTS, make_account, make_incident, make_subject


def parse(message: OutgoingMessage) -> EmailMessage:
    return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(message.data))


def bodies(message: OutgoingMessage) -> tuple[str, str]:
    parsed = parse(message)
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def item(subject: Subject, n: int = 1, **changes: Any) -> ComposeItem:
    fields: dict[str, Any] = {
        "delivery_id": n,
        "subject_id": subject.id,
        "account_id": None,
        "address": subject.email,
        "locale": subject.locale,
        "message_id": f"<delivery.{n}@notices.example.com>",
    }
    fields.update(changes)
    return ComposeItem(**fields)


async def subject_composer(settings: Settings, incident_id: int) -> Composer:
    return await load_composer(
        incident_id=incident_id, kind=NoticeKind.SUBJECT_NOTICE, settings=settings
    )


async def test_english_notice_has_every_part(db_conn: str, settings: Settings) -> None:
    incident = await make_incident()
    person = await make_subject(incident, "S1", categories=["payment_card"])
    composer = await subject_composer(settings, incident.id)
    [message] = await composer.compose_batch([item(person, 7)])
    parsed = parse(message)
    assert message.delivery_id == 7
    assert parsed["Message-ID"] == message.message_id == "<delivery.7@notices.example.com>"
    assert parsed["To"].addresses[0].addr_spec == "s1@example.net"
    assert parsed["From"].addresses[0].addr_spec == "security@example.com"
    assert parsed["Date"].datetime.tzinfo is not None
    assert message.sha256 == hashlib.sha256(message.data).hexdigest()
    assert b"\r\n" in message.data and b"\n" not in message.data.replace(b"\r\n", b"")
    text, html = bodies(message)
    for body in (text, html):
        for value in EN_TEXTS.values():
            assert value in body
        assert "Credit card numbers" in body
        assert "Business contact information" not in body  # not this reader's category
        assert "opted out of marketing" in body
    # London time for a GB reader: 09:15 UTC on 22 November is 09:15 GMT (CLDR puts a
    # narrow no-break space before AM)
    assert "November 22, 2026, 9:15\u202fAM (Greenwich Mean Time)" in text
    assert 'style="' in html and "<style>" not in html.replace("<style>@media", "")


async def test_traditional_chinese_notice_in_hong_kong_time(
    db_conn: str, settings: Settings
) -> None:
    incident = await make_incident()
    person = await make_subject(
        incident, "S2", name="陳大文", locale="zh-Hant-HK", timezone="Asia/Hong_Kong"
    )
    composer = await subject_composer(settings, incident.id)
    [message] = await composer.compose_batch([item(person)])
    parsed = parse(message)
    assert str(parsed["Subject"]).startswith("資料外洩通知")
    assert parsed["To"].addresses[0].display_name == "陳大文"
    text, html = bodies(message)
    for body in (text, html):
        for value in ZH_TEXTS.values():
            assert value in body
        assert "信用卡號碼" in body and "業務聯絡資料" in body
        assert "即使閣下已選擇不接收推廣訊息" in body
        assert "2026年11月22日 下午5:15 (香港標準時間)" in body
        assert "What Happened" not in body  # a Hong Kong reader gets Chinese headings only


async def test_locale_fallback_to_traditional_chinese_and_to_english(
    db_conn: str, settings: Settings
) -> None:
    incident = await make_incident(texts={"en": EN_TEXTS, "zh-Hant": {"what_happened": "中文經過"}})
    hk = await make_subject(incident, "HK", locale="zh-HK")
    fr = await make_subject(incident, "FR", locale="fr-FR")
    composer = await subject_composer(settings, incident.id)
    hk_msg, fr_msg = await composer.compose_batch([item(hk, 1), item(fr, 2)])
    hk_text, _ = bodies(hk_msg)
    assert "中文經過" in hk_text  # zh-HK -> zh-Hant-HK -> zh-Hant
    assert EN_TEXTS["measures"] in hk_text  # a free text missing in Chinese falls back to en
    assert "事件經過" in hk_text
    fr_text, _ = bodies(fr_msg)
    assert "What Happened" in fr_text and EN_TEXTS["what_happened"] in fr_text


async def test_california_reader_gets_the_statutory_title_and_headings(
    db_conn: str, settings: Settings
) -> None:
    incident = await make_incident()
    en = await make_subject(incident, "CA1", jurisdiction="US-CA")
    zh = await make_subject(incident, "CA2", jurisdiction="US-CA", locale="zh-Hant-HK")
    composer = await subject_composer(settings, incident.id)
    for message in await composer.compose_batch([item(en, 1), item(zh, 2)]):
        for body in bodies(message):
            for heading in (
                "Notice of Data Breach",
                "What Happened",
                "What Information Was Involved",
                "What We Are Doing",
                "What You Can Do",
                "For More Information",
            ):
                assert heading.lower() in body.lower()


HOSTILE = "Mallory\r\nBcc: victim@evil.example <script>alert(1)</script>\u202egpj.exe"


async def test_hostile_name_is_safe_in_headers_and_html(db_conn: str, settings: Settings) -> None:
    incident = await make_incident()
    person = await make_subject(incident, "EVIL", name=HOSTILE)
    composer = await subject_composer(settings, incident.id)
    [message] = await composer.compose_batch([item(person)])
    parsed = parse(message)
    assert parsed["Bcc"] is None
    header_block = message.data[: message.data.index(b"\r\n\r\n")]
    names = [line.split(b":")[0] for line in header_block.split(b"\r\n") if line[:1] != b" "]
    assert names == [
        b"Date",
        b"To",
        b"Subject",
        b"Message-ID",
        b"From",
        b"MIME-Version",
        b"Auto-Submitted",
        b"Content-Type",
    ]
    display = parsed["To"].addresses[0].display_name
    assert "\r" not in display and "\n" not in display and "\u202e" not in display
    assert parsed["To"].addresses[0].addr_spec == "evil@example.net"
    text, html = bodies(message)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\u202e" not in html and "\u202e" not in text
    assert "Mallory Bcc: victim@evil.example <script>" in text  # one line, readable


async def test_account_holder_notice_lists_its_people_and_counts(
    db_conn: str, settings: Settings
) -> None:
    incident = await make_incident()
    acme = await make_account("ACME")
    other = await make_account("OTHER", name="Other Co", holder_email="o@other.example")
    await make_subject(incident, "A1", account=acme, categories=["payment_card"])
    await make_subject(incident, "A2", account=acme, categories=["contact", "payment_card"])
    await make_subject(incident, "O1", account=other, categories=["contact"])
    composer = await load_composer(
        incident_id=incident.id, kind=NoticeKind.ACCOUNT_HOLDER_NOTICE, settings=settings
    )
    [message] = await composer.compose_batch(
        [
            ComposeItem(
                delivery_id=3,
                subject_id=None,
                account_id=acme.id,
                address=acme.holder_email,
                locale="en",
                message_id="<acct.3@notices.example.com>",
            )
        ]
    )
    parsed = parse(message)
    assert (
        str(parsed["Subject"])
        == "Security incident INC-2026-0001: 2 people at Acme Trading affected"
    )
    text, _ = bodies(message)
    assert "Person A1 <a1@example.net>" in text and "Person A2" in text
    assert "Person O1" not in text
    assert "Credit card numbers: 2" in text and "Business contact information" in text
    assert "(name, company, address, phone number, email address, job title, department): 1" in text


async def test_items_that_do_not_fit_are_refused(db_conn: str, settings: Settings) -> None:
    incident = await make_incident()
    affected = await make_subject(incident, "IN")
    outsider = await Subject.create(
        external_ref="OUT", email="out@example.net", name="Out", jurisdiction="GB"
    )
    composer = await subject_composer(settings, incident.id)
    with pytest.raises(ComposeItemError, match=r"delivery 1: OUT is not affected"):
        await composer.compose_batch([item(outsider)])
    with pytest.raises(ComposeItemError, match="Message-ID") as caught:
        await composer.compose_batch([item(affected, 1), item(affected, 2, message_id="bad")])
    assert caught.value.delivery_id == 2
    assert isinstance(caught.value.__cause__, ValidationError)
    with pytest.raises(ComposeItemError, match="not an address") as caught:
        await composer.compose_batch([item(affected, 3, address="two words@example.net")])
    assert caught.value.delivery_id == 3
    with pytest.raises(ValidationError, match="field 'kind'"):
        await load_composer(incident_id=incident.id, kind=NoticeKind.BANNER, settings=settings)
    with pytest.raises(NotFoundError):
        await load_composer(incident_id=999, kind=NoticeKind.SUBJECT_NOTICE, settings=settings)


async def test_template_hash_is_stable_and_follows_the_files(
    db_conn: str, settings: Settings, settings_for: Any, tmp_path: Any
) -> None:
    incident = await make_incident()
    first = await subject_composer(settings, incident.id)
    again = await subject_composer(settings, incident.id)
    assert first.template_hash == again.template_hash
    assert len(first.template_hash) == 64
    override = tmp_path / "tpl" / "email" / "subject_notice" / "en"
    override.mkdir(parents=True)
    (override / "subject.j2").write_text("Important: {{ incident.ref }}\n", encoding="utf-8")
    custom = settings_for(db_conn, templates_dir=str(tmp_path / "tpl"))
    changed = await subject_composer(custom, incident.id)
    assert changed.template_hash != first.template_hash
    person = await make_subject(incident, "S9")
    [message] = await changed.compose_batch([item(person)])
    assert str(parse(message)["Subject"]) == "Important: INC-2026-0001"
    text, _ = bodies(message)
    assert "What You Can Do" in text  # the other files are still the built-in ones


class _Queries(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage())


async def test_a_batch_costs_a_few_queries_not_one_per_row(
    db_conn: str, settings: Settings
) -> None:
    incident = await make_incident()
    acme = await make_account("ACME")
    people = [await make_subject(incident, f"Q{n}", account=acme) for n in range(40)]
    composer = await subject_composer(settings, incident.id)
    holders = await load_composer(
        incident_id=incident.id, kind=NoticeKind.ACCOUNT_HOLDER_NOTICE, settings=settings
    )
    logger = logging.getLogger("tortoise.db_client")
    handler, level = _Queries(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        messages = await composer.compose_batch([item(p, n) for n, p in enumerate(people)])
        subject_queries = len(handler.statements)
        holder_item = ComposeItem(99, None, acme.id, acme.holder_email, "en", "<h@example.com>")
        [holder] = await holders.compose_batch([holder_item])
        holder_queries = len(handler.statements) - subject_queries
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert len(messages) == 40
    assert subject_queries == 1, handler.statements
    assert holder_queries == 3, handler.statements  # accounts, people, who was not reached
    assert "Person Q39" in bodies(holder)[0]
