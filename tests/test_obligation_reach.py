"""Each exposure's kept first reach (``first_reached_at``) against the old query over deliveries
and banners, through the real paths that change it: the outbox group commit (sent, failed,
retried), a bounce after acceptance, substitute notice, a banner withdrawn, the affected list
written anew, and migration 0011's backfill."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections

from incident_svc.compliance_rules import load_rules
from incident_svc.config import Settings
from incident_svc.domain.compliance import compute_obligations
from incident_svc.domain.enums import AttemptOutcome
from incident_svc.domain.times import utcnow
from incident_svc.models import Banner, Campaign, Exposure, Incident, Subject
from incident_svc.services.bounce import substitute
from incident_svc.services.delivery import outbox
from incident_svc.services.incident import reach
from incident_svc.services.obligations.compute import (
    fulfilments_of,
    gather_facts,
    obligations_for,
)
from incident_svc.services.obligations.residence import census, reach_from_sources
from incident_svc.services.website import banners
from tests.test_outbox import claim, context, started

S = timedelta(seconds=1)


async def first_reach() -> dict[str, datetime | None]:
    rows = await Exposure.all().prefetch_related("subject")
    return {row.subject.external_ref: row.first_reached_at for row in rows}


async def same_as_before(settings: Settings, campaign: Campaign) -> None:
    """The kept column gives the reach, and so the statuses, the old query gave."""
    incident = await Incident.get(id=campaign.incident_id)  # type: ignore[attr-defined]
    kept = (await census(incident.id)).reach
    old = await reach_from_sources(incident.id)
    assert kept == old
    computed = await obligations_for(ref=incident.ref, settings=settings, at=utcnow())
    before = compute_obligations(
        load_rules(settings),
        await gather_facts(incident, settings),
        now=computed.now,
        fulfilments=await fulfilments_of(incident.id),
        reach=old,
    )
    view = [(o.key, o.status, o.met_at, o.reason) for o in computed.obligations]
    assert view == [(o.key, o.status, o.met_at, o.reason) for o in before]


async def record(campaign: Campaign, at: datetime, results: dict[str, AttemptOutcome]) -> None:
    batch = await claim(campaign, "w1", now=at)
    refs = dict(await Subject.all().values_list("id", "external_ref"))
    outcomes = [
        outbox_outcome(c, results[refs[c.subject_id]])
        for c in batch
        if refs[c.subject_id] in results
    ]
    await outbox.record(context(campaign, "w1"), outcomes, now=at)


def outbox_outcome(claimed: outbox.Claimed, outcome: AttemptOutcome) -> outbox.Outcome:
    code = {AttemptOutcome.ACCEPTED: 250, AttemptOutcome.PERMANENT: 550}.get(outcome, 451)
    return outbox.Outcome(
        claimed.delivery_id,
        claimed.attempts + 1,
        outcome,
        code,
        f"{code} x",
        subject_id=claimed.subject_id,
    )


async def test_sent_bounced_substituted_withdrawn_and_re_reached(
    db_conn: str, settings_for: Any
) -> None:
    settings = settings_for(db_conn)
    campaign = await started(4)
    t1 = utcnow()
    await record(
        campaign,
        t1,
        {
            "S-0": AttemptOutcome.ACCEPTED,
            "S-1": AttemptOutcome.ACCEPTED,
            "S-2": AttemptOutcome.PERMANENT,  # refused by the relay: failed, not reached
            "S-3": AttemptOutcome.TRANSIENT,  # tried again later
        },
    )
    assert await first_reach() == {"S-0": t1, "S-1": t1, "S-2": None, "S-3": None}
    await same_as_before(settings, campaign)

    # S-1's mail bounced after acceptance: proof of dispatch stands (docs/obligations.md)
    conn = connections.get("default")
    s1 = await Subject.get(external_ref="S-1")
    await conn.execute_query(
        "UPDATE delivery SET outcome = 'bounced' WHERE subject_id = " + str(s1.id)
    )
    assert (await first_reach())["S-1"] == t1
    await same_as_before(settings, campaign)

    # substitute notice: personal banners for S-1 (bounced) and S-2 (failed)
    created = await substitute.publish(settings=settings, key=None, actor="ops")
    assert len(created) == 2
    starts = {
        b.subject.external_ref: b.starts_at
        for b in await Banner.filter(id__in=created).prefetch_related("subject")
    }
    reached = await first_reach()
    assert reached["S-1"] == t1  # the earlier of the sent notice and the banner
    assert reached["S-2"] == starts["S-2"] and reached["S-3"] is None
    await same_as_before(settings, campaign)

    # S-3 retried and accepted later: reached then
    t3 = utcnow() + 600 * S
    await record(campaign, t3, {"S-3": AttemptOutcome.ACCEPTED})
    assert (await first_reach())["S-3"] == t3
    await same_as_before(settings, campaign)

    # withdrawing the banners: S-2 is not reached any more, S-1 still by the sent mail
    for banner_id in created:
        await banners.withdraw(banner_id=banner_id, reason="wrong text", actor="ops", key=None)
    assert await first_reach() == {"S-0": t1, "S-1": t1, "S-2": None, "S-3": t3}
    await same_as_before(settings, campaign)


async def test_exposures_written_anew_and_the_migration_backfill(
    db_conn: str, settings_for: Any
) -> None:
    settings = settings_for(db_conn)
    campaign = await started(3)
    t1 = utcnow()
    await record(campaign, t1, {"S-0": AttemptOutcome.ACCEPTED, "S-1": AttemptOutcome.PERMANENT})
    await substitute.publish(settings=settings, key=None, actor="ops")
    expected = await first_reach()
    assert expected["S-0"] == t1 and expected["S-1"] is not None and expected["S-2"] is None

    # the affected list written anew (services/incident/affected.py deletes and inserts the rows)
    conn = connections.get("default")
    s0 = await Subject.get(external_ref="S-0")
    await Exposure.filter(subject_id=s0.id).delete()
    await Exposure.create(incident_id=campaign.incident_id, subject_id=s0.id, categories=["x"])  # type: ignore[attr-defined]
    assert (await first_reach())["S-0"] is None
    await reach.fill_new(conn, incident_id=campaign.incident_id)  # type: ignore[attr-defined]
    assert await first_reach() == expected

    # migration 0011 fills the column from the rows already there
    await Exposure.all().update(first_reached_at=None)
    migration = importlib.import_module("incident_svc.migrations.0012_i18_perf").Migration
    for statement in migration.operations[2].sql:
        await conn.execute_script(statement)
    assert await first_reach() == expected
    await same_as_before(settings, campaign)


async def test_nothing_sent_gives_no_reach(db_conn: str) -> None:
    campaign = await started(2)
    incident_id = campaign.incident_id  # type: ignore[attr-defined]
    assert (await census(incident_id)).reach == await reach_from_sources(incident_id)
    assert set((await first_reach()).values()) == {None}
