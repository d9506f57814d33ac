"""What `serve` demands of the audit trail before it starts: a key, or a recorded exception.

Without a key anyone who can write the table can recompute a chain that verifies, so the
service process refuses to run unkeyed unless ``audit.allow_unkeyed = true``; and then the
first thing it does is write an audit event that says so and where the setting came from.
"""

from __future__ import annotations

import os

from incident_svc.config import ENV_PREFIX, Settings
from incident_svc.db import write_transaction
from incident_svc.errors import ConfigError
from incident_svc.services.auditlog import audit
from incident_svc.services.auditlog.audit_key import AuditKey, key_file_path, resolve

UNKEYED_ACTION = "audit.unkeyed_allowed"
_ALLOW_ENV = f"{ENV_PREFIX}AUDIT__ALLOW_UNKEYED"


async def key_for_serve(settings: Settings, *, actor: str) -> AuditKey:
    """The key `serve` runs with; refused (exit 2) when there is none and none is allowed."""
    key = resolve(settings)
    if key.keyed:
        return key
    if not settings.audit.allow_unkeyed:
        raise ConfigError(
            "serve: no audit HMAC key (audit.hmac_key or the key file "
            f"{key_file_path(settings)}); run `incident-svc db upgrade` to create one, or set "
            "audit.allow_unkeyed = true to run without (it is then recorded in the audit log)",
            key="audit.hmac_key",
        )
    source = f"${_ALLOW_ENV}" if os.environ.get(_ALLOW_ENV) else "the configuration file"
    async with write_transaction() as conn:
        await audit.record(
            conn,
            actor=actor,
            action=UNKEYED_ACTION,
            target_type="audit",
            target_id="chain",
            details={"setting": "audit.allow_unkeyed", "set_in": source, "key": key.source},
        )
    return key
