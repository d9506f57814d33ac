"""Per-delivery return paths (VERP): a signed token naming one delivery in the envelope sender.

``bounce+d1234-5f0c9a1b2e3d4c5b@bounces.example.com``: the local part carries the delivery's
id and the first 64 bits of an HMAC-SHA256 over it, in lower case (some mail systems fold the
case of local parts). A report that comes back to that address names its delivery without
guessing; an address with a wrong MAC is refused, so nobody can mark someone else's delivery
bounced by writing to the bounce domain.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field

MAC_HEX = 16  # 64 bits
_TOKEN = re.compile(r"\+d([0-9]{1,18})-([0-9a-f]{16})@", re.IGNORECASE)


@dataclass(frozen=True)
class ReturnPaths:
    """Builds and checks the return paths of one installation; picklable (compose worker)."""

    key: bytes = field(repr=False)
    local_part: str
    domain: str

    def mac(self, delivery_id: int) -> str:
        message = f"incident-svc delivery {delivery_id}".encode("ascii")
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:MAC_HEX]

    def address(self, delivery_id: int) -> str:
        """The envelope sender of ``delivery_id``'s messages."""
        return f"{self.local_part}+d{delivery_id}-{self.mac(delivery_id)}@{self.domain}"

    def check(self, address: str) -> Token | None:
        """The token found in ``address`` (None when it has none), with whether it is genuine.

        The domain must be ours (any, when ``domain`` is empty: checking only); the MAC is
        compared in constant time."""
        found = _TOKEN.search(address)
        if found is None:
            return None
        if self.domain and not address.lower().endswith("@" + self.domain.lower()):
            return None
        delivery_id = int(found.group(1))
        genuine = hmac.compare_digest(found.group(2).lower(), self.mac(delivery_id))
        return Token(delivery_id, genuine)


@dataclass(frozen=True)
class Token:
    delivery_id: int
    genuine: bool


def derive_key(audit_key: bytes) -> bytes:
    """A token key derived from the audit key: never the audit key itself."""
    return hmac.new(audit_key, b"incident-svc bounce tokens v1", hashlib.sha256).digest()
