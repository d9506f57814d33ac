"""Campaign lifecycle in a real database: four eyes, schedule, hold, cancel, start_due."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from tortoise import connections

from incident_svc import db
from incident_svc.domain.enums import CampaignStatus, DeliveryStatus
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, NotFoundError, ValidationError
from incident_svc.models import AuditEvent, Campaign, Delivery
from incident_svc.services.delivery import campaign_start, campaign_views, campaigns
from tests.support.approval import OFF, OPEN
from tests.support.people import make_incident
from tests.support.signers import approve_signed, create_signed


async def draft(kind: str = "subject_notice", **options: Any) -> Campaign:
    return await campaigns.create(
        incident_ref="INC-2026-0001", kind=kind, at=None, actor="alice", key=None, **options
    )


async def test_create_counts_the_audience_and_audits(db_conn: str) -> None:
    await make_incident(7, accounts=3)
    campaign = await draft()
    holders = await draft(kind="account_holder_notice")
    assert (campaign.audience_count, holders.audience_count) == (7, 3)
    assert campaign.status is CampaignStatus.DRAFT
    event = await AuditEvent.filter(action="campaign.created").first()
    assert event is not None and json.loads(event.details)["incident"] == "INC-2026-0001"


@pytest.mark.parametrize(
    ("kind", "channels", "field"),
    [
        ("banner", ["email"], "kind"),
        ("nonsense", ["email"], "kind"),
        ("subject_notice", ["sms"], "channels"),
    ],
)
async def test_bad_input_names_the_field_and_changes_nothing(
    db_conn: str, kind: str, channels: list[str], field: str
) -> None:
    await make_incident(2)
    with pytest.raises(ValidationError) as info:
        await campaigns.create(
            incident_ref="INC-2026-0001", kind=kind, channels=channels, at=None, actor="a", key=None
        )
    assert info.value.field == field
    assert await Campaign.all().count() == 0


async def test_unknown_incident(db_conn: str) -> None:
    with pytest.raises(NotFoundError, match="INC-2099-0001"):
        await campaigns.create(
            incident_ref="INC-2099-0001", kind="subject_notice", at=None, actor="a", key=None
        )


async def test_four_eyes(db_conn: str, settings: Any) -> None:
    await make_incident(2)
    campaign = await create_signed(by="alice")
    # the same database role / OS account as the creator, whatever the label says
    for label in ("alice", "bob"):
        with pytest.raises(ConflictError, match="different person"):
            await campaigns.approve(
                campaign_id=campaign.id, actor=label, key=None, settings=settings
            )
    with pytest.raises(ConflictError, match="not approved"):
        await campaign_start.start(
            campaign_id=campaign.id, now=utcnow(), actor="alice", key=None, settings=settings
        )
    assert await Delivery.all().count() == 0
    approved = await approve_signed(settings, campaign.id, by="bob")
    assert (approved.status, approved.approved_by) == (CampaignStatus.APPROVED, "bob")
    assert (approved.creator_principal, approved.approver_principal) == ("alice", "bob")
    with pytest.raises(ConflictError):
        await campaigns.approve(campaign_id=campaign.id, actor="carol", key=None, settings=settings)


async def test_without_four_eyes_the_creator_may_approve(db_conn: str, settings_for: Any) -> None:
    settings = settings_for(db_conn, approval={"required": False})
    await make_incident(2)
    campaign = await draft(approval=OPEN)
    approved = await campaigns.approve(
        campaign_id=campaign.id, actor="alice", key=None, settings=settings
    )
    assert approved.status is CampaignStatus.APPROVED


async def test_start_due_starts_each_due_campaign_once_and_records_lateness(
    db_conn: str, settings: Any
) -> None:
    await make_incident(5)
    now = utcnow()
    due, later, held = await create_signed(), await create_signed(), await create_signed()
    for campaign, at in (
        (due, now - timedelta(minutes=3)),
        (later, now + timedelta(hours=1)),
        (held, now),
    ):
        await approve_signed(settings, campaign.id, by="bob")
        await campaigns.schedule(
            campaign_id=campaign.id, at=at, actor="bob", key=None, settings=settings
        )
    await campaigns.hold(
        campaign_id=held.id,
        until=now + timedelta(hours=2),
        reason="police request 17",
        actor="bob",
        key=None,
    )
    assert await campaign_start.start_due(now=now, actor="scheduler", settings=settings) == [due.id]
    assert (
        await campaign_start.start_due(now=now, actor="scheduler", settings=settings) == []
    )  # idempotent
    assert await Delivery.filter(campaign_id=due.id).count() == 5
    assert await Delivery.filter(campaign_id__in=[later.id, held.id]).count() == 0
    started = await AuditEvent.get(action="campaign.started")
    assert json.loads(started.details)["lateness_seconds"] == pytest.approx(180.0, abs=1.0)
    await campaigns.release(campaign_id=held.id, actor="bob", key=None)
    assert await campaign_start.start_due(now=now, actor="scheduler", settings=settings) == [
        held.id
    ]


async def test_start_twice_plans_once(db_conn: str, settings_for: Any) -> None:
    await make_incident(4)
    campaign = await draft(approval=OPEN)
    assert await campaign_start.start(
        campaign_id=campaign.id, now=utcnow(), actor="a", key=None, settings=OFF
    )
    assert not await campaign_start.start(
        campaign_id=campaign.id, now=utcnow(), actor="a", key=None, settings=OFF
    )
    assert await Delivery.filter(campaign_id=campaign.id).count() == 4


async def test_account_holder_notice_goes_to_each_affected_account_once(db_conn: str) -> None:
    await make_incident(10, accounts=3)
    campaign = await draft(kind="account_holder_notice", approval=OPEN)
    await campaign_start.start(
        campaign_id=campaign.id, now=utcnow(), actor="a", key=None, settings=OFF
    )
    rows = (
        await Delivery.filter(campaign_id=campaign.id)
        .order_by("recipient_ref")
        .values_list("recipient_ref", "address")
    )
    assert rows == [(f"ACC-{a}", f"holder{a}@customer.example") for a in range(3)]


async def test_hold_needs_a_reason_and_a_future_time(db_conn: str) -> None:
    await make_incident(1)
    campaign = await draft()
    with pytest.raises(ValidationError, match="reason"):
        await campaigns.hold(
            campaign_id=campaign.id,
            until=utcnow() + timedelta(hours=1),
            reason=" ",
            actor="a",
            key=None,
        )
    with pytest.raises(ValidationError, match="future"):
        await campaigns.hold(
            campaign_id=campaign.id,
            until=utcnow() - timedelta(hours=1),
            reason="x",
            actor="a",
            key=None,
        )
    with pytest.raises(ConflictError, match="not on hold"):
        await campaigns.release(campaign_id=campaign.id, actor="a", key=None)


async def test_cancel_stops_pending_work_and_keeps_proof(db_conn: str) -> None:
    await make_incident(6)
    campaign = await draft(approval=OPEN)
    await campaign_start.start(
        campaign_id=campaign.id, now=utcnow(), actor="a", key=None, settings=OFF
    )
    await Delivery.filter(campaign_id=campaign.id, recipient_ref="S-0").update(
        status=DeliveryStatus.SENT
    )
    cancelled = await campaigns.cancel(campaign_id=campaign.id, actor="bob", key=None)
    assert cancelled.status is CampaignStatus.CANCELLED
    counts = await campaigns.delivery_counts(campaign.id)
    assert (counts["sent"], counts["cancelled"], counts["pending"]) == (1, 5, 0)
    with pytest.raises(ConflictError):
        await campaigns.cancel(campaign_id=campaign.id, actor="bob", key=None)
    status = await campaign_views.status(campaign.id)
    assert status["counts"]["cancelled"] == 5 and status["eta_seconds"] is None


async def refuse_deliveries_of(campaign_id: int) -> None:
    """Make the database refuse to plan one campaign's deliveries (a trigger, either backend)."""
    conn = connections.get("default")
    if db.dialect(conn) == "postgres":
        await conn.execute_script(
            "CREATE FUNCTION refuse_delivery() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'refused by the test trigger'; END $$ LANGUAGE plpgsql; "
            "CREATE TRIGGER refuse_delivery BEFORE INSERT ON delivery FOR EACH ROW "
            f"WHEN (NEW.campaign_id = {campaign_id}) EXECUTE FUNCTION refuse_delivery();"
        )
    else:
        await conn.execute_script(
            "CREATE TRIGGER refuse_delivery BEFORE INSERT ON delivery "
            f"WHEN NEW.campaign_id = {campaign_id} "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END;"
        )


