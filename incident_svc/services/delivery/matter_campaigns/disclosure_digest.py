"""The digest of what a disclosure notice tells: what counsel approves and the campaign binds."""

from __future__ import annotations

import hashlib
import json

from incident_svc.models import Disclosure


def content_digest(disclosure: Disclosure) -> str:
    """What the notice will tell (all but the withheld parts): what counsel approves."""
    told = {
        "ref": disclosure.ref,
        "authority": disclosure.authority,
        "legal_basis": disclosure.legal_basis,
        "received_at": disclosure.received_at.isoformat(),
        "categories": disclosure.categories,
    }
    for part in disclosure.withheld:
        told.pop(part, None)
    text = json.dumps(told, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
