"""A disclosure of three people, recorded by alice (signed), for the disclosure tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incident_svc.config import Settings
from incident_svc.models import Disclosure
from incident_svc.services.delivery import approvers
from incident_svc.services.disclosure import disclosures
from tests.support import people, signers

RECEIVED = datetime(2026, 11, 2, 2, tzinfo=UTC)
AUTHORITY = "Hong Kong Police Force"
BASIS = "Search warrant 123/2026 under s.50 Police Force Ordinance"


def signed_settings(base: Settings) -> Settings:
    return signers.shared().settings(base)


def signed(name: str) -> tuple[str, approvers.Signature]:
    text = approvers.new_creation_text("disclosure", disclosures.RECORD_KIND)
    return text, signers.shared().signature(name, text)


async def record(config: Settings, tmp_path: Path, **hold: Any) -> Disclosure:
    """S-0, S-1 and S-3 of five people (S-1 named twice), the legal basis withheld."""
    await people.make_incident(5)
    refs = tmp_path / "people.txt"
    refs.write_text("# the warrant's list\nS-0\nS-1\n\nS-3\nS-1\n")
    request = disclosures.RecordRequest(
        AUTHORITY, BASIS, RECEIVED, refs, ["contact,call_detail_records"], ["legal_basis"], **hold
    )
    return await disclosures.record(
        request=request, actor="alice", key=None, settings=config, signed=signed("alice")
    )


async def approve(config: Settings, ref: str, by: str) -> Disclosure:
    text = disclosures.release_text(await disclosures.get(ref))
    signature = signers.shared().signature(by, text)
    return await disclosures.approve_release(
        ref=ref, actor=by, key=None, settings=config, signature=signature
    )
