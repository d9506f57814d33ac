"""The follow-up story end to end on a real aiosmtpd: the affected list grows, `--audience new`
reaches only the new people, an update reaches everyone told before, nobody gets the same
notice twice. Runs on SQLite and PostgreSQL (INCIDENT_SVC_TEST_DB)."""

from __future__ import annotations

from collections import Counter
from email import message_from_bytes, policy
from typing import Any

import pytest

from incident_svc.domain.enums import (
    AudienceRule,
    CampaignStatus,
    DeliveryOutcome,
    DeliveryStatus,
    EmailStatus,
)
from incident_svc.errors import ConflictError
from incident_svc.models import Account, Campaign, Delivery, Exposure, Incident, Subject
from incident_svc.services.delivery import notice_history
from tests.support import followup, people, sending, signers
from tests.support.followup import address
from tests.support.smtpd import Received, Reply, smtp_server


def subjects_by_recipient(received: list[Received]) -> Counter[tuple[str, str]]:
    """(recipient, Subject header) of every message the server accepted, counted."""
    found: Counter[tuple[str, str]] = Counter()
    for message in received:
        parsed = message_from_bytes(message.data, policy=policy.default)
        found[(message.recipient, str(parsed["Subject"]))] += 1
    return found


def recipients(received: list[Received], start: int = 0) -> set[str]:
    return {m.recipient for m in received[start:]}


