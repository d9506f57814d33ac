"""Exports are written whole or not at all, never over a file without --force, never through
a link; `incident affected --export` commits nothing when its export fails."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc import db
from incident_svc.errors import ConflictError, ValidationError
from incident_svc.models import AuditEvent, Exposure, Holding, Subject
from incident_svc.services.files.export_file import export_file
from tests.support.people import crm_incident
from tests.test_cli_shell import cli

STATES = ["absent", "file", "link_to_file", "dangling_link", "folder", "fifo", "no_folder"]
NAMES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1
).filter(lambda n: n not in {".", ".."} and len(n.encode()) < 200)


def _prepare(folder: Path, victim: Path, name: str, state: str) -> Path:
    victim.write_text("keep me")
    if state == "no_folder":
        return folder / "missing" / name
    path = folder / name
    if state == "file":
        path.write_text("old")
    elif state == "link_to_file":
        path.symlink_to(victim)
    elif state == "dangling_link":
        path.symlink_to(folder / "nowhere")
    elif state == "folder":
        path.mkdir()
    elif state == "fifo":
        os.mkfifo(path)
    return path


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=NAMES, state=st.sampled_from(STATES), force=st.booleans(), fail=st.booleans())
def test_export_file_is_whole_or_absent(
    tmp_path_factory: pytest.TempPathFactory, name: str, state: str, force: bool, fail: bool
) -> None:
    base = tmp_path_factory.mktemp("export")
    folder, victim = base / "out", base / "victim.txt"
    folder.mkdir()
    path = _prepare(folder, victim, name, state)
    before = sorted(p.name for p in folder.iterdir())
    allowed = state == "absent" or (state == "file" and force)
    try:
        with export_file(path, force=force) as handle:
            handle.write("new,data\n")
            if fail:
                raise OSError(28, "No space left on device")
    except ConflictError as exc:
        assert state == "file" and not force
        assert "pass --force" in str(exc)
    except ValidationError as exc:
        assert not allowed or fail
        assert str(exc).startswith(str(path))  # names the file
    else:
        assert allowed and not fail
        assert path.read_text() == "new,data\n"
        assert oct(path.stat().st_mode & 0o777) == "0o600"  # exports hold personal data
    if not allowed or fail:
        # nothing changed: no partial file, the old one as it was, the link's target untouched
        assert sorted(p.name for p in folder.iterdir()) == before
        if state == "file":
            assert path.read_text() == "old"
    assert victim.read_text() == "keep me"
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]


@pytest.mark.slow
def test_audit_export_refuses_existing_links_and_missing_folders(
    database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "audit.jsonl"
    out.write_text("precious\n")
    refused = cli("audit", "export", str(out), database_url=database_url)
    assert (refused.returncode, refused.stderr.count("\n")) == (6, 1)
    assert "exists; pass --force" in refused.stderr and out.read_text() == "precious\n"
    replaced = cli("audit", "export", str(out), "--force", database_url=database_url)
    assert replaced.returncode == 0 and out.read_text() == ""  # an empty chain: no events
    link = tmp_path / "link.jsonl"
    link.symlink_to(out)
    for args in (["--force"], []):
        linked = cli("audit", "export", str(link), *args, database_url=database_url)
        assert (linked.returncode, linked.stderr.count("\n")) == (5, 1)
        assert "symbolic link" in linked.stderr
    missing = cli("audit", "export", str(tmp_path / "no" / "a.jsonl"), database_url=database_url)
    assert (missing.returncode, missing.stderr.count("\n")) == (5, 1)
    assert "no such folder" in missing.stderr and "Traceback" not in missing.stderr


def _small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


async def _wide_incident(url: str, people: int) -> None:
    """People with long names (a wide export) whose crm contact data an incident names."""
    async with db.database(url):
        await crm_incident()
        await Subject.bulk_create(
            [
                Subject(
                    external_ref=f"S-{n:05d}",
                    email=f"p{n}@example.org",
                    name="N" * 250,
                    jurisdiction="GB",
                )
                for n in range(people)
            ],
            batch_size=1000,
        )
        ids = await Subject.all().values_list("id", flat=True)
        await Holding.bulk_create(
            [Holding(subject_id=i, system="crm", category="contact") for i in ids],
            batch_size=1000,
        )


async def _after_failure(url: str) -> tuple[int, list[str]]:
    async with db.database(url):
        actions = await AuditEvent.all().order_by("seq").values_list("action", flat=True)
        return await Exposure.all().count(), [str(a) for a in actions]


@pytest.mark.slow
def test_affected_export_that_fails_commits_and_audits_nothing(
    database_url: str, tmp_path: Path
) -> None:
    asyncio.run(_wide_incident(database_url, 1200))  # ~400 kB of export, past the 200 kB limit
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_SVC_")}
    env["INCIDENT_SVC_DATABASE_URL"] = database_url
    out = tmp_path / "exports" / "affected.csv"
    out.parent.mkdir()
    command = ["incident", "affected", "INC-2026-0001", "--export", str(out)]
    full = subprocess.run(
        [sys.executable, "-m", "incident_svc", *command],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_small_files,
        timeout=120,
    )
    assert full.returncode == 5, full.stderr
    assert full.stderr.count("\n") == 1 and full.stderr.startswith(f"error: {out}: cannot write")
    assert list(out.parent.iterdir()) == []  # no file, no partial temporary file
    exposures, actions = asyncio.run(_after_failure(database_url))
    assert exposures == 0 and "incident.affected" not in actions
    done = cli(
        "incident", "affected", "INC-2026-0001", "--export", str(out), database_url=database_url
    )
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 1201
    again = cli(
        "incident", "affected", "INC-2026-0001", "--export", str(out), database_url=database_url
    )
    assert again.returncode == 6 and "pass --force" in again.stderr
    assert asyncio.run(_after_failure(database_url))[1].count("incident.affected") == 1
