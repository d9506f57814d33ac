"""`incident-svc serve` as a real subprocess, for tests that need the whole process.

async with service(database_url, smtp_port=..., tmp_path=...) as svc:
    await svc.wait_for_log("REMINDER")
    ...
    code = await svc.terminate()
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TEST_AUDIT_KEY = "test-audit-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_env(
    database_url: str, *, smtp_port: int, var_dir: Path, **extra: str
) -> dict[str, str]:
    """Environment for a CLI or service subprocess on this test's database and SMTP server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_SVC_")}
    env.update(
        INCIDENT_SVC_DATABASE_URL=database_url,
        INCIDENT_SVC_VAR_DIR=str(var_dir),
        INCIDENT_SVC_SMTP__HOST="127.0.0.1",
        INCIDENT_SVC_SMTP__PORT=str(smtp_port),
        INCIDENT_SVC_SCHEDULER__POLL_SECONDS="0.3",
        INCIDENT_SVC_SCHEDULER__SHUTDOWN_GRACE_SECONDS="10",
        INCIDENT_SVC_LOG_LEVEL="INFO",
        # `serve` refuses to run without an audit key (docs/operations.md)
        INCIDENT_SVC_AUDIT__HMAC_KEY=TEST_AUDIT_KEY,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class Service:
    process: asyncio.subprocess.Process
    port: int
    lines: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip())

    def log(self) -> str:
        return "\n".join(self.lines)

    async def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """The first log line containing ``text``, waiting for it up to ``timeout``."""
        async with asyncio.timeout(timeout):
            while True:
                found = [line for line in self.lines if text in line]
                if found:
                    return found[0]
                if self.process.returncode is not None:
                    raise AssertionError(f"service exited before logging {text!r}:\n{self.log()}")
                await asyncio.sleep(0.05)

    async def wait_healthy(
        self, timeout: float = 20.0, *, statuses: tuple[int, ...] = (200,)
    ) -> None:
        """Wait until /healthz answers with one of ``statuses``."""
        async with asyncio.timeout(timeout), httpx.AsyncClient() as client:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{self.url}/healthz")).status_code in statuses:
                        return
                if self.process.returncode is not None:
                    raise AssertionError(f"service exited at start:\n{self.log()}")
                await asyncio.sleep(0.1)

    async def terminate(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``sig`` and wait for the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
        async with asyncio.timeout(timeout):
            code = await self.process.wait()
        if self._reader is not None:
            await self._reader
        return code

    async def kill(self) -> None:
        """SIGKILL: no chance to clean up, like a crash or a power cut."""
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        if self._reader is not None:
            await self._reader


@contextlib.asynccontextmanager
async def service(
    env: Mapping[str, str], *args: str, wait_healthy: bool = True
) -> AsyncIterator[Service]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "incident_svc",
        "serve",
        "--port",
        str(port),
        *args,
        env=dict(env),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    svc = Service(process=process, port=port)
    svc._reader = asyncio.create_task(svc._read())
    try:
        if wait_healthy:
            await svc.wait_healthy()
        yield svc
    finally:
        await svc.kill()


async def run_cli(env: Mapping[str, str], *args: str) -> tuple[int, str, str]:
    """Run one `incident-svc` command; return (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "incident_svc",
        *args,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await process.communicate()
    except BaseException:  # a test that failed or timed out leaves no child behind
        if process.returncode is None:
            process.kill()
            await asyncio.shield(process.wait())
        raise
    return process.returncode or 0, out.decode(), err.decode()
