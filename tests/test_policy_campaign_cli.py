"""`policy publish --material` from the command line makes the two e-mail campaigns, which the
campaign commands show as any other (their matter, no incident); an operator template that
fails the content checks refuses the publication (exit 5, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incident_svc.models import Campaign, PolicyVersion
from tests.support.audit_chain_tools import cli, in_db

URL = "https://www.example.com/privacy"
ENV = {"INCIDENT_SVC_ACTOR": "dora"}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"doc": tmp_path / "policy.pdf", "en": tmp_path / "en.txt"}
    paths["doc"].write_bytes(b"%PDF-1.7 the full policy\n")
    paths["en"].write_text("We now keep call records for 12 months instead of 6.\n")
    return paths


def _publish(files: dict[str, Path]) -> list[str]:
    return ["policy", "publish", "2026-12", "--json", "--material", "--url", URL,
            "--document", str(files["doc"]), "--locale", "en", "--summary", str(files["en"])]  # fmt: skip


def test_publish_makes_campaigns_the_campaign_commands_show(
    database_url: str, files: dict[str, Path]
) -> None:
    out = cli(database_url, *_publish(files), env=ENV)
    assert out.code == 0, out.out
    ids = json.loads(out.out)["campaigns"]
    assert len(ids) == 2
    for campaign_id, kind in zip(
        ids, ("policy_change_notice", "policy_holder_notice"), strict=True
    ):
        shown = cli(database_url, "campaign", "show", str(campaign_id), "--json", env=ENV)
        assert shown.code == 0, shown.out
        view = json.loads(shown.out)
        assert (view["kind"], view["matter"], view["incident"], view["status"]) == (
            kind, "POLICY-2026-12", None, "draft",
        )  # fmt: skip
        text = cli(database_url, "campaign", "approval-text", str(campaign_id), env=ENV)
        assert text.code == 0 and f"campaign: {campaign_id}" in text.out
    listed = cli(database_url, "campaign", "list", "--json", env=ENV)
    assert listed.code == 0
    assert [(c["id"], c["matter"]) for c in json.loads(listed.out)] == [
        (i, "POLICY-2026-12") for i in ids
    ]
    assert cli(database_url, "campaign", "list", env=ENV).code == 0  # the table too
    # the publisher's own identity may not approve (four eyes, identity mode)
    refused = cli(database_url, "campaign", "approve", str(ids[0]), env=ENV)
    assert refused.code != 0 and "identity approving it" in refused.out


def test_a_template_failing_its_checks_refuses_the_publication(
    database_url: str, files: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "ops" / "email" / "policy_change_notice" / "en"
    folder.mkdir(parents=True)
    (folder / "body.txt.j2").write_text(
        "{{ policy.summary }} from {{ policy.takes_effect | date }}"
    )
    env = {**ENV, "INCIDENT_SVC_TEMPLATES_DIR": str(tmp_path / "ops")}
    out = cli(database_url, *_publish(files), env=env)
    assert out.code == 5
    assert out.out.startswith("field 'templates': the policy_change_notice template (en, text)")
    assert URL in out.out

    async def nothing() -> None:
        assert await PolicyVersion.all().count() == 0 and await Campaign.all().count() == 0

    in_db(database_url, nothing)
