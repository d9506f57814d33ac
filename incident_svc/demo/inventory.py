"""A realistic small inventory for the demo, written as the CSV files an operator imports.

Deterministic (a seeded generator), so that running the demo twice imports the same rows
and the second import changes nothing. Customer organisations sit in the three regions the
privacy policy names (Hong Kong, the United Kingdom, the United States) and Germany; people
read English or Traditional Chinese; each system holds the categories it would really hold.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SEED = 20261128

# (account_ref, name, region, domain, jurisdictions of its people, share of zh readers)
ACCOUNTS = [
    ("ACC-HK-001", "Harbour Logistics Ltd", "HK", "harbour-logistics.example", ["HK"], 0.8),
    ("ACC-HK-002", "Kowloon Dental Group", "HK", "kowloon-dental.example", ["HK"], 0.9),
    ("ACC-GB-001", "Thames Analytics plc", "GB", "thames-analytics.example", ["GB"], 0.05),
    ("ACC-GB-002", "Pennine Outdoor Ltd", "GB", "pennine-outdoor.example", ["GB", "DE"], 0.0),
    ("ACC-US-001", "GG Robotics Inc", "US", "gg-robotics.example", ["US-CA"], 0.1),
    ("ACC-US-002", "Hudson Legal LLP", "US", "hudson-legal.example", ["US-NY", "US-CA"], 0.0),
    ("ACC-DE-001", "Spree Software GmbH", "DE", "spree-software.example", ["DE"], 0.0),
    ("ACC-HK-003", "Pearl River Trading", "HK", "pearl-river.example", ["HK", "GB"], 0.6),
]
HOLDERS = ["Wong Siu Ming", "Chan Tai Man", "Olivia Hughes", "James Whitaker",
           "Maria Lopez", "Daniel Cohen", "Jonas Becker", "Lee Ka Yan"]  # fmt: skip
FIRST = ["Amelia", "Oliver", "Isla", "Noah", "Sophie", "Liam", "Emma", "Lukas", "Hannah",
         "Ethan", "Mia", "Leon", "Grace", "Jack", "Chloe", "Felix", "Ava", "Samuel"]  # fmt: skip
LAST = ["Smith", "Jones", "Taylor", "Brown", "Garcia", "Miller", "Schmidt", "Wagner",
        "Davies", "Evans", "Martinez", "Fischer", "Walker", "Wright"]  # fmt: skip
ZH_FAMILY = ["陳", "李", "張", "黃", "何", "林", "梁", "吳"]
ZH_GIVEN = ["嘉欣", "志明", "詠詩", "家豪", "美玲", "俊傑", "曉彤", "子軒"]
TIMEZONES = {"HK": "Asia/Hong_Kong", "GB": "Europe/London", "DE": "Europe/Berlin",
             "US-CA": "America/Los_Angeles", "US-NY": "America/New_York"}  # fmt: skip
# system -> the categories it holds about a person
SYSTEMS = {
    "crm": ["contact"],
    "billing": ["billing_address", "payment_card"],
    "telephony": ["call_detail_records"],
    "web-analytics": ["device_data", "cookies", "usage_data"],
    "support-desk": ["contact", "communications"],
}
OTHER_SYSTEMS = sorted(set(SYSTEMS) - {"crm"})


@dataclass(frozen=True)
class InventoryFiles:
    accounts: Path
    subjects: Path
    holdings: Path
    subject_count: int


def write_inventory(folder: Path, *, subjects: int) -> InventoryFiles:
    """Write accounts.csv, subjects.csv and holdings.csv for ``subjects`` people."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    people = list(_people(rng, subjects))
    files = InventoryFiles(
        folder / "accounts.csv", folder / "subjects.csv", folder / "holdings.csv", subjects
    )
    _write(files.accounts, ["account_ref", "name", "region", "holder_email", "holder_name", "locale"],
           _account_rows())  # fmt: skip
    _write(files.subjects, ["external_ref", "email", "name", "locale", "jurisdiction",
                            "account_ref", "role", "marketing_opt_out", "timezone"], people)  # fmt: skip
    _write(files.holdings, ["external_ref", "system", "category"], _holdings(rng, people))
    return files


def _account_rows() -> Iterator[list[str]]:
    for (ref, name, region, domain, _, zh_share), holder in zip(ACCOUNTS, HOLDERS, strict=True):
        locale = "zh-Hant-HK" if zh_share >= 0.5 else "en"
        yield [ref, name, region, f"security-contact@{domain}", holder, locale]


def _people(rng: random.Random, count: int) -> Iterator[list[str]]:
    for n in range(count):
        ref, _, _, domain, jurisdictions, zh_share = ACCOUNTS[n % len(ACCOUNTS)]
        jurisdiction = rng.choice(jurisdictions)
        chinese = rng.random() < zh_share
        name = (
            rng.choice(ZH_FAMILY) + rng.choice(ZH_GIVEN)
            if chinese
            else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        )
        local = f"user{n:05d}"
        role = (
            "account_holder"
            if n < len(ACCOUNTS)
            else rng.choice(["participant"] * 9 + ["billing_contact"])
        )
        yield [
            f"SUB-{n:05d}",
            f"{local}@{domain}",
            name,
            "zh-Hant-HK" if chinese else "en",
            jurisdiction,
            ref,
            role,
            "true" if rng.random() < 0.2 else "false",  # opted out of marketing: still notified
            TIMEZONES[jurisdiction],
        ]


def _holdings(rng: random.Random, people: list[list[str]]) -> Iterator[list[str]]:
    for person in people:
        systems = ["crm", *rng.sample(OTHER_SYSTEMS, k=rng.randint(1, 3))]
        for system in sorted(set(systems)):
            for category in SYSTEMS[system]:
                yield [person[0], system, category]


def _write(path: Path, header: list[str], rows: Iterator[list[str]] | list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
