"""`incident-svc demo` end to end: a fresh directory, the real CLI, the real mail sink."""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def run_demo(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_SVC_")}
    return subprocess.run(
        [sys.executable, "-m", "incident_svc", "demo", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def demo_json(cwd: Path) -> dict[str, Any]:
    done = run_demo(cwd, "--subjects", "400", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_demo_tells_the_whole_story_once(tmp_path: Path) -> None:
    first = demo_json(tmp_path)
    assert first["subjects_imported"] == 400
    assert 0 < first["affected"] < 400  # only people whose billing data was held
    assert set(first["affected_by_jurisdiction"]) == {"DE", "GB", "HK", "US-CA", "US-NY"}
    assert set(first["affected_by_locale"]) == {"en", "zh-Hant-HK"}
    assert sum(first["affected_by_jurisdiction"].values()) == first["affected"]
    subject, holder = (
        first["campaigns"]["subject_notice"],
        first["campaigns"]["account_holder_notice"],
    )
    assert subject["sent"] == first["affected"] and subject["status"] == "completed"
    assert holder["sent"] == first["account_holders"] == 8
    for campaign in (subject, holder):  # two SSH keys under one OS account: two people
        assert (campaign["created_by"], campaign["approved_by"]) == (
            "demo-analyst",
            "demo-approver",
        )
    allowed = (tmp_path / "var" / "demo" / "keys" / "allowed_signers").read_text().splitlines()
    assert [line.split()[0] for line in allowed] == ["demo-analyst", "demo-approver"]
    assert first["emails_accepted_this_run"] == first["affected"] + 8
    maildir = Path(first["maildir"])
    assert maildir == (tmp_path / "var" / "mail").resolve()
    messages = list(mailbox.Maildir(maildir, create=False))
    assert len(messages) == first["emails_in_maildir"] == first["affected"] + 8
    assert len({m["Message-ID"] for m in messages}) == len(messages)
    assert first["audit_ok"] is True and first["audit_events"] > 0
    assert first["feed_url"].endswith("/v1/banners") and first["banner_id"] is not None
    previews = sorted(p.name for p in (tmp_path / "var" / "demo" / "previews").iterdir())
    assert "subject_notice.zh-Hant-HK.eml" in previews

    again = demo_json(tmp_path)  # idempotent: same story, nothing sent twice
    assert again["incident"] == first["incident"]
    assert again["affected"] == first["affected"]
    assert again["emails_accepted_this_run"] == 0
    assert again["emails_in_maildir"] == first["emails_in_maildir"]
    assert again["banner_id"] == first["banner_id"]
    assert again["audit_ok"] is True


def test_demo_prints_a_summary_for_people(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--subjects", "50")
    assert done.returncode == 0, done.stderr
    for words in ("affected people", "emails in Maildir", "banner feed", "audit verify"):
        assert words in done.stdout


def test_demo_refuses_a_configured_postgres_database(tmp_path: Path) -> None:
    done = run_demo(tmp_path, INCIDENT_SVC_DATABASE_URL="postgres://u:pw@127.0.0.1:1/prod")
    assert done.returncode == 2
    assert "is not SQLite" in done.stderr and "pw" not in done.stderr
    assert not (tmp_path / "var" / "mail").exists()
