"""Usage errors in one line: an unknown option, a missing argument, a bad choice.

Click (through Typer and Rich) prints a usage error as a framed box of several lines, echoing
the operator's argument as it is: a control character in it reaches the terminal, and a
megabyte of argument is a megabyte of box. :class:`OneLineGroup` is the root command's class:
it catches each Click error where Click would print its box, and prints it as one line on
stderr that names the option, argument
or command (Click's message, control characters made visible by ``safe_text.visible`` and
clipped), followed by the ``--help`` of the command it concerns. Exit codes stay Click's
documented ones: 2 for a usage error, the exception's own for any other Click error, 1 for
an abort, 130 for Ctrl-C. Errors of the service itself (``IncidentSvcError``) pass through
untouched: ``cli.main.run`` prints them.

Typer (0.25 and later) parses with its own copy of Click, ``typer._click``; the errors it
raises are that copy's classes, so this module imports them from there, the one place that
does.
"""

from __future__ import annotations

from typing import Any

import typer
from typer._click import exceptions as click  # Typer parses with its own copy of Click
from typer._click.core import Context
from typer.core import TyperGroup

from incident_svc.cli.safe_text import visible

MAX_MESSAGE = 200  # characters of Click's message kept (it may quote a huge argument)


def one_line(exc: click.ClickException, around: Context | None = None) -> str:
    """The error as one printable line: the command, Click's message and the hint (the
    command the error names, else ``around``, the command being parsed)."""
    message = " ".join(visible(exc.format_message(), keep="\n").split())
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "\u2026"
    if not isinstance(exc, click.UsageError):
        return f"error: {message}"
    ctx = exc.ctx or around
    if ctx is None:
        return f"error: {message}"
    path = visible(ctx.command_path)
    return f"error: {path}: {message} (see '{path} --help')"


def _report(exc: click.ClickException, around: Context | None = None) -> int:
    if isinstance(exc, click.NoArgsIsHelpError):
        exc.show()  # the help itself, as Click prints it
    else:
        typer.echo(one_line(exc, around), err=True)
    return exc.exit_code


class OneLineGroup(TyperGroup):
    """The root command: Click's parsing, its errors in one line (see the module's text).

    Parsing happens in :meth:`make_context` (the root's options) and :meth:`invoke` (every
    group and command below it, and the commands themselves); a Click error from either is
    printed here and becomes Click's ``Exit`` with its code, which Click's ``main`` turns
    into the process's exit status (or returns, for a caller outside standalone mode)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Context | None = None,
        **extra: Any,
    ) -> Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            raise typer.Exit(_report(exc)) from None

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            raise typer.Exit(_report(exc, ctx)) from None
