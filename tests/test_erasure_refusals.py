"""`subject erase` is refused, with the reason in one line and exit 6, while a campaign in
progress or an open obligation still needs the person; `subject leave` and the retention
settings refuse hostile input in one line (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc.config import Settings, load_settings
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConfigError, ConflictError
from incident_svc.models import AuditEvent, Delivery, Exposure, Subject
from incident_svc.services.auditlog import audit
from incident_svc.services.privacy import subjects
from tests.support.audit_chain_tools import cli, in_db
from tests.support.retention_data import KEY, aged, settle

ENV = {"INCIDENT_SVC_RETENTION__KEY": KEY.decode()}
REF = "INC-2026-0001"


async def _state() -> tuple[int, int, int, int]:
    return (
        await Subject.all().count(),
        await Exposure.all().count(),
        await Delivery.filter(address__startswith="pseud:").count(),
        await AuditEvent.all().count(),
    )


async def test_an_open_obligation_refuses_erasure_until_it_is_settled(
    db_conn: str, settings: Settings
) -> None:
    await aged(3)  # an incident an hour old, its people in GB: the ICO report is open
    before = await _state()
    with pytest.raises(ConflictError) as refused:
        await subjects.erase(
            "S-0", reason="request", actor="dpo", key=KEY, audit_key=None, settings=settings
        )
    text = str(refused.value)
    assert text.startswith("subject S-0 not erased: ")
    assert f"{REF} obligation uk-gdpr-33-ico (" in text and "still needs them" in text
    assert "\n" not in text
    assert await _state() == before  # nothing changed, nothing audited

    assert await settle(REF, settings) >= 1  # met or declined: it no longer holds them
    done = await subjects.erase(
        "S-0", reason="request", actor="dpo", key=KEY, audit_key=None, settings=settings
    )
    assert done["exposures"] == [REF]
    assert (await audit.verify(key=None)).intact


async def test_both_refusals_name_their_reason(db_conn: str, settings: Settings) -> None:
    data = await aged(3)  # S-2 is the sending campaign's recipient
    with pytest.raises(ConflictError) as refused:
        await subjects.erase(
            "S-2", reason="request", actor="dpo", key=KEY, audit_key=None, settings=settings
        )
    reasons = str(refused.value).split(": ", 1)[1].split("; ")
    assert reasons[0] == f"campaign {data.sending.id} (sending) still needs them"
    assert any("obligation uk-gdpr-33-ico" in r for r in reasons[1:])


def _seed(url: str, settings: Settings | None) -> None:
    async def fill() -> None:
        await aged(3)
        if settings is not None:
            await settle(REF, settings)

    in_db(url, fill)


def test_cli_refusals_exit_6_in_one_line(database_url: str) -> None:
    _seed(database_url, None)
    obligation = cli(database_url, "subject", "erase", "S-0", "--reason", "r1", env=ENV)
    assert obligation.code == 6, obligation.out
    assert "\n" not in obligation.out.strip() and "Traceback" not in obligation.out
    assert "obligation uk-gdpr-33-ico" in obligation.out
    campaign = cli(database_url, "subject", "erase", "S-2", "--reason", "r2", env=ENV)
    assert campaign.code == 6 and "(sending) still needs them" in campaign.out
    assert "\n" not in campaign.out.strip()


def test_cli_leave_marks_and_unmarks_a_former_subject(
    database_url: str, settings: Settings
) -> None:
    _seed(database_url, settings)
    left = cli(database_url, "subject", "leave", "S-1", "--reason", "closed", "--json", env=ENV)
    assert left.code == 0, left.out
    assert json.loads(left.out)["changed"] is True
    again = cli(database_url, "subject", "leave", "S-1", "--reason", "closed", "--json", env=ENV)
    assert json.loads(again.out)["changed"] is False  # already marked: nothing audited twice
    # not due for two years; with a one-day period it is due tomorrow, so nothing yet either
    plan = cli(database_url, "retention", "plan", "--json", env=ENV)
    [former] = [p for p in json.loads(plan.out) if p["kind"] == "former_subject"]
    assert former["rows"] == 0
    back = cli(database_url, "subject", "leave", "S-1", "--reason", "re-hired", "--undo", "--json")
    assert back.code == 0 and json.loads(back.out)["left_at"] is None

    async def events() -> list[str]:
        return list(await AuditEvent.filter(target_id="S-1").values_list("action", flat=True))

    assert in_db(database_url, events) == ["subject.left", "subject.returned"]


@pytest.mark.parametrize(
    "args",
    [
        ["subject", "leave", "S-0\x1b[2J", "--reason", "r"],
        ["subject", "leave", "S-0", "--reason", "a\u2028b"],
        ["subject", "leave", "S-0", "--reason", "  "],
        ["subject", "leave", "x" * 300, "--reason", "r"],
        ["subject", "leave", "", "--reason", "r"],
    ],
)
def test_cli_leave_refuses_hostile_input_in_one_line(database_url: str, args: list[str]) -> None:
    _seed(database_url, None)
    done = cli(database_url, *args, env=ENV)
    assert done.code == 5, done.out
    assert "\n" not in done.out.strip() and "Traceback" not in done.out

    async def marked() -> int:
        return await Subject.filter(left_at__isnull=False).count()

    assert in_db(database_url, marked) == 0


_SETTINGS = (
    "bounce_report_days",
    "exposure_days",
    "former_subject_days",
    "delivery_address_days",
    "batch_size",
    "lock_target_ms",
    "workers",
    "passes",
    "lock_limit_ms",
)
_HOSTILE_VALUE = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(_SETTINGS), value=_HOSTILE_VALUE)
def test_hostile_retention_settings_are_one_line_or_usable(name: str, value: Any) -> None:
    try:
        loaded = load_settings(overrides={"retention": {name: value}})
    except ConfigError as exc:
        assert "\n" not in str(exc) and f"retention.{name}" in str(exc)
        return
    accepted = getattr(loaded.retention, name)
    if name.endswith("_days"):
        assert 1 <= accepted <= 36_500
        assert utcnow() - timedelta(days=accepted) < utcnow()  # a cutoff is always a date
    elif name == "batch_size":
        assert 1 <= accepted <= 100_000
    elif name == "workers":
        assert 1 <= accepted <= 8
    elif name == "passes":
        assert 1 <= accepted <= 20
    elif name == "lock_limit_ms":
        assert 0 <= accepted <= 600_000  # 0: no limit
    else:
        assert 0 < accepted <= 60_000


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(max_size=30))
def test_hostile_retention_period_from_the_environment(value: str) -> None:
    import os

    if "\x00" in value:
        return  # an environment variable cannot hold NUL
    os.environ["INCIDENT_SVC_RETENTION__EXPOSURE_DAYS"] = value
    try:
        loaded = load_settings()
    except ConfigError as exc:
        assert "\n" not in str(exc)
    else:
        assert 1 <= loaded.retention.exposure_days <= 36_500
    finally:
        del os.environ["INCIDENT_SVC_RETENTION__EXPOSURE_DAYS"]


async def test_a_held_disclosure_refuses_erasure(
    db_conn: str, settings: Settings, tmp_path: Any
) -> None:
    from tests.support import disclosure_setup

    config = disclosure_setup.signed_settings(settings)
    disclosure = await disclosure_setup.record(config, tmp_path)  # S-0, S-1, S-3 held
    await settle(REF, config)
    with pytest.raises(ConflictError) as refused:
        await subjects.erase(
            "S-0", reason="request", actor="dpo", key=KEY, audit_key=None, settings=config
        )
    assert str(refused.value) == (
        f"subject S-0 not erased: disclosure {disclosure.ref} (held) still owes them a notice"
    )
    done = await subjects.erase(
        "S-2", reason="request", actor="dpo", key=KEY, audit_key=None, settings=config
    )
    assert done["exposures"] == [REF]
