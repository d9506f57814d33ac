"""The installation's return paths (VERP), from the settings: the one place their key is chosen.

Key, first found wins: ``bounces.token_secret`` (environment or configuration file), else a
key derived from the audit key (``audit.hmac_key`` or the audit key file), so an installation
that already keeps one secret needs no second. Without ``bounces.domain`` there are no return
paths: the envelope sender stays the address of ``mail_from``.
"""

from __future__ import annotations

from incident_svc.config import Settings
from incident_svc.domain.verp import ReturnPaths, derive_key
from incident_svc.errors import ConfigError
from incident_svc.services.auditlog import audit_key


def token_key(settings: Settings) -> bytes | None:
    """The key that signs and checks tokens, or None when there is none at all."""
    secret = settings.bounces.token_secret
    if secret is not None and secret.get_secret_value():
        return secret.get_secret_value().encode("utf-8")
    audit = audit_key.resolve(settings).key
    return derive_key(audit) if audit is not None else None


def return_paths(settings: Settings) -> ReturnPaths | None:
    """The return paths messages are sent with; None when ``bounces.domain`` is not set."""
    domain = settings.bounces.domain
    if not domain:
        return None
    key = token_key(settings)
    if key is None:
        raise ConfigError(
            "bounces.domain is set but there is no key for its tokens: set "
            "bounces.token_secret (INCIDENT_SVC_BOUNCES__TOKEN_SECRET) or an audit key",
            key="bounces.token_secret",
        )
    return ReturnPaths(key=key, local_part=settings.bounces.local_part, domain=domain.lower())


def checker(settings: Settings) -> ReturnPaths | None:
    """Return paths to check incoming reports against: any domain, as long as a key exists.

    Checking needs no configured domain of its own when ``bounces.domain`` was unset later:
    the tokens already sent still verify under the same key."""
    found = return_paths(settings)
    if found is not None:
        return found
    key = token_key(settings)
    if key is None:
        return None
    return ReturnPaths(key=key, local_part=settings.bounces.local_part, domain="")
