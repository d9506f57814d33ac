"""Scope resolution against a small hand-checked inventory (runs on SQLite and PostgreSQL).

    subject  jurisdiction account  holdings (system/category)
    HK1      HK           ACME     crm/contact, billing/payment_card, web/device_data
    GB1      GB           GLOBEX   crm/contact
    CA1      US-CA        -        billing/payment_card, billing/billing_address
    NY1      US-NY        ACME     web/device_data, crm/credentials
    DE1      DE           GLOBEX   crm/contact, crm/payment_card
    NOH      GB           -        (none)

The incident: systems crm, billing; categories contact, payment_card.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from incident_svc import db
from incident_svc.domain.enums import Severity
from incident_svc.errors import ValidationError
from incident_svc.models import Account, AuditEvent, Exposure, Holding, Incident, Subject
from incident_svc.services.incident import affected, affected_export, incidents

INVENTORY = {
    "HK1": ("HK", "ACME", ["crm/contact", "billing/payment_card", "web/device_data"]),
    "GB1": ("GB", "GLOBEX", ["crm/contact"]),
    "CA1": ("US-CA", None, ["billing/payment_card", "billing/billing_address"]),
    "NY1": ("US-NY", "ACME", ["web/device_data", "crm/credentials"]),
    "DE1": ("DE", "GLOBEX", ["crm/contact", "crm/payment_card"]),
    "NOH": ("GB", None, []),
}


@pytest.fixture
async def inventory(db_conn: str) -> None:
    await _inventory()


async def _inventory() -> None:
    accounts = {}
    for ref in ("ACME", "GLOBEX"):
        accounts[ref] = await Account.create(
            account_ref=ref, name=ref, region="APAC", holder_email="h@x.example", holder_name="H"
        )
    for ref, (jurisdiction, account, holdings) in INVENTORY.items():
        subject = await Subject.create(
            external_ref=ref,
            email=f"{ref.lower()}@x.example",
            name="=HYPERLINK(1)" if ref == "HK1" else ref,
            jurisdiction=jurisdiction,
            account=accounts.get(account or ""),
        )
        for holding in holdings:
            system, category = holding.split("/")
            await Holding.create(subject=subject, system=system, category=category)


async def _incident(**overrides: Any) -> str:
    values: dict[str, Any] = {
        "actor": "alice",
        "key": None,
        "title": "t",
        "summary": "s",
        "severity": Severity.HIGH,
        "discovered_at": datetime(2026, 11, 28, tzinfo=UTC),
        "systems": ["crm", "billing"],
        "categories": ["contact", "payment_card"],
    }
    values.update(overrides)
    return (await incidents.create(**values)).ref


async def _exposures(ref: str) -> dict[str, tuple[list[str], str, list[dict[str, str]]]]:
    incident = await Incident.get(ref=ref)
    rows = await Exposure.filter(incident=incident).prefetch_related("subject")
    return {
        e.subject.external_ref: (e.categories, e.source.value, sorted(e.reasons, key=str))
        for e in rows
    }


def _holding(system: str, category: str) -> dict[str, str]:
    return {"source": "holding", "system": system, "category": category}


async def _resolve(ref: str, **lists: affected.RefList) -> affected.Resolution:
    return await affected.resolve(ref=ref, actor="bob", key=None, **lists)


async def test_who_is_in_who_is_out_and_their_categories(inventory: None) -> None:
    ref = await _incident()
    result = await _resolve(ref)
    found = await _exposures(ref)
    assert {k: v[0] for k, v in found.items()} == {
        "HK1": ["contact", "payment_card"],
        "GB1": ["contact"],
        "CA1": ["payment_card"],
        "DE1": ["contact", "payment_card"],
    }
    assert found["HK1"][2] == sorted(
        [_holding("billing", "payment_card"), _holding("crm", "contact")], key=str
    )
    assert found["DE1"][2] == sorted(
        [_holding("crm", "contact"), _holding("crm", "payment_card")], key=str
    )
    assert (result.total, result.added, result.removed) == (4, 4, 0)
    assert result.by_jurisdiction == {"DE": 1, "GB": 1, "HK": 1, "US-CA": 1}
    assert result.by_account == {"-": 1, "ACME": 1, "GLOBEX": 2}
    assert result.by_category == {"contact": 3, "payment_card": 3}
    lines = "".join(
        sorted(
            [
                "CA1:payment_card\n",
                "DE1:contact,payment_card\n",
                "GB1:contact\n",
                "HK1:contact,payment_card\n",
            ]
        )
    )
    assert result.hash == hashlib.sha256(lines.encode()).hexdigest()
    incident = await Incident.get(ref=ref)
    assert (incident.affected_count, incident.affected_hash) == (4, result.hash)
    event = await AuditEvent.all().order_by("-seq").first()
    assert event is not None and event.action == "incident.affected"
    assert json.loads(event.details)["hash"] == result.hash


@pytest.mark.parametrize(
    ("jurisdictions", "accounts", "expected"),
    [
        (["US", "GB"], [], {"GB1", "CA1"}),
        (["US-NY"], [], set()),
        (["US-CA", "HK"], [], {"CA1", "HK1"}),
        ([], ["GLOBEX"], {"GB1", "DE1"}),
        (["GB"], ["GLOBEX"], {"GB1"}),
    ],
)
async def test_narrowed_by_jurisdictions_and_accounts(
    inventory: None, jurisdictions: list[str], accounts: list[str], expected: set[str]
) -> None:
    ref = await _incident(jurisdictions=jurisdictions, account_refs=accounts)
    result = await _resolve(ref)
    assert set(await _exposures(ref)) == expected
    assert result.total == len(expected)


async def test_include_and_exclude_lists(inventory: None, tmp_path: Path) -> None:
    ref = await _incident()
    (tmp_path / "in.txt").write_text("# extra people\nNOH\n\nNY1\nGB1\n")
    (tmp_path / "out.csv").write_text("external_ref,note\nHK1,staff test account\n")
    include = affected.read_ref_list("include", tmp_path / "in.txt")
    exclude = affected.read_ref_list("exclude", tmp_path / "out.csv")
    await _resolve(ref, include=include, exclude=exclude)
    found = await _exposures(ref)
    assert set(found) == {"GB1", "CA1", "DE1", "NOH", "NY1"}
    listed = [{"source": "include_list", "file": "in.txt"}]
    assert found["NOH"] == (["contact", "payment_card"], "include_list", listed)
    assert found["NY1"] == (["contact", "payment_card"], "include_list", listed)
    assert found["GB1"][1] == "holding"  # already matched: keeps its holding reasons


async def test_bad_lists_change_nothing(inventory: None, tmp_path: Path) -> None:
    ref = await _incident()
    await _resolve(ref)
    before = (await _exposures(ref), await AuditEvent.all().count())
    (tmp_path / "in.txt").write_text("GB1\nNOBODY\n")
    with pytest.raises(ValidationError) as caught:
        await _resolve(ref, include=affected.read_ref_list("include", tmp_path / "in.txt"))
    assert (caught.value.file, caught.value.line) == (str(tmp_path / "in.txt"), 2)
    (tmp_path / "in.txt").write_text("GB1\n")
    (tmp_path / "out.txt").write_text("CA1\nGB1\n")
    with pytest.raises(ValidationError) as caught:
        await _resolve(
            ref,
            include=affected.read_ref_list("include", tmp_path / "in.txt"),
            exclude=affected.read_ref_list("exclude", tmp_path / "out.txt"),
        )
    assert "both included and excluded" in str(caught.value)
    assert (await _exposures(ref), await AuditEvent.all().count()) == before


async def test_rerun_shows_what_changed(inventory: None) -> None:
    ref = await _incident()
    first = await _resolve(ref)
    same = await _resolve(ref)
    assert (same.added, same.removed, same.changed, same.hash) == (0, 0, 0, first.hash)
    ny1 = await Subject.get(external_ref="NY1")
    await Holding.create(subject=ny1, system="crm", category="contact")
    grown = await _resolve(ref)
    assert (grown.added, grown.removed, grown.added_sample) == (1, 0, ["NY1"])
    await incidents.update(ref=ref, actor="a", key=None, changes={"categories": ["contact"]})
    narrowed = await _resolve(ref)
    assert (narrowed.total, narrowed.removed, narrowed.removed_sample) == (4, 1, ["CA1"])
    assert narrowed.changed == 2  # HK1 and DE1 lose payment_card
    assert {k: v[0] for k, v in (await _exposures(ref)).items()} == {
        "HK1": ["contact"],
        "GB1": ["contact"],
        "DE1": ["contact"],
        "NY1": ["contact"],
    }
    events = await AuditEvent.filter(action="incident.affected").order_by("seq")
    assert [json.loads(e.details)["count"] for e in events] == [4, 4, 5, 4]


async def test_export_csv_escapes_formulas_and_jsonl_round_trips(
    inventory: None, tmp_path: Path
) -> None:
    ref = await _incident()
    await _resolve(ref)
    assert await affected_export.export(ref=ref, path=tmp_path / "a.csv") == 4
    with (tmp_path / "a.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["external_ref"] for r in rows] == ["CA1", "DE1", "GB1", "HK1"]
    assert rows[3]["name"] == "'=HYPERLINK(1)"
    assert rows[3]["categories"] == "contact;payment_card"
    await affected_export.export(ref=ref, path=tmp_path / "a.jsonl")
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert records[0]["categories"] == ["payment_card"]
    assert records[3]["name"] == "=HYPERLINK(1)"
    # the recipe in docs/incidents.md recomputes the stored hash from the export
    lines = sorted(r["external_ref"] + ":" + ",".join(sorted(r["categories"])) for r in records)
    recomputed = hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()
    assert recomputed == (await Incident.get(ref=ref)).affected_hash


async def test_a_write_that_fails_while_the_list_is_counted_writes_nothing(
    inventory: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list is counted in a thread during the write: a failing write still rolls back
    everything, and the next resolve works on the same connection."""
    ref = await _incident()
    real_write = affected._write

    async def failing_write(*args: Any, **kwargs: Any) -> None:
        await real_write(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(affected, "_write", failing_write)
    with pytest.raises(RuntimeError, match="disk full"):
        await _resolve(ref)
    assert await _exposures(ref) == {}
    assert (await Incident.get(ref=ref)).affected_hash is None
    monkeypatch.setattr(affected, "_write", real_write)
    result = await _resolve(ref)
    assert result.total == len(await _exposures(ref)) > 0


async def test_a_failure_after_the_exposures_are_written_writes_nothing(
    inventory: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list, its hash and its audit event commit together or not at all (on SQLite too:
    the temporary tables are made without a script, which would commit what came before)."""
    ref = await _incident()

    async def broken_audit(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(affected.audit, "record", broken_audit)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        await _resolve(
            ref, include=affected.RefList("include", Path("extra.txt"), [("CA1", 1)], "0" * 64)
        )
    assert await _exposures(ref) == {}
    incident = await Incident.get(ref=ref)
    assert (incident.affected_count, incident.affected_hash) == (0, None)


def _shell(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """The console entry point in this process (so a cap can be patched down): its exit code
    and what it wrote to stderr."""
    from incident_svc.cli import main

    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["incident-svc", *args])
    with pytest.raises(SystemExit) as ended:
        main.run()
    return int(ended.value.code or 0), capsys.readouterr().err


async def _state() -> tuple[Any, ...]:
    return (
        await _exposures("INC-2026-0001"),
        await AuditEvent.all().count(),
        await Incident.get(ref="INC-2026-0001").values_list("affected_count", flat=True),
    )


def test_include_and_exclude_files_too_large_devices_and_fifos_are_refused(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each refusal is one line naming the file, exit 5 (bad input), and changes nothing; a
    FIFO nobody writes to and /dev/zero are refused before a byte is read (no hang)."""

    async def prepared() -> tuple[Any, ...]:
        async with db.database(database_url):
            await _inventory()
            await _resolve(await _incident())
            return await _state()

    async def now() -> tuple[Any, ...]:
        async with db.database(database_url):
            return await _state()

    before = asyncio.run(prepared())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INCIDENT_SVC_DATABASE_URL", database_url)
    monkeypatch.setattr(affected, "REF_LIST_MAX_BYTES", 64)  # 256 MiB for real
    big = tmp_path / "big.txt"
    big.write_text("".join(f"NOH{n}\n" for n in range(20)))  # 110 bytes
    fits = tmp_path / "fits.txt"
    fits.write_text("NOH\n")
    fifo = tmp_path / "staff.fifo"
    os.mkfifo(fifo)  # nobody writes to it: reading it would block for ever
    folder = tmp_path / "lists"
    folder.mkdir()
    cases = [
        ("--include", big, "larger than 64 bytes, the limit for --include files"),
        ("--exclude", big, "larger than 64 bytes, the limit for --exclude files"),
        ("--exclude", fifo, "not a regular file (a FIFO)"),
        ("--include", fifo, "not a regular file (a FIFO)"),
        ("--include", Path("/dev/zero"), "not a regular file (a device)"),
        ("--exclude", Path("/dev/zero"), "not a regular file (a device)"),
        ("--include", folder, "not a regular file (a folder)"),
    ]
    for option, path, reason in cases:
        other = "--exclude" if option == "--include" else "--include"
        args = ["incident", "affected", "INC-2026-0001", option, str(path), other, str(fits)]
        code, stderr = _shell(monkeypatch, capsys, *args)
        assert (code, stderr) == (5, f"error: {path}: {reason}\n"), (option, path)
    assert asyncio.run(now()) == before  # no run recorded, no exposure changed