async def test_start_due_starts_the_others_when_one_cannot_start(
    db_conn: str, settings_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(db_conn, approval={"required": False})
    await make_incident(3)
    now = utcnow()
    first, second, third = (
        await draft(approval=OPEN),
        await draft(approval=OPEN),
        await draft(approval=OPEN),
    )
    for campaign in (first, second, third):
        await campaigns.schedule(
            campaign_id=campaign.id, at=now, actor="bob", key=None, settings=settings
        )
    await refuse_deliveries_of(first.id)
    assert await campaign_start.start_due(now=now, actor="scheduler", settings=settings) == [
        second.id,
        third.id,
    ]
    assert (await Campaign.get(id=first.id)).status is CampaignStatus.SCHEDULED  # still due
    assert await Delivery.filter(campaign_id=first.id).count() == 0  # rolled back whole
    assert await Delivery.filter(campaign_id__in=[second.id, third.id]).count() == 6
    assert f"campaign {first.id} could not be started" in caplog.text
    assert "refused by the test trigger" in caplog.text
    await connections.get("default").execute_script("DROP TRIGGER refuse_delivery ON delivery"
        if db.dialect() == "postgres" else "DROP TRIGGER refuse_delivery")  # fmt: skip
    assert await campaign_start.start_due(now=now, actor="scheduler", settings=settings) == [
        first.id
    ]


async def test_start_due_skips_a_campaign_cancelled_meanwhile(
    db_conn: str, settings_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(db_conn, approval={"required": False})
    await make_incident(2)
    now = utcnow()
    cancelled, other = await draft(approval=OPEN), await draft(approval=OPEN)
    for campaign in (cancelled, other):
        await campaigns.schedule(
            campaign_id=campaign.id, at=now, actor="bob", key=None, settings=settings
        )
    real_start = campaign_start.start

    async def start_after_a_cancel(**kwargs: Any) -> bool:
        """Another process cancels the first campaign between start_due's read and its start."""
        if kwargs["campaign_id"] == cancelled.id:
            await campaigns.cancel(campaign_id=cancelled.id, actor="carol", key=None)
        return await real_start(**kwargs)

    monkeypatch.setattr(campaign_start, "start", start_after_a_cancel)
    assert await campaign_start.start_due(now=now, actor="scheduler", settings=settings) == [
        other.id
    ]
    assert (await Campaign.get(id=cancelled.id)).status is CampaignStatus.CANCELLED
    assert await Delivery.filter(campaign_id=cancelled.id).count() == 0
