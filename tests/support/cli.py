"""Running `incident-svc` commands in-process against a test database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from typer.testing import CliRunner

from incident_svc import db
from incident_svc.cli.main import app
from incident_svc.errors import IncidentSvcError

T = TypeVar("T")


def in_db(url: str, work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        async with db.database(url):
            return await work()

    return asyncio.run(main())


@dataclass
class Result:
    code: int
    out: str


def cli(url: str, actor: str, *args: str, **extra: str) -> Result:
    """The exit code and output; for an error the service raised, its one-line message."""
    env = {"INCIDENT_SVC_DATABASE_URL": url, "INCIDENT_SVC_ACTOR": actor, **extra}
    result = CliRunner().invoke(app, list(args), env=env)
    if isinstance(result.exception, IncidentSvcError):
        return Result(result.exception.exit_code, str(result.exception))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Result(result.exit_code, result.output)
