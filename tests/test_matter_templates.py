"""The policy-change and disclosure notice templates, in English and Traditional Chinese
(Hong Kong): rendered through the real catalog and checked for what each must say."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from incident_svc.config import OrgSettings
from incident_svc.notices import matter_notices as mn
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.rendering import render_email

URL = "https://www.example.com/privacy/2026-12"
SUMMARIES = {
    "en": "We now keep call detail records for 12 months instead of 6.\n\nWe added a processor.",
    "zh-Hant": "我們現在保留通話紀錄十二個月，而非六個月。\n\n我們新增了一個資料處理者。",
}
TAKES_EFFECT = datetime(2027, 1, 14, 23, 30, tzinfo=UTC)  # 15 January in Hong Kong
AUTHORITY = "Hong Kong Police Force, Cyber Security and Technology Crime Bureau"
BASIS = "Search warrant under section 50 of the Police Force Ordinance (Cap. 232)"


def _reader(locale: str) -> mn.Reader:
    return mn.Reader("Chan Tai Man", "p1@example.net", "P1", locale, "Asia/Hong_Kong")


@pytest.mark.parametrize("locale", ["en", "zh-Hant-HK"])
def test_policy_notice_says_what_when_and_where(locale: str) -> None:
    catalog = TemplateCatalog(None)
    context = mn.policy_context(
        reader=_reader(locale), org=OrgSettings(), labels=catalog.labels(locale),
        version="2026-12", summaries=SUMMARIES, url=URL, takes_effect=TAKES_EFFECT,
    )  # fmt: skip
    notice = render_email(catalog, mn.POLICY_KIND, locale, context)
    assert mn.check_policy_notice(context, notice) == []
    assert "2026-12" in notice.subject
    assert ("15" in notice.text) and ("2027" in notice.text)  # the reader's date, not UTC's
    assert ("六個月" in notice.text) == locale.startswith("zh")


def test_policy_check_finds_a_template_that_omits_the_link(tmp_path: Path) -> None:
    folder = tmp_path / "ops" / "email" / mn.POLICY_KIND / "en"
    folder.mkdir(parents=True)
    (folder / "body.txt.j2").write_text(
        "{{ policy.summary }} from {{ policy.takes_effect | date }}"
    )
    catalog = TemplateCatalog(tmp_path / "ops")
    context = mn.policy_context(
        reader=_reader("en"), org=OrgSettings(), labels=catalog.labels("en"),
        version="2026-12", summaries=SUMMARIES, url=URL, takes_effect=TAKES_EFFECT,
    )  # fmt: skip
    found = mn.check_policy_notice(context, render_email(catalog, mn.POLICY_KIND, "en", context))
    assert [(f.part, f.message) for f in found] == [("text", f"where to read it: {URL}")]


@pytest.mark.parametrize("locale", ["en", "zh-Hant-HK"])
@pytest.mark.parametrize("withheld", [(), ("authority",), ("legal_basis", "received_at")])
def test_disclosure_notice_says_all_but_what_counsel_withheld(
    locale: str, withheld: tuple[str, ...]
) -> None:
    catalog = TemplateCatalog(None)
    labels = catalog.labels(locale)
    context = mn.disclosure_context(
        reader=_reader(locale), org=OrgSettings(), labels=labels, ref="DIS-2026-0001",
        authority=AUTHORITY, legal_basis=BASIS, received_at=datetime(2025, 9, 3, 2, tzinfo=UTC),
        categories=["call_detail_records", "contact"], withheld=withheld,
    )  # fmt: skip
    secrets = {"authority": AUTHORITY, "legal_basis": BASIS, "received_at": "2025"}
    context["withheld_values"] = [secrets[w] for w in withheld if w != "received_at"]
    notice = render_email(catalog, mn.DISCLOSURE_KIND, locale, context)
    assert mn.check_disclosure_notice(context, notice) == []
    assert (AUTHORITY in notice.text) == ("authority" not in withheld)
    assert (BASIS in notice.html) == ("legal_basis" not in withheld)
    assert ("2025" in notice.text) == ("received_at" not in withheld)
    assert labels["categories"]["call_detail_records"] in notice.text


def test_disclosure_check_catches_a_leak() -> None:
    catalog = TemplateCatalog(None)
    context = mn.disclosure_context(
        reader=_reader("en"), org=OrgSettings(), labels=catalog.labels("en"), ref="DIS-1",
        authority=AUTHORITY, legal_basis=BASIS, received_at=datetime(2026, 9, 3, tzinfo=UTC),
        categories=["contact"], withheld=["authority"],
    )  # fmt: skip
    notice = render_email(catalog, mn.DISCLOSURE_KIND, "en", context)
    leaked = notice.__class__(notice.subject, notice.text + AUTHORITY, notice.html, ())
    context["withheld_values"] = [AUTHORITY]
    found = mn.check_disclosure_notice(context, leaked)
    assert [(f.code, f.part) for f in found] == [("withheld_shown", "text")]
