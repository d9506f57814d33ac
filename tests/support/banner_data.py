"""Rows for banner tests: one incident, two accounts, affected and unaffected people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from incident_svc.domain.enums import Severity
from incident_svc.models import Account, Exposure, Incident, Subject


@dataclass(frozen=True)
class World:
    incident: Incident
    affected: Subject  # ACME, exposed, reads zh-Hant
    colleague: Subject  # ACME, not exposed
    stranger: Subject  # GLOBEX, not exposed


async def make_world() -> World:
    acme = await Account.create(
        account_ref="ACME", name="Acme", region="HK", holder_email="h@acme.test", holder_name="H"
    )
    globex = await Account.create(
        account_ref="GLOBEX", name="Globex", region="GB", holder_email="h@gx.test", holder_name="G"
    )
    incident = await Incident.create(
        ref="INC-2026-0007",
        title="Billing system intrusion",
        summary="Someone read billing addresses.",
        severity=Severity.HIGH,
        discovered_at=datetime(2026, 11, 27, tzinfo=UTC),
        texts={"zh-Hant": {"what_happened": "有人讀取了帳單地址。"}},
        created_by="tester",
    )
    affected = await _person("P-1", acme, "zh-Hant")
    colleague = await _person("P-2", acme, "en")
    stranger = await _person("P-3", globex, "en")
    await Exposure.create(incident=incident, subject=affected, categories=["billing_address"])
    return World(incident=incident, affected=affected, colleague=colleague, stranger=stranger)


async def _person(ref: str, account: Account, locale: str) -> Subject:
    return await Subject.create(
        external_ref=ref,
        email=f"{ref.lower()}@mail.test",
        name=ref,
        locale=locale,
        jurisdiction="HK",
        account=account,
    )
