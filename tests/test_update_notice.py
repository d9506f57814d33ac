"""The update_notice kind: its templates in both languages, its texts, its own content checks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from incident_svc.config import Settings
from incident_svc.domain import incident_fields
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import ValidationError
from incident_svc.models import Subject
from incident_svc.notices import review
from incident_svc.notices.checks import check_notice
from incident_svc.notices.composer import ComposeItem, load_composer
from tests.support import followup

UPDATE = NoticeKind.UPDATE_NOTICE


async def affected_people() -> int:
    incident = await followup.make_incident()
    await followup.add_people(range(0, 4))  # S-0 and S-3 read Traditional Chinese
    await followup.resolve()
    return incident.id


async def test_check_names_the_missing_update_texts(db_conn: str, settings: Settings) -> None:
    await affected_people()
    report = await review.check_incident(incident_ref=followup.REF, kind=UPDATE, settings=settings)
    assert not report.ok and set(report.locales) == {"en", "zh-Hant"}
    for entry in report.locales.values():
        messages = [f.message for _, f in entry.findings if f.code == "missing_text"]
        assert any("no what is new text" in m for m in messages)
        assert any("no what to do now text" in m for m in messages)
    await followup.add_update_texts()
    report = await review.check_incident(incident_ref=followup.REF, kind=UPDATE, settings=settings)
    assert report.ok, {k: v.findings for k, v in report.locales.items()}


@pytest.mark.parametrize(
    ("ref", "subject", "new"),
    [
        ("S-1", "Update on security incident", "phone numbers were in the copied backup"),
        ("S-0", "保安事故最新消息", "被複製的備份亦包含電話號碼"),
    ],
)
async def test_preview_in_each_language(
    db_conn: str, settings: Settings, ref: str, subject: str, new: str
) -> None:
    await affected_people()
    await followup.add_update_texts()
    shown = await review.preview_notice(
        incident_ref=followup.REF, kind=UPDATE, settings=settings, subject_ref=ref
    )
    assert shown.subject.startswith(subject) and followup.REF in shown.subject
    assert new in shown.text and new in shown.html
    assert shown.templates[0].startswith("email/update_notice/")


async def test_update_checks_are_its_own(db_conn: str, settings: Settings) -> None:
    incident_id = await affected_people()
    await followup.add_update_texts()
    composer = await load_composer(incident_id=incident_id, kind=UPDATE, settings=settings)
    item = ComposeItem(1, await subject_id("S-1"), None, followup.address(1), "en", "<x@y.z>")
    [prepared] = await composer.prepare([item])
    rendered = composer.render(prepared)
    assert check_notice(prepared.context, rendered, kind="update_notice") == []
    # the first notice's checks would want its texts: an update is checked for its own
    first = check_notice(prepared.context, rendered, kind="subject_notice")
    assert any("what_happened" in f.message for f in first)

    news = prepared.context["incident"]["what_is_new"]
    cut = replace(rendered, text=rendered.text.replace(news, ""))
    found = check_notice(prepared.context, cut, kind="update_notice")
    assert [(f.part, f.message) for f in found] == [
        ("text", "what is new since the last notice: the incident's what_is_new text")
    ]
    no_ref = replace(rendered, html=rendered.html.replace(followup.REF, "the incident"))
    assert [f.message for f in check_notice(prepared.context, no_ref, kind="update_notice")] == [
        "the incident's reference"
    ]


async def subject_id(ref: str) -> int:
    return (await Subject.get(external_ref=ref)).id


def test_update_texts_are_incident_texts() -> None:
    given = {"en": {"what_is_new": "More was copied.", "what_to_do_now": "Change it."}}
    assert incident_fields.texts(given) == given
    with pytest.raises(ValidationError, match="is not a text name"):
        incident_fields.texts({"en": {"what_is_next": "?"}})
