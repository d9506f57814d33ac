"""The identity of the session doing the work: who the database or the OS says it is.

PostgreSQL: ``session_user``, the role the connection logged in as (``SET ROLE`` changes
``current_user``, not this), so each operator connects with a role of their own.
SQLite: the operating-system account of the process's effective user id, from the password
database, never ``$USER``/``$LOGNAME``, which anyone can set.
"""

from __future__ import annotations

import os
import pwd

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.db import dialect
from incident_svc.domain.identity import identity_name


def os_account() -> str:
    """``os:NAME`` for the effective user (``os:uid:N`` when it has no passwd entry)."""
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"os:uid:{uid}"
    return f"os:{identity_name(name, field='OS account')}"


async def session_identity(conn: BaseDBAsyncClient) -> str:
    """``postgres:ROLE`` on PostgreSQL, else the OS account (SQLite has no users)."""
    if dialect(conn) != "postgres":
        return os_account()
    rows = await conn.execute_query_dict("SELECT session_user AS role")
    return f"postgres:{identity_name(str(rows[0]['role']), field='database role')}"
