"""The pure checkpoint rules (format, signature, which checkpoint fails first, when one is
due) and the key file's content, including hostile content."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_svc.domain.audit_chain import GENESIS_HASH
from incident_svc.domain.checkpoints import (
    checkpoint_due,
    first_mismatch,
    key_id,
    make,
    parse,
    signature_problem,
)
from incident_svc.errors import ConfigError
from incident_svc.services.auditlog.audit_key import create_key_file, read_key_file

T0 = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
KEY = b"rules-test-key-0123456789"
A, B, C = "a" * 64, "b" * 64, "c" * 64


def test_a_checkpoint_round_trips_and_its_signature_binds_every_field() -> None:
    point = make(seq=7, head=A, at=T0, key=KEY)
    assert parse(point.line()) == point
    assert point.key_id == key_id(KEY) and KEY.hex() not in point.line()
    assert signature_problem(point, KEY) == ""
    for change in ({"seq": 8}, {"head": B}, {"at": "2026-12-02T07:00:01.000000Z"}):
        edited = parse(point.line().replace(*_swap(point.as_dict(), change)))
        assert "does not match" in signature_problem(edited, KEY)
    assert "signed with key" in signature_problem(point, b"another-key-0123456789")
    assert "this command has no key" in signature_problem(point, None)


def _swap(data: dict[str, object], change: dict[str, object]) -> tuple[str, str]:
    [(name, value)] = change.items()
    old, new = data[name], value
    quote = "" if isinstance(old, int) else '"'
    return f'"{name}":{quote}{old}{quote}', f'"{name}":{quote}{new}{quote}'


def test_unkeyed_checkpoints_show_damage() -> None:
    point = make(seq=1, head=A, at=T0, key=None)
    assert point.key_id is None and signature_problem(point, None) == ""
    edited = parse(point.line().replace(A, B))
    assert "does not match" in signature_problem(edited, None)


def test_the_lowest_failing_checkpoint_is_reported_whatever_the_file_order() -> None:
    points = [
        ("w line 1", make(seq=9, head=C, at=T0, key=KEY)),
        ("w line 2", make(seq=4, head=B, at=T0, key=KEY)),
        ("w line 3", make(seq=2, head=A, at=T0, key=KEY)),
        ("w line 4", make(seq=0, head=GENESIS_HASH, at=T0, key=KEY)),
    ]
    assert first_mismatch(points, {2: A, 4: B, 9: C}, last_seq=9, key=KEY) is None
    cut = first_mismatch(points, {2: A, 4: B}, last_seq=5, key=KEY)
    assert cut is not None and cut.where == "w line 1" and "ends at sequence 5" in cut.problem
    rewritten = first_mismatch(points, {2: A, 4: C, 9: C}, last_seq=9, key=KEY)
    assert rewritten is not None and rewritten.where == "w line 2"
    emptied = first_mismatch(points, {}, last_seq=0, key=KEY)
    assert emptied is not None and emptied.checkpoint.seq == 2 and "empty" in emptied.problem


@pytest.mark.parametrize(
    ("head_seq", "last_seq", "minutes_since", "completed", "due"),
    [
        (0, None, None, False, False),  # an empty chain, never checkpointed
        (3, None, None, False, True),  # never checkpointed: at once
        (3, 3, 60, True, False),  # nothing changed
        (4, 3, 14, False, False),  # grown, not yet 15 minutes
        (4, 3, 15, False, True),
        (4, 3, 1, True, True),  # a campaign completed: at once
    ],
)
def test_when_a_checkpoint_is_due(
    head_seq: int, last_seq: int | None, minutes_since: int | None, completed: bool, due: bool
) -> None:
    last = make(seq=last_seq, head=A, at=T0, key=KEY) if last_seq is not None else None
    now = T0 + timedelta(minutes=minutes_since or 0)
    assert (
        checkpoint_due(
            now=now,
            head_seq=head_seq,
            last=last,
            last_at=T0 if last else None,
            every=timedelta(minutes=15),
            campaign_completed=completed,
        )
        is due
    )


def test_a_new_key_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "state" / "audit-hmac.key"
        assert create_key_file(path) is True
        assert create_key_file(path) is False  # never replaced
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(read_key_file(path)) == 64


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=2000))
def test_any_key_file_content_is_a_key_or_one_clear_refusal(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    path = tmp_path_factory.mktemp("key") / "audit-hmac.key"
    path.write_bytes(content)
    path.chmod(0o600)
    try:
        key = read_key_file(path)
    except ConfigError as exc:
        assert exc.exit_code == 2 and "\n" not in str(exc) and str(path) in str(exc)
        return
    assert key == content.strip() and key.isascii() and 16 <= len(key) <= 1024
