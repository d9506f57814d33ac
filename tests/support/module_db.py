"""One migrated database for a whole test module, for read-only suites such as the fuzz tests."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.support.databases import BACKEND, admin_execute, pg_url


@contextlib.contextmanager
def module_database(migrated_template: str, folder: Path) -> Iterator[str]:
    """A copy of the migrated template (SQLite file or PostgreSQL database), removed after."""
    if BACKEND == "sqlite":
        path = folder / "module.sqlite3"
        shutil.copyfile(migrated_template, path)
        yield f"sqlite://{path}"
        return
    name = f"incsvc_mod_{uuid.uuid4().hex[:12]}"
    admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    try:
        yield pg_url(name)
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
