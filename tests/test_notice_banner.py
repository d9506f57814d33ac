"""Banner texts for the website: plain text per locale, with a stable content hash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from incident_svc.config import Settings
from incident_svc.notices.banner_text import content_hash, render_banner_texts
from tests.notice_data import make_incident


async def test_banner_texts_in_both_locales(db_conn: str, settings: Settings) -> None:
    incident = await make_incident()
    texts = await render_banner_texts(
        incident_id=incident.id, locales=["en", "zh-Hant-HK", "fr"], settings=settings
    )
    assert set(texts) == {"en", "zh-Hant-HK", "fr"}
    assert texts["en"]["title"] == "Security notice: Example Ltd incident INC-2026-0001"
    assert "November 22, 2026" in texts["en"]["body"]
    assert "privacy@example.com" in texts["en"]["body"]
    assert texts["zh-Hant-HK"]["title"] == "保安通知：Example Ltd 事故 INC-2026-0001"
    assert "2026年11月22日" in texts["zh-Hant-HK"]["body"]
    assert "請留意信用卡月結單" in texts["zh-Hant-HK"]["body"]
    assert texts["fr"] == texts["en"]  # no French templates: English
    for locale_texts in texts.values():
        assert "<" not in locale_texts["body"] and "\n" not in locale_texts["title"]


async def test_operator_banner_and_content_hash(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    incident = await make_incident()
    folder = tmp_path / "tpl" / "banner" / "en"
    folder.mkdir(parents=True)
    (folder / "title.j2").write_text("Heads up: {{ incident.ref }}\n", encoding="utf-8")
    settings = settings_for(db_conn, templates_dir=str(tmp_path / "tpl"))
    texts = await render_banner_texts(incident_id=incident.id, locales=["en"], settings=settings)
    assert texts["en"]["title"] == "Heads up: INC-2026-0001"
    digest = content_hash(texts["en"])
    assert digest == content_hash(dict(reversed(list(texts["en"].items()))))  # order-free
    assert digest != content_hash({**texts["en"], "title": "Heads up: INC-2026-0002"})
    assert len(digest) == 64
