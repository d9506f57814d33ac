"""The audit chain's pure rules: each kind of tampering is caught at the right sequence number."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from incident_svc.domain.audit_chain import (
    GENESIS_HASH,
    Link,
    canonical_json,
    format_time,
    link_hash,
    next_link,
    verify_chain,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def build_chain(n: int, key: bytes | None = None) -> list[Link]:
    links: list[Link] = []
    for i in range(n):
        links.append(
            next_link(
                previous=links[-1] if links else None,
                at=T0 + timedelta(seconds=i),
                actor="alice",
                action="incident.create",
                target_type="incident",
                target_id=f"INC-2026-{i:04d}",
                details={"n": i, "name": "Zoë 陳"},
                key=key,
            )
        )
    return links


def resign(link: Link, key: bytes | None = None) -> Link:
    """What an attacker without the real key does: recompute the hash of an edited event."""
    unsigned = dataclasses.replace(link, hash="")
    return dataclasses.replace(unsigned, hash=link_hash(unsigned, key))


def test_intact_chain_verifies() -> None:
    chain = build_chain(10)
    verdict = verify_chain(chain, None)
    assert verdict.intact and verdict.checked == 10 and verdict.head_hash == chain[-1].hash
    assert chain[0].prev_hash == GENESIS_HASH and chain[0].seq == 1


def test_empty_chain_verifies() -> None:
    assert verify_chain([], None).intact


def test_edited_event_is_caught_at_its_sequence() -> None:
    chain = build_chain(10)
    chain[4] = dataclasses.replace(chain[4], actor="mallory")
    verdict = verify_chain(chain, None)
    assert not verdict.intact and verdict.first_bad_seq == 5 and "edited" in verdict.problem


def test_edited_and_rehashed_event_breaks_the_next_link() -> None:
    chain = build_chain(10)
    chain[4] = resign(dataclasses.replace(chain[4], details='{"n":999}'))
    verdict = verify_chain(chain, None)
    assert not verdict.intact and verdict.first_bad_seq == 6


def test_deleted_event_is_caught() -> None:
    chain = build_chain(10)
    del chain[4]
    verdict = verify_chain(chain, None)
    assert (
        not verdict.intact
        and verdict.first_bad_seq == 6
        and "expected sequence 5" in verdict.problem
    )


def test_deleted_last_events_shorten_the_head() -> None:
    chain = build_chain(10)
    verdict = verify_chain(chain[:7], None)
    # a truncated tail is still a valid chain: the head hash exposes it when compared with a copy
    assert verdict.intact and verdict.head_hash == chain[6].hash != chain[-1].hash


def test_inserted_event_is_caught() -> None:
    chain = build_chain(10)
    forged = resign(
        Link(
            seq=6,
            at=format_time(T0),
            actor="mallory",
            action="campaign.approve",
            target_type="campaign",
            target_id="1",
            details="{}",
            prev_hash=chain[4].hash,
        )
    )
    renumbered = [resign(dataclasses.replace(link, seq=link.seq + 1)) for link in chain[5:]]
    verdict = verify_chain([*chain[:5], forged, *renumbered], None)
    assert not verdict.intact and verdict.first_bad_seq == 7 and "previous-hash" in verdict.problem


def test_reordered_events_are_caught() -> None:
    chain = build_chain(10)
    a, b = chain[3], chain[4]
    chain[3] = dataclasses.replace(b, seq=4)
    chain[4] = dataclasses.replace(a, seq=5)
    verdict = verify_chain(chain, None)
    assert not verdict.intact and verdict.first_bad_seq == 4


def test_hmac_chain_rejects_a_chain_rewritten_without_the_key() -> None:
    key = b"k" * 32
    chain = build_chain(6, key)
    assert verify_chain(chain, key).intact
    assert not verify_chain(chain, None).intact  # without the key nothing verifies
    # the attacker rewrites every event from 3 on with plain SHA-256 (they lack the key)
    rewritten = chain[:2]
    for link in chain[2:]:
        edited = dataclasses.replace(link, prev_hash=rewritten[-1].hash, actor="mallory")
        rewritten.append(resign(edited, key=None))
    assert verify_chain(rewritten, None).first_bad_seq == 1  # consistent only as a keyless chain
    verdict = verify_chain(rewritten, key)
    assert not verdict.intact and verdict.first_bad_seq == 3


def test_wrong_key_fails_at_first_event() -> None:
    chain = build_chain(3, b"right")
    assert verify_chain(chain, b"wrong").first_bad_seq == 1


def test_canonical_json_is_stable() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


def test_format_time_refuses_naive_and_normalises_to_utc() -> None:
    with pytest.raises(ValueError):
        format_time(datetime(2026, 1, 1))
    hk = datetime(2026, 1, 1, 8, 0, tzinfo=UTC) + timedelta(hours=0)
    assert format_time(hk) == "2026-01-01T08:00:00.000000Z"
