"""PostgreSQL: two operators, two real login roles; four-eyes compares the session's role.

The roles are made for this test process (CREATE ROLE ... LOGIN), granted what the CLI needs
on each test database, and each step connects as one of them, through the real CLI.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest
from typer.testing import CliRunner

from incident_svc.cli.main import app
from incident_svc.errors import IncidentSvcError
from tests.support.databases import BACKEND, admin_execute, pg_url
from tests.support.people import make_incident
from tests.test_campaign_cli import Result, in_db

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="database roles are PostgreSQL's")

SUFFIX = f"{os.getpid()}_{uuid.uuid4().hex[:4]}"
ALICE, BOB = f"i14_alice_{SUFFIX}", f"i14_bob_{SUFFIX}"
ALICE_AGAIN = f"I14_Alice_{SUFFIX}"  # another role to PostgreSQL, the same name to people
GRANTS = (
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; "
    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}"
)


@pytest.fixture(scope="module")
def roles() -> Iterator[list[str]]:
    made = [ALICE, BOB, ALICE_AGAIN]
    for role in made:
        admin_execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        yield made
    finally:
        for role in made:
            admin_execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def operators(database_url: str, roles: list[str]) -> Iterator[dict[str, str]]:
    """Each role's URL for this test's database, with the grants a team gives its operators."""
    database = urlparse(database_url).path.lstrip("/")
    for role in roles:
        grants = GRANTS.format(role=f'"{role}"')
        admin_as_owner(database, grants)
    yield {role: as_role(database_url, role) for role in roles}
    for role in roles:
        admin_as_owner(database, f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"; '
                       f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{role}"')  # fmt: skip


def admin_as_owner(database: str, statements: str) -> None:
    """Run statements in ``database`` as the administrator (who owns its tables)."""

    async def main() -> None:
        conn = await asyncpg.connect(pg_url(database).replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute(statements)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()


def as_role(database_url: str, role: str) -> str:
    parsed = urlparse(database_url)
    return urlunparse(parsed._replace(netloc=f"{role}@{parsed.hostname}:{parsed.port or 5432}"))


def cli(url: str, actor: str, *args: str) -> Result:
    env = {"INCIDENT_SVC_DATABASE_URL": url, "INCIDENT_SVC_ACTOR": actor}
    result = CliRunner().invoke(app, list(args), env=env)
    if isinstance(result.exception, IncidentSvcError):
        return Result(result.exception.exit_code, str(result.exception))
    return Result(result.exit_code, result.output)


def test_each_operator_is_their_database_role(database_url: str, operators: dict[str, str]) -> None:
    in_db(database_url, lambda: make_incident(3))
    created = cli(operators[ALICE], "alice", "campaign", "create", "INC-2026-0001",
                  "--kind", "subject_notice", "--json")  # fmt: skip
    assert created.code == 0, created.out
    shown = json.loads(created.out)
    assert shown["creator_identity"] == f"postgres:{ALICE}"
    campaign = str(shown["id"])
    # the creator's own role under any label, and a role whose name differs only in case
    for url, label in [
        (operators[ALICE], "alice"),
        (operators[ALICE], "alice "),
        (operators[ALICE], "ＡＬＩＣＥ"),
        (operators[ALICE], "bob"),
        (operators[ALICE_AGAIN], "alice-from-another-role"),
    ]:
        refused = cli(url, label, "campaign", "approve", campaign)
        assert refused.code == 6 and "different person" in refused.out, (label, refused.out)
    approved = cli(operators[BOB], "alice", "campaign", "approve", campaign, "--json")
    assert approved.code == 0, approved.out
    data = json.loads(approved.out)
    assert (data["status"], data["approver_identity"]) == ("approved", f"postgres:{BOB}")
    assert data["approved_by"] == "alice"  # a label, which decides nothing
    log = json.loads(cli(operators[BOB], "bob", "audit", "log", "--json").out)
    approval = next(e for e in log if e["action"] == "campaign.approved")
    assert approval["details"]["approver_identity"] == f"postgres:{BOB}"
