"""`incident-svc notice preview` and `notice check` end to end against a real database."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import TypeVar

import pytest
from typer.testing import CliRunner

from incident_svc import db
from incident_svc.cli.main import app
from incident_svc.errors import IncidentSvcError
from incident_svc.resources import builtin_templates_dir
from tests.notice_data import EN_TEXTS, make_account, make_incident, make_subject

T = TypeVar("T")


def in_db(url: str, work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        async with db.database(url):
            return await work()

    return asyncio.run(main())


@dataclass
class Outcome:
    exit_code: int
    stdout: str


def cli(url: str, *args: str, templates: Path | None = None) -> Outcome:
    env = {"INCIDENT_SVC_DATABASE_URL": url}
    if templates is not None:
        env["INCIDENT_SVC_TEMPLATES_DIR"] = str(templates)
    result = CliRunner().invoke(app, list(args), env=env)
    if isinstance(result.exception, IncidentSvcError):
        return Outcome(result.exception.exit_code, str(result.exception))
    return Outcome(result.exit_code, result.stdout)


@pytest.fixture
def world(database_url: str) -> str:
    async def seed() -> None:
        incident = await make_incident()
        acme = await make_account("ACME")
        await make_subject(incident, "EN1", account=acme)
        await make_subject(incident, "EN2")
        await make_subject(incident, "CA1", jurisdiction="US-CA", timezone="America/Los_Angeles")
        await make_subject(incident, "HK1", locale="zh-Hant-HK", timezone="Asia/Hong_Kong")

    in_db(database_url, seed)
    return database_url


def test_preview_text_is_what_is_sent(world: str) -> None:
    out = cli(world, "notice", "preview", "INC-2026-0001", "--subject", "HK1")
    assert out.exit_code == 0, out.stdout
    assert out.stdout.startswith("Subject: 資料外洩通知")
    assert "信用卡號碼" in out.stdout and "香港標準時間" in out.stdout


def test_preview_eml_parses_and_matches_html_and_json(world: str, tmp_path: Path) -> None:
    eml, html = tmp_path / "n.eml", tmp_path / "n.html"
    args = ("notice", "preview", "INC-2026-0001", "--subject", "EN1", "--locale", "en")
    assert cli(world, *args, "--format", "eml", "--out", str(eml)).exit_code == 0
    assert cli(world, *args, "--format", "html", "--out", str(html)).exit_code == 0
    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert message["To"].addresses[0].addr_spec == "en1@example.net"
    part = message.get_body(("html",))
    assert part is not None
    assert part.get_content().replace("\r\n", "\n") == html.read_text(encoding="utf-8")
    data = json.loads(cli(world, *args, "--json").stdout)
    assert data["recipient"] == "EN1" and data["locale"] == "en"
    assert len(data["template_hash"]) == 64 and EN_TEXTS["measures"] in data["content"]


def test_preview_account_holder_and_bad_input(world: str) -> None:
    out = cli(world, "notice", "preview", "INC-2026-0001", "--account", "ACME")
    assert out.exit_code == 0 and "Person EN1" in out.stdout
    assert cli(world, "notice", "preview", "INC-2026-0001").exit_code == 5
    missing = cli(world, "notice", "preview", "INC-2026-0001", "--subject", "NOPE")
    assert missing.exit_code == 5 and "NOPE" in missing.stdout
    bad = cli(world, "notice", "preview", "INC-2026-0001", "--subject", "EN1", "--format", "pdf")
    assert bad.exit_code == 5 and "--format" in bad.stdout
    assert cli(world, "notice", "preview", "INC-2099-0001", "--subject", "EN1").exit_code == 4


def test_check_passes_with_the_built_in_templates(world: str) -> None:
    out = cli(world, "notice", "check", "INC-2026-0001", "--json")
    assert out.exit_code == 0, out.stdout
    report = json.loads(out.stdout)
    assert report["ok"] is True
    assert set(report["locales"]) == {"en", "zh-Hant-HK"}
    assert "CA1" in report["locales"]["en"]["samples"]  # one per jurisdiction is always in
    assert report["locales"]["zh-Hant-HK"]["samples"] == ["HK1"]
    holder = cli(world, "notice", "check", "INC-2026-0001", "--kind", "account_holder_notice")
    assert holder.exit_code == 0, holder.stdout


def operator_copy(tmp_path: Path) -> Path:
    root = tmp_path / "operator"
    shutil.copytree(builtin_templates_dir(), root)
    return root


def test_check_catches_a_template_missing_a_required_heading(world: str, tmp_path: Path) -> None:
    root = operator_copy(tmp_path)
    for name in ("body.txt.j2", "body.html.j2"):
        path = root / "email" / "subject_notice" / "en" / name
        path.write_text(path.read_text().replace("What You Can Do", "Next Steps"))
    out = cli(world, "notice", "check", "INC-2026-0001", "--json", templates=root)
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    findings = report["locales"]["en"]["findings"]
    assert {(f["recipient"], f["code"]) for f in findings} == {("CA1", "missing_heading")}
    assert all("What You Can Do" in f["message"] for f in findings)
    assert report["locales"]["zh-Hant-HK"]["findings"] == []


def test_check_reports_missing_elements_undefined_long_subject_and_links(
    world: str, tmp_path: Path
) -> None:
    root = operator_copy(tmp_path)
    folder = root / "email" / "subject_notice"
    text = folder / "en" / "body.txt.j2"
    text.write_text(text.read_text().replace("{{ incident.measures }}", "We are on it."))
    html = folder / "en" / "body.html.j2"
    html.write_text(html.read_text().replace('{{ org.website_url }}"', 'javascript:void(0)"'))
    (folder / "en" / "subject.j2").write_text("A very long subject line " * 5)
    (folder / "zh-Hant" / "subject.j2").write_text("{{ recipient.nickname }}")
    out = cli(world, "notice", "check", "INC-2026-0001", "--json", templates=root)
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    en = {(f["code"], f["part"]) for f in report["locales"]["en"]["findings"]}
    assert ("missing_element", "text") in en and ("missing_element", "html") not in en
    assert ("subject_too_long", "subject") in en
    assert ("broken_link", "html") in en
    [zh] = report["locales"]["zh-Hant-HK"]["findings"]
    assert zh["code"] == "undefined_variable" and "nickname" in zh["message"]
    assert zh["part"].endswith("zh-Hant/subject.j2")


def test_check_human_output(world: str) -> None:
    out = cli(world, "notice", "check", "INC-2026-0001")
    assert out.exit_code == 0
    assert "en: 3 sampled, ok" in out.stdout and "zh-Hant-HK: 1 sampled, ok" in out.stdout


def test_check_reports_progress_per_sample(world: str) -> None:
    from incident_svc.config import load_settings
    from incident_svc.domain.enums import NoticeKind
    from incident_svc.notices import review

    seen: list[tuple[int, int]] = []

    async def work() -> review.CheckReport:
        return await review.check_incident(
            incident_ref="INC-2026-0001",
            kind=NoticeKind.SUBJECT_NOTICE,
            settings=load_settings(overrides={"database_url": world}),
            progress=lambda done, total: seen.append((done, total)),
        )

    report = in_db(world, work)
    assert report.ok
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
