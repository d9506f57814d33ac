"""Generated inventories for the benchmarks: files for the importer, SQL for resolution.

Subject i is ``S%08d``; its account is one of ``accounts``; it has three holdings:
web/device_data, billing/payment_card, and crm/contact when i % 3 == 0 (else
support/contact). An incident on crm + contact therefore touches a third of the subjects.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

JURISDICTIONS = ("HK", "GB", "US-CA", "US-NY", "DE", "GB-SCT", "FR", "SG")
LOCALES = ("en", "zh-Hant-HK", "en-GB", "de", "fr")
ROLES = ("participant", "account_holder", "billing_contact", "visitor")


def write_files(folder: Path, subjects: int, accounts: int) -> dict[str, Path]:
    """accounts.csv, subjects.csv and holdings.csv (3 holdings a subject)."""
    rng = random.Random(7)
    paths = {kind: folder / f"{kind}.csv" for kind in ("accounts", "subjects", "holdings")}
    with paths["accounts"].open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["account_ref", "name", "region", "holder_email", "holder_name", "locale"])
        for a in range(accounts):
            out.writerow(
                [f"A{a:06d}", f"Org {a}", "APAC", f"holder{a}@org{a}.example", f"H {a}", "en"]
            )
    with paths["subjects"].open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "external_ref",
                "email",
                "name",
                "locale",
                "jurisdiction",
                "account_ref",
                "role",
                "marketing_opt_out",
                "timezone",
            ]
        )
        for i in range(subjects):
            out.writerow(
                [
                    f"S{i:08d}",
                    f"person.{i}@org{i % accounts}.example",
                    f"Person {i}",
                    rng.choice(LOCALES),
                    rng.choice(JURISDICTIONS),
                    f"A{i % accounts:06d}",
                    rng.choice(ROLES),
                    rng.choice(("true", "false")),
                    "UTC",
                ]
            )
    with paths["holdings"].open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["external_ref", "system", "category"])
        for i in range(subjects):
            ref = f"S{i:08d}"
            out.writerow([ref, "web", "device_data"])
            out.writerow([ref, "billing", "payment_card"])
            out.writerow([ref, "crm" if i % 3 == 0 else "support", "contact"])
    return paths


def fill_sql(dialect: str, subjects: int, accounts: int) -> list[str]:
    """Statements that generate the same inventory inside the database (fast, no files)."""
    if dialect == "postgres":
        series = "generate_series(0, {n} - 1) AS g(i)"
        ref = "'S' || lpad(i::text, 8, '0')"
        acc = "'A' || lpad(i::text, 6, '0')"
        now = "now()"
        false = "false"
    else:
        series = "(WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i + 1 < {n}) SELECT i FROM g)"
        ref = "printf('S%08d', i)"
        acc = "printf('A%06d', i)"
        now = "'2026-11-28 00:00:00+00:00'"
        false = "0"
    jur = "CASE i % 4 WHEN 0 THEN 'HK' WHEN 1 THEN 'GB' WHEN 2 THEN 'US-CA' ELSE 'DE' END"
    return [
        f"INSERT INTO account (id, account_ref, name, region, holder_email, holder_name, locale, "
        f"created_at, updated_at) SELECT i + 1, {acc}, 'Org', 'APAC', 'h@x.example', 'H', 'en', "
        f"{now}, {now} FROM {series.format(n=accounts)}",
        f"INSERT INTO subject (id, external_ref, email, name, locale, jurisdiction, account_id, "
        f"role, marketing_opt_out, timezone, email_status, created_at, updated_at) "
        f"SELECT i + 1, {ref}, 'p' || i || '@x.example', 'Person', 'en', {jur}, "
        f"1 + i % {accounts}, 'participant', {false}, 'UTC', 'ok', {now}, {now} "
        f"FROM {series.format(n=subjects)}",
        f"INSERT INTO holding (subject_id, system, category, created_at) "
        f"SELECT i + 1, 'web', 'device_data', {now} FROM {series.format(n=subjects)}",
        f"INSERT INTO holding (subject_id, system, category, created_at) "
        f"SELECT i + 1, 'billing', 'payment_card', {now} FROM {series.format(n=subjects)}",
        f"INSERT INTO holding (subject_id, system, category, created_at) "
        f"SELECT i + 1, CASE WHEN i % 3 = 0 THEN 'crm' ELSE 'support' END, 'contact', {now} "
        f"FROM {series.format(n=subjects)}",
    ]
