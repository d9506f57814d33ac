"""`incident report --locale zh-Hant-HK`: the PCPD form's labels and headings in Traditional
Chinese, the facts exactly as recorded, in every format; any other locale refused in one line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_svc import db
from incident_svc.config import Settings
from incident_svc.domain.reports.locales import LOCALES, check_locale
from incident_svc.errors import ValidationError
from incident_svc.services.obligations import reports
from tests.notice_data import EN_TEXTS, ZH_TEXTS
from tests.support.html_check import parse_strict
from tests.support.report_data import spread_incident
from tests.test_cli_shell import cli
from tests.test_reports import NOW

PCPD = "hk-pdpo-pcpd"
TEXT_FIELDS = {"contact", "nature", "risk", "measures", "consequences", "protective_steps"}


@pytest.fixture
def config(db_conn: str, settings_for: Any) -> Settings:
    return settings_for(db_conn)  # type: ignore[no-any-return]


async def both(config: Settings, fmt: str) -> tuple[str, str]:
    """The PCPD draft in English and in zh-Hant-HK."""
    out = []
    for locale in ("en", "zh-Hant-HK"):
        report = await reports.draft(
            ref="INC-2026-0001", rule_id=PCPD, settings=config, now=NOW, locale=locale
        )
        out.append(reports.render(report, fmt, config))
    return out[0], out[1]


async def test_pcpd_labels_in_chinese_facts_as_recorded(config: Settings) -> None:
    await spread_incident()
    en_text, zh_text = await both(config, "json")
    en, zh = json.loads(en_text), json.loads(zh_text)
    assert (en["locale"], zh["locale"]) == ("en", "zh-Hant-HK")
    assert zh["rule"]["title"] == "資料外洩事故通報表格（個人資料私隱專員公署）"
    labels = {f["key"]: f["label"] for f in zh["fields"]}
    assert labels["data_user"] == "資料使用者"
    assert labels["contact"] == "聯絡人"
    assert labels["nature"] == "事故詳情"
    assert labels["categories"] == "涉及的個人資料種類"
    assert labels["measures"] == "已採取的補救行動"
    assert labels["people_told"] == "是否已通知受影響的資料當事人"
    assert all(not label.isascii() for label in labels.values())  # every label translated
    # the same fields in the same order, the same gaps and counts; the incident's free texts
    # as recorded in zh-Hant (tests/notice_data.py), every other value as in English
    assert [(f["key"], f["missing"]) for f in zh["fields"]] == [
        (f["key"], f["missing"]) for f in en["fields"]
    ]
    en_values = {f["key"]: f["value"] for f in en["fields"]}
    zh_values = {f["key"]: f["value"] for f in zh["fields"]}
    assert en_values["measures"] == EN_TEXTS["measures"].strip()
    assert zh_values["measures"] == ZH_TEXTS["measures"].strip()
    assert zh_values["risk"] == ZH_TEXTS["consequences"].strip()
    same = set(en_values) - TEXT_FIELDS
    assert {k: zh_values[k] for k in same} == {k: en_values[k] for k in same}
    assert zh["counts"] == en["counts"]
    assert [m["key"] for m in zh["missing"]] == [m["key"] for m in en["missing"]]
    assert zh["rule"]["citation"] == en["rule"]["citation"]  # citations are not translated


async def test_markdown_and_html_headings(config: Settings) -> None:
    await spread_incident(occurred_from=None, occurred_to=None)
    _, markdown = await both(config, "md")
    headings = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    assert headings[0] == "資料使用者" and headings[-2:] == ["統計", "欠缺的資料"]
    assert markdown.startswith("# 資料外洩事故通報表格")
    assert "- 事故: INC-2026-0001" in markdown
    assert "**欠缺**: record --occurred-from" in markdown  # the hint stays a command
    _, html = await both(config, "html")
    assert '<html lang="zh-Hant-HK">' in html
    page = "".join(parse_strict(html).text)
    assert "受影響人數" in page and "事故發生的時間" in page


async def test_english_is_unchanged_by_default(config: Settings) -> None:
    await spread_incident()
    report = await reports.draft(ref="INC-2026-0001", rule_id=PCPD, settings=config, now=NOW)
    markdown = reports.render(report, "md", config)
    assert markdown.startswith("# Data breach notification form (PCPD)")
    assert "## Counts" in markdown and "- Incident: INC-2026-0001" in markdown


def test_cli_locale(database_url: str, tmp_path: Path) -> None:
    async def seed() -> None:
        await db.open_database(database_url)
        try:
            await spread_incident()
        finally:
            await db.close_database()

    asyncio.run(seed())
    args = ("incident", "report", "INC-2026-0001", "--rule", PCPD)
    done = cli(*args, "--locale", "zh-hant-hk", "--format", "json", database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["locale"] == "zh-Hant-HK"
    out = tmp_path / "pcpd.html"
    bad = cli(*args, "--locale", "fr", "--out", str(out), database_url=database_url)
    assert bad.returncode == 5
    assert (
        bad.stderr.strip().splitlines()
        == ["error: no report wording for locale 'fr'; one of en, zh-Hant-HK"]
        or "no report wording for locale 'fr'" in bad.stderr
    )
    assert not out.exists()  # nothing written


@settings(max_examples=200, deadline=None)
@given(locale=st.one_of(st.text(max_size=60), st.sampled_from(["zh-Hant-HK", "EN", "zh_Hant_HK"])))
def test_any_locale_is_found_or_refused_in_one_line(locale: str) -> None:
    try:
        found = check_locale(locale)
    except ValidationError as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc)
        assert exc.field == "--locale"
    else:
        assert found in LOCALES
        assert found.lower() == locale.strip().replace("_", "-").lower()
