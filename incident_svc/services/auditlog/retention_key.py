"""Where the retention key comes from: ``retention.key`` (``INCIDENT_SVC_RETENTION__KEY``),
else the key file (``retention.key_file``, default ``<var_dir>/retention-hmac.key``), which
`db upgrade` creates like the audit key file (services/auditlog/audit_key.py: one line, mode 0600,
refused when others may read it).

The key makes the pseudonyms (domain/pseudonym.py). It is a different key from the audit
key: pseudonyms are handed out (a subject export, a match), the audit key never is. Losing it
makes expired rows unmatchable, which is the same as erasing them; keep a copy with the audit
key's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from incident_svc.config import ENV_PREFIX, Settings
from incident_svc.errors import ConfigError
from incident_svc.services.auditlog.audit_key import create_key_file, read_key_file

KEY_FILE_NAME = "retention-hmac.key"
ENV_NAME = f"{ENV_PREFIX}RETENTION__KEY"


@dataclass(frozen=True)
class RetentionKey:
    key: bytes | None = field(repr=False)
    source: str


def key_file_path(settings: Settings) -> Path:
    return settings.retention.key_file or settings.var_dir / KEY_FILE_NAME


def resolve(settings: Settings) -> RetentionKey:
    secret = settings.retention.key
    if secret is not None and secret.get_secret_value():
        if len(secret.get_secret_value()) < 16:
            raise ConfigError("retention.key: at least 16 characters", key="retention.key")
        where = f"${ENV_NAME}" if os.environ.get(ENV_NAME) else "retention.key in the config"
        return RetentionKey(secret.get_secret_value().encode("utf-8"), where)
    path = key_file_path(settings)
    if not path.exists():
        return RetentionKey(None, "none (no retention.key and no key file)")
    try:
        return RetentionKey(read_key_file(path), f"key file {path}")
    except ConfigError as exc:  # the audit key's checks, named for this key
        raise ConfigError(
            str(exc).replace("audit key file", "retention key file"), key="retention.key_file"
        ) from None


def require(settings: Settings) -> bytes:
    """The key, or one line saying how to get one (exit 2)."""
    found = resolve(settings)
    if found.key is None:
        raise ConfigError(
            "no retention key: set INCIDENT_SVC_RETENTION__KEY or run `incident-svc db upgrade`, "
            f"which creates {key_file_path(settings)}",
            key="retention.key",
        )
    return found.key


def ensure(settings: Settings) -> Path | None:
    """Create the key file when no key is configured; the path when one was created."""
    if resolve(settings).key is not None:
        return None
    path = key_file_path(settings)
    return path if create_key_file(path) else None
