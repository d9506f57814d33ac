"""Hostile stored values and hostile checkpoint lines: `audit verify` reports BROKEN at the
place in one line, never a traceback (property-based, against a real database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise import connections
from tortoise.exceptions import IntegrityError

from incident_svc.config import load_settings
from incident_svc.domain import checkpoints
from incident_svc.domain.audit_chain import Verdict
from incident_svc.rawsql import placeholders
from incident_svc.services.auditlog import audit, audit_verify, checkpoint_store
from tests.support.audit_chain_tools import append, execute, in_db
from tests.support.databases import BACKEND

KEY = b"malformed-test-key-0123456789"
FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.fixture
def seeded(database_url: str) -> str:
    in_db(database_url, lambda: append(5, key=KEY))
    return database_url


def _stored_text() -> st.SearchStrategy[str]:
    # PostgreSQL's varchar(64) takes at most 64 characters and no NUL; SQLite takes anything
    limit = 64 if BACKEND == "postgres" else 200
    return st.text(max_size=limit).filter(lambda s: "\x00" not in s or BACKEND == "sqlite")


async def _with_value(column: str, seq: int, value: object) -> tuple[Verdict, list[Any]] | None:
    """Verify with ``value`` stored in ``column`` of event ``seq``, then put the row back."""
    [row] = await _rows(f"SELECT hash, {column} AS v FROM audit_event WHERE seq = ?", [seq])
    where, where_value = ("hash", row["hash"]) if column == "seq" else ("seq", seq)
    try:
        await execute(f"UPDATE audit_event SET {column} = ? WHERE seq = ?", [value, seq])
    except IntegrityError:
        return None  # a value the column cannot hold at all (NaN as NULL in a NOT NULL column)
    try:
        return await audit.verify(key=KEY), await _rows(
            "SELECT seq FROM audit_event ORDER BY seq", []
        )
    finally:
        await execute(
            f"UPDATE audit_event SET {column} = ? WHERE {where} = ?", [row["v"], where_value]
        )


async def _rows(sql: str, values: list[Any]) -> list[dict[str, Any]]:
    conn = connections.get("default")
    return await conn.execute_query_dict(placeholders(sql, conn), values)


def _one_line_broken_at(verdict: Verdict, seq: int) -> None:
    assert not verdict.intact and verdict.first_bad_seq == seq
    assert "\n" not in verdict.problem and "\r" not in verdict.problem
    assert verdict.problem.isprintable()


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
@given(
    column=st.sampled_from(["hash", "prev_hash"]),
    seq=st.integers(min_value=1, max_value=5),
    value=_stored_text(),
)
def test_any_stored_hash_breaks_verify_at_its_sequence(
    seeded: str, column: str, seq: int, value: str
) -> None:
    outcome = in_db(seeded, lambda: _with_value(column, seq, value))
    assert outcome is not None
    # an edited hash breaks its own event; an edited prev_hash too
    _one_line_broken_at(outcome[0], seq)


@pytest.mark.skipif(BACKEND != "sqlite", reason="only SQLite stores text in an integer column")
@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
@given(
    value=st.one_of(
        st.text(max_size=30), st.binary(max_size=30), st.floats(), st.integers(-(2**63), 2**63 - 1)
    )
)
def test_any_stored_sequence_number_breaks_verify_in_one_line(seeded: str, value: object) -> None:
    outcome = in_db(seeded, lambda: _with_value("seq", 5, value))
    if outcome is None:
        return
    verdict, seqs = outcome
    stored = [row["seq"] for row in seqs]
    if stored == [1, 2, 3, 4, 5]:  # SQLite read "5" or 5.0 back as the integer 5
        assert verdict.intact
        return
    assert not verdict.intact, (value, stored)
    # reported where the stored order first departs from 1, 2, 3 ...: at the number found
    # there when it is one, else at the number expected there
    position = next(i for i, seq in enumerate(stored) if seq != i + 1 or type(seq) is not int)
    found = stored[position]
    _one_line_broken_at(verdict, found if type(found) is int else position + 1)


@pytest.mark.skipif(BACKEND != "sqlite", reason="only SQLite stores a blob in a text column")
def test_a_blob_where_text_belongs_breaks_verify(seeded: str) -> None:
    outcome = in_db(seeded, lambda: _with_value("actor", 2, b"\xff\xfe"))
    assert outcome is not None
    _one_line_broken_at(outcome[0], 2)
    assert "is a bytes, not text" in outcome[0].problem


def _cli(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_SVC_")}
    env.update(
        INCIDENT_SVC_DATABASE_URL=url,
        INCIDENT_SVC_VAR_DIR=str(tmp_path / "var"),
        INCIDENT_SVC_AUDIT__HMAC_KEY=KEY.decode(),
    )
    return subprocess.run(
        [sys.executable, "-m", "incident_svc", *args],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


def test_non_ascii_hash_is_one_line_from_the_command(seeded: str, tmp_path: Path) -> None:
    in_db(seeded, lambda: execute("UPDATE audit_event SET hash = ? WHERE seq = 2", ["é" * 64]))
    result = _cli(seeded, tmp_path, "audit", "verify")
    assert result.returncode == 1 and result.stderr == ""
    [first] = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    assert first.startswith("audit chain BROKEN at sequence 2: stored hash is not 64")
    assert "Traceback" not in result.stdout


# --- checkpoint lines -----------------------------------------------------------------------


def _valid_line() -> bytes:
    point = checkpoints.make(seq=0, head="0" * 64, at=datetime.now(UTC), key=KEY)
    return point.line().encode()


@settings(max_examples=300, deadline=None)
@given(line=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_bytes_are_a_checkpoint_or_one_clear_refusal(line: bytes) -> None:
    try:
        point = checkpoints.parse(line)
    except checkpoints.CheckpointFormatError as exc:
        assert "\n" not in str(exc) and str(exc).isprintable()
        return
    assert checkpoints.parse(point.line()) == point


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(fields=st.dictionaries(st.sampled_from(checkpoints.FIELDS), _JSON))
def test_any_json_object_is_a_checkpoint_or_one_clear_refusal(fields: dict[str, Any]) -> None:
    try:
        line = json.dumps(fields)
    except ValueError:
        return
    try:
        point = checkpoints.parse(line)
    except checkpoints.CheckpointFormatError as exc:
        assert "\n" not in str(exc) and str(exc).isascii()
        return
    assert checkpoints.signature_problem(point, KEY)  # nothing random is signed with our key


@settings(max_examples=100, deadline=None, suppress_health_check=FIXTURES)
@given(hostile=st.binary(max_size=200).filter(lambda b: b"\n" not in b))
def test_a_malformed_line_in_a_witness_is_named_by_file_and_line(
    tmp_path: Path, hostile: bytes
) -> None:
    path = tmp_path / "witness.jsonl"
    path.write_bytes(_valid_line() + b"\n" + hostile + b"\n")
    witnesses = audit_verify.gather(load_settings(), [str(path)])
    assert witnesses.bad is not None, hostile
    where, why = witnesses.bad
    assert where == f"{path} line 2" and "\n" not in why
    assert len(witnesses.points) == 1


def test_a_malformed_checkpoint_line_is_one_line_from_the_command(
    seeded: str, tmp_path: Path
) -> None:
    local = tmp_path / "var" / checkpoint_store.FILE_NAME
    local.parent.mkdir(parents=True)
    local.write_bytes(_valid_line() + b"\n" + b'{"v":1,"seq":"\xff\xfe' + b"\n")
    result = _cli(seeded, tmp_path, "audit", "verify")
    assert result.returncode == 1 and result.stderr == ""
    assert f"checkpoint witness BROKEN at {local} line 2: not JSON" in result.stdout
    assert "Traceback" not in result.stdout
