"""An incident without notice texts: `notice check` names each missing text, locale and the
command that sets it, in 80 columns; `notice preview` says the same in one line."""

from __future__ import annotations

import asyncio
import json

import pytest

from incident_svc import db
from incident_svc.models import Incident, Subject
from incident_svc.notices.context import NOTICE_TEXTS
from tests.support.people import TEXTS, make_incident
from tests.test_cli_shell import cli


async def _without(url: str, texts: dict[str, dict[str, str]]) -> None:
    async with db.database(url):
        await make_incident(4)  # S-0 and S-3 read zh-Hant, S-1 and S-2 en
        await Incident.filter(ref="INC-2026-0001").update(texts=texts)


@pytest.mark.slow
def test_check_names_every_missing_text_and_the_command(database_url: str) -> None:
    only_zh = {"zh-Hant": TEXTS["zh-Hant"]}  # no English: en readers lack all five texts
    asyncio.run(_without(database_url, only_zh))
    result = cli("notice", "check", "INC-2026-0001", database_url=database_url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "en: 2 sampled, 5 problem(s)" in result.stdout
    assert "zh-Hant: 2 sampled, ok" in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    flat = " ".join(result.stdout.replace("│", " ").split())
    for key in NOTICE_TEXTS:
        option = "--" + key.replace("_", "-")
        assert f"--locale en {option} TEXT" in flat, key
    assert "undefined" not in result.stdout
    report = cli("notice", "check", "INC-2026-0001", "--json", database_url=database_url)
    findings = json.loads(report.stdout)["locales"]["en"]["findings"]
    assert [(f["code"], f["part"]) for f in findings] == [("missing_text", k) for k in NOTICE_TEXTS]
    assert all(f["message"].startswith("INC-2026-0001 has no ") for f in findings)


@pytest.mark.slow
def test_preview_says_which_texts_are_missing(database_url: str) -> None:
    asyncio.run(_without(database_url, {}))
    result = cli(
        "notice", "preview", "INC-2026-0001", "--subject", "S-1", database_url=database_url
    )
    assert result.returncode == 7 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: INC-2026-0001 has no what happened, consequences,")
    assert "`incident-svc incident update INC-2026-0001 --locale en --what-happened TEXT" in (
        result.stderr
    )
    assert "undefined" not in result.stderr


async def _outsider(url: str) -> None:
    async with db.database(url):
        await make_incident(2)
        await Subject.create(
            external_ref="P-0030", email="p30@example.org", name="P", jurisdiction="GB"
        )


@pytest.mark.slow
def test_preview_names_people_by_reference_not_by_id(database_url: str) -> None:
    asyncio.run(_outsider(database_url))
    result = cli(
        "notice", "preview", "INC-2026-0001", "--subject", "P-0030", database_url=database_url
    )
    assert result.returncode == 5 and result.stderr.count("\n") == 1
    assert "P-0030 is not affected by incident INC-2026-0001" in result.stderr
    assert "subject 3" not in result.stderr
