"""Four-eyes attacks against a real database (SQLite or PostgreSQL) and a real aiosmtpd.

One test process is one OS account and one database role, so in identity mode it can never
approve what it created, whatever it calls itself; in signed mode two SSH keys are two
people. Every refused attempt leaves the campaign a draft, unaudited, and sends nothing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from incident_svc.config import Settings
from incident_svc.domain.enums import CampaignStatus
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, IncidentSvcError, ValidationError
from incident_svc.models import AuditEvent, Campaign, CampaignSignature, Incident
from incident_svc.services.delivery import approvers, campaign_start, campaigns, ledger
from tests.support import sending, signers
from tests.support.campaign_setup import TEXTS
from tests.support.people import make_incident
from tests.support.smtpd import SmtpServer, smtp_server

LABELS = ["alice", "alice ", "ALICE", "ａｌｉｃｅ", "bob", "security-lead"]


def mail_settings(settings_for: Any, url: str, server: SmtpServer, **approval: Any) -> Settings:
    return settings_for(  # type: ignore[no-any-return]
        url, smtp={"host": server.host, "port": server.port, "timeout": 5.0}, approval=approval
    )


async def incident() -> None:
    made = await make_incident(3)
    made.texts = TEXTS
    made.categories = ["contact"]
    await made.save()


async def assert_untouched(
    campaign_id: int, settings: Settings, server: SmtpServer, *, approved_before: bool = False
) -> None:
    """A draft with no approver, no approval audited (beyond one before), nothing sendable."""
    campaign = await Campaign.get(id=campaign_id)
    assert campaign.status is CampaignStatus.DRAFT
    assert (campaign.approved_by, campaign.approver_identity, campaign.approver_principal) == (
        None,
        None,
        None,
    )
    approvals = int(approved_before)
    assert await AuditEvent.filter(action="campaign.approved").count() == approvals
    assert await CampaignSignature.filter(role="approver").count() == approvals
    with pytest.raises(ConflictError, match="not approved"):
        await sending.send_now(campaign_id=campaign_id, settings=settings, actor="alice")
    assert server.handler.received == []


@pytest.mark.parametrize("label", LABELS)
async def test_identity_mode_the_creator_cannot_approve_under_any_label(
    db_conn: str, settings_for: Any, label: str
) -> None:
    async with smtp_server() as server:
        settings = mail_settings(settings_for, db_conn, server)
        await incident()
        campaign = await campaigns.create(
            incident_ref="INC-2026-0001", kind="subject_notice", at=None, actor="alice", key=None
        )
        assert campaign.creator_identity is not None
        assert campaign.creator_identity.startswith(("os:", "postgres:"))
        with pytest.raises(ConflictError, match="different person") as info:
            await campaigns.approve(
                campaign_id=campaign.id, actor=label, key=None, settings=settings
            )
        assert campaign.creator_identity in str(info.value)
        await assert_untouched(campaign.id, settings, server)


async def test_identity_mode_one_account_with_two_keys_is_still_one_person(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        keys = signers.shared()
        settings = mail_settings(
            settings_for, db_conn, server, allowed_signers=str(keys.allowed_signers)
        )
        await incident()
        campaign = await signers.create_signed(by="alice")
        with pytest.raises(ConflictError, match="different person"):
            await campaigns.approve(
                campaign_id=campaign.id,
                actor="bob",
                key=None,
                settings=settings,
                signature=await keys.approval("bob", campaign.id, settings),
            )
        await assert_untouched(campaign.id, settings, server)


async def attempt(settings: Settings, campaign_id: int, signature: Any) -> IncidentSvcError:
    with pytest.raises(IncidentSvcError) as info:
        await campaigns.approve(
            campaign_id=campaign_id, actor="bob", key=None, settings=settings, signature=signature
        )
    assert "\n" not in str(info.value)
    return info.value


async def test_signed_mode_refuses_self_foreign_wrong_namespace_and_wrong_digest(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    keys = signers.shared()
    async with smtp_server() as server:
        settings = keys.settings(mail_settings(settings_for, db_conn, server))
        await incident()
        campaign = await signers.create_signed(by="alice")
        other = await signers.create_signed(by="alice")
        text = await approvers.text_to_sign(campaign.id, settings)
        refused = {
            "self": await attempt(
                settings, campaign.id, await keys.approval("alice", campaign.id, settings)
            ),
            "foreign": await attempt(settings, campaign.id, keys.signature("eve", text)),
            "namespace": await attempt(settings, campaign.id, keys.signature("bob", text, "git")),
            "digest": await attempt(
                settings, campaign.id, await keys.approval("bob", other.id, settings)
            ),
            "unsigned": await attempt(settings, campaign.id, None),
        }
        assert isinstance(refused["self"], ConflictError) and "alice" in str(refused["self"])
        assert "not listed" in str(refused["foreign"])
        assert "does not verify" in str(refused["namespace"])
        assert "does not verify" in str(refused["digest"])
        assert isinstance(refused["unsigned"], ValidationError)
        assert all(isinstance(e, ValidationError) for k, e in refused.items() if k != "self")
        await assert_untouched(campaign.id, settings, server)

        approved = await signers.approve_signed(settings, campaign.id, by="bob")
        assert (approved.creator_principal, approved.approver_principal) == ("alice", "bob")
        event = await AuditEvent.get(action="campaign.approved")
        details = json.loads(event.details)
        assert (details["approver_principal"], details["mode"]) == ("bob", "signed")
        assert details["approver_identity"] == approved.approver_identity
        created = json.loads((await AuditEvent.filter(action="campaign.created").first()).details)  # type: ignore[union-attr]
        assert created["creator_principal"] == "alice"

        # approved by another key: it is sent, and the proof of dispatch names the approver
        counts = await sending.send_now(campaign_id=campaign.id, settings=settings, actor="bob")
        assert counts["sent"] == len(server.handler.received) == 3
        proof = tmp_path / "proof.jsonl"
        assert await ledger.export(campaign_id=campaign.id, path=proof) == 3
        rows = [json.loads(line) for line in proof.read_text().splitlines()]
        assert {(r["approver"], r["approved_by"]) for r in rows} == {("bob", "bob")}


async def test_a_principal_that_normalises_to_the_creator_is_the_creator(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    keys = signers.shared()
    lines = keys.allowed_signers.read_text().splitlines()
    eve = (keys.folder / "eve.pub").read_text().split()[:2]
    allowed = tmp_path / "allowed_signers"
    allowed.write_text("\n".join([*lines, f"ＡＬＩＣＥ {' '.join(eve)}"]) + "\n")  # full width
    async with smtp_server() as server:
        settings = keys.settings(
            mail_settings(settings_for, db_conn, server), allowed_signers=allowed
        )
        await incident()
        campaign = await signers.create_signed(by="alice")
        text = await approvers.text_to_sign(campaign.id, settings)
        refused = await attempt(settings, campaign.id, keys.signature("eve", text))
        assert isinstance(refused, ConflictError) and "different person" in str(refused)
        await assert_untouched(campaign.id, settings, server)


async def test_signed_mode_needs_a_signed_creation_used_once(
    db_conn: str, settings_for: Any
) -> None:
    keys = signers.shared()
    async with smtp_server() as server:
        settings = keys.settings(mail_settings(settings_for, db_conn, server))
        await incident()
        unsigned = await campaigns.create(
            incident_ref="INC-2026-0001", kind="subject_notice", at=None, actor="alice", key=None
        )
        signature = await keys.approval("bob", unsigned.id, settings)
        refused = await attempt(settings, unsigned.id, signature)
        assert isinstance(refused, ConflictError) and "did not sign" in str(refused)
        await assert_untouched(unsigned.id, settings, server)

        statement = keys.creation("alice", "INC-2026-0001", "subject_notice")
        await campaigns.create(
            incident_ref="INC-2026-0001", kind="subject_notice", at=None, actor="alice",
            key=None, signed=statement, settings=settings,
        )  # fmt: skip
        with pytest.raises(ConflictError, match="used before"):  # replayed by someone else
            await campaigns.create(
                incident_ref="INC-2026-0001", kind="subject_notice", at=None, actor="mallory",
                key=None, signed=statement, settings=settings,
            )  # fmt: skip
        with pytest.raises(ValidationError, match="not about"):
            await campaigns.create(
                incident_ref="INC-2026-0001", kind="account_holder_notice", at=None,
                actor="mallory", key=None, signed=statement, settings=settings,
            )  # fmt: skip
        assert await Campaign.all().count() == 2


async def test_kept_signatures_verify_again_with_plain_ssh_keygen(
    db_conn: str, settings: Settings, tmp_path: Path
) -> None:
    await incident()
    campaign = await signers.create_signed(by="alice")
    await signers.approve_signed(settings, campaign.id, by="bob")
    kept = await CampaignSignature.filter(campaign_id=campaign.id).order_by("id")
    assert [(s.role, s.principal) for s in kept] == [("creator", "alice"), ("approver", "bob")]
    for row in kept:
        (tmp_path / "sig").write_text(row.signature)
        done = subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", str(signers.shared().allowed_signers),
             "-I", row.principal, "-n", "incident-svc-approval", "-s", str(tmp_path / "sig")],
            input=row.text.encode(), capture_output=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr


async def test_an_approval_signature_does_not_survive_a_change(
    db_conn: str, settings_for: Any
) -> None:
    """Texts changed after a signed approval: back to draft, the approver forgotten, and the
    old signature (over the old digest) cannot approve the new content; a new one can."""
    keys = signers.shared()
    async with smtp_server() as server:
        settings = keys.settings(mail_settings(settings_for, db_conn, server))
        await incident()
        campaign = await signers.create_signed(by="alice")
        old = await keys.approval("bob", campaign.id, settings)
        await campaigns.approve(
            campaign_id=campaign.id, actor="bob", key=None, settings=settings, signature=old
        )
        changed = {**TEXTS, "en": {**TEXTS["en"], "what_happened": "Click https://evil.example"}}
        await Incident.filter(ref="INC-2026-0001").update(texts=changed)
        with pytest.raises(ConflictError, match="draft again"):
            await campaign_start.start(
                campaign_id=campaign.id, now=utcnow(), actor="alice", key=None, settings=settings
            )
        await assert_untouched(campaign.id, settings, server, approved_before=True)
        refused = await attempt(settings, campaign.id, old)
        assert isinstance(refused, ValidationError) and "does not verify" in str(refused)
        again = await signers.approve_signed(settings, campaign.id, by="bob")
        assert (again.status, again.approver_principal) == (CampaignStatus.APPROVED, "bob")
