"""Policy effective dates at volume, against the evidence (SQLite or PostgreSQL).

10,000 existing people and their account holders, a material change, and 50 people who sign
up after it. The e-mail part of the evidence is written as delivery rows of the matter's
``policy_change_notice`` campaign, standing in for what its dispatcher stores (the real
campaign, sent through a real relay, is tests/test_policy_campaign.py): acceptance by the
relay (``sent_at``), a refusal (no ``sent_at``), and an acceptance followed by a bounce
(``sent_at`` kept, status failed). The banner's first serve goes through
``banners.record_serves``, the service the feed's serve counter calls.
"""

from __future__ import annotations

import csv
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from incident_svc.domain.enums import CampaignStatus, DeliveryStatus, NoticeKind
from incident_svc.models import Campaign, Delivery, PolicyVersion, Subject
from incident_svc.services.policy_change import policy, policy_report
from incident_svc.services.website import banners
from tests.support import people

PEOPLE = 10_000
LATE = 50
DAYS = timedelta(days=30)


def _email_outcome(n: int) -> tuple[DeliveryStatus, int | None]:
    """(status, hours after publication the relay accepted it, or None: refused)."""
    if n % 10 == 0:
        return DeliveryStatus.FAILED, None  # refused by the relay: no proof of dispatch
    if n % 25 == 1:
        return DeliveryStatus.FAILED, 2  # accepted, then bounced: acceptance still counts
    return DeliveryStatus.SENT, n % 7


async def _publish(tmp_path: Path) -> PolicyVersion:
    doc, summary = tmp_path / "policy.html", tmp_path / "en.txt"
    doc.write_text("<h1>Privacy policy</h1>")
    summary.write_text("We now keep call detail records for 12 months.")
    request = policy.PublishRequest(
        "2027-01", doc, [("en", summary)], True, "https://www.example.com/privacy"
    )
    return await policy.publish(request=request, actor="dora", key=None)


async def _deliveries(version: PolicyVersion) -> None:
    campaign = await Campaign.create(
        matter_id=version.matter_id,  # type: ignore[attr-defined]
        kind=NoticeKind.POLICY_CHANGE_NOTICE,
        channels=["email"],
        status=CampaignStatus.COMPLETED,
        created_by="alice",
    )
    rows = await Subject.all().values_list("id", "external_ref")
    deliveries = []
    for sid, ref in rows:
        status, hours = _email_outcome(int(ref.split("-")[1]))
        sent = version.published_at + timedelta(hours=hours) if hours is not None else None
        deliveries.append(
            Delivery(campaign_id=campaign.id, recipient_ref=ref, subject_id=sid, address="x@y.z",
                     status=status, next_attempt_at=version.published_at, sent_at=sent)
        )  # fmt: skip
    await Delivery.bulk_create(deliveries, batch_size=1000)


@pytest.mark.slow
async def test_ten_thousand_people_each_dated_by_their_evidence(
    db_conn: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    await people.make_incident(PEOPLE, accounts=3)
    version = await _publish(tmp_path)
    await _deliveries(version)
    served = version.published_at + timedelta(days=1, hours=5)
    assert version.banner_id is not None
    tally = banners.ServeTally(count=3, first=served, last=served)
    await banners.record_serves(tallies={version.banner_id: tally}, key=None)
    await Subject.bulk_create(
        [Subject(external_ref=f"NEW-{n}", email=f"new{n}@example.org", name="New",
                 jurisdiction="HK") for n in range(LATE)]
    )  # fmt: skip

    dated = await policy_report.people(version)
    assert len(dated) == PEOPLE + LATE + 3  # three account holders
    for person in dated:
        expected = _expected(person.ref, person.kind, version, served)
        if person.ref.startswith("NEW-"):
            joined = person.evidence.joined_at
            assert joined >= version.published_at
            expected = (joined, "new_user")
        assert (person.effective.at, person.effective.basis.value) == expected, person.ref

    now = version.published_at + timedelta(days=30, hours=3)  # e-mails up to 6h late: pending
    status = await policy_report.status(version="2027-01", now=now)
    pending = sum(1 for p in dated if p.effective.at and p.effective.at > now)
    assert status["people"] == PEOPLE + LATE + 3 and status["pending"] == pending > 0
    assert status["bound"] == PEOPLE + LATE + 3 - pending and status["without_notice"] == 0
    assert status["by_basis"] == {
        "banner": 3 + PEOPLE // 10,
        "email": PEOPLE - PEOPLE // 10,
        "new_user": LATE,
    }
    out = tmp_path / "export.csv"
    assert await policy_report.export(version="2027-01", path=out) == len(dated)
    with out.open(encoding="utf-8") as handle:
        exported = {row["ref"]: row for row in csv.DictReader(handle)}
    assert exported["S-11"]["basis"] == "email" and exported["S-10"]["basis"] == "banner"
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"{elapsed:.1f}s for {PEOPLE} people"


def _expected(
    ref: str, kind: str, version: PolicyVersion, served: datetime
) -> tuple[datetime | None, str]:
    banner_date = served + DAYS
    if ref.startswith("NEW-"):
        return None, "new_user"  # their joining time: read from the row by the caller
    if kind == "account_holder":
        return banner_date, "banner"
    _, hours = _email_outcome(int(ref.split("-")[1]))
    if hours is None:
        return banner_date, "banner"
    email_date = version.published_at + timedelta(hours=hours) + DAYS
    return (email_date, "email") if email_date <= banner_date else (banner_date, "banner")
