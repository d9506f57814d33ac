"""Inventory import against a real database: bad inputs change nothing, good ones upsert."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from incident_svc.errors import ValidationError
from incident_svc.models import Account, AuditEvent, Holding, Subject
from incident_svc.services.inventory import importer
from incident_svc.services.inventory.importer import ImportRejected, import_file

ACCOUNTS = (
    "account_ref,name,region,holder_email,holder_name,locale\n"
    "ACME,Acme Ltd,APAC,boss@acme.example,Ann Boss,zh-Hant-HK\n"
)
SUBJECT_HEADER = (
    "external_ref,email,name,locale,jurisdiction,account_ref,role,marketing_opt_out,timezone\n"
)
GOOD_SUBJECT = "S1,alice@acme.example,Alice,en,HK,ACME,participant,true,Asia/Hong_Kong\n"


async def _import(kind: str, path: Path, **options: Any) -> Any:
    return await import_file(kind=kind, path=path, actor="tester", key=None, **options)


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


async def _snapshot() -> tuple[int, int, int, int]:
    return (
        await Account.all().count(),
        await Subject.all().count(),
        await Holding.all().count(),
        await AuditEvent.all().count(),
    )


@pytest.fixture
async def with_account(db_conn: str, tmp_path: Path) -> None:
    await _import("accounts", _write(tmp_path, "accounts.csv", ACCOUNTS))


async def _rejected(tmp_path: Path, name: str, body: str | bytes) -> ValidationError:
    before = await _snapshot()
    with pytest.raises(ValidationError) as caught:
        await _import("subjects", _write(tmp_path, name, body))
    assert await _snapshot() == before, "a rejected file must change nothing"
    return caught.value


async def test_malformed_csv_line(with_account: None, tmp_path: Path) -> None:
    error = await _rejected(
        tmp_path, "s.csv", SUBJECT_HEADER + GOOD_SUBJECT + "S2,bob@x.example,Bob\n"
    )
    assert (error.line, error.field) == (3, "line")
    assert "expected 9 fields" in error.reason


async def test_bad_email(with_account: None, tmp_path: Path) -> None:
    error = await _rejected(
        tmp_path, "s.csv", SUBJECT_HEADER + GOOD_SUBJECT + "S2,bob@@x,Bob,en,GB,,,,\n"
    )
    assert (error.file, error.line, error.field) == (str(tmp_path / "s.csv"), 3, "email")
    assert "not a valid email" in str(error)


@pytest.mark.parametrize("bad", ["Bob\r\nSmith", "Bob\x00"])
async def test_control_characters_in_a_name(with_account: None, tmp_path: Path, bad: str) -> None:
    row = json.dumps(
        {"external_ref": "S2", "email": "b@x.example", "name": bad, "jurisdiction": "GB"}
    )
    error = await _rejected(tmp_path, "s.jsonl", row + "\n")
    assert (error.line, error.field) == (1, "name")
    assert "control character or line break" in error.reason


async def test_crlf_inside_a_quoted_csv_field(with_account: None, tmp_path: Path) -> None:
    body = SUBJECT_HEADER + 'S2,b@x.example,"Bob\r\nSmith",en,GB,,,,\n'
    error = await _rejected(tmp_path, "s.csv", body)
    assert (error.line, error.field) == (2, "name")


async def test_unknown_jurisdiction(with_account: None, tmp_path: Path) -> None:
    error = await _rejected(tmp_path, "s.csv", SUBJECT_HEADER + "S2,b@x.example,Bob,en,XX,,,,\n")
    assert (error.line, error.field) == (2, "jurisdiction")
    assert "ISO 3166" in error.reason


async def test_unknown_locale(with_account: None, tmp_path: Path) -> None:
    error = await _rejected(tmp_path, "s.csv", SUBJECT_HEADER + "S2,b@x.example,Bob,qq-ZZ,GB,,,,\n")
    assert (error.line, error.field) == (2, "locale")


async def test_duplicate_reference_within_a_file(with_account: None, tmp_path: Path) -> None:
    body = SUBJECT_HEADER + GOOD_SUBJECT + "S2,b@x.example,Bob,en,GB,,,,\n" + GOOD_SUBJECT
    error = await _rejected(tmp_path, "s.csv", body)
    assert (error.line, error.field) == (4, "external_ref")
    assert "duplicate of line 2" in error.reason


async def test_unknown_account(with_account: None, tmp_path: Path) -> None:
    error = await _rejected(
        tmp_path, "s.csv", SUBJECT_HEADER + "S2,b@x.example,Bob,en,GB,NOPE,,,\n"
    )
    assert (error.line, error.field) == (2, "account_ref")
    assert "'NOPE'" in error.reason


@pytest.mark.parametrize("body", ["", SUBJECT_HEADER], ids=["zero-bytes", "header-only"])
async def test_empty_file(with_account: None, tmp_path: Path, body: str) -> None:
    error = await _rejected(tmp_path, "s.csv", body)
    assert "empty" in error.reason or "no rows" in error.reason


async def test_wrong_encoding(with_account: None, tmp_path: Path) -> None:
    latin1 = (SUBJECT_HEADER + "S2,b@x.example,Müller,en,DE,,,,\n").encode("latin-1")
    error = await _rejected(tmp_path, "s.csv", latin1)
    assert (error.line, error.field) == (2, "name")
    assert "UTF-8" in error.reason


async def test_utf16_file_is_named_as_such(with_account: None, tmp_path: Path) -> None:
    error = await _rejected(tmp_path, "s.csv", (SUBJECT_HEADER + GOOD_SUBJECT).encode("utf-16"))
    assert "UTF-16" in error.reason


async def test_unknown_column_unless_ignore_extra(with_account: None, tmp_path: Path) -> None:
    body = SUBJECT_HEADER.replace("timezone", "timezone,shoe_size") + GOOD_SUBJECT.replace(
        "\n", ",44\n"
    )
    error = await _rejected(tmp_path, "s.csv", body)
    assert "shoe_size" in error.reason
    result = await _import("subjects", tmp_path / "s.csv", ignore_extra=True)
    assert result.inserted == 1


async def test_every_problem_counted_and_first_ones_listed(
    with_account: None, tmp_path: Path
) -> None:
    body = (
        SUBJECT_HEADER
        + "S2,bad,Bob,en,GB,,,,\nS3,c@x.example,,en,GB,,,,\nS4,d@x.example,D,en,ZZ,,,,\n"
    )
    error = await _rejected(tmp_path, "s.csv", body)
    assert isinstance(error, ImportRejected)
    assert error.total == 3
    assert [(line, field) for line, field, _ in error.problems] == [
        (2, "email"),
        (3, "name"),
        (4, "jurisdiction"),
    ]


async def test_upsert_then_reimport_changes_nothing(with_account: None, tmp_path: Path) -> None:
    path = _write(tmp_path, "s.csv", SUBJECT_HEADER + GOOD_SUBJECT + "S2,B@X.example,Bob,,gb,,,,\n")
    first = await _import("subjects", path)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    again = await _import("subjects", path)
    assert (again.inserted, again.updated, again.unchanged, again.changed) == (0, 0, 2, False)
    bob = await Subject.get(external_ref="S2")
    assert (bob.email, bob.jurisdiction, bob.locale, bob.timezone) == (
        "B@x.example",
        "GB",
        "en",
        "UTC",
    )
    alice = await Subject.get(external_ref="S1").prefetch_related("account")
    assert alice.account is not None and alice.account.account_ref == "ACME"
    assert alice.marketing_opt_out is True
    _write(tmp_path, "s.csv", SUBJECT_HEADER + GOOD_SUBJECT.replace("Alice", "Alicia"))
    changed = await _import("subjects", path)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 0)
    assert (await Subject.get(external_ref="S1")).name == "Alicia"


async def test_import_is_audited(with_account: None, tmp_path: Path) -> None:
    path = _write(tmp_path, "s.csv", SUBJECT_HEADER + GOOD_SUBJECT)
    result = await _import("subjects", path)
    event = await AuditEvent.all().order_by("-seq").first()
    assert event is not None
    details = json.loads(event.details)
    assert (event.actor, event.action) == ("tester", "subjects.import")
    assert details["sha256"] == result.sha256 and details["file"] == "s.csv"
    assert (details["rows"], details["inserted"]) == (1, 1)


async def test_skip_invalid_writes_good_rows_and_rejects(
    with_account: None, tmp_path: Path
) -> None:
    body = (
        SUBJECT_HEADER
        + GOOD_SUBJECT
        + "S2,bad-email,Bob,en,GB,,,,\n"
        + "S3,c@x.example,Carol,en,GB,NOPE,,,\n"
        + "S4,d@x.example,Dan,en,US-CA,,,,\n"
    )
    path = _write(tmp_path, "s.csv", body)
    result = await _import("subjects", path, skip_invalid=True)
    assert (result.inserted, result.rejected) == (2, 2)
    assert sorted(await Subject.all().values_list("external_ref", flat=True)) == ["S1", "S4"]
    rejects = [json.loads(line) for line in Path(result.rejects_file).read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in rejects] == [(3, "email"), (4, "account_ref")]
    assert rejects[0]["row"]["external_ref"] == "S2"


async def test_holdings_need_known_subjects_and_categories(
    with_account: None, tmp_path: Path
) -> None:
    await _import("subjects", _write(tmp_path, "s.csv", SUBJECT_HEADER + GOOD_SUBJECT))
    bad = _write(tmp_path, "h.csv", "external_ref,system,category\nS1,crm,contact\nS1,crm,shoes\n")
    with pytest.raises(ValidationError) as caught:
        await _import("holdings", bad)
    assert (caught.value.line, caught.value.field) == (3, "category")
    orphan = _write(
        tmp_path, "h2.jsonl", '{"external_ref": "S9", "system": "crm", "category": "contact"}\n'
    )
    with pytest.raises(ValidationError) as caught:
        await _import("holdings", orphan)
    assert (caught.value.line, caught.value.field) == (1, "external_ref")
    assert await Holding.all().count() == 0
    good = _write(
        tmp_path,
        "h3.csv",
        "external_ref,system,category\nS1,crm,contact\nS1,billing,payment_card\n",
    )
    assert (await _import("holdings", good)).inserted == 2
    assert (await _import("holdings", good)).unchanged == 2


async def test_parallel_validation_gives_the_same_answer(
    with_account: None, tmp_path: Path
) -> None:
    rows = "".join(f"S{i},p{i}@x.example,P {i},en,GB,,,,\n" for i in range(25_000))
    path = _write(tmp_path, "s.csv", SUBJECT_HEADER + rows + "BAD,nope,N,en,GB,,,,\n")
    with pytest.raises(ImportRejected) as caught:
        await _import("subjects", path, parallel=True)
    assert (caught.value.line, caught.value.field, caught.value.total) == (25_002, "email", 1)
    assert await Subject.all().count() == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("", "empty"),
        (SUBJECT_HEADER, "no rows"),
        ((SUBJECT_HEADER + GOOD_SUBJECT).encode("utf-16"), "UTF-16"),
        ("external_ref,email,shoe_size\n" + "S1,a@x.example,9\n", "unknown column"),
    ],
    ids=["zero-bytes", "header-only", "utf-16", "unknown-column"],
)
async def test_the_worker_reports_file_problems_as_the_importer_does(
    with_account: None, tmp_path: Path, body: str | bytes, words: str
) -> None:
    path = _write(tmp_path, "s.csv", body)
    before = await _snapshot()
    with pytest.raises(ValidationError) as caught:
        await _import("subjects", path, parallel=True)
    assert words in caught.value.reason
    assert caught.value.file == str(path)
    assert await _snapshot() == before


async def test_the_worker_reports_bad_bytes_with_their_line_and_field(
    with_account: None, tmp_path: Path
) -> None:
    rows = "".join(f"S{i},p{i}@x.example,P {i},en,GB,,,,\n" for i in range(15_000))
    latin1 = (SUBJECT_HEADER + rows + "S,b@x.example,Müller,en,DE,,,,\n").encode("latin-1")
    path = _write(tmp_path, "s.csv", latin1)
    with pytest.raises(ImportRejected) as caught:
        await _import("subjects", path, parallel=True)
    assert (caught.value.line, caught.value.field, caught.value.total) == (15_002, "name", 1)
    assert "UTF-8" in caught.value.reason
    assert await Subject.all().count() == 0


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker"])
async def test_the_file_hash_is_of_every_byte(
    with_account: None, tmp_path: Path, parallel: bool
) -> None:
    body = "\ufeff" + SUBJECT_HEADER + GOOD_SUBJECT + "S2,b@x.example,Bob,en,GB,,,,\r\n"
    path = _write(tmp_path, "s.csv", body)
    result = await _import("subjects", path, parallel=parallel)
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (result.rows, result.inserted) == (2, 2)


async def test_a_failure_after_the_upsert_writes_nothing(
    with_account: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_audit(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(importer.audit, "record", broken_audit)
    path = _write(tmp_path, "s.csv", SUBJECT_HEADER + GOOD_SUBJECT)
    before = await _snapshot()
    with pytest.raises(RuntimeError):
        await _import("subjects", path)
    assert await _snapshot() == before, "the upsert must roll back with the audit event"
