"""`incident-svc campaign` end to end: the commands people type, against a real database."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from typer.testing import CliRunner

from incident_svc import db
from incident_svc.cli.main import app
from incident_svc.domain.times import utcnow
from incident_svc.errors import IncidentSvcError
from incident_svc.models import Delivery
from incident_svc.services.delivery import campaign_start, campaigns
from tests.support import signers
from tests.support.approval import OFF, OPEN
from tests.support.people import make_incident

T = TypeVar("T")


def in_db(url: str, work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        async with db.database(url):
            return await work()

    return asyncio.run(main())


@dataclass
class Result:
    code: int
    out: str


def cli(url: str, actor: str, *args: str, **extra: str) -> Result:
    env = {"INCIDENT_SVC_DATABASE_URL": url, "INCIDENT_SVC_ACTOR": actor, **extra}
    result = CliRunner().invoke(app, list(args), env=env)
    if isinstance(result.exception, IncidentSvcError):
        return Result(result.exception.exit_code, str(result.exception))
    return Result(result.exit_code, result.output)


def test_create_approve_hold_release_schedule(database_url: str) -> None:
    in_db(database_url, lambda: make_incident(5))
    keys = signers.shared()
    signed = {
        "INCIDENT_SVC_APPROVAL__MODE": "signed",
        "INCIDENT_SVC_APPROVAL__ALLOWED_SIGNERS": str(keys.allowed_signers),
    }
    created = cli(database_url, "alice", "campaign", "create", "INC-2026-0001", "--kind",
                  "subject_notice", "--sign-with", str(keys.key("alice")), "--json", **signed)  # fmt: skip
    assert created.code == 0, created.out
    campaign_id = json.loads(created.out)["id"]
    for key in ("alice", "alice.pub"):  # the creator's own key, also through its public half
        refused = cli(database_url, "bob", "campaign", "approve", str(campaign_id),
                      "--sign-with", str(keys.key(key)), **signed)  # fmt: skip
        assert refused.code == 6 and "different person" in refused.out, refused.out
    approved = cli(database_url, "bob", "campaign", "approve", str(campaign_id),
                   "--sign-with", str(keys.key("bob")), "--json", **signed)  # fmt: skip
    shown = json.loads(approved.out)
    assert (shown["approved_by"], shown["approver_principal"]) == ("bob", "bob")
    assert (shown["created_by"], shown["creator_principal"]) == ("alice", "alice")
    digest = shown["approval_digest"]
    assert len(digest) == 64 and json.loads(created.out)["approval_digest"] is None
    assert json.loads(created.out)["approval_required"] is True
    assert digest in cli(database_url, "bob", "campaign", "show", str(campaign_id)).out
    held = cli(database_url, "bob", "campaign", "hold", str(campaign_id), "--until", "2099-01-01T00:00:00Z",
               "--reason", "police request 17", "--json")  # fmt: skip
    assert json.loads(held.out)["hold_reason"] == "police request 17"
    assert cli(database_url, "bob", "campaign", "release", str(campaign_id)).code == 0
    scheduled = cli(
        database_url,
        "bob",
        "campaign",
        "schedule",
        str(campaign_id),
        "--at",
        "2099-01-01T09:00:00+08:00",
        "--json",
    )
    data = json.loads(scheduled.out)
    assert (data["status"], data["scheduled_at"]) == ("scheduled", "2099-01-01T01:00:00+00:00")
    listed = json.loads(cli(database_url, "bob", "campaign", "list", "--json").out)
    assert [c["id"] for c in listed] == [campaign_id]
    status = json.loads(
        cli(database_url, "bob", "campaign", "status", str(campaign_id), "--json").out
    )
    assert status["counts"]["pending"] == 0 and status["hold_until"] is None
    shown = json.loads(cli(database_url, "bob", "campaign", "show", str(campaign_id), "--json").out)
    assert shown["approval_digest"] == digest  # hold, release and schedule keep the approval


def test_approval_switched_off_by_environment_does_not_unlock_a_campaign(
    database_url: str,
) -> None:
    in_db(database_url, lambda: make_incident(2))
    created = cli(database_url, "alice", "campaign", "create", "INC-2026-0001", "--kind",
                  "subject_notice", "--json")  # fmt: skip
    campaign_id = str(json.loads(created.out)["id"])
    off = {"INCIDENT_SVC_APPROVAL__REQUIRED": "false", "INCIDENT_SVC_SMTP__PORT": "9"}
    sent = cli(database_url, "alice", "campaign", "send", campaign_id, "--now", **off)
    assert sent.code == 6 and "is not approved yet" in sent.out and "\n" not in sent.out.strip()
    approved = cli(database_url, "alice", "campaign", "approve", campaign_id, **off)
    assert approved.code == 6 and "different person" in approved.out
    shown = json.loads(cli(database_url, "bob", "campaign", "show", campaign_id, "--json").out)
    assert (shown["status"], shown["approval_required"]) == ("draft", True)
    assert shown["deliveries"]["pending"] == 0
    assert in_db(database_url, lambda: Delivery.all().count()) == 0


def test_bad_time_and_unknown_campaign_are_one_line_errors(database_url: str) -> None:
    bad = cli(database_url, "bob", "campaign", "schedule", "1", "--at", "2099-01-01T09:00:00")
    assert bad.code != 0 and "no UTC offset" in bad.out
    missing = cli(database_url, "bob", "campaign", "show", "999")
    assert missing.code == 4 and "campaign 999 does not exist" in missing.out


def test_ledger_export_csv_escapes_formulas_and_jsonl_carries_proof(
    database_url: str, tmp_path: Path
) -> None:
    async def seed() -> int:
        await make_incident(3)
        campaign = await campaigns.create(
            incident_ref="INC-2026-0001",
            kind="subject_notice",
            at=None,
            actor="a",
            key=None,
            approval=OPEN,
        )
        await campaign_start.start(
            campaign_id=campaign.id, now=utcnow(), actor="a", key=None, settings=OFF
        )
        await Delivery.filter(recipient_ref="S-1").update(
            status="sent", smtp_reply="=HYPERLINK(\"http://evil\")", message_id="<m1@example.com>",
            content_hash="ab" * 32, sent_at=utcnow(),
        )  # fmt: skip
        return campaign.id

    campaign_id = in_db(database_url, seed)
    out = cli(
        database_url,
        "bob",
        "campaign",
        "ledger",
        str(campaign_id),
        "--export",
        str(tmp_path / "proof.csv"),
        "--json",
    )
    assert json.loads(out.out)["rows"] == 3
    with (tmp_path / "proof.csv").open(newline="", encoding="utf-8") as handle:
        rows = {r["recipient_ref"]: r for r in csv.DictReader(handle)}
    assert rows["S-1"]["smtp_reply"] == '\'=HYPERLINK("http://evil")'
    assert rows["S-1"]["content_sha256"] == "ab" * 32
    assert rows["S-0"]["status"] == "pending"
    cli(
        database_url,
        "bob",
        "campaign",
        "ledger",
        str(campaign_id),
        "--export",
        str(tmp_path / "proof.jsonl"),
    )
    lines = [json.loads(line) for line in (tmp_path / "proof.jsonl").read_text().splitlines()]
    sent = [line for line in lines if line["status"] == "sent"]
    assert sent[0]["message_id"] == "<m1@example.com>" and sent[0]["smtp_reply"].startswith(
        "=HYPER"
    )
    bad = cli(
        database_url,
        "bob",
        "campaign",
        "ledger",
        str(campaign_id),
        "--export",
        str(tmp_path / "proof.txt"),
    )
    assert bad.code == 5 and "proof.txt" in bad.out


def test_status_watch_ends_when_the_campaign_ends(database_url: str) -> None:
    async def seed() -> int:
        await make_incident(2)
        campaign = await campaigns.create(
            incident_ref="INC-2026-0001",
            kind="subject_notice",
            at=None,
            actor="a",
            key=None,
            approval=OPEN,
        )
        await campaign_start.start(
            campaign_id=campaign.id, now=utcnow(), actor="a", key=None, settings=OFF
        )
        await Delivery.filter(campaign_id=campaign.id).update(status="sent", sent_at=utcnow())
        await campaigns.complete_if_done(campaign_id=campaign.id, now=utcnow(), actor="a", key=None)
        return campaign.id

    campaign_id = in_db(database_url, seed)
    watched = cli(database_url, "bob", "campaign", "status", str(campaign_id), "--watch")
    assert watched.code == 0, watched.out
    assert "completed" in watched.out and "2/2" in watched.out
