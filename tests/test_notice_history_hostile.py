"""Hostile values in `incident notices`: in the rows it prints and exports, and in export paths.

Whatever a recipient reference, address or reply holds, the JSON gives it back exactly, the
human table prints one visible line per value (no terminal control characters, no Rich
markup), CSV cells never start a formula, and an export path either works or is refused in
one line with exit code 5 (2 for what the option parser refuses), never a traceback.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from incident_svc.domain.csv_cells import safe_cell
from incident_svc.domain.enums import DeliveryStatus
from incident_svc.domain.times import utcnow
from incident_svc.models import Delivery
from tests.support import followup, signers
from tests.support.cli import cli, in_db

BOUNDED = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# what either database can store: no lone surrogates, no NUL (PostgreSQL refuses it)
STORABLE = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
VALUE = st.one_of(
    st.text(STORABLE, min_size=1, max_size=30),
    st.sampled_from(
        ['=HYPERLINK("http://x")', "[/bold]", "[red]x", "\x1b[31mred", "a\nb", "-1;+2"]
    ),
)


def with_campaign(url: str) -> int:
    async def work() -> int:
        await followup.make_incident()
        await followup.add_people(range(0, 1))
        await followup.resolve()
        return (await signers.create_signed(followup.REF, by="alice")).id

    return in_db(url, work)


def replace_rows(url: str, campaign_id: int, values: list[tuple[str, str, str]]) -> None:
    async def work() -> None:
        await Delivery.filter(campaign_id=campaign_id).delete()
        for n, (ref, addr, message_id) in enumerate(values):
            await Delivery.create(
                campaign_id=campaign_id, recipient_ref=f"{n}{ref}", address=addr, locale="en",
                status=DeliveryStatus.SENT, next_attempt_at=utcnow(), sent_at=utcnow(),
                message_id=message_id, content_hash="0" * 64,
            )  # fmt: skip

    in_db(url, work)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_hostile_values_in_the_history(database_url: str, tmp_path: Path) -> None:
    campaign_id = with_campaign(database_url)

    @BOUNDED
    @given(st.lists(st.tuples(VALUE, VALUE, VALUE), min_size=1, max_size=3))
    @example([("=cmd|' /C calc'!A0", "[/x]", "\x1b]0;title\x07")])
    def check(values: list[tuple[str, str, str]]) -> None:
        replace_rows(database_url, campaign_id, values)
        refs = [f"{n}{ref}" for n, (ref, _, _) in enumerate(values)]
        shown = cli(database_url, "bob", "incident", "notices", followup.REF, "--json")
        assert shown.code == 0, shown.out
        data = json.loads(shown.out)
        got = [(r["recipient_ref"], r["address"], r["message_id"]) for r in data["notices"]]
        assert got == [(refs[n], a, m) for n, (_, a, m) in enumerate(values)]

        human = cli(database_url, "bob", "incident", "notices", followup.REF)
        assert human.code == 0, human.out
        assert all(c == "\n" or c.isprintable() for c in human.out), repr(human.out)

        out = tmp_path / "h.csv"
        assert (
            cli(
                database_url,
                "bob",
                "incident",
                "notices",
                followup.REF,
                "--export",
                str(out),
                "--force",
            ).code
            == 0
        )
        with out.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for row, ref, (_, addr, message_id) in zip(rows, refs, values, strict=True):
            assert (row["recipient_ref"], row["address"], row["message_id"]) == (
                safe_cell(ref), safe_cell(addr), safe_cell(message_id),
            )  # fmt: skip
            assert all(safe_cell(cell) == cell for cell in row.values())

        jsonl = tmp_path / "h.jsonl"
        assert (
            cli(
                database_url,
                "bob",
                "incident",
                "notices",
                followup.REF,
                "--export",
                str(jsonl),
                "--force",
            ).code
            == 0
        )
        text = jsonl.read_text(encoding="utf-8")
        lines = [json.loads(line) for line in text.split("\n") if line]
        assert [(r["recipient_ref"], r["address"]) for r in lines] == [
            (refs[n], a) for n, (_, a, _) in enumerate(values)
        ]

    check()


PATH_PART = st.text(st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=20)


@pytest.mark.timeout(600)
def test_hostile_export_paths(database_url: str, tmp_path: Path) -> None:
    with_campaign(database_url)
    folder = tmp_path / "exports"
    folder.mkdir()

    @BOUNDED
    @given(PATH_PART, st.sampled_from([".csv", ".jsonl", ".CSV", ".txt", ""]))
    @example("../../../etc/passwd", ".csv")
    @example("no/such/dir/x", ".csv")
    @example("a\nb", ".csv")
    @example("nul\x00", ".csv")
    def check(name: str, suffix: str) -> None:
        path = folder / f"{name}{suffix}"
        result = cli(
            database_url, "bob", "incident", "notices", followup.REF, "--export", str(path)
        )
        assert result.code in (0, 2, 5, 6), result.out  # 6: that name exists (--force)
        if result.code in (5, 6):
            assert "\n" not in result.out.strip(), repr(result.out)
        if result.code == 0:
            assert path.is_file()
            if suffix.lower() == ".csv":
                assert path.read_text(encoding="utf-8").startswith("recipient_ref,")

    check()
