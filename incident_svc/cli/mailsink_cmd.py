"""`incident-svc mailsink`: the development mail sink (aiosmtpd writing a Maildir)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import typer

from incident_svc.cli.output import JSON_OPTION, console, err_console
from incident_svc.cli.runtime import state
from incident_svc.errors import ConfigError
from incident_svc.mail.sink import Stored, serve


def mailsink(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int | None = typer.Option(
        None,
        "--port",
        min=0,
        max=65535,
        help="Port (default: smtp.port of the configuration, 8025).",
    ),
    maildir: Path | None = typer.Option(
        None,
        "--maildir",
        help="Maildir to store messages in (default: <var_dir>/mail).",
        file_okay=False,
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Run the development mail sink: accept every message, store it in a Maildir, print a line.

    It relays nothing. Read the messages with any Maildir client, e.g. `mutt -f var/mail`.

    Example: incident-svc mailsink --port 8025 --maildir var/mail
    """
    settings = state(ctx).settings
    chosen_port = settings.smtp.port if port is None else port
    folder = maildir or settings.var_dir / "mail"
    try:
        asyncio.run(_serve(host, chosen_port, folder, json_output))
    except OSError as exc:
        raise ConfigError(
            f"mailsink cannot listen on {host}:{chosen_port}: {exc.strerror}", key="smtp.port"
        ) from None


def _announce(json_output: bool) -> Callable[[Stored], None]:
    def show(stored: Stored) -> None:
        if json_output:
            record = dataclasses.asdict(stored) | {"at": stored.at.isoformat()}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            console.print(stored.line(), markup=False)

    return show


async def _serve(host: str, port: int, folder: Path, json_output: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with serve(
        host=host, port=port, maildir=folder, announce=_announce(json_output)
    ) as bound:
        err_console.print(
            f"mailsink listening on {bound[0]}:{bound[1]}, storing in {folder}/ (Ctrl-C stops)",
            markup=False,
        )
        await stop.wait()


def register(app: typer.Typer) -> None:
    app.command("mailsink")(mailsink)
