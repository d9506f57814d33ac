"""`incident clock`, `obligations`, `obligation-met`, `obligation-decline` end to end, in a
subprocess as an operator runs them, on SQLite or PostgreSQL (INCIDENT_SVC_TEST_DB)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_svc.cli.obligations_cmd import parse_flags, time_left
from incident_svc.errors import ValidationError
from tests.test_cli_shell import cli

pytestmark = pytest.mark.slow


def _setup(database_url: str, tmp_path: Path) -> str:
    people = [("CA", "US-CA", 2), ("GB", "GB", 2), ("US", "US", 1), ("DE", "DE", 1)]
    lines = [
        json.dumps(
            {
                "external_ref": f"{p}{n}",
                "email": f"{p.lower()}{n}@x.example",
                "name": "N",
                "jurisdiction": code,
            }
        )
        for p, code, count in people
        for n in range(count)
    ]
    (tmp_path / "s.jsonl").write_text("\n".join(lines) + "\n")
    refs = [json.loads(line)["external_ref"] for line in lines]
    (tmp_path / "h.csv").write_text(
        "external_ref,system,category\n" + "".join(f"{r},crm,ssn\n" for r in refs)
    )
    for kind, name in (("subjects", "s.jsonl"), ("holdings", "h.csv")):
        assert cli(kind, "import", str(tmp_path / name), database_url=database_url).returncode == 0
    created = cli(
        "incident", "create", "--title", "t", "--summary", "s", "--severity", "high",
        "--discovered-at", "2026-03-27T11:00:00+01:00", "--systems", "crm", "--categories", "ssn",
        database_url=database_url,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    ref = created.stdout.strip()
    assert cli("incident", "affected", ref, database_url=database_url).returncode == 0
    return ref


def test_clock_obligations_met_and_declined(database_url: str, tmp_path: Path) -> None:
    ref = _setup(database_url, tmp_path)
    env = {"INCIDENT_SVC_COMPLIANCE__TIMEZONE": "Europe/London"}
    clock = cli(
        "incident", "clock", ref, "--discovered", "2026-03-27T10:00:00Z", "--high-risk",
        "--flag", "significant=no", "--reason", "forensics", "--json", database_url=database_url,
    )  # fmt: skip
    assert clock.returncode == 0, clock.stderr
    assert json.loads(clock.stdout)["changes"]["high_risk"] == {"old": None, "new": True}

    listed = cli(
        "incident",
        "obligations",
        ref,
        "--at",
        "2026-03-28T00:00:00Z",
        "--json",
        database_url=database_url,
    )
    assert listed.returncode == 0, listed.stderr
    rows = {row["key"]: row for row in json.loads(listed.stdout)}
    assert {"rule", "recipient", "due_at", "status", "citation"} <= set(rows["uk-gdpr-33-ico"])
    assert rows["uk-gdpr-33-ico"]["due_at"] == "2026-03-30T10:00:00+00:00"
    assert rows["uk-gdpr-33-ico"]["due_at_local"] == "2026-03-30T10:00:00+00:00"  # default UTC
    assert rows["gdpr-33-sa:DE"]["status"] == "open"
    assert rows["ca-people"]["due_at"] == "2026-04-26T10:00:00+00:00"
    assert rows["ca-people"]["residents"] == 2 and rows["ca-people"]["residents_state_unknown"] == 1
    assert rows["ca-ag"]["status"] == "not_applicable" and "> 500 needed" in rows["ca-ag"]["reason"]

    human = cli(
        "incident",
        "obligations",
        ref,
        "--at",
        "2026-03-28T00:00:00Z",
        database_url=database_url,
        env=env,
    )
    assert human.returncode == 0 and "Europe/London" in human.stdout
    london = cli("incident", "obligations", ref, "--json", database_url=database_url, env=env)
    shown = {row["key"]: row for row in json.loads(london.stdout)}["uk-gdpr-33-ico"]
    assert shown["due_at_local"] == "2026-03-30T11:00:00+01:00"  # British Summer Time by then
    assert "uk-gdpr-33-ico: Information Commissioner's Office (ICO)" in human.stdout.replace(
        "\n", " "
    )

    export = tmp_path / "obligations.csv"
    written = cli(
        "incident", "obligations", ref, "--export", str(export), database_url=database_url
    )
    assert written.returncode == 0, written.stderr
    exported = {row["key"]: row for row in csv.DictReader(export.open(encoding="utf-8"))}
    assert exported["uk-gdpr-33-ico"]["citation"] == "UK GDPR Art. 33"

    evidence = tmp_path / "receipt.txt"
    evidence.write_text("ICO case 42")
    late = cli(
        "incident", "obligation-met", ref, "uk-gdpr-33-ico", "--at", "2026-03-31T09:00:00Z",
        "--reference", "ICO-42", "--evidence", str(evidence), database_url=database_url,
    )  # fmt: skip
    assert late.returncode == 5 and "--late-reason" in late.stderr
    met = cli(
        "incident", "obligation-met", ref, "uk-gdpr-33-ico", "--at", "2026-03-31T09:00:00Z",
        "--reference", "ICO-42", "--evidence", str(evidence), "--late-reason", "waited for forensics",
        "--json", database_url=database_url,
    )  # fmt: skip
    assert met.returncode == 0, met.stderr
    assert json.loads(met.stdout)["evidence_sha256"] == hashlib.sha256(b"ICO case 42").hexdigest()
    again = cli(
        "incident", "obligation-met", ref, "uk-gdpr-33-ico", "--at", "2026-03-31T09:00:00Z",
        "--reference", "ICO-43", "--late-reason", "x", database_url=database_url,
    )  # fmt: skip
    assert again.returncode == 6 and "already recorded" in again.stderr

    declined = cli(
        "incident", "obligation-decline", ref, "gdpr-33-sa:DE", "--reason", "Art. 33(1): unlikely to result in a risk",
        database_url=database_url,
    )  # fmt: skip
    assert declined.returncode == 0, declined.stderr
    after = {
        row["key"]: row
        for row in json.loads(
            cli("incident", "obligations", ref, "--json", database_url=database_url).stdout
        )
    }
    assert (
        after["uk-gdpr-33-ico"]["status"] == "met" and after["uk-gdpr-33-ico"]["met_late"] is True
    )
    assert after["gdpr-33-sa:DE"]["status"] == "not_applicable"
    assert "unlikely to result in a risk" in after["gdpr-33-sa:DE"]["reason"]
    log = cli("audit", "log", "--json", database_url=database_url)
    actions = [event["action"] for event in json.loads(log.stdout)]
    assert {"incident.facts", "obligation.met", "obligation.declined"} <= set(actions)


def test_bad_input_is_one_line_with_its_exit_code(database_url: str, tmp_path: Path) -> None:
    ref = _setup(database_url, tmp_path)
    cases = [
        (("incident", "obligations", "INC-1999-0001"), 4, "no incident"),
        (
            (
                "incident",
                "obligation-met",
                ref,
                "nope",
                "--at",
                "2026-03-28T00:00:00Z",
                "--reference",
                "r",
            ),
            4,
            "has no obligation",
        ),
        (
            (
                "incident",
                "obligation-met",
                ref,
                "hipaa-people",
                "--at",
                "2026-03-28T00:00:00Z",
                "--reference",
                "r",
            ),
            6,
            "does not apply",
        ),
        (("incident", "clock", ref, "--flag", "lucky=yes", "--reason", "r"), 5, "not a flag"),
        (
            ("incident", "clock", ref, "--aware", "2999-01-01T00:00:00Z", "--reason", "r"),
            5,
            "in the future",
        ),
        (("incident", "obligations", ref, "--export", str(tmp_path / "x.txt")), 5, ".json or .csv"),
    ]
    for args, code, message in cases:
        result = cli(*args, database_url=database_url)
        assert result.returncode == code, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "mine"\nclock = "later"\n')
    bad = cli(
        "incident",
        "obligations",
        ref,
        database_url=database_url,
        env={"INCIDENT_SVC_COMPLIANCE__RULES_FILE": str(rules)},
    )
    assert bad.returncode == 2 and f"{rules}: entry 1 (mine) field 'clock'" in bad.stderr
    assert "Traceback" not in bad.stderr


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.text(max_size=30), max_size=4))
def test_hostile_flag_options_are_refused_cleanly(values: list[str]) -> None:
    try:
        flags = parse_flags(values)
    except ValidationError as exc:
        assert exc.field == "flag"
    else:
        assert all(isinstance(v, bool) for v in flags.values())


def test_time_left_reads_naturally() -> None:
    assert time_left(None) == "-"
    assert time_left(90 * 60) == "1h 30m"
    assert time_left(-(2 * 86400 + 3 * 3600)) == "overdue 2d 3h"


def test_rules_are_listed_for_review_and_an_operator_file_is_checked(tmp_path: Path) -> None:
    listed = cli("incident", "rules", "--json")
    assert listed.returncode == 0, listed.stderr
    rules = json.loads(listed.stdout)
    assert len(rules) > 50 and all(r["citation"] and r["confidence"] in "HML" for r in rules)
    mine = tmp_path / "rules.toml"
    mine.write_text(
        '[[rule]]\nid = "gdpr-33-sa"\nenabled = false\nregime = "GDPR"\njurisdiction = "EU"\n'
        'recipient_kind = "supervisory_authority"\nrecipient = "SA"\nclock = "aware"\n'
        'due = { amount = 96, unit = "hours" }\ncitation = "Omnibus"\nconfidence = "L"\n'
        'reviewed_by = "me"\nreviewed_at = 2026-12-01\neffective_from = 2018-05-25\n'
    )
    checked = cli("incident", "rules", "--check", str(mine), "--json")
    assert checked.returncode == 0, checked.stderr
    assert "gdpr-33-sa" not in {r["id"] for r in json.loads(checked.stdout)}
    mine.write_text(mine.read_text().replace('unit = "hours"', 'unit = "weeks"'))
    bad = cli("incident", "rules", "--check", str(mine))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert f"{mine}: entry 1 (gdpr-33-sa) field 'due.unit'" in bad.stderr
