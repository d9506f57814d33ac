"""`incident-svc serve`: the service process."""

from __future__ import annotations

import asyncio
import logging

import typer

from incident_svc.cli.runtime import state
from incident_svc.runtime.service import ServeOptions, serve
from incident_svc.services.exercises.isolation import maybe as exercise_context

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def serve_command(
    ctx: typer.Context,
    host: str | None = typer.Option(
        None, "--host", help="Address for the HTTP side. Default: feed.host."
    ),
    port: int | None = typer.Option(
        None, "--port", min=0, max=65535, help="Port for the HTTP side. Default: feed.port."
    ),
    no_feed: bool = typer.Option(
        False, "--no-feed", help="Serve only /healthz and /metrics, not the banner feed."
    ),
    no_dispatch: bool = typer.Option(
        False, "--no-dispatch", help="Run no dispatcher workers (send nothing from here)."
    ),
    no_scheduler: bool = typer.Option(
        False, "--no-scheduler", help="Start no campaigns and send no reminders from here."
    ),
) -> None:
    """Run the service: scheduler, dispatcher workers and the HTTP feed in one process.

    The database is the source of truth: the scheduler reads what is due from it at start
    and every scheduler.poll_seconds, so changes made with the CLI take effect within
    seconds, and a campaign whose time passed while the service was down starts at once.
    SIGTERM or SIGINT stops it cleanly (exit 0) within scheduler.shutdown_grace_seconds.
    Several processes may share one PostgreSQL database.

    Examples:

        incident-svc serve

        incident-svc serve --host 0.0.0.0 --port 8080

        incident-svc serve --no-feed --port 9100     # a delivery-only process

        curl -s http://127.0.0.1:8080/healthz
    """
    cli = state(ctx)
    settings = cli.settings
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.root.level))
    options = ServeOptions(
        host=host or settings.feed.host,
        port=settings.feed.port if port is None else port,
        feed=not no_feed,
        dispatch=not no_dispatch,
        scheduler=not no_scheduler,
    )
    with exercise_context(cli.exercise, cli.real_settings.var_dir):  # --exercise: its clock
        asyncio.run(serve(settings, options))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
