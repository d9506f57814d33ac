"""What every command shares: settings, the actor, the database, and running a coroutine."""

from __future__ import annotations

import asyncio
import os
import pwd
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import typer

from incident_svc.config import ENV_PREFIX, Settings, load_settings
from incident_svc.db import database
from incident_svc.domain.identity import check_label
from incident_svc.services.auditlog import audit_key

T = TypeVar("T")


@dataclass
class CliState:
    """Global options, kept on the Typer context; settings are loaded on first use."""

    config_file: Path | None = None
    actor_option: str | None = None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file)
        return self._settings

    @property
    def actor(self) -> str:
        """The label for the audit log: --actor, else $INCIDENT_SVC_ACTOR, else the OS account.

        Only a label: four-eyes compares proven identities (services.delivery.approvers). Refused with
        exit 5 when it holds a control character or is longer than the actor columns.
        """
        if self.actor_option is not None:
            return check_label(self.actor_option, field="--actor")
        if os.environ.get(f"{ENV_PREFIX}ACTOR"):
            return check_label(os.environ[f"{ENV_PREFIX}ACTOR"], field=f"${ENV_PREFIX}ACTOR")
        return check_label(_os_user(), field="OS account")


def _os_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid:{os.geteuid()}"


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def run(coroutine: Awaitable[T]) -> T:
    return asyncio.run(_as_coroutine(coroutine))


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


def with_db(
    ctx: typer.Context,
    work: Callable[[Settings], Awaitable[T]],
    *,
    check_schema: bool = True,
    create: bool = False,
) -> T:
    """Open the configured database, run ``work(settings)``, close the database. Only a
    command that passes ``create`` (`db upgrade`) may create a SQLite file."""
    settings = state(ctx).settings

    async def main() -> T:
        async with database(settings.database_url, check_schema=check_schema, create=create):
            return await work(settings)

    return asyncio.run(main())


def hmac_key(settings: Settings) -> bytes | None:
    """The audit key: audit.hmac_key, else the key file (services/auditlog/audit_key.py)."""
    return audit_key.resolve(settings).key
