"""`incident-svc policy publish` against a real database: what it records, and bad input
(one line naming the file, exit 5, nothing written)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc.errors import ValidationError
from incident_svc.models import AuditEvent, Banner, Matter, PolicyVersion
from incident_svc.services.files.input_files import read_text
from tests.support import people
from tests.support.audit_chain_tools import cli, in_db

URL = "https://www.example.com/privacy"
ENV = {"INCIDENT_SVC_ACTOR": "dora"}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "doc": tmp_path / "policy.pdf",
        "en": tmp_path / "en.txt",
        "zh": tmp_path / "zh.txt",
    }
    paths["doc"].write_bytes(b"%PDF-1.7 the full policy\n")
    paths["en"].write_text("We now keep call records for 12 months instead of 6.\n")
    paths["zh"].write_text("我們現在保留通話紀錄十二個月，而非六個月。\n", encoding="utf-8")
    return paths


def _publish(url: str, files: dict[str, Path], *extra: str, version: str = "2026-12") -> list[str]:
    return ["policy", "publish", version, "--json", "--document", str(files["doc"]),
            "--locale", "en", "--summary", str(files["en"]), "--locale", "zh-hant",
            "--summary", str(files["zh"]), *extra]  # fmt: skip


def test_material_change_records_version_banner_and_audit(
    database_url: str, files: dict[str, Path]
) -> None:
    out = cli(database_url, *_publish(database_url, files, "--material", "--url", URL), env=ENV)
    assert out.code == 0, out.out
    shown = json.loads(out.out)
    assert shown["material"] is True and shown["locales"] == ["en", "zh-Hant"]

    async def check() -> None:
        version = await PolicyVersion.get(version="2026-12")
        assert version.document_sha256 == (
            __import__("hashlib").sha256(files["doc"].read_bytes()).hexdigest()
        )
        assert version.published_by == "dora" and version.document_url == URL
        assert version.summaries["zh-Hant"].startswith("我們現在保留")
        matter = await Matter.get(id=version.matter_id)  # type: ignore[attr-defined]
        assert (matter.kind, matter.reference) == ("policy_change", "POLICY-2026-12")
        banner = await Banner.get(id=version.banner_id)
        assert banner.matter_id == matter.id  # type: ignore[attr-defined]
        assert banner.audience == "public" and banner.link == URL and banner.incident_id is None  # type: ignore[attr-defined]
        assert banner.texts["zh-Hant"]["title"] == "我們正在修訂私隱政策"
        assert banner.texts["en"]["body"].startswith("We now keep call records")
        event = await AuditEvent.get(action="policy.published")
        details = json.loads(event.details)
        assert (event.actor, details["document_sha256"]) == ("dora", version.document_sha256)
        assert "call records" not in event.details  # summaries are hashed, not copied

    in_db(database_url, check)
    again = cli(database_url, *_publish(database_url, files, "--minor"), env=ENV)
    assert (again.code, again.out) == (6, "policy version 2026-12 is already published")


def test_minor_change_is_recorded_without_a_notice(
    database_url: str, files: dict[str, Path]
) -> None:
    out = cli(database_url, *_publish(database_url, files, "--minor"), env=ENV)
    assert out.code == 0, out.out

    async def check() -> None:
        version = await PolicyVersion.get(version="2026-12")
        assert version.material is False and version.banner_id is None
        assert await Banner.all().count() == 0

    in_db(database_url, check)


def _bad_cases(tmp: Path, files: dict[str, Path]) -> list[tuple[list[str], str]]:
    fifo = tmp / "fifo"
    os.mkfifo(fifo)
    big = tmp / "big.txt"
    big.write_text("x" * (16 * 1024 + 1))
    latin = tmp / "latin.txt"
    latin.write_bytes(b"caf\xe9\n")
    control = tmp / "control.txt"
    control.write_text("line one\nline\x1b[31m two\n")
    empty = tmp / "empty.txt"
    empty.write_text(" \n\n")
    doc, en = str(files["doc"]), str(files["en"])
    base = ["policy", "publish", "v1", "--material", "--url", URL]
    return [
        ([*base, "--document", str(fifo), "--locale", "en", "--summary", en], f"{fifo} field 'document': not a regular file"),
        ([*base, "--document", "/dev/null", "--locale", "en", "--summary", en], "/dev/null field 'document': not a regular file"),
        ([*base, "--document", str(tmp), "--locale", "en", "--summary", en], "field 'document': not a regular file"),
        ([*base, "--document", str(tmp / "nope"), "--locale", "en", "--summary", en], "nope field 'document': cannot read it: No such file"),
        ([*base, "--document", doc, "--locale", "en", "--summary", str(big)], "big.txt field 'summary': 16385 bytes, more than"),
        ([*base, "--document", doc, "--locale", "en", "--summary", str(latin)], "latin.txt field 'summary': not UTF-8"),
        ([*base, "--document", doc, "--locale", "en", "--summary", str(control)], "control.txt field 'summary': line 2 contains control character U+001B"),
        ([*base, "--document", doc, "--locale", "en", "--summary", str(empty)], "empty.txt field 'summary': the file is empty"),
        ([*base, "--document", doc, "--locale", "fr", "--summary", en], "needs an English summary"),
        (["policy", "publish", "v1", "--material", "--document", doc, "--locale", "en", "--summary", en], "needs --url"),
        ([*base, "--document", doc, "--locale", "en", "--summary", en, "--locale", "EN", "--summary", en], "a second summary for locale 'en'"),
        ([*base, "--document", doc, "--locale", "en"], "one --locale for each --summary"),
        ([*base, "--document", doc, "--locale", "e\nn", "--summary", en], "is not a locale tag"),
        (["policy", "publish", "../v1", "--minor", "--document", doc], "field 'version'"),
        ([*base[:-1], "javascript:alert(1)", "--document", doc, "--locale", "en", "--summary", en], "url"),
    ]  # fmt: skip


def test_bad_input_is_one_line_and_changes_nothing(
    database_url: str, files: dict[str, Path], tmp_path: Path
) -> None:
    for args, message in _bad_cases(tmp_path, files):
        out = cli(database_url, *args, env=ENV)
        assert out.code == 5, (args, out.out)
        assert message in out.out and "\n" not in out.out.strip(), (args, out.out)

    async def nothing() -> None:
        assert await PolicyVersion.all().count() == 0
        assert await Matter.all().count() == 0
        assert await AuditEvent.all().count() == 0

    in_db(database_url, nothing)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_hostile_summary_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "summary\n\x1b.txt"
    path.write_bytes(content)
    try:
        text = read_text(path, cap=256, field="summary")
    except ValidationError as exc:
        message = str(exc)
        assert "\n" not in message and "\x1b" not in message
        assert message.startswith(f"{tmp_path}/summary\\x0a\\x1b.txt field 'summary': ")
        return
    assert text and text == text.strip() and len(content) <= 256
    assert not any(ord(c) < 0x20 and c not in "\n\t" for c in text)


def test_status_effective_date_and_export_commands(
    database_url: str, files: dict[str, Path], tmp_path: Path
) -> None:
    async def person() -> None:
        await people.make_incident(2, accounts=1)

    in_db(database_url, person)
    assert cli(database_url, *_publish(database_url, files, "--material", "--url", URL)).code == 0
    out = cli(database_url, "policy", "status", "2026-12", "--json")
    assert out.code == 0, out.out
    status = json.loads(out.out)
    assert (status["people"], status["bound"], status["without_notice"]) == (3, 0, 3)
    shown = cli(database_url, "policy", "effective-date", "2026-12", "--subject", "S-1", "--json")
    [row] = json.loads(shown.out)
    assert (row["ref"], row["basis"], row["effective_at"]) == ("S-1", "none", None)
    missing = cli(database_url, "policy", "effective-date", "2026-12", "--subject", "S-9")
    assert (missing.code, missing.out) == (4, "no subject or account 'S-9'")
    target = tmp_path / "out.csv"
    done = cli(database_url, "policy", "export", "2026-12", "--out", str(target))
    assert done.code == 0 and target.read_text().count("\n") == 4
    again = cli(database_url, "policy", "export", "2026-12", "--out", str(target))
    assert (again.code, again.out) == (6, f"{target}: exists; pass --force to replace it")
    forced = cli(database_url, "policy", "export", "2026-12", "--out", str(target), "--force")
    assert forced.code == 0 and target.read_text().count("\n") == 4
    unknown = cli(database_url, "policy", "status", "nope")
    assert (unknown.code, unknown.out) == (4, "no policy version 'nope'")
