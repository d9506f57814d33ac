"""An incident whose affected list changes over time: people with holdings in one system,
the list resolved by the real service, notices created and approved by two key holders."""

from __future__ import annotations

from typing import Any

from incident_svc.config import Settings
from incident_svc.models import Campaign, Holding, Incident, Subject
from incident_svc.services.incident import affected, incidents
from tests.support import people, sending, signers
from tests.support.campaign_setup import TEXTS

REF = "INC-2026-0001"
UPDATE_TEXTS = {
    "en": {
        "what_is_new": "We found that phone numbers were in the copied backup too.",
        "what_to_do_now": "Do not answer calls that ask you to confirm your account.",
    },
    "zh-Hant": {
        "what_is_new": "我們發現被複製的備份亦包含電話號碼。",
        "what_to_do_now": "請勿回應要求閣下確認帳戶的來電。",
    },
}


def address(n: int) -> str:
    return f"person{n}@example.org"


async def make_incident() -> Incident:
    texts = {locale: {**TEXTS[locale]} for locale in TEXTS}
    return await people.crm_incident(
        REF, title="Customer backup copied", summary="A backup was copied.", texts=texts
    )


async def add_people(numbers: range) -> None:
    """People ``S-n`` holding contact data in the incident's system."""
    for n in numbers:
        subject = await Subject.create(
            external_ref=f"S-{n}",
            email=address(n),
            name=f"Person {n}",
            locale="zh-Hant" if n % 3 == 0 else "en",
            jurisdiction="GB",
        )
        await Holding.create(subject=subject, system="crm", category="contact")


async def incident_affecting(numbers: range) -> affected.Resolution:
    """The follow-up incident with people ``numbers`` in the inventory, resolved as affected."""
    await make_incident()
    await add_people(numbers)
    return await resolve()


async def remove_person(n: int) -> None:
    await Holding.filter(subject__external_ref=f"S-{n}").delete()


async def resolve() -> affected.Resolution:
    return await affected.resolve(ref=REF, actor="alice", key=None)


async def add_update_texts() -> None:
    """The update's texts, through the same service as `incident update --texts`."""
    await incidents.update(ref=REF, actor="alice", key=None, changes={}, texts=UPDATE_TEXTS)


async def create(kind: str = "subject_notice", audience: str | None = None) -> Campaign:
    return await signers.create_signed(REF, kind=kind, by="alice", audience=audience)


async def approve_and_send(settings: Settings, campaign: Campaign) -> dict[str, int]:
    await signers.approve_signed(settings, campaign.id, by="bob")
    return await sending.send_now(
        campaign_id=campaign.id, settings=signers.shared().settings(settings), actor="alice"
    )


def mail_settings(settings_for: Any, url: str, host: str, port: int) -> Settings:
    built: Settings = settings_for(
        url,
        smtp={"host": host, "port": port, "timeout": 5.0, "pool_size": 2},
        delivery={"max_attempts": 1, "retry_base_seconds": 0.05, "batch_size": 10},
    )
    return signers.shared().settings(built)
