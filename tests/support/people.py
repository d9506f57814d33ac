"""Incidents with affected people, written straight into the tables (set-based for volume)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from incident_svc.domain.enums import Severity
from incident_svc.domain.times import utcnow
from incident_svc.models import Account, Exposure, Incident, Subject

TEXTS = {
    "en": {
        "what_happened": "A storage bucket holding contact details was readable from the internet.",
        "consequences": "Someone may use your contact details to send you convincing phishing.",
        "measures": "We closed the bucket the same day and reviewed every other one.",
        "protective_steps": "Be wary of messages asking for your password; we never ask.",
        "contact": "privacy@example.com",
    },
    "zh-Hant": {
        "what_happened": "一個儲存聯絡資料的儲存區曾可從互聯網讀取。",
        "consequences": "有人可能利用你的聯絡資料發送釣魚訊息。",
        "measures": "我們當日已關閉該儲存區，並檢查了所有其他儲存區。",
        "protective_steps": "請提防要求你提供密碼的訊息；我們從不會這樣做。",
        "contact": "privacy@example.com",
    },
}


def address(n: int) -> str:
    return f"person{n}@example.org"


async def crm_incident(ref: str = "INC-2026-0001", **fields: Any) -> Incident:
    """An incident naming the crm system's contact data, with no people yet (resolving it finds
    them through their holdings); ``fields`` override its texts."""
    values: dict[str, Any] = {
        "title": "t", "summary": "s", "severity": Severity.HIGH, "discovered_at": utcnow(),
        "created_by": "alice", "systems": ["crm"], "categories": ["contact"], **fields,
    }  # fmt: skip
    return await Incident.create(ref=ref, **values)


async def make_incident(
    subjects: int,
    *,
    ref: str = "INC-2026-0001",
    accounts: int = 2,
    opt_out_every: int = 0,
    first: int = 0,
) -> Incident:
    """An incident whose exposures name ``subjects`` people spread over ``accounts`` accounts."""
    incident = await Incident.create(
        ref=ref,
        title="Test incident",
        summary="Data left in a public bucket.",
        severity=Severity.HIGH,
        # an hour ago: its regulator reminders (24 and 4 hours before the 72-hour deadline)
        # are far off, so a test's service sends only what the test asks for, on any date
        discovered_at=utcnow() - timedelta(hours=1),
        created_by="alice",
        texts=TEXTS,
    )
    account_rows = [
        await Account.get_or_create(
            account_ref=f"ACC-{a}",
            defaults={
                "name": f"Customer {a}",
                "region": "GB",
                "holder_email": f"holder{a}@customer.example",
                "holder_name": f"Holder {a}",
            },
        )
        for a in range(accounts)
    ]
    await Subject.bulk_create(
        [
            Subject(
                external_ref=f"S-{n}",
                email=address(n),
                name=f"Person {n}",
                locale="zh-Hant" if n % 3 == 0 else "en",
                jurisdiction="GB",
                account_id=account_rows[n % accounts][0].id if accounts else None,
                marketing_opt_out=bool(opt_out_every) and n % opt_out_every == 0,
            )
            for n in range(first, first + subjects)
        ],
        batch_size=1000,
    )
    ids = await Subject.filter(
        external_ref__in=[f"S-{n}" for n in range(first, first + subjects)]
    ).values_list("id", flat=True)
    await Exposure.bulk_create(
        [Exposure(incident_id=incident.id, subject_id=i, categories=["contact"]) for i in ids],
        batch_size=1000,
    )
    return incident
