"""Command groups that later work fills in; each says so until then."""

from __future__ import annotations

from collections.abc import Callable

import typer

from incident_svc.cli.output import error


def placeholder(help_text: str) -> typer.Typer:
    group = typer.Typer(help=f"{help_text} (not built yet)")

    @group.callback(invoke_without_command=True)
    def _not_yet() -> None:
        error(f"this command group is not built yet: {help_text}")
        raise typer.Exit(2)

    return group


def placeholder_command(name: str) -> Callable[[], None]:
    def _not_yet() -> None:
        error(f"`incident-svc {name}` is not built yet")
        raise typer.Exit(2)

    return _not_yet
