"""Template failures as one clear line that names the file and line in the template."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Protocol

import jinja2
from jinja2.exceptions import SecurityError

from incident_svc.errors import IncidentSvcError, TemplateError


class _HasOrigin(Protocol):
    def origin(self, name: str) -> Path | None: ...


class TemplateRenderError(TemplateError):
    """A template that cannot compile or render; ``kind`` says why (``undefined``, ...)."""

    def __init__(self, reason: str, *, kind: str, file: str | None, line: int | None) -> None:
        self.reason = reason
        self.kind = kind
        self.file = file
        self.line = line
        place = ":".join(str(p) for p in (file, line) if p is not None)
        super().__init__(f"{place}: {reason}" if place else reason)


class ComposeItemError(IncidentSvcError):
    """One delivery of a batch could not be composed; ``delivery_id`` says which."""

    def __init__(self, delivery_id: int, reason: str) -> None:
        self.delivery_id = delivery_id
        self.reason = reason
        super().__init__(f"delivery {delivery_id}: {reason}")


def located(exc: Exception, catalog: _HasOrigin, name: str | None = None) -> TemplateRenderError:
    """Translate a Jinja error into ours, with the template file and line it happened at."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateRenderError(
            f"template syntax error: {exc.message}",
            kind="syntax",
            file=_file_of(exc.name or name, catalog),
            line=exc.lineno,
        )
    file, line = _template_frame(exc.__traceback__)
    if file is None:
        file = _file_of(name, catalog)
    if isinstance(exc, SecurityError):
        return TemplateRenderError(
            f"refused by the sandbox: {exc}", kind="sandbox", file=file, line=line
        )
    if isinstance(exc, jinja2.UndefinedError):
        return TemplateRenderError(
            f"undefined variable: {exc.message}", kind="undefined", file=file, line=line
        )
    return TemplateRenderError(f"{type(exc).__name__}: {exc}", kind="error", file=file, line=line)


def _file_of(name: str | None, catalog: _HasOrigin) -> str | None:
    if name is None:
        return None
    path = catalog.origin(name)
    return str(path) if path else name


def _template_frame(tb: TracebackType | None) -> tuple[str | None, int | None]:
    """The innermost traceback entry that Jinja mapped back to a template file and line."""
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".j2", ".css", ".html", ".txt")):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found
