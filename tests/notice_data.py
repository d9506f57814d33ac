"""Incident, subjects, accounts and exposures written straight through the models, for notice tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from incident_svc.domain.enums import Severity
from incident_svc.models import Account, Exposure, Incident, Subject

EN_TEXTS = {
    "what_happened": "An unauthorised party copied a backup of our billing database.",
    "consequences": "Someone could try to use your card or send you convincing phishing email.",
    "measures": "We revoked the leaked credentials and rotated every key on that server.",
    "protective_steps": "Watch your card statements and be wary of emails asking for payment.",
    "contact": "Our privacy team answers questions about this incident every day.",
}
ZH_TEXTS = {
    "what_happened": "一名未經授權人士複製了我們帳單資料庫的備份。",
    "consequences": "有人可能嘗試盜用閣下的信用卡，或向閣下發出以假亂真的釣魚電郵。",
    "measures": "我們已撤銷外洩的登入憑證，並更換了該伺服器上的所有密鑰。",
    "protective_steps": "請留意信用卡月結單，並提防要求付款的電郵。",
    "contact": "我們的私隱事務團隊每日均會解答有關是次事故的查詢。",
}


async def make_incident(ref: str = "INC-2026-0001", **changes: Any) -> Incident:
    fields: dict[str, Any] = {
        "ref": ref,
        "title": "Billing database backup copied",
        "summary": "A backup was copied.",
        "severity": Severity.HIGH,
        "occurred_from": datetime(2026, 11, 20, 1, 0, tzinfo=UTC),
        "occurred_to": datetime(2026, 11, 21, 3, 30, tzinfo=UTC),
        "discovered_at": datetime(2026, 11, 22, 9, 15, tzinfo=UTC),
        "categories": ["contact", "payment_card"],
        "texts": {"en": EN_TEXTS, "zh-Hant": ZH_TEXTS},
        "created_by": "tester",
    }
    fields.update(changes)
    return await Incident.create(**fields)


async def make_account(ref: str = "ACME", **changes: Any) -> Account:
    fields: dict[str, Any] = {
        "account_ref": ref,
        "name": "Acme Trading",
        "region": "HK",
        "holder_email": "holder@acme.example",
        "holder_name": "Wong Siu Ming",
        "locale": "en",
    }
    fields.update(changes)
    return await Account.create(**fields)


async def make_subject(
    incident: Incident, ref: str, categories: list[str] | None = None, **changes: Any
) -> Subject:
    fields: dict[str, Any] = {
        "external_ref": ref,
        "email": f"{ref.lower()}@example.net",
        "name": f"Person {ref}",
        "locale": "en",
        "jurisdiction": "GB",
        "timezone": "Europe/London",
    }
    fields.update(changes)
    subject = await Subject.create(**fields)
    await Exposure.create(
        incident=incident, subject=subject, categories=categories or ["contact", "payment_card"]
    )
    return subject
