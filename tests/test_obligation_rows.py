"""Every row of shared/COMPLIANCE.md, from the shipped rules file: one incident whose facts make
the obligation apply (with its due time worked out by hand), and one whose facts do not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from incident_svc.domain.compliance import Fulfilment, Status, compute_obligations
from tests.support.compliance import NOW, facts, met, obligation, shipped, utc

PI = ("ssn",)  # a category that makes a US state's "personal information"


@dataclass(frozen=True)
class Row:
    key: str
    applies: dict[str, Any]  # facts() arguments
    due: str | None  # hand-worked due time (UTC); None: no fixed deadline
    not_applies: dict[str, Any]
    why_not: str  # part of the reason it does not apply
    status: Status = Status.OPEN
    fulfilled: tuple[Fulfilment, ...] = field(default=())


def state(code: str, clock: str, at: str, n: int = 1, cats: tuple[str, ...] = PI) -> dict[str, Any]:
    return {"residents": {code: n}, "clocks": {clock: at}, "categories": cats}


AWARE = {"aware": "2026-03-27T10:00:00+00:00"}
ROWS = [
    # GDPR: 72 h across the EU's DST change on 29 March 2026 (01:00 UTC)
    Row("gdpr-33-sa:DE", {"residents": {"DE": 3}, "clocks": AWARE}, "2026-03-30T10:00:00+00:00",
        {"residents": {"GB": 3}, "clocks": AWARE}, "no affected residents of EU"),
    Row("gdpr-34-people", {"residents": {"FR": 1}, "clocks": AWARE, "flags": {"high_risk": True}},
        None, {"residents": {"FR": 1}, "clocks": AWARE, "flags": {"high_risk": True, "encrypted": True}},
        "exempt: encrypted", Status.NO_FIXED_DEADLINE),
    Row("gdpr-33-5-register", {"residents": {"IE": 1}, "clocks": AWARE}, None,
        {"residents": {"HK": 1}, "clocks": AWARE}, "no affected residents of EU", Status.NO_FIXED_DEADLINE),
    Row("uk-gdpr-33-ico", {"residents": {"GB": 2}, "clocks": AWARE}, "2026-03-30T10:00:00+00:00",
        {"residents": {"DE": 2}, "clocks": AWARE}, "no affected residents of GB"),
    Row("uk-gdpr-34-people", {"residents": {"GB-SCT": 1}, "clocks": AWARE, "flags": {"high_risk": True}},
        None, {"residents": {"GB": 1}, "clocks": AWARE, "flags": {"high_risk": False}},
        "high_risk assessed as no", Status.NO_FIXED_DEADLINE),
    Row("uk-gdpr-33-5-register", {"residents": {"GB": 1}, "clocks": AWARE}, None,
        {"residents": {"IE": 1}, "clocks": AWARE}, "no affected residents of GB", Status.NO_FIXED_DEADLINE),
    Row("uk-pecr-5a-ico",  # 24 h across the UK's DST end on 25 October 2026
        {"residents": {}, "clocks": {"aware": "2026-10-24T12:00:00+00:00"},
         "sectors": ["public_electronic_communications"]}, "2026-10-25T12:00:00+00:00",
        {"residents": {"GB": 1}, "clocks": AWARE}, "only for sector public_electronic_communications"),
    Row("hk-pdpo-pcpd", {"residents": {"HK": 1}, "clocks": AWARE}, None,
        {"residents": {"GB": 1}, "clocks": AWARE}, "no affected residents of HK", Status.NO_FIXED_DEADLINE),
    Row("hk-pdpo-people", {"residents": {"HK": 1}, "clocks": AWARE}, None,
        {"residents": {"SG": 1}, "clocks": AWARE}, "no affected residents of HK", Status.NO_FIXED_DEADLINE),
    Row("hk-cap653-serious",
        {"residents": {}, "clocks": {"aware": "2026-02-01T00:00:00+00:00"},
         "sectors": ["hk_critical_infrastructure"], "flags": {"serious": True}}, "2026-02-01T12:00:00+00:00",
        {"residents": {}, "clocks": {"aware": "2025-12-31T00:00:00+00:00"},
         "sectors": ["hk_critical_infrastructure"], "flags": {"serious": True}}, "not in force on 2025-12-31"),
    Row("hk-cap653-other",
        {"residents": {}, "clocks": {"aware": "2026-02-01T00:00:00+00:00"},
         "sectors": ["hk_critical_infrastructure"], "flags": {"serious": False}}, "2026-02-03T00:00:00+00:00",
        {"residents": {}, "clocks": {"aware": "2026-02-01T00:00:00+00:00"},
         "sectors": ["hk_critical_infrastructure"], "flags": {"serious": True}}, "exempt: serious"),
    Row("hipaa-people",
        {"residents": {"US-NY": 3}, "clocks": {"discovered": "2026-01-10T15:00:00+00:00"},
         "categories": ["health"], "sectors": ["hipaa_covered"]}, "2026-03-11T15:00:00+00:00",
        {"residents": {"US-NY": 3}, "clocks": {"discovered": "2026-01-10T15:00:00+00:00"},
         "categories": ["health"], "sectors": ["hipaa_covered"], "flags": {"encrypted": True}}, "exempt: encrypted"),
    Row("hipaa-hhs",
        {"residents": {"US-NY": 300, "GB": 200}, "clocks": {"discovered": "2026-01-10T15:00:00+00:00"},
         "categories": ["health"], "sectors": ["hipaa_covered"]}, "2026-03-11T15:00:00+00:00",
        {"residents": {"US-NY": 499}, "clocks": {"discovered": "2026-01-10T15:00:00+00:00"},
         "categories": ["health"], "sectors": ["hipaa_covered"]}, "499 counted, >= 500 needed"),
    Row("hipaa-hhs-log",
        {"residents": {"US-NY": 499}, "clocks": {"discovered": "2026-01-10T15:00:00+00:00"},
         "categories": ["health"], "sectors": ["hipaa_covered"]}, None,
        {"residents": {"US-NY": 500}, "clocks": {"discovered": "2026-01-10T15:00:00+00:00"},
         "categories": ["health"], "sectors": ["hipaa_covered"]}, "500 counted, < 500 needed",
        Status.NO_FIXED_DEADLINE),
    Row("hipaa-media:US-TX",
        {"residents": {"US-TX": 501}, "clocks": {"discovered": "2026-01-10T15:00:00+00:00"},
         "categories": ["health"], "sectors": ["hipaa_covered"]}, "2026-03-11T15:00:00+00:00",
        {"residents": {"US-TX": 500}, "clocks": {"discovered": "2026-01-10T15:00:00+00:00"},
         "categories": ["health"], "sectors": ["hipaa_covered"]}, "500 counted, > 500 needed"),
    # SEC: 4 business days from Wednesday 25 Nov 2026 10:00 New York; Thanksgiving (26th) skipped
    Row("sec-8k-105",
        {"residents": {}, "clocks": {"materiality_determined": "2026-11-25T10:00:00-05:00"},
         "sectors": ["sec_registrant"]}, "2026-12-02T15:00:00+00:00",
        {"residents": {}, "clocks": {"materiality_determined": "2026-11-25T10:00:00-05:00"}},
        "only for sector sec_registrant"),
    Row("ftc-safeguards",
        {"residents": {"US": 500}, "clocks": {"discovered": "2026-06-01T12:00:00+00:00"},
         "sectors": ["non_bank_financial"]}, "2026-07-01T12:00:00+00:00",
        {"residents": {"US": 499}, "clocks": {"discovered": "2026-06-01T12:00:00+00:00"},
         "sectors": ["non_bank_financial"]}, "499 counted, >= 500 needed"),
    Row("nydfs-500-17",
        {"residents": {}, "clocks": {"determined": "2026-06-01T12:00:00+00:00"}, "sectors": ["nydfs_licensed"]},
        "2026-06-04T12:00:00+00:00",
        {"residents": {"US-NY": 5}, "clocks": {"determined": "2026-06-01T12:00:00+00:00"}},
        "only for sector nydfs_licensed"),
    # US states: 30/45/60 calendar days; AG rows with their thresholds
    Row("ca-people", state("US-CA", "discovered", "2026-02-01T08:00:00+00:00"), "2026-03-03T08:00:00+00:00",
        state("US-CA", "discovered", "2026-02-01T08:00:00+00:00", cats=("contact",)),
        "none of the categories"),
    Row("ca-ag", state("US-CA", "discovered", "2026-02-01T08:00:00+00:00", 501), "2026-03-07T12:00:00+00:00",
        state("US-CA", "discovered", "2026-02-01T08:00:00+00:00", 500), "500 counted, > 500 needed",
        fulfilled=(met("ca-people", "2026-02-20T12:00:00+00:00"),)),
    Row("co-people", state("US-CO", "determined", "2026-02-01T08:00:00+00:00"), "2026-03-03T08:00:00+00:00",
        state("US-WA", "determined", "2026-02-01T08:00:00+00:00"), "no affected residents of US-CO"),
    Row("co-ag", state("US-CO", "determined", "2026-02-01T08:00:00+00:00", 500), "2026-03-03T08:00:00+00:00",
        state("US-CO", "determined", "2026-02-01T08:00:00+00:00", 499), "499 counted, >= 500 needed"),
    Row("fl-people", state("US-FL", "determined", "2026-02-01T08:00:00+00:00"), "2026-03-03T08:00:00+00:00",
        state("US-FL", "determined", "2026-02-01T08:00:00+00:00", cats=("usage_data",)), "none of the categories"),
    Row("fl-ag", state("US-FL", "determined", "2026-02-01T08:00:00+00:00", 500), "2026-03-03T08:00:00+00:00",
        state("US-FL", "determined", "2026-02-01T08:00:00+00:00", 499), "499 counted, >= 500 needed"),
    Row("wa-people", state("US-WA", "discovered", "2026-02-01T08:00:00+00:00"), "2026-03-03T08:00:00+00:00",
        state("US-OR", "discovered", "2026-02-01T08:00:00+00:00"), "no affected residents of US-WA"),
    Row("wa-ag", state("US-WA", "discovered", "2026-02-01T08:00:00+00:00", 501), "2026-03-03T08:00:00+00:00",
        state("US-WA", "discovered", "2026-02-01T08:00:00+00:00", 500), "500 counted, > 500 needed"),
    Row("me-people", state("US-ME", "determined", "2026-02-01T08:00:00+00:00"), "2026-03-03T08:00:00+00:00",
        state("US-NH", "determined", "2026-02-01T08:00:00+00:00"), "no affected residents of US-ME"),
    Row("me-ag", state("US-ME", "determined", "2026-02-01T08:00:00+00:00"), "2026-03-03T08:00:00+00:00",
        state("US-ME", "determined", "2026-02-01T08:00:00+00:00", cats=("cookies",)), "none of the categories"),
    Row("ny-people", state("US-NY", "discovered", "2026-02-01T08:00:00+00:00"), "2026-03-03T08:00:00+00:00",
        state("US-NJ", "discovered", "2026-02-01T08:00:00+00:00"), "no affected residents of US-NY"),
    Row("ny-ag", state("US-NY", "discovered", "2026-02-01T08:00:00+00:00"), "2026-03-03T08:00:00+00:00",
        state("US-NJ", "discovered", "2026-02-01T08:00:00+00:00"), "no affected residents of US-NY"),
    Row("tx-people", state("US-TX", "determined", "2026-02-01T08:00:00+00:00"), "2026-04-02T08:00:00+00:00",
        state("US-OK", "determined", "2026-02-01T08:00:00+00:00"), "no affected residents of US-TX"),
    Row("tx-ag", state("US-TX", "determined", "2026-02-01T08:00:00+00:00", 250), "2026-03-03T08:00:00+00:00",
        state("US-TX", "determined", "2026-02-01T08:00:00+00:00", 249), "249 counted, >= 250 needed"),
    Row("ct-people", state("US-CT", "discovered", "2026-02-01T08:00:00+00:00"), "2026-04-02T08:00:00+00:00",
        state("US-RI", "discovered", "2026-02-01T08:00:00+00:00"), "no affected residents of US-CT"),
    # "no later than the people": the people were told on day 10, so that is the AG's due time
    Row("ct-ag", state("US-CT", "discovered", "2026-02-01T08:00:00+00:00"), "2026-02-11T08:00:00+00:00",
        state("US-RI", "discovered", "2026-02-01T08:00:00+00:00"), "no affected residents of US-CT",
        fulfilled=(met("ct-people", "2026-02-11T08:00:00+00:00"),)),
    Row("de-people", state("US-DE", "determined", "2026-02-01T08:00:00+00:00"), "2026-04-02T08:00:00+00:00",
        state("US-MD", "determined", "2026-02-01T08:00:00+00:00"), "no affected residents of US-DE"),
    Row("de-ag", state("US-DE", "determined", "2026-02-01T08:00:00+00:00", 501), "2026-04-02T08:00:00+00:00",
        state("US-DE", "determined", "2026-02-01T08:00:00+00:00", 500), "500 counted, > 500 needed"),
    Row("sd-people", state("US-SD", "discovered", "2026-02-01T08:00:00+00:00"), "2026-04-02T08:00:00+00:00",
        state("US-ND", "discovered", "2026-02-01T08:00:00+00:00"), "no affected residents of US-SD"),
    Row("sd-ag", state("US-SD", "discovered", "2026-02-01T08:00:00+00:00", 251), "2026-04-02T08:00:00+00:00",
        state("US-SD", "discovered", "2026-02-01T08:00:00+00:00", 250), "250 counted, > 250 needed"),
    Row("al-people", state("US-AL", "determined", "2026-02-01T08:00:00+00:00"), "2026-03-18T08:00:00+00:00",
        state("US-GA", "determined", "2026-02-01T08:00:00+00:00"), "no affected residents of US-AL"),
    Row("al-ag", state("US-AL", "determined", "2026-02-01T08:00:00+00:00", 1001), "2026-03-18T08:00:00+00:00",
        state("US-AL", "determined", "2026-02-01T08:00:00+00:00", 1000), "1,000 counted, > 1,000 needed"),
    Row("az-people", state("US-AZ", "determined", "2026-02-01T08:00:00+00:00"), "2026-03-18T08:00:00+00:00",
        state("US-NM", "determined", "2026-02-01T08:00:00+00:00"), "no affected residents of US-AZ"),
    Row("az-ag", state("US-AZ", "determined", "2026-02-01T08:00:00+00:00", 1001), "2026-03-18T08:00:00+00:00",
        state("US-AZ", "determined", "2026-02-01T08:00:00+00:00", 1000), "1,000 counted, > 1,000 needed"),
    Row("or-people", state("US-OR", "discovered", "2026-02-01T08:00:00+00:00"), "2026-03-18T08:00:00+00:00",
        state("US-WA", "discovered", "2026-02-01T08:00:00+00:00"), "no affected residents of US-OR"),
    Row("or-ag", state("US-OR", "discovered", "2026-02-01T08:00:00+00:00", 251), "2026-03-18T08:00:00+00:00",
        state("US-OR", "discovered", "2026-02-01T08:00:00+00:00", 250), "250 counted, > 250 needed"),
    Row("vt-people", state("US-VT", "discovered", "2026-02-01T08:00:00+00:00"), "2026-03-18T08:00:00+00:00",
        state("US-NH", "discovered", "2026-02-01T08:00:00+00:00"), "no affected residents of US-VT"),
    # 14 business days from Monday 10 Aug 2026 10:00 EDT; Bennington Battle Day observed Mon 17 Aug
    Row("vt-ag-preliminary", state("US-VT", "discovered", "2026-08-10T10:00:00-04:00"),
        "2026-08-31T14:00:00+00:00",
        state("US-NH", "discovered", "2026-08-10T10:00:00-04:00"), "no affected residents of US-VT"),
    Row("in-people", state("US-IN", "discovered", "2026-02-01T08:00:00+00:00"), "2026-03-18T08:00:00+00:00",
        state("US-IL", "discovered", "2026-02-01T08:00:00+00:00"), "no affected residents of US-IN"),
    Row("in-ag", state("US-IN", "discovered", "2026-02-01T08:00:00+00:00"), "2026-03-18T08:00:00+00:00",
        state("US-IL", "discovered", "2026-02-01T08:00:00+00:00"), "no affected residents of US-IN"),
    Row("ma-people", state("US-MA", "discovered", "2026-02-01T08:00:00+00:00"), None,
        state("US-MA", "discovered", "2026-02-01T08:00:00+00:00", cats=("device_data",)),
        "none of the categories", Status.NO_FIXED_DEADLINE),
    Row("ma-ag", state("US-MA", "discovered", "2026-02-01T08:00:00+00:00"), None,
        state("US-CT", "discovered", "2026-02-01T08:00:00+00:00"), "no affected residents of US-MA",
        Status.NO_FIXED_DEADLINE),
    # Asia-Pacific and the Americas
    Row("sg-pdpc", {"residents": {"SG": 2}, "clocks": {"assessed_notifiable": "2026-05-01T02:00:00+00:00"},
                    "flags": {"significant": True}}, "2026-05-04T02:00:00+00:00",
        {"residents": {"SG": 2, "HK": 497}, "clocks": {"assessed_notifiable": "2026-05-01T02:00:00+00:00"},
         "flags": {"significant": False}}, "none of: significant assessed as no; 499 counted, >= 500 needed"),
    Row("sg-people", {"residents": {"SG": 2}, "clocks": {"assessed_notifiable": "2026-05-01T02:00:00+00:00"},
                      "flags": {"significant": True}}, None,
        {"residents": {"SG": 2}, "flags": {"significant": False}}, "significant assessed as no",
        Status.NO_FIXED_DEADLINE),
    Row("au-assess", {"residents": {"AU": 1}, "clocks": {"suspected": "2026-05-01T02:00:00+00:00"}},
        "2026-05-31T02:00:00+00:00", {"residents": {"NZ": 1}}, "no affected residents of AU"),
    Row("au-oaic", {"residents": {"AU": 1}, "flags": {"significant": True}}, None,
        {"residents": {"AU": 1}, "flags": {"significant": False}}, "significant assessed as no",
        Status.NO_FIXED_DEADLINE),
    Row("au-people", {"residents": {"AU": 1}, "flags": {"significant": True}}, None,
        {"residents": {"NZ": 1}, "flags": {"significant": True}}, "no affected residents of AU",
        Status.NO_FIXED_DEADLINE),
    Row("pipeda-opc", {"residents": {"CA": 1}, "flags": {"significant": True}}, None,
        {"residents": {"CA": 1}, "flags": {"significant": False}}, "significant assessed as no",
        Status.NO_FIXED_DEADLINE),
    Row("pipeda-people", {"residents": {"CA-QC": 1}, "flags": {"significant": True}}, None,
        {"residents": {"US-CA": 1}, "flags": {"significant": True}}, "no affected residents of CA",
        Status.NO_FIXED_DEADLINE),
    Row("pipeda-record", {"residents": {"CA-ON": 1}}, None, {"residents": {"US": 1}},
        "no affected residents of CA", Status.NO_FIXED_DEADLINE),
    Row("jp-ppc-preliminary",
        {"residents": {"JP": 1, "US": 1000}, "clocks": {"discovered": "2026-05-01T02:00:00+00:00"}},
        "2026-05-04T02:00:00+00:00",
        {"residents": {"JP": 1, "US": 999}, "clocks": {"discovered": "2026-05-01T02:00:00+00:00"},
         "flags": {"bad_intent": False}}, "1,000 counted, > 1,000 needed"),
    Row("jp-ppc-final",
        {"residents": {"JP": 1}, "clocks": {"discovered": "2026-05-01T02:00:00+00:00"}, "categories": ["health"]},
        "2026-05-31T02:00:00+00:00",
        {"residents": {"JP": 1}, "clocks": {"discovered": "2026-05-01T02:00:00+00:00"}, "categories": ["health"],
         "flags": {"bad_intent": True}}, "exempt: bad_intent"),
    Row("jp-ppc-final-bad-intent",
        {"residents": {"JP": 1}, "clocks": {"discovered": "2026-05-01T02:00:00+00:00"},
         "flags": {"bad_intent": True}}, "2026-06-30T02:00:00+00:00",
        {"residents": {"JP": 1}, "clocks": {"discovered": "2026-05-01T02:00:00+00:00"},
         "flags": {"bad_intent": False}}, "bad_intent assessed as no"),
    Row("jp-people", {"residents": {"JP": 1}, "categories": ["payment_card"]}, None,
        {"residents": {"JP": 1}, "categories": ["contact"], "flags": {"bad_intent": False}}, "none of:",
        Status.NO_FIXED_DEADLINE),
    Row("in-dpdp-people", {"residents": {"IN": 1}, "clocks": AWARE}, None, {"residents": {"PK": 1}},
        "no affected residents of IN", Status.NO_FIXED_DEADLINE),
    Row("in-dpdp-board", {"residents": {"IN": 1}, "clocks": AWARE}, "2026-03-30T10:00:00+00:00",
        {"residents": {"IN": 1}, "clocks": {"aware": "2025-11-13T10:00:00+00:00"}}, "not in force on 2025-11-13"),
    # Brazil: 3 working days from Thursday 19 Nov 2026 10:00 Brasília; 20 Nov is a national holiday
    Row("br-anpd", {"residents": {"BR": 1}, "clocks": {"aware": "2026-11-19T10:00:00-03:00"},
                    "flags": {"high_risk": True}}, "2026-11-25T13:00:00+00:00",
        {"residents": {"BR": 1}, "clocks": {"aware": "2026-11-19T10:00:00-03:00"},
         "flags": {"high_risk": False}}, "high_risk assessed as no"),
    Row("br-people", {"residents": {"BR": 1}, "clocks": {"aware": "2026-11-19T10:00:00-03:00"},
                      "flags": {"high_risk": True}}, "2026-11-25T13:00:00+00:00",
        {"residents": {"PT": 1}, "clocks": {"aware": "2026-11-19T10:00:00-03:00"},
         "flags": {"high_risk": True}}, "no affected residents of BR"),
    # derived: 20 working days after the ANPD was told on Tuesday 24 Nov 2026 10:00 Brasília
    Row("br-anpd-complement", {"residents": {"BR": 1}, "clocks": {"aware": "2026-11-19T10:00:00-03:00"},
                               "flags": {"high_risk": True}}, "2026-12-22T13:00:00+00:00",
        {"residents": {"BR": 1}, "flags": {"high_risk": False}}, "high_risk assessed as no",
        fulfilled=(met("br-anpd", "2026-11-24T10:00:00-03:00"),)),
    # EU NIS2: 24 h, 72 h, and one month after the notification (31 Jan -> 28 Feb)
    Row("nis2-early-warning", {"residents": {}, "clocks": AWARE, "sectors": ["nis2_entity"],
                               "flags": {"significant": True}}, "2026-03-28T10:00:00+00:00",
        {"residents": {}, "clocks": AWARE, "sectors": ["nis2_entity"], "flags": {"significant": False}},
        "significant assessed as no"),
    Row("nis2-notification", {"residents": {}, "clocks": AWARE, "sectors": ["nis2_entity"],
                              "flags": {"significant": True}}, "2026-03-30T10:00:00+00:00",
        {"residents": {"DE": 9}, "clocks": AWARE, "flags": {"significant": True}}, "only for sector nis2_entity"),
    Row("nis2-final", {"residents": {}, "clocks": AWARE, "sectors": ["nis2_entity"],
                       "flags": {"significant": True}}, "2026-02-28T09:00:00+00:00",
        {"residents": {}, "clocks": AWARE, "flags": {"significant": True}}, "only for sector nis2_entity",
        fulfilled=(met("nis2-notification", "2026-01-31T09:00:00+00:00"),)),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[row.key for row in ROWS])
def test_row_applies_with_its_due_time(row: Row) -> None:
    found = obligation(row.key, facts(**row.applies), fulfilments=row.fulfilled, now=_before(row))
    assert found.applicability.value == "applies", found.reason
    assert found.due_at == (utc(row.due) if row.due else None)
    assert found.status is row.status
    assert found.rule.citation and found.rule.confidence.value in {"H", "M", "L"}


@pytest.mark.parametrize("row", ROWS, ids=[row.key for row in ROWS])
def test_row_does_not_apply_and_says_why(row: Row) -> None:
    given = facts(**row.not_applies)
    rule_id = row.key.split(":")[0]
    found = [o for o in compute_obligations(shipped(), given, now=NOW, fulfilments=row.fulfilled)
             if o.rule.id == rule_id]  # fmt: skip
    assert found and all(o.status is Status.NOT_APPLICABLE for o in found), found
    assert row.why_not in found[0].reason


def _before(row: Row) -> datetime:
    """A moment just before the hand-worked due time, so that the obligation is still open."""
    return utc(row.due) - timedelta(minutes=1) if row.due else NOW


def test_every_shipped_rule_is_in_the_table() -> None:
    table = {row.key.split(":")[0] for row in ROWS}
    assert {rule.id for rule in shipped()} == table


def test_hours_across_a_dst_change_are_elapsed_hours_and_shown_in_the_zone() -> None:
    # aware Friday 27 March 2026 11:00 in Berlin (CET, UTC+1); clocks go forward on Sunday
    found = obligation(
        "gdpr-33-sa:DE",
        facts(residents={"DE": 1}, clocks={"aware": "2026-03-27T11:00:00+01:00"}),
    )
    assert found.due_at == utc("2026-03-30T10:00:00+00:00")
    berlin = found.due_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (berlin.hour, berlin.utcoffset().total_seconds()) == (12, 7200)  # type: ignore[union-attr]


def test_the_rules_in_force_at_the_clock_start_apply() -> None:
    before = obligation(
        "ca-people", facts(**state("US-CA", "discovered", "2025-12-20T00:00:00+00:00"))
    )
    after = obligation(
        "ca-people", facts(**state("US-CA", "discovered", "2026-01-02T00:00:00+00:00"))
    )
    assert before.status is Status.NO_FIXED_DEADLINE and before.due_at is None
    assert "most expedient" in (before.rule.standard or "")
    assert after.due_at == utc("2026-02-01T00:00:00+00:00")


def test_ca_ag_copy_is_due_15_days_after_the_people_were_told() -> None:
    given = facts(**state("US-CA", "discovered", "2026-02-01T08:00:00+00:00", 501))
    waiting = obligation("ca-ag", given)
    assert waiting.due_at is None and "starts when ca-people is met" in waiting.reason
    told = obligation("ca-ag", given, fulfilments=[met("ca-people", "2026-02-20T12:00:00+00:00")])
    assert told.clock_at == utc("2026-02-20T12:00:00+00:00")
    assert told.due_at == utc("2026-03-07T12:00:00+00:00")


def test_vermont_preliminary_notice_falls_due_when_the_people_are_told_if_sooner() -> None:
    given = facts(**state("US-VT", "discovered", "2026-08-10T10:00:00-04:00"))
    found = obligation(
        "vt-ag-preliminary", given, fulfilments=[met("vt-people", "2026-08-14T12:00:00+00:00")]
    )
    assert found.due_at == utc("2026-08-14T12:00:00+00:00")


def test_law_enforcement_delay_postpones_a_state_notice() -> None:
    given = facts(
        **state("US-CO", "determined", "2026-02-01T08:00:00+00:00"),
        delay_until="2026-04-01T00:00:00+00:00",
    )
    assert obligation("co-people", given).due_at == utc("2026-04-01T00:00:00+00:00")
    assert obligation(
        "gdpr-33-sa:DE",
        facts(residents={"DE": 1}, clocks=AWARE, delay_until="2026-04-01T00:00:00+00:00"),
    ).due_at == utc("2026-03-30T10:00:00+00:00")
