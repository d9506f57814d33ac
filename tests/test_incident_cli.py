"""The inventory and incident commands end to end, in a subprocess like an operator runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_cli_shell import cli


@pytest.mark.slow
def test_import_create_resolve_export(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text(
        "account_ref,name,region,holder_email,holder_name\nACME,Acme,APAC,boss@acme.example,Ann\n"
    )
    (tmp_path / "subjects.jsonl").write_text(
        '{"external_ref": "S1", "email": "a@acme.example", "name": "A", "jurisdiction": "HK",'
        ' "account_ref": "ACME", "marketing_opt_out": true}\n'
        '{"external_ref": "S2", "email": "b@x.example", "name": "B", "jurisdiction": "GB"}\n'
    )
    (tmp_path / "holdings.csv").write_text(
        "external_ref,system,category\nS1,crm,contact\nS2,web,device_data\n"
    )
    for kind, name in (
        ("accounts", "accounts.csv"),
        ("subjects", "subjects.jsonl"),
        ("holdings", "holdings.csv"),
    ):
        result = cli(kind, "import", str(tmp_path / name), "--json", database_url=database_url)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["inserted"] == 2 if kind != "accounts" else 1
    again = cli("subjects", "import", str(tmp_path / "subjects.jsonl"), database_url=database_url)
    assert again.stdout.startswith("nothing changed:")

    created = cli(
        "incident",
        "create",
        "--title",
        "CRM leak",
        "--summary",
        "s",
        "--severity",
        "high",
        "--discovered-at",
        "2026-11-28T09:00:00+08:00",
        "--systems",
        "crm",
        "--categories",
        "contact,payment_card",
        "--what-happened",
        "資料外洩",
        "--locale",
        "zh-Hant-HK",
        database_url=database_url,
    )
    assert created.returncode == 0, created.stderr
    ref = created.stdout.strip()
    assert ref.startswith("INC-") and ref.endswith("-0001")

    naive = cli(
        "incident",
        "create",
        "--title",
        "x",
        "--summary",
        "s",
        "--severity",
        "low",
        "--discovered-at",
        "2026-11-28T09:00:00",
        "--systems",
        "crm",
        "--categories",
        "contact",
        database_url=database_url,
    )
    assert naive.returncode != 0
    assert "has no UTC offset" in re.sub(r"[│\s]+", " ", naive.stderr)

    illegal = cli("incident", "status", ref, "closed", database_url=database_url)
    assert illegal.returncode == 6
    assert "allowed statuses are: confirmed, dismissed" in illegal.stderr

    resolved = cli(
        "incident",
        "affected",
        ref,
        "--json",
        "--export",
        str(tmp_path / "out.csv"),
        database_url=database_url,
    )
    assert resolved.returncode == 0, resolved.stderr
    data = json.loads(resolved.stdout)
    assert (data["total"], data["by_category"]) == (1, {"contact": 1, "payment_card": 0})
    assert "S1,a@acme.example" in (tmp_path / "out.csv").read_text()

    shown = json.loads(cli("incident", "show", ref, "--json", database_url=database_url).stdout)
    assert shown["texts"] == {"zh-Hant-HK": {"what_happened": "資料外洩"}}
    assert shown["affected_count"] == 1 and shown["affected_hash"] == data["hash"]


def test_bad_row_is_one_line_naming_file_line_and_field(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("external_ref,email,name,jurisdiction\nS1,nope,A,HK\n")
    result = cli("subjects", "import", str(path), database_url=database_url)
    assert result.returncode == 5
    assert result.stderr.startswith(f"error: {path}:2 field 'email':")
    assert result.stderr.strip().count("\n") == 0
