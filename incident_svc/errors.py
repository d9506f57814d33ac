"""The one exception hierarchy of incident-svc.

    IncidentSvcError                 anything we expect and can explain in one line
    ├── ConfigError                  bad configuration (names the key)
    │   └── RelaySetupError          untrusted certificate, login refused: no message can go out
    ├── DatabaseError
    │   ├── SchemaError              schema missing, behind or ahead of the code
    │   └── DatabaseUnavailableError the database failed for longer than we ride out
    ├── NotFoundError                a reference that names nothing
    ├── ValidationError              bad input (names file, line and field where known)
    ├── ConflictError                the state does not allow this (illegal transition, ...)
    ├── TemplateError                a notice template that cannot render
    └── DeliveryError                an attempt to hand a message to SMTP failed
        ├── TransientDeliveryError   4xx, timeouts, disconnects: try again later
        │   └── RelayUnavailableError the relay cannot be reached at all: no message's fault
        └── PermanentDeliveryError   5xx, refused recipients: do not try again

The CLI turns any IncidentSvcError into one line on stderr and a non-zero exit code;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class IncidentSvcError(Exception):
    """Base class for errors that the CLI reports as one line."""

    exit_code = 1

    def __reduce__(self) -> tuple[Any, ...]:
        # our errors take keyword fields that ``Exception``'s pickling would drop; keep them
        # all, so an error raised in a worker process arrives whole (notices.compose_worker)
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[IncidentSvcError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigError(IncidentSvcError):
    exit_code = 2

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class RelaySetupError(ConfigError):
    """The SMTP relay refused the connection's setup (a certificate we do not trust, STARTTLS
    or AUTH not offered, the login refused): a configuration mismatch that no retry of one
    message can fix; the password is never in the message. (A TLS handshake that fails in
    any other way is a RelayUnavailableError: mail/smtp_errors.py.)"""


class DatabaseError(IncidentSvcError):
    pass


class SchemaError(DatabaseError):
    exit_code = 3


class DatabaseUnavailableError(DatabaseError):
    """The database stayed unreachable (or busy, or full) past ``database.fault_tolerance_seconds``;
    nothing was lost, and running the same command again continues where it stopped."""

    exit_code = 8


class NotFoundError(IncidentSvcError):
    exit_code = 4


class ValidationError(IncidentSvcError):
    exit_code = 5

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        place = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        if self.field:
            place = f"{place} field {self.field!r}" if place else f"field {self.field!r}"
        return f"{place}: {self.reason}" if place else self.reason


class ConflictError(IncidentSvcError):
    exit_code = 6


class TemplateError(IncidentSvcError):
    exit_code = 7


class DeliveryError(IncidentSvcError):
    def __init__(self, message: str, *, code: int | None = None, reply: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reply = reply


class TransientDeliveryError(DeliveryError):
    pass


class PermanentDeliveryError(DeliveryError):
    pass


class RelayUnavailableError(TransientDeliveryError):
    """No connection to the relay (refused, timed out, TLS handshake cut, 421 at greeting):
    the message was never offered, so no attempt is spent on it."""


def causes(exc: BaseException | None, limit: int = 8) -> Iterator[BaseException]:
    """exc, then the exception it was raised from (or while handling), and so on: at most
    limit of them, so that a cycle in the chain ends."""
    for _ in range(limit):
        if exc is None:
            return
        yield exc
        exc = exc.__cause__ or exc.__context__
