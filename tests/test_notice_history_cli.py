"""`campaign create --audience`, `incident notices` and `incident affected` as people type them:
counts before approval, the history in human, JSON and export form, hostile values."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from incident_svc.models import Campaign
from tests.support import followup, signers
from tests.support.cli import cli, in_db
from tests.support.followup import address
from tests.support.smtpd import smtp_server

REF = followup.REF


def signed_env() -> dict[str, str]:
    keys = signers.shared()
    return {
        "INCIDENT_SVC_APPROVAL__MODE": "signed",
        "INCIDENT_SVC_APPROVAL__ALLOWED_SIGNERS": str(keys.allowed_signers),
    }


def told_three_then_grew(url: str, settings_for: Any) -> None:
    """People 0-2 told; then 3 and 4 affected too, and person 0 no longer."""

    async def work() -> None:
        async with smtp_server() as server:
            settings = followup.mail_settings(settings_for, url, server.host, server.port)
            await followup.incident_affecting(range(0, 3))
            await followup.approve_and_send(settings, await followup.create())
        await followup.add_people(range(3, 5))
        await followup.remove_person(0)
        await followup.resolve()

    in_db(url, work)


def test_create_prints_the_groups_before_approval(database_url: str, settings_for: Any) -> None:
    told_three_then_grew(database_url, settings_for)
    keys = signers.shared()
    args = (
        "campaign",
        "create",
        REF,
        "--kind",
        "subject_notice",
        "--sign-with",
        str(keys.key("alice")),
    )
    created = cli(database_url, "alice", *args, "--json", **signed_env())
    assert created.code == 0, created.out
    data = json.loads(created.out)
    assert (data["status"], data["audience_rule"], data["audience"]) == ("draft", "new", 2)
    assert data["audience_groups"] == {
        "new": 2, "not_reached": 0, "in_flight": 0, "reached": 2, "told": 2,
        "new_left_out": 0, "not_reached_left_out": 0, "in_flight_left_out": 0,
        "reached_left_out": 0, "told_left_out": 0, "told_no_longer_affected": 1,
    }  # fmt: skip
    assert data["audience_by_rule"]["new"] == {"recipients": 2, "left_out": 0}
    human = cli(database_url, "alice", *args, "--audience", "all", **signed_env())
    assert human.code == 0, human.out
    assert "audience: all, 4 recipient(s)" in human.out
    assert "never sent this kind" in human.out and "told, but no longer affected" in human.out
    assert "each --audience now" in human.out and "address bounced" in human.out
    assert "created campaign" in human.out and "draft" in human.out

    bad = cli(database_url, "alice", *args, "--audience", "everyone", **signed_env())
    assert bad.code == 5 and "'everyone' is not an audience" in bad.out, bad.out
    assert "\n" not in bad.out.strip()
    assert (
        in_db(database_url, lambda: Campaign.all().count()) == 3
    )  # the refused one was not created


def test_incident_notices_human_json_and_export(
    database_url: str, settings_for: Any, tmp_path: Path
) -> None:
    told_three_then_grew(database_url, settings_for)
    shown = json.loads(cli(database_url, "bob", "incident", "notices", REF, "--json").out)
    assert shown["total"] == 3
    assert [(n["recipient_ref"], n["outcome"]) for n in shown["notices"]] == [
        ("S-0", "accepted"), ("S-1", "accepted"), ("S-2", "accepted"),
    ]  # fmt: skip
    assert all(len(n["content_sha256"]) == 64 and n["channel"] == "email" for n in shown["notices"])
    one = json.loads(
        cli(database_url, "bob", "incident", "notices", REF, "--subject", "S-1", "--json").out
    )
    assert [n["address"] for n in one["notices"]] == [address(1)]

    human = cli(database_url, "bob", "incident", "notices", REF, "--limit", "2")
    assert human.code == 0 and "S-1" in human.out and "S-2" not in human.out
    assert "1 more: use --export FILE" in human.out

    out = tmp_path / "history.csv"
    exported = cli(database_url, "bob", "incident", "notices", REF, "--export", str(out))
    assert exported.code == 0 and "wrote 3 notices" in exported.out
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["recipient_ref"] for r in rows] == ["S-0", "S-1", "S-2"]
    assert rows[0]["content_sha256"] == shown["notices"][0]["content_sha256"]

    wrong = cli(
        database_url, "bob", "incident", "notices", REF, "--export", str(tmp_path / "h.txt")
    )
    assert wrong.code == 5 and not (tmp_path / "h.txt").exists()
    missing = cli(database_url, "bob", "incident", "notices", "INC-1999-0001", "--export", str(out))
    assert missing.code == 4


def test_affected_lists_people_told_but_no_longer_affected(
    database_url: str, settings_for: Any
) -> None:
    told_three_then_grew(database_url, settings_for)
    data = json.loads(cli(database_url, "bob", "incident", "affected", REF, "--json").out)
    gone = data["told_no_longer_affected"]
    assert gone["count"] == 1
    assert [(p["ref"], p["address"], p["notices"]) for p in gone["people"]] == [
        ("S-0", address(0), 1)
    ]
    human = cli(database_url, "bob", "incident", "affected", REF).out
    assert "told but no longer affected: 1" in human and "S-0" in human
