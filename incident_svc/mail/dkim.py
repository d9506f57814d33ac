"""Optional DKIM signing (dkimpy) when ``[dkim]`` names a domain, a selector and a key file."""

from __future__ import annotations

from dataclasses import dataclass, field

import dkim

from incident_svc.config import DkimSettings
from incident_svc.errors import ConfigError

SIGNED_HEADERS = (
    b"from",
    b"reply-to",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
)


@dataclass(frozen=True)
class DkimSigner:
    domain: str
    selector: str
    private_key: bytes = field(repr=False)

    def sign(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header in front (relaxed/relaxed, rsa-sha256)."""
        try:
            header = dkim.sign(
                message,
                self.selector.encode("ascii"),
                self.domain.encode("ascii"),
                self.private_key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=list(SIGNED_HEADERS),
            )
        except dkim.DKIMException as exc:
            raise ConfigError(f"DKIM signing failed: {exc}", key="dkim") from None
        return bytes(header) + message


def load_signer(settings: DkimSettings) -> DkimSigner | None:
    """A signer when all three settings are given; none when none are; else a config error."""
    values = (settings.domain, settings.selector, settings.private_key_file)
    if not any(values):
        return None
    if settings.domain is None or settings.selector is None or settings.private_key_file is None:
        raise ConfigError(
            "dkim: set domain, selector and private_key_file together (or none)", key="dkim"
        )
    try:
        key = settings.private_key_file.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"dkim.private_key_file {settings.private_key_file}: {exc.strerror}",
            key="dkim.private_key_file",
        ) from None
    signer = DkimSigner(domain=settings.domain, selector=settings.selector, private_key=key)
    signer.sign(b"From: a@example.com\r\nSubject: key check\r\n\r\nx\r\n")  # fail now, not later
    return signer
