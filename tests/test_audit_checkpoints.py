"""Checkpoints outside the database: the attacks of issue 14 against a real database.

Each test writes a keyed chain, takes checkpoints with `incident-svc audit checkpoint`, then
does what an insider with write access to the table would do, and `incident-svc audit verify`
must name the first checkpoint that no longer holds.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from incident_svc.config import load_settings
from incident_svc.services.auditlog import audit_checkpoints, audit_key
from tests.support.audit_chain_tools import Outcome, append, cli, execute, in_db, rechain


def key_of(url: str) -> bytes:
    key = audit_key.resolve(load_settings(overrides={"database_url": url})).key
    assert key is not None
    return key


@pytest.fixture
def keyed(database_url: str) -> str:
    """A database whose key file `db upgrade` made, with 5 events and a checkpoint at 5."""
    upgrade = cli(database_url, "db", "upgrade")
    assert upgrade.code == 0 and "audit key: created" in upgrade.out, upgrade.out
    in_db(database_url, lambda: append(5, key=key_of(database_url)))
    taken = cli(database_url, "audit", "checkpoint")
    assert taken.code == 0 and "checkpoint at sequence 5" in taken.out, taken.out
    return database_url


def checkpoint_file(tmp_path: Path) -> Path:
    return tmp_path / "var" / "audit-checkpoints.jsonl"


def verify(url: str, *args: str) -> Outcome:
    return cli(url, "audit", "verify", *args)


def test_db_upgrade_creates_a_0600_key_file_used_by_every_command(
    database_url: str, tmp_path: Path
) -> None:
    first = cli(database_url, "db", "upgrade", "--json")
    assert first.code == 0, first.out
    path = tmp_path / "var" / "audit-hmac.key"
    assert json.loads(first.out)["audit_key"]["created"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes()
    assert len(content.strip()) == 64 and content.endswith(b"\n")
    again = cli(database_url, "db", "upgrade")
    assert again.code == 0 and f"audit key: key file {path}" in again.out
    assert path.read_bytes() == content  # never replaced
    in_db(database_url, lambda: append(3, key=content.strip()))
    ok = verify(database_url)
    assert ok.code == 0, ok.out
    assert f"key: key file {path}" in ok.out and content.strip().decode() not in ok.out
    # the same chain read without the key does not verify: the key really was used
    path.unlink()
    assert verify(database_url).code == 1


def test_environment_key_wins_and_verify_names_it(database_url: str) -> None:
    env = {"INCIDENT_SVC_AUDIT__HMAC_KEY": "an-operator-key-of-their-own"}
    upgrade = cli(database_url, "db", "upgrade", env=env)
    assert "$INCIDENT_SVC_AUDIT__HMAC_KEY" in upgrade.out
    in_db(database_url, lambda: append(2, key=b"an-operator-key-of-their-own"))
    ok = cli(database_url, "audit", "verify", env=env)
    assert ok.code == 0 and "key: $INCIDENT_SVC_AUDIT__HMAC_KEY" in ok.out, ok.out


def test_an_existing_unkeyed_chain_gets_no_key_and_says_so(
    database_url: str, tmp_path: Path
) -> None:
    in_db(database_url, lambda: append(4, key=None))
    upgrade = cli(database_url, "db", "upgrade")
    assert upgrade.code == 0
    assert "already has 4 events written without one" in upgrade.out
    assert not (tmp_path / "var" / "audit-hmac.key").exists()
    ok = verify(database_url)
    assert ok.code == 0 and "key: none" in ok.out


def test_a_key_file_others_can_read_is_refused(keyed: str, tmp_path: Path) -> None:
    path = tmp_path / "var" / "audit-hmac.key"
    path.chmod(0o644)
    refused = verify(keyed)
    assert refused.code == 2
    assert "mode 0644" in refused.out and "chmod 600" in refused.out


def test_intact_chain_holds_every_checkpoint(keyed: str) -> None:
    in_db(keyed, lambda: append(2, key=key_of(keyed)))
    assert cli(keyed, "audit", "checkpoint").code == 0
    ok = verify(keyed)
    assert ok.code == 0, ok.out
    assert "checkpoints: all 2 held (latest at sequence 7" in ok.out


def test_tail_truncation_past_a_checkpoint_is_reported(keyed: str) -> None:
    in_db(keyed, lambda: append(3, key=key_of(keyed)))
    assert cli(keyed, "audit", "checkpoint").code == 0  # at 8
    in_db(keyed, lambda: execute("DELETE FROM audit_event WHERE seq > 6"))
    broken = verify(keyed)
    assert broken.code == 1
    assert "audit chain intact: 6 events" in broken.out  # the chain alone cannot tell
    assert "BROKEN at checkpoint sequence 8" in broken.out
    assert "line 2" in broken.out and "ends at sequence 6" in broken.out


def test_deleting_everything_is_reported_with_the_first_checkpoint(keyed: str) -> None:
    in_db(keyed, lambda: append(1, key=key_of(keyed)))
    assert cli(keyed, "audit", "checkpoint").code == 0
    in_db(keyed, lambda: execute("DELETE FROM audit_event"))
    broken = verify(keyed, "--json")
    assert broken.code == 1
    report = json.loads(broken.out)
    assert report["chain_intact"] is True and report["checked"] == 0
    first = report["checkpoints"]["first_mismatch"]
    assert first["seq"] == 5 and "is empty" in first["problem"]


@pytest.mark.parametrize(
    "forger_key",
    [None, b"another-key-entirely", "the key"],
    ids=["without-key", "different-key", "with-the-key"],
)
def test_recomputed_chain_is_reported(keyed: str, forger_key: bytes | str | None) -> None:
    key = key_of(keyed) if forger_key == "the key" else forger_key
    assert not isinstance(key, str)
    in_db(keyed, lambda: rechain(key=key, edit_seq=3))
    broken = verify(keyed)
    assert broken.code == 1
    assert "BROKEN at checkpoint sequence 5" in broken.out and "rewritten" in broken.out
    if forger_key == "the key":
        assert "audit chain intact: 5 events" in broken.out  # only the checkpoint shows it
    else:
        assert "audit chain BROKEN at sequence 1" in broken.out


def test_an_edited_checkpoint_line_is_reported(keyed: str, tmp_path: Path) -> None:
    in_db(keyed, lambda: rechain(key=key_of(keyed), edit_seq=3))
    path = checkpoint_file(tmp_path)
    point = json.loads(path.read_text())
    in_db(keyed, lambda: _head_into(point))
    path.write_text(json.dumps(point) + "\n")  # the forger also rewrites the file witness
    broken = verify(keyed)
    assert broken.code == 1 and "signature does not match" in broken.out


async def _head_into(point: dict[str, object]) -> None:
    point["head"] = (await audit_checkpoints.head())[1]


def test_extra_checkpoints_file_and_witness_off(keyed: str, tmp_path: Path) -> None:
    kept = tmp_path / "kept-elsewhere.jsonl"
    kept.write_bytes(checkpoint_file(tmp_path).read_bytes())
    checkpoint_file(tmp_path).unlink()
    in_db(keyed, lambda: execute("DELETE FROM audit_event WHERE seq > 2"))
    no_witness = verify(keyed)
    assert no_witness.code == 0 and "checkpoints: none found" in no_witness.out
    broken = verify(keyed, "--checkpoints", str(kept))
    assert broken.code == 1 and f"{kept} line 1" in broken.out
    missing = verify(keyed, "--checkpoints", str(tmp_path / "nope.jsonl"))
    assert missing.code == 5 and "nope.jsonl" in missing.out
    configured = cli(
        keyed, "audit", "verify", env={"INCIDENT_SVC_AUDIT__CHECKPOINTS": json.dumps([str(kept)])}
    )
    assert configured.code == 1 and "BROKEN at checkpoint sequence 5" in configured.out


def test_no_new_checkpoint_vouches_for_a_cut_chain(keyed: str, tmp_path: Path) -> None:
    before = checkpoint_file(tmp_path).read_bytes()
    in_db(keyed, lambda: execute("DELETE FROM audit_event WHERE seq > 3"))
    in_db(keyed, lambda: append(4, key=key_of(keyed)))  # grown past the checkpoint again
    refused = cli(keyed, "audit", "checkpoint")
    assert refused.code == 6
    assert "no longer holds the last checkpoint (sequence 5" in refused.out
    assert "rewritten" in refused.out and "\n" not in refused.out.strip()
    assert checkpoint_file(tmp_path).read_bytes() == before