async def test_follow_up_notices_reach_exactly_the_right_people(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = followup.mail_settings(settings_for, db_conn, server.host, server.port)
        await followup.incident_affecting(range(0, 5))

        first = await followup.create()
        assert first.audience is AudienceRule.ALL  # the kind was never sent
        assert first.audience_count == 5
        assert first.audience_groups["new"] == 5
        await followup.approve_and_send(settings, first)
        assert recipients(server.received) == {address(n) for n in range(5)}

        # the investigation finds three more people; one person turns out not to be affected
        await followup.add_people(range(5, 8))
        await followup.remove_person(0)
        await followup.resolve()
        server.faults[address(7)] = [Reply("550 5.1.1 no such user", at="rcpt")]

        second = await followup.create()
        assert second.audience is AudienceRule.NEW  # the default once the kind was sent
        assert second.audience_count == 3
        groups = second.audience_groups
        assert (groups["new"], groups["reached"], groups["not_reached"]) == (3, 4, 0)
        assert (groups["told"], groups["told_no_longer_affected"]) == (4, 1)
        before = len(server.received)
        await followup.approve_and_send(settings, second)
        assert recipients(server.received, before) == {address(5), address(6)}

        # an update to everyone told before (person 7 bounced at once: never told)
        await followup.add_update_texts()
        update = await followup.create("update_notice")
        assert update.audience is AudienceRule.TOLD
        before = len(server.received)
        await followup.approve_and_send(settings, update)
        told = {address(n) for n in range(1, 7)}
        assert recipients(server.received, before) == told
        assert all(
            "Update on security incident" in subject or "最新消息" in subject
            for (_, subject) in subjects_by_recipient(server.received[before:])
        )

        # the one the first notice never reached: their address was refused for good (550), so
        # it is left out of every approved audience until the inventory supplies a new one
        await Subject.filter(email=address(7)).update(
            email=f"new-{address(7)}", email_status=EmailStatus.OK
        )
        retry = await followup.create(audience="not-reached")
        assert retry.audience_count == 1 and retry.audience_groups["not_reached"] == 1
        before = len(server.received)
        await followup.approve_and_send(settings, retry)
        assert recipients(server.received, before) == {f"new-{address(7)}"}

        # and a second `new` finds nobody left
        assert (await followup.create()).audience_count == 0

    sent = subjects_by_recipient(server.received)
    assert max(sent.values()) == 1, [key for key, n in sent.items() if n > 1]
    assert len(server.received) == 5 + 2 + 6 + 1


async def test_history_names_every_notice_and_how_it_ended(db_conn: str, settings_for: Any) -> None:
    async with smtp_server() as server:
        settings = followup.mail_settings(settings_for, db_conn, server.host, server.port)
        await followup.incident_affecting(range(0, 3))
        server.faults[address(2)] = [Reply("550 5.1.1 no such user", at="rcpt")]
        first = await followup.create()
        await followup.approve_and_send(settings, first)
        await followup.add_update_texts()
        await followup.approve_and_send(settings, await followup.create("update_notice"))

    # a later bounce report (written by bounce ingestion) changes the outcome, not the proof
    bounced = await Delivery.get(campaign_id=first.id, recipient_ref="S-1")
    bounced.outcome = DeliveryOutcome.BOUNCED
    await bounced.save()

    rows = [row async for row in notice_history.rows(followup.REF)]
    by_person: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        by_person.setdefault(row["recipient_ref"], []).append((row["kind"], row["outcome"]))
    assert by_person == {
        "S-0": [("subject_notice", "accepted"), ("update_notice", "accepted")],
        "S-1": [("subject_notice", "bounced"), ("update_notice", "accepted")],
        "S-2": [("subject_notice", "failed")],
    }
    sent = await Delivery.filter(status=DeliveryStatus.SENT).order_by("id")
    assert [r["content_sha256"] for r in rows if r["outcome"] == "accepted"] == [
        d.content_hash for d in sent if d.outcome is None
    ]
    assert all(r["sent_at"] for r in rows if r["outcome"] in ("accepted", "bounced"))
    only = [row async for row in notice_history.rows(followup.REF, subject_ref="S-0")]
    assert [r["kind"] for r in only] == ["subject_notice", "update_notice"]

    # the bounced and the failed one are "not reached"; the bounced one was told, then not.
    # The failed one's address was refused for good (550): left out until the inventory
    # supplies a new one, and counted as left out, so the count is what approval freezes
    retry = await followup.create(audience="not-reached")
    assert retry.audience_count == 1
    assert (
        retry.audience_groups["not_reached"],
        retry.audience_groups["not_reached_left_out"],
    ) == (1, 1)
    approved = await signers.approve_signed(settings, retry.id, by="bob")
    assert approved.audience_count == 1


async def test_a_chosen_audience_that_moved_refuses_the_start(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = followup.mail_settings(settings_for, db_conn, server.host, server.port)
        await followup.incident_affecting(range(0, 3))
        await followup.approve_and_send(settings, await followup.create())
        await followup.add_people(range(3, 5))
        await followup.resolve()
        # two drafts for the same new people, both approved before either starts
        one, two = await followup.create(), await followup.create()
        await signers.approve_signed(settings, two.id, by="bob")
        await followup.approve_and_send(settings, one)
        before = len(server.received)
        with pytest.raises(ConflictError, match=r"audience: 2 recipient\(s\) removed"):
            await sending.send_now(campaign_id=two.id, settings=settings, actor="alice")
    assert len(server.received) == before  # nobody got the notice twice
    assert (await Campaign.get(id=two.id)).status is CampaignStatus.DRAFT


async def test_account_holders_follow_the_same_rules(db_conn: str, settings_for: Any) -> None:
    async with smtp_server() as server:
        settings = followup.mail_settings(settings_for, db_conn, server.host, server.port)
        incident = await people.make_incident(4, ref=followup.REF, accounts=2)
        await Incident.filter(id=incident.id).update(categories=["contact"])
        first = await followup.create("account_holder_notice")
        assert (first.audience, first.audience_count) == (AudienceRule.ALL, 2)
        await followup.approve_and_send(settings, first)
        # a third customer organisation turns out to be affected too
        account = await Account.create(
            account_ref="ACC-9", name="Customer 9", region="GB",
            holder_email="holder9@customer.example", holder_name="Holder 9",
        )  # fmt: skip
        late = await Subject.create(
            external_ref="S-90", email=address(90), name="Person 90", jurisdiction="GB",
            account=account,
        )  # fmt: skip
        await Exposure.create(incident=incident, subject=late, categories=["contact"])
        second = await followup.create("account_holder_notice")
        assert (second.audience, second.audience_count) == (AudienceRule.NEW, 1)
        assert second.audience_groups["reached"] == 2
        await followup.approve_and_send(settings, second)
    assert sorted(m.recipient for m in server.received) == [
        "holder0@customer.example", "holder1@customer.example", "holder9@customer.example",
    ]  # fmt: skip
    rows = [row async for row in notice_history.rows(followup.REF)]
    assert {(r["recipient_ref"], r["recipient_type"], r["outcome"]) for r in rows} == {
        ("ACC-0", "account_holder", "accepted"),
        ("ACC-1", "account_holder", "accepted"),
        ("ACC-9", "account_holder", "accepted"),
    }
