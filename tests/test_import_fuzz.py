"""Hostile inventory files (accounts, subjects and holdings): any bytes end in a clean import or
one ValidationError naming the place (exit 5, one line), never another exception, and a refused
file writes nothing."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc import db
from incident_svc.errors import ValidationError
from incident_svc.models import Account, AuditEvent, Holding, Subject
from incident_svc.services.inventory.importer import import_file
from tests.test_cli_shell import cli

HOSTILE_PIECES = [
    "S1", "crm", "contact", "GB", "a@b.example", "A1", "Acme", "EMEA", "en", "zh-Hant-HK",
    "x@y.test", "", " ", '"', '""', ",", "\n", "\r\n", "\r",
    "\x00", "\x1b[31m", "[/x]", "\u202e", "\ufeff", "é", "中", "x" * 200_000, "=1+2",
    "true", "1" * 5000,
]  # fmt: skip
HEADERS = {
    "holdings": [
        "external_ref,system,category",
        "external_ref,system",
        "external_ref,external_ref,system,category",
    ],
    "subjects": [
        "external_ref,email,name,jurisdiction",
        "external_ref,email,name,jurisdiction,account_ref,locale",
        "external_ref,email,email,name,jurisdiction",
    ],
    "accounts": [
        "account_ref,name,region,holder_email,holder_name",
        "account_ref,name",
        "account_ref,account_ref,name,region,holder_email,holder_name",
    ],
}
KINDS = sorted(HEADERS)
FIELDS = {
    "holdings": ["external_ref", "system", "category"],
    "subjects": ["external_ref", "email", "name", "jurisdiction", "account_ref", "locale"],
    "accounts": ["account_ref", "name", "region", "holder_email", "holder_name"],
}
BAD_BYTES = [b"", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00"]


@st.composite
def csv_bytes(draw: st.DrawFn, kind: str) -> bytes:
    header = draw(st.sampled_from(HEADERS[kind]) | st.text(max_size=30))
    rows = draw(
        st.lists(
            st.lists(st.sampled_from(HOSTILE_PIECES) | st.text(max_size=8), max_size=5),
            max_size=6,
        )
    )
    text = (
        header + "\n" + "".join(",".join(row) + draw(st.sampled_from(["\n", ""])) for row in rows)
    )
    data = text.encode("utf-8", "surrogatepass")
    junk = draw(st.sampled_from(BAD_BYTES))
    return draw(st.sampled_from([data, junk + data, data + junk]))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.sampled_from(HOSTILE_PIECES)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
RAW_LINES = [
    "[" * 100_000,
    '{"external_ref": ' + "9" * 5000 + "}",
    '{"external_ref": "\\ud800", "system": "crm", "category": "contact"}',
    '{"external_ref": "S1", "external_ref": "S2", "system": "crm", "category": "contact"}',
    '{"external_ref": NaN}',
    "{",
]


@st.composite
def jsonl_bytes(draw: st.DrawFn, kind: str) -> bytes:
    records = st.dictionaries(
        st.sampled_from([*FIELDS[kind], "extra"]), JSON_VALUES, max_size=len(FIELDS[kind]) + 1
    )
    lines = draw(
        st.lists(
            records.map(lambda r: json.dumps(r, ensure_ascii=draw(st.booleans())))
            | st.sampled_from(RAW_LINES),
            max_size=5,
        )
    )
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    return data + draw(st.sampled_from(BAD_BYTES))


async def _counts() -> dict[str, Any]:
    """Every row an import could write or change (as values, so an update shows too)."""
    return {
        "accounts": sorted(await Account.all().values_list("account_ref", "name", "region")),
        "subjects": sorted(
            await Subject.all().values_list("external_ref", "email", "name", "jurisdiction")
        ),
        "holdings": await Holding.all().count(),
        "audit": await AuditEvent.all().count(),
    }


def _import_once(url: str, kind: str, path: Path, skip_invalid: bool) -> None:
    async def main() -> None:
        async with db.database(url):
            await _seed()
            before = await _counts()
            try:
                result = await import_file(
                    kind=kind, path=path, actor="fuzz", key=None, skip_invalid=skip_invalid
                )
            except ValidationError as exc:
                assert await _counts() == before, "a refused file must change nothing"
                assert exc.file == str(path) or exc.field is not None
                assert exc.exit_code == 5  # bad input (README, exit codes)
                assert "\n" not in str(exc) and "\r" not in str(exc), repr(str(exc))
                return
            after = await _counts()
            assert (
                result.rows == result.inserted + result.updated + result.unchanged + result.rejected
            )
            if kind == "holdings":
                assert after["holdings"] == before["holdings"] + result.inserted
            else:
                assert len(after[kind]) == len(before[kind]) + result.inserted
            assert after["audit"] - before["audit"] in (0, 1)
            if result.rejects_file and result.rejected:
                text = Path(result.rejects_file).read_text(encoding="utf-8")
                # JSON Lines ends a record at \n only (not at U+2028 or \x1c, which
                # splitlines() would also split at)
                for line in filter(None, text.split("\n")):
                    assert json.loads(line)["reason"]

    asyncio.run(main())


async def _seed() -> None:
    """S1 and A1 exist, so that some generated rows are good ones."""
    await Account.get_or_create(
        account_ref="A1",
        defaults={"name": "A", "region": "EMEA", "holder_email": "h@example.org",
                  "holder_name": "H"},
    )  # fmt: skip
    await Subject.get_or_create(
        external_ref="S1", defaults={"email": "s1@example.org", "name": "S", "jurisdiction": "GB"}
    )


async def _in_db(url: str) -> None:
    async with db.database(url):
        await _seed()


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data(), skip=st.booleans())
def test_any_file_bytes(
    database_url: str, tmp_path: Path, kind: str, suffix: str, data: st.DataObject, skip: bool
) -> None:
    path = tmp_path / f"{kind}.{suffix}"
    contents = csv_bytes(kind) if suffix == "csv" else jsonl_bytes(kind)
    path.write_bytes(data.draw(contents))
    _import_once(database_url, kind, path, skip)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"external_ref,system,category\nS1,crm,contact\nS1," + b"x" * 10_000_000 + b",contact\n",
         "h.csv:3 field 'line': a field is too large"),
        (b'external_ref,system,category\nS1,crm,contact\nS2,"crm,contact\nS3,crm,contact\n',
         "h.csv:3 field 'line': unterminated quote"),
    ],
    ids=["10MB-field", "unterminated-quote"],
)  # fmt: skip
def test_csv_problems_are_named_with_their_line(
    database_url: str, tmp_path: Path, body: bytes, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_in_db(database_url))
    monkeypatch.chdir(tmp_path)
    Path("h.csv").write_bytes(body)
    result = cli("holdings", "import", "h.csv", database_url=database_url)
    assert result.returncode == 5
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"error: {expected}")


@pytest.mark.slow
def test_devices_fifos_and_folders_are_not_read(database_url: str, tmp_path: Path) -> None:
    fifo = tmp_path / "h.csv"
    os.mkfifo(fifo)  # nobody writes to it: reading it would block for ever
    folder = tmp_path / "d.csv"
    folder.mkdir()
    for path, kind in (("/dev/zero", "a device"), (str(fifo), "a FIFO"), (str(folder), "a folder")):
        result = cli("holdings", "import", path, "--format", "csv", database_url=database_url)
        assert (result.returncode, result.stderr.count("\n")) == (5, 1), result.stderr
        assert result.stderr == f"error: {path}: not a regular file ({kind})\n"
    texts = cli("incident", "update", "INC-1", "--texts", str(fifo), database_url=database_url)
    assert texts.returncode == 5 and "not a regular file (a FIFO)" in texts.stderr


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("t.json", '{"en": {"contact": "a", "contact": "b"}}', "the key 'contact' is given twice"),
        ("t.json", '{"en": {"contact": "\\ud800"}}', "lone surrogate"),
        ("t.json", "[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("t.json", '{"en": {"contact": ' + "7" * 5000 + "}}", "4300 digits"),
        ("t.json", '{"en": {"contact": 12}}', "must be text"),
        ("t.toml", "[en]\ncontact = \n", "not valid TOML"),
        ("t.json", " " * (1024 * 1024 + 1), "larger than 1 MiB, the limit for --texts files"),
    ],
    ids=["duplicate", "surrogate", "deep", "huge-number", "number", "bad-toml", "too-large"],
)
def test_texts_files_are_refused_in_one_line(
    database_url: str, tmp_path: Path, name: str, body: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    result = cli(
        "incident", "update", "INC-2026-0001", "--texts", str(path), database_url=database_url
    )
    assert result.returncode == 5, result.stderr
    assert result.stderr.count("\n") == 1 and reason in result.stderr
