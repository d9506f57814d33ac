"""Feed tokens: who the website's backend says is asking, signed with a shared secret.

A token names one audience (a subject, by external reference, or an account, by account
reference) and an expiry, and carries an HMAC-SHA256 over both. Only the website's backend
and this service know ``feed.token_secret``, so nobody else can mint one.

The recipe (also in docs/banners.md), dependency-free in any language::

    kind     = "subject" or "account"
    ref      = the reference, UTF-8
    expires  = Unix time in whole seconds (decimal ASCII)
    message  = "incident-svc-feed-token/v1" + "\\n" + kind + "\\n" + ref + "\\n" + expires
    mac      = HMAC-SHA256(key = secret as UTF-8, message as UTF-8)
    token    = "v1." + kind + "." + b64url(ref) + "." + expires + "." + b64url(mac)

``b64url`` is URL-safe base64 without ``=`` padding. :func:`mint` below is that recipe and
nothing more; copy it into the website's code as it is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

AudienceKind = Literal["subject", "account"]
KINDS: tuple[AudienceKind, ...] = ("subject", "account")
_DOMAIN = "incident-svc-feed-token/v1"
_MAX_TOKEN_LENGTH = 1024
# ASCII only ([0-9], not \d, which matches any script's digits); a MAC is 32 bytes: 43 chars
_SHAPE = re.compile(
    r"v1\.(subject|account)\.([A-Za-z0-9_-]{2,800})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})",
    re.ASCII,
)


@dataclass(frozen=True)
class Viewer:
    """The audience a valid token names."""

    kind: AudienceKind
    ref: str


def mint(secret: str, kind: str, ref: str, expires: int) -> str:
    """Mint a feed token (the website backend's function: standard library only)."""
    message = f"incident-svc-feed-token/v1\n{kind}\n{ref}\n{expires}".encode()
    mac = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()

    def b64url(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    return f"v1.{kind}.{b64url(ref.encode('utf-8'))}.{expires}.{b64url(mac)}"


def verify(
    token: str | None, *, secret: str | None, now: float, max_lifetime: float | None = None
) -> Viewer | None:
    """The viewer a token names, or None for anything missing, malformed, forged or expired.

    Only the canonical spelling is accepted: ASCII, unpadded base64url whose last character
    carries no stray bits, a decimal expiry without leading zeros. A token that expires more
    than ``max_lifetime`` seconds after ``now`` is refused too, however well signed. Every
    failure gives the same None, so callers cannot treat them differently.
    """
    if not token or not secret or len(token) > _MAX_TOKEN_LENGTH:
        return None
    match = _SHAPE.fullmatch(token)
    if match is None:
        return None
    kind, ref_b64, expires_text, mac_b64 = match.groups()
    ref = _b64url_text(ref_b64)
    expires = int(expires_text)
    if ref is None or expires <= now:
        return None
    if max_lifetime is not None and expires - now > max_lifetime:
        return None
    expected = mint(secret, kind, ref, expires).rsplit(".", 1)[1]
    if not hmac.compare_digest(expected.encode("ascii"), mac_b64.encode("ascii")):
        return None
    return Viewer(kind=kind, ref=ref)  # type: ignore[arg-type]


def _b64url_text(data: str) -> str | None:
    """The UTF-8 text of canonical unpadded base64url, else None."""
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        text = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    canonical = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    return text if text and canonical == data else None


def parse_ttl(text: str) -> int:
    """``90s``, ``15m``, ``1h``, ``7d`` (or plain seconds) as seconds; ValueError otherwise."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip().lower()
    scale = units.get(value[-1:], 0)
    number = value[:-1] if scale else value
    if not number.isdigit() or int(number) <= 0:
        raise ValueError(f"--ttl: {text!r} is not a duration like 90s, 15m, 1h or 7d")
    return int(number) * (scale or 1)
