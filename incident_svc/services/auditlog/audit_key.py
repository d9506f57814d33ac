"""Where the audit chain's HMAC key comes from, and the key file `db upgrade` creates.

Resolution, first found wins: ``audit.hmac_key`` (environment or configuration file), then
the key file (``audit.key_file``, default ``<var_dir>/audit-hmac.key``). The key never lives
in the database: whoever can rewrite the table must not be able to read the key from it.

The key file holds one line of 64 hex digits; its text is the key, exactly as if it had been
given in ``INCIDENT_SVC_AUDIT__HMAC_KEY``, so the two spellings make the same chain. It is
created with mode 0600 and refused when anyone but its owner may read or write it.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from incident_svc.config import ENV_PREFIX, Settings
from incident_svc.errors import ConfigError
from incident_svc.models import AuditEvent

KEY_FILE_NAME = "audit-hmac.key"
ENV_NAME = f"{ENV_PREFIX}AUDIT__HMAC_KEY"
_KEY_TEXT = re.compile(r"[\x21-\x7e]{16,1024}")


@dataclass(frozen=True)
class AuditKey:
    """The key in use (or none) and where it came from; the source is safe to print."""

    key: bytes | None = field(repr=False)
    source: str

    @property
    def keyed(self) -> bool:
        return self.key is not None


def key_file_path(settings: Settings) -> Path:
    return settings.audit.key_file or settings.var_dir / KEY_FILE_NAME


def resolve(settings: Settings) -> AuditKey:
    """The key every command uses: the setting first, else the key file, else none."""
    secret = settings.audit.hmac_key
    if secret is not None and secret.get_secret_value():
        where = f"${ENV_NAME}" if os.environ.get(ENV_NAME) else "audit.hmac_key in the config"
        return AuditKey(secret.get_secret_value().encode("utf-8"), where)
    path = key_file_path(settings)
    if not path.exists():
        return AuditKey(None, "none (no audit.hmac_key and no key file)")
    return AuditKey(read_key_file(path), f"key file {path}")


def read_key_file(path: Path) -> bytes:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"audit key file {path}: not a regular file", key="audit.key_file")
        if info.st_mode & 0o077:
            raise ConfigError(
                f"audit key file {path}: mode {stat.S_IMODE(info.st_mode):04o} lets others read "
                f"or change it; run `chmod 600 {path}`",
                key="audit.key_file",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"audit key file {path}: {exc.strerror}", key="audit.key_file") from None
    text = data.strip()
    if not text.isascii() or not _KEY_TEXT.fullmatch(text.decode("ascii")):
        raise ConfigError(
            f"audit key file {path}: expected one line of 16 to 1024 printable ASCII characters",
            key="audit.key_file",
        )
    return text


def create_key_file(path: Path) -> bool:
    """Write a new random key to ``path`` (mode 0600); False when the file already exists."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise ConfigError(f"audit key file {path}: {exc.strerror}", key="audit.key_file") from None
    os.fchmod(fd, 0o600)  # whatever the umask
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return True


@dataclass(frozen=True)
class KeySetup:
    """What `db upgrade` did about the key."""

    key: AuditKey
    created: Path | None = None
    unkeyed_events: int = 0  # events already chained while no key was found: none created


async def ensure_key(settings: Settings) -> KeySetup:
    """Create the key file when no key is configured and the chain is still empty.

    A chain that already has events keeps the way it was written: a key introduced now
    would make every earlier event fail verification (docs/audit.md, "An existing unkeyed
    chain").
    """
    current = resolve(settings)
    if current.keyed:
        return KeySetup(current)
    events = await AuditEvent.all().count()
    if events:
        return KeySetup(current, unkeyed_events=events)
    path = key_file_path(settings)
    created = create_key_file(path)
    return KeySetup(resolve(settings), created=path if created else None)
