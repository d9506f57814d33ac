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
from incident_svc.domain.exercise_clock import check_name
from incident_svc.domain.identity import check_label
from incident_svc.errors import ConflictError
from incident_svc.services.auditlog import audit_key
from incident_svc.services.exercises import registry as exercise_registry
from incident_svc.services.exercises.isolation import exercise_settings
from incident_svc.services.exercises.isolation import maybe as exercise_context
from incident_svc.services.exercises.registry import Exercise

T = TypeVar("T")


EXERCISE_ENV = f"{ENV_PREFIX}EXERCISE"


@dataclass
class CliState:
    """Global options, kept on the Typer context; settings are loaded on first use.

    With ``--exercise NAME`` (or $INCIDENT_SVC_EXERCISE) ``settings`` are the exercise's
    (services/exercises/isolation.py): its database, its mail sink, its feed path; the real
    ones stay in ``real_settings`` for the commands that mark the real audit log.
    """

    config_file: Path | None = None
    actor_option: str | None = None
    exercise_option: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _real: Settings | None = field(default=None, repr=False)

    @property
    def real_settings(self) -> Settings:
        if self._real is None:
            self._real = load_settings(self.config_file)
        return self._real

    @property
    def exercise_name(self) -> str | None:
        if self.exercise_option is not None:
            return check_name(self.exercise_option, field="--exercise")
        named = os.environ.get(EXERCISE_ENV, "")
        return check_name(named, field=f"${EXERCISE_ENV}") if named else None

    @property
    def exercise(self) -> Exercise | None:
        """The running exercise the commands act on, if one is named (an ended one is refused)."""
        name = self.exercise_name
        if name is None:
            return None
        found = exercise_registry.load(self.real_settings.var_dir, name)
        if found.ended_at is not None:
            raise ConflictError(
                f"exercise {name!r} has ended; read it with `incident-svc exercise report {name}`"
            )
        return found

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            chosen = self.exercise
            real = self.real_settings
            self._settings = real if chosen is None else exercise_settings(real, chosen)
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
    cli = state(ctx)
    settings = cli.settings
    exercise = cli.exercise

    async def main() -> T:
        with exercise_context(exercise, cli.real_settings.var_dir):
            async with database(settings.database_url, check_schema=check_schema, create=create):
                if exercise is not None and check_schema:
                    # imported here: the exercise runner is heavy and most commands need none
                    from incident_svc.services.exercises.running import catch_up

                    await catch_up(exercise, settings, cli.real_settings.var_dir)
                return await work(settings)

    return asyncio.run(main())


def hmac_key(settings: Settings) -> bytes | None:
    """The audit key: audit.hmac_key, else the key file (services/auditlog/audit_key.py)."""
    return audit_key.resolve(settings).key
