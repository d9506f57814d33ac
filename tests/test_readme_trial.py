"""The README's "First hour" trial, typed as written: its shell blocks run in a fresh home
folder on SQLite, with the development mail sink on a free port. One person alone gets the
notices sent (approval off for the trial, recorded in the audit log); the same person
approving their own campaign under the default four eyes is refused as the README says."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
SOURCE = "environment variable INCIDENT_SVC_APPROVAL__REQUIRED"


def _trial_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## First hour", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```sh\n")[1:]
    return [_dedent(block.split("```", 1)[0]) for block in blocks]


def _dedent(block: str) -> str:
    lines = block.splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines) + "\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_SVC_")}
    env["HOME"] = str(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["INCIDENT_SVC_SMTP__PORT"] = str(_free_port())
    return env


@pytest.fixture
def sink(tmp_path: Path, shell_env: dict[str, str]) -> Iterator[Path]:
    """Step 3's `incident-svc mailsink`, in the background instead of a second terminal."""
    port = shell_env["INCIDENT_SVC_SMTP__PORT"]
    maildir = tmp_path / "mail"
    child = subprocess.Popen(
        ["incident-svc", "mailsink", "--port", port, "--maildir", str(maildir)],
        env=shell_env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
                break
            except OSError:
                assert child.poll() is None and time.monotonic() < deadline, "no mail sink"
                time.sleep(0.2)
        yield maildir
    finally:
        child.terminate()
        child.wait(timeout=30)


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_first_hour_works_for_one_person_alone(
    tmp_path: Path, shell_env: dict[str, str], sink: Path
) -> None:
    blocks = _trial_blocks()
    setup = [b for b in blocks if "make install" not in b and "incident-svc mailsink" not in b]
    alone = [b for b in setup if "INCIDENT_SVC_APPROVAL__REQUIRED=false" in b]
    pair = [b for b in setup if "campaign approve" in b]
    assert len(alone) == 1 and len(pair) == 1, blocks
    lone_lines = alone[0].splitlines()
    assert lone_lines[0].startswith("export INCIDENT_SVC_APPROVAL__REQUIRED=false")
    assert "campaign approve" not in alone[0]  # nobody to approve it
    steps = [b for b in setup if b not in alone and b not in pair]

    done = _bash("".join([*steps, *alone]), shell_env, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "campaign 1: 2 sent, 0 failed" in done.stdout
    assert "audit chain intact" in done.stdout
    assert f"approval is not required for it ({SOURCE})" in done.stdout  # said at create
    assert "nothing is sent before a second person approves" not in done.stdout
    folder = tmp_path / "incident-trial"
    assert len((folder / "ledger-1.csv").read_text().splitlines()) == 3  # header, 2 rows
    assert len(list((sink / "new").iterdir())) == 2  # Alice and Bob

    log = _bash("incident-svc audit log --json", shell_env, folder)
    events = {e["action"]: e for e in json.loads(log.stdout)}
    assert events["campaign.approval_not_required"]["details"]["settings_source"] == SOURCE

    # four eyes stay the default: the same person approving their own campaign is refused
    create, approve = pair[0].splitlines()[:2]
    assert _bash(create, shell_env, folder).returncode == 0
    refused = _bash(approve.split("#")[0], shell_env, folder)
    assert refused.returncode == 6
    assert refused.stderr.startswith("error: campaign 2 cannot be approved: it was created by os:")
    assert refused.stderr.count("\n") == 1
