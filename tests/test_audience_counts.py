"""What `campaign create` counts before approval is what the approval freezes, for every
`--audience`, also when some people's address bounced (they are left out, and counted as
left out). Real aiosmtpd; SQLite and PostgreSQL (INCIDENT_SVC_TEST_DB)."""

from __future__ import annotations

from typing import Any

import pytest

from incident_svc.domain.enums import EmailStatus
from incident_svc.models import Campaign, Subject
from incident_svc.services.delivery import audiences, campaign_views
from tests.support import followup, signers
from tests.support.followup import address
from tests.support.smtpd import Reply, smtp_server


async def _create_and_approve(settings: Any, audience: str) -> tuple[Campaign, Campaign]:
    created = await followup.create(audience=audience)
    approved = await signers.approve_signed(settings, created.id, by="bob")
    return created, approved


async def test_counts_before_approval_equal_the_frozen_audience(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = followup.mail_settings(settings_for, db_conn, server.host, server.port)
        await followup.incident_affecting(range(0, 6))
        # person 4's address is refused for good at the first notice (marked bounced)
        server.faults[address(4)] = [Reply("550 5.1.1 no such user", at="rcpt")]
        await followup.approve_and_send(settings, await followup.create())
        assert await Subject.get(email=address(4)).values_list("email_status", flat=True) == (
            EmailStatus.BOUNCED
        )
        # two more people are found; one of them bounced in another matter already
        await followup.add_people(range(6, 8))
        await Subject.filter(email=address(7)).update(email_status=EmailStatus.BOUNCED)
        await followup.resolve()

        expected = {"new": (1, 1), "not-reached": (0, 1), "all": (6, 2), "told": (5, 0)}
        for audience, (recipients, left_out) in expected.items():
            created, approved = await _create_and_approve(settings, audience)
            assert created.audience_count == approved.audience_count == recipients, audience
            rules = audiences.by_rule(created.audience_groups)
            assert rules[audience] == {"recipients": recipients, "left_out": left_out}, rules
            shown = await campaign_views.show(created.id)
            assert shown["audience_by_rule"] == rules

        groups = created.audience_groups
        assert (groups["new"], groups["new_left_out"]) == (1, 1)
        assert (groups["not_reached"], groups["not_reached_left_out"]) == (0, 1)
        assert (groups["reached"], groups["reached_left_out"]) == (5, 0)
        assert (groups["told"], groups["told_left_out"]) == (5, 0)


@pytest.mark.parametrize("audience", ["new", "all"])
async def test_a_new_address_brings_a_bounced_person_back(
    db_conn: str, settings_for: Any, audience: str
) -> None:
    settings = followup.mail_settings(settings_for, db_conn, "127.0.0.1", 9)
    await followup.make_incident()
    await followup.add_people(range(0, 3))
    await Subject.filter(email=address(1)).update(email_status=EmailStatus.BOUNCED)
    await followup.resolve()
    created, approved = await _create_and_approve(settings, audience)
    assert created.audience_count == approved.audience_count == 2
    await Subject.filter(email=address(1)).update(
        email=f"new-{address(1)}", email_status=EmailStatus.OK
    )
    created, approved = await _create_and_approve(settings, audience)
    assert created.audience_count == approved.audience_count == 3
    assert audiences.by_rule(created.audience_groups)[audience]["left_out"] == 0
