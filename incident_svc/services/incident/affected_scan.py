"""One pass over a freshly resolved list: its hash and its counts.

The list is read a page at a time, each page as three concatenated texts (lines to hash,
``jurisdiction|account_id`` keys, category lists) rather than a row object per subject,
which is what makes a third of a million people cost a fraction of a second here.
Reading (:func:`read_stage`) and counting (:func:`count_pages`) are separate steps, so that
the counting can run while the database writes the same list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.domain.scope import list_hash
from incident_svc.rawsql import params
from incident_svc.services.incident import affected_sql as q

PAGE = 50_000
SAMPLE = 20


@dataclass
class Scan:
    total: int = 0
    hash: str = ""
    first_refs: list[str] = field(default_factory=list)
    by_jurisdiction: dict[str, int] = field(default_factory=dict)
    by_account_id: dict[int | None, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    lines: str
    keys: str
    cats: str


async def read_stage(conn: BaseDBAsyncClient, d: str) -> list[Page]:
    """Every page of the staged list, as the database concatenated them."""
    sql = params(d, q.scan_page(d, PAGE))

    async def page_after(last: int) -> dict[str, Any]:
        return (await conn.execute_query_dict(sql, [last]))[0]

    pages: list[Page] = []
    row = await page_after(-1)
    while row["n"]:
        pages.append(Page(str(row["lines"]), str(row["keys"]), str(row["cats"])))
        row = await page_after(int(row["last"]))
    return pages


def count_pages(pages: Sequence[Page], categories: Sequence[str]) -> Scan:
    """The list's hash, size, first references and counts (pure computation)."""
    lines: list[str] = []
    keys: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    for page in pages:
        lines.extend(page.lines.split("\n"))
        keys.update(page.keys.split("\n"))
        cats.update(page.cats.split("\n"))
    lines.sort()
    return Scan(
        total=len(lines),
        hash=list_hash(lines),
        first_refs=[line.rsplit(":", 1)[0] for line in lines[:SAMPLE]],
        by_jurisdiction=_by_jurisdiction(keys),
        by_account_id=_by_account(keys),
        by_category=_by_category(cats, categories),
    )


def _by_jurisdiction(keys: Counter[str]) -> dict[str, int]:
    found: Counter[str] = Counter()
    for key, people in keys.items():
        found[key.split("|", 1)[0]] += people
    return dict(sorted(found.items()))


def _by_account(keys: Counter[str]) -> dict[int | None, int]:
    found: Counter[int | None] = Counter()
    for key, people in keys.items():
        account = key.split("|", 1)[1]
        found[int(account) if account else None] += people
    return dict(found)


def _by_category(cats: Counter[str], categories: Sequence[str]) -> dict[str, int]:
    found: Counter[str] = Counter({c: 0 for c in sorted(categories)})
    for text, people in cats.items():
        for category in text.split(","):
            found[category] += people
    return dict(found)
