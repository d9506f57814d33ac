"""The wording of a report in another language: field labels, form titles and headings.

Only the report's own words change. The facts stay as recorded (the incident's texts, names,
citations and times are not translated, so that what is submitted is what was recorded) and
the hints that tell the operator which command records a missing fact stay in English, the
language of the command line.

``zh-Hant-HK`` (Traditional Chinese, Hong Kong) follows the wording of the Privacy
Commissioner for Personal Data's data breach notification form (資料外洩事故通報表格) for the
fields that form has; the other labels are plain translations. A label missing from a
locale falls back to English, so a new field never breaks a localised report.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from incident_svc.errors import ValidationError

if TYPE_CHECKING:
    from incident_svc.domain.reports.build import Report

DEFAULT = "en"

UI_EN: dict[str, str] = {
    "incident": "Incident",
    "to": "To",
    "citation": "Citation",
    "confidence": "confidence",
    "due": "Due",
    "deadline": "Deadline",
    "drafted": "Drafted",
    "draft_note": "a draft: check every field before sending",
    "missing_mark": "MISSING",
    "counts": "Counts",
    "people_affected": "People affected",
    "data_category": "Data category",
    "people": "People",
    "residence": "Residence",
    "missing_facts": "Missing facts",
    "none": "None.",
    "unknown_fields": "Fields this rule asks for that the service cannot draft",
}

_ZH_HANT_HK_UI: dict[str, str] = {
    "incident": "事故",
    "to": "致",
    "citation": "法律依據",
    "confidence": "可信程度",
    "due": "限期",
    "deadline": "期限",
    "drafted": "擬備時間",
    "draft_note": "此為草稿：提交前請逐項核對",
    "missing_mark": "欠缺",
    "counts": "統計",
    "people_affected": "受影響人數",
    "data_category": "資料類別",
    "people": "人數",
    "residence": "居住地",
    "missing_facts": "欠缺的資料",
    "none": "沒有。",
    "unknown_fields": "此規則要求但本服務未能擬備的項目",
}

_ZH_HANT_HK_LABELS: dict[str, str] = {
    "data_user": "資料使用者",
    "contact": "聯絡人",
    "sector": "所屬界別",
    "nature": "事故詳情",
    "cause": "事故成因",
    "categories": "涉及的個人資料種類",
    "people_count": "受影響的資料當事人的大約數目",
    "records_count": "受影響的紀錄的大約數目",
    "residence": "受影響人士的居住地",
    "residents": "受影響的居民",
    "occurred": "事故發生的時間",
    "dates": "發現事故的時間及期限",
    "consequences": "可能造成的後果",
    "risk": "對資料當事人造成傷害的風險",
    "measures": "已採取的補救行動",
    "protective_steps": "資料當事人可採取的措施",
    "service_provider": "涉及的服務供應商",
    "people_told": "是否已通知受影響的資料當事人",
    "notification_method": "通知資料當事人的方式",
    "delay_reasons": "延誤的原因",
    "law_enforcement_delay": "執法機關要求的延遲",
    "credit_agencies": "消費者信貸資料機構",
    "ftc_contact": "美國聯邦貿易委員會",
    "fraud_alert_freeze": "欺詐警示及信貸凍結",
    "credit_monitoring": "提供的信貸監察服務",
    "police_report_right": "報案",
    "notice_title": "通知的標題",
    "ca_headings": "通知的各部分標題",
    "material_impact": "重大影響",
    "sample_notice": "通知樣本",
}

_ZH_HANT_HK_TITLES: dict[str, str] = {
    "hk-pdpo-pcpd": "資料外洩事故通報表格（個人資料私隱專員公署）",
}

LOCALES: dict[str, tuple[dict[str, str], dict[str, str], dict[str, str]]] = {
    DEFAULT: (UI_EN, {}, {}),
    "zh-Hant-HK": (_ZH_HANT_HK_UI, _ZH_HANT_HK_LABELS, _ZH_HANT_HK_TITLES),
}


def check_locale(locale: str) -> str:
    """The supported locale ``locale`` names (case-insensitive BCP 47 tag), else a one-line
    error naming the ones there are."""
    wanted = locale.strip().replace("_", "-").lower()
    for name in LOCALES:
        if name.lower() == wanted:
            return name
    shown = locale if locale.isprintable() and len(locale) <= 40 else repr(locale[:40])
    raise ValidationError(
        f"no report wording for locale {shown!r}; one of {', '.join(LOCALES)}", field="--locale"
    )


def ui_words(locale: str) -> dict[str, str]:
    """The report's headings and notes in ``locale`` (English where a word is missing)."""
    return {**UI_EN, **LOCALES[check_locale(locale)][0]}


def localise(report: Report, locale: str) -> Report:
    """``report`` with its field labels and form title in ``locale``; values untouched."""
    name = check_locale(locale)
    _, labels, titles = LOCALES[name]
    if not labels and not titles:
        return report
    rule_id = report.rule.id.split(":", 1)[0]
    rule = replace(report.rule, title=titles.get(rule_id, report.rule.title))
    fields = tuple(replace(f, label=labels.get(f.key, f.label)) for f in report.fields)
    return replace(report, rule=rule, fields=fields, locale=name)
