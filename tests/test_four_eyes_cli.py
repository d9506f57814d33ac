"""Four-eyes and --actor labels through the command line, in separate processes.

Two processes run by one OS account are one person on SQLite (identity mode), whatever
--actor says; two SSH keys make two people (signed mode). A label with a control character
or longer than its column is refused with exit 5 by every command that records an actor.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from incident_svc.cli.main import app
from incident_svc.domain.identity import LABEL_WIDTH, check_label
from incident_svc.errors import IncidentSvcError, ValidationError
from incident_svc.models import AuditEvent, Campaign
from tests.support import signers
from tests.support.people import make_incident
from tests.test_campaign_cli import in_db

BAD_LABELS = ["bo\x07b", "\x1b[2Jbob", "bob\u202e", "b\u200bob", "x" * (LABEL_WIDTH + 1), "  "]
WRITING_COMMANDS = [
    ["campaign", "create", "INC-2026-0001", "--kind", "subject_notice"],
    ["campaign", "approve", "1"],
    ["campaign", "cancel", "1"],
    ["incident", "affected", "INC-2026-0001"],
    ["incident", "status", "INC-2026-0001", "confirmed"],
    [
        "incident",
        "regulator-notified",
        "INC-2026-0001",
        "--at",
        "2026-11-29T10:00:00Z",
        "--reference",
        "ICO-1",
    ],
]


def process(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_SVC_")}
    return subprocess.run(
        [sys.executable, "-m", "incident_svc", *args],
        env={**clean, "INCIDENT_SVC_DATABASE_URL": url, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_one_account_in_two_processes_is_one_person_unless_two_keys_sign(
    database_url: str,
) -> None:
    if not database_url.startswith("sqlite://"):
        pytest.skip("on PostgreSQL the identity is the role (tests/test_four_eyes_pg_roles.py)")
    in_db(database_url, lambda: make_incident(3))
    created = process(database_url, "--actor", "alice", "campaign", "create", "INC-2026-0001",
                      "--kind", "subject_notice", "--json")  # fmt: skip
    assert created.returncode == 0, created.stderr
    first = str(json.loads(created.stdout)["id"])
    refused = process(database_url, "--actor", "bob", "campaign", "approve", first)
    assert refused.returncode == 6 and refused.stderr.count("\n") == 1, refused.stderr
    assert "different person" in refused.stderr and "os:" in refused.stderr

    keys = signers.shared()
    signed = {"INCIDENT_SVC_APPROVAL__MODE": "signed",
              "INCIDENT_SVC_APPROVAL__ALLOWED_SIGNERS": str(keys.allowed_signers)}  # fmt: skip
    unsigned = process(database_url, "campaign", "create", "INC-2026-0001", "--kind",
                       "subject_notice", **signed)  # fmt: skip
    assert unsigned.returncode == 5 and "--sign-with" in unsigned.stderr
    created = process(database_url, "--actor", "alice", "campaign", "create", "INC-2026-0001",
                      "--kind", "subject_notice", "--sign-with", str(keys.key("alice")), "--json",
                      **signed)  # fmt: skip
    second = str(json.loads(created.stdout)["id"])
    text = process(database_url, "campaign", "approval-text", second, **signed).stdout
    assert text.startswith(f"incident-svc approval\ncampaign: {second}\ndigest: ")
    signature = Path(database_url[len("sqlite://") :]).parent / "bob.sig"
    signature.write_bytes(keys.sign("bob", text))
    approved = process(database_url, "--actor", "bob", "campaign", "approve", second,
                       "--signature", str(signature), "--json", **signed)  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    shown = json.loads(approved.stdout)
    assert (shown["creator_principal"], shown["approver_principal"]) == ("alice", "bob")
    assert shown["creator_identity"] == shown["approver_identity"]  # one OS account, two keys
    foreign = process(database_url, "campaign", "approve", first, "--sign-with",
                      str(keys.key("eve")), **signed)  # fmt: skip
    assert foreign.returncode == 5 and "not listed" in foreign.stderr
    assert foreign.stderr.count("\n") == 1


def invoke(url: str, args: list[str], **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, args, env={"INCIDENT_SVC_DATABASE_URL": url, **env})
    if isinstance(result.exception, IncidentSvcError):
        return result.exception.exit_code, str(result.exception)
    return result.exit_code, result.output


def audit_count(url: str) -> int:
    return in_db(url, lambda: AuditEvent.all().count())


@pytest.mark.parametrize("command", WRITING_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_writing_command_refuses_a_bad_label(database_url: str, command: list[str]) -> None:
    in_db(database_url, lambda: make_incident(2))
    before = audit_count(database_url)
    for label in BAD_LABELS:
        code, out = invoke(database_url, ["--actor", label, *command])
        assert (code, "\n" in out.strip()) == (5, False), (label, out)
        assert out.startswith("field '--actor'")
    code, out = invoke(database_url, command, INCIDENT_SVC_ACTOR="bob\x1b")
    assert code == 5 and out.startswith("field '$INCIDENT_SVC_ACTOR'")
    assert audit_count(database_url) == before


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(label=st.text(max_size=LABEL_WIDTH + 20))
def test_any_label_is_used_or_refused_with_exit_5(database_url: str, label: str) -> None:
    code, out = invoke(database_url, ["--actor", label, "campaign", "show", "999"])
    try:
        check_label(label, field="--actor")
    except ValidationError as refused:
        assert (code, out) == (5, str(refused))
        return
    assert code == 4 and "campaign 999 does not exist" in out


def test_signed_mode_without_openssh_is_one_configuration_line(database_url: str) -> None:
    in_db(database_url, lambda: make_incident(2))
    keys = signers.shared()
    done = process(database_url, "campaign", "create", "INC-2026-0001", "--kind",
                   "subject_notice", "--sign-with", str(keys.key("alice")),
                   INCIDENT_SVC_APPROVAL__MODE="signed",
                   INCIDENT_SVC_APPROVAL__ALLOWED_SIGNERS=str(keys.allowed_signers),
                   PATH="/nonexistent")  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "ssh-keygen (OpenSSH) is needed" in done.stderr and "openssh-client" in done.stderr
    assert in_db(database_url, lambda: Campaign.all().count()) == 0
