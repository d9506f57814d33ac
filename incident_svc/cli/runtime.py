"""What every command shares: settings, the actor, the database, and running a coroutine."""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import typer

from incident_svc.config import ENV_PREFIX, Settings, load_settings
from incident_svc.db import database

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
        """Who is doing this, for the audit log: --actor, else $INCIDENT_SVC_ACTOR, else the OS user."""
        return self.actor_option or os.environ.get(f"{ENV_PREFIX}ACTOR") or _os_user()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


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
    secret = settings.audit.hmac_key
    return secret.get_secret_value().encode("utf-8") if secret else None
