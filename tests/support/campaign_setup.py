"""A sendable campaign (incident with texts, affected people, approved, scheduled), via services.

Created and approved by two people with SSH keys of their own (signed approval mode).

The services are the ones the CLI calls, so this is what `campaign create/approve/schedule`
write; tests of the service process then only watch what `serve` does with it.
"""

from __future__ import annotations

from datetime import datetime

from incident_svc.config import Settings
from incident_svc.models import Campaign, Incident
from incident_svc.services.delivery import campaigns
from tests.support import people, signers

TEXTS = {
    "en": {
        "what_happened": "A backup of our customer database was copied.",
        "consequences": "Someone could send you convincing phishing email.",
        "measures": "We closed the access and rotated every key.",
        "protective_steps": "Be wary of emails that ask for passwords or payment.",
        "contact": "Our privacy team answers questions every day.",
    },
    "zh-Hant": {
        "what_happened": "我們客戶資料庫的備份被複製。",
        "consequences": "有人可能向閣下發出以假亂真的釣魚電郵。",
        "measures": "我們已封鎖存取並更換所有密鑰。",
        "protective_steps": "請提防要求密碼或付款的電郵。",
        "contact": "我們的私隱事務團隊每日均會解答查詢。",
    },
}


async def scheduled_campaign(
    settings: Settings,
    *,
    subjects: int,
    at: datetime | None,
    ref: str = "INC-2026-0001",
    first: int = 0,
) -> Campaign:
    """``subjects`` affected people, and their notice approved; scheduled for ``at`` if given."""
    incident = await people.make_incident(subjects, ref=ref, first=first)
    await Incident.filter(id=incident.id).update(texts=TEXTS, categories=["contact"])
    campaign = await signers.create_signed(ref, by="alice")
    await signers.approve_signed(settings, campaign.id, by="bob")
    if at is not None:
        await schedule(settings, campaign.id, at)
    return await campaigns.get(campaign.id)


async def schedule(settings: Settings, campaign_id: int, at: datetime) -> None:
    await campaigns.schedule(
        campaign_id=campaign_id, at=at, actor="alice", key=None, settings=settings
    )
