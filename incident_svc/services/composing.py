"""What the dispatcher needs from the notices composer (incident_svc.notices.composer).

The composer turns claimed deliveries into finished message bytes; the dispatcher only moves
bytes. This module names that contract and finds the real composer lazily, so that delivery
can be built and tested while the composer is written elsewhere.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from incident_svc.config import Settings
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import ConfigError

COMPOSER_MODULE = "incident_svc.notices.composer"


@dataclass(frozen=True)
class ComposeItem:
    """One message to compose: who, where, in which language, under which Message-ID."""

    delivery_id: int
    subject_id: int | None
    account_id: int | None
    address: str
    locale: str
    message_id: str


class Outgoing(Protocol):
    """A finished message (the composer's OutgoingMessage)."""

    @property
    def delivery_id(self) -> int: ...
    @property
    def message_id(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def sha256(self) -> str: ...


class Composer(Protocol):
    @property
    def template_hash(self) -> str: ...

    async def compose_batch(self, items: Sequence[Any]) -> Sequence[Outgoing]: ...


class ComposerUnavailable(ConfigError):
    """The notices composer is not installed (before the notices work has landed)."""


ComposerLoader = Callable[[int, NoticeKind, Settings], Awaitable[Composer]]


async def load_default_composer(incident_id: int, kind: NoticeKind, settings: Settings) -> Composer:
    """The notices composer for one incident and kind (sync or async ``load_composer``)."""
    try:
        module = importlib.import_module(COMPOSER_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != COMPOSER_MODULE and not COMPOSER_MODULE.startswith(f"{exc.name}."):
            raise
        raise ComposerUnavailable(
            "notice templates are not available in this installation (incident_svc.notices)"
        ) from exc
    loaded = module.load_composer(incident_id=incident_id, kind=kind, settings=settings)
    if inspect.isawaitable(loaded):
        loaded = await loaded
    return loaded  # type: ignore[no-any-return]


def item_factory() -> Callable[..., Any]:
    """The composer's own ComposeItem class when it exists, else the one above."""
    try:
        module = importlib.import_module(COMPOSER_MODULE)
    except ModuleNotFoundError:
        return ComposeItem
    return getattr(module, "ComposeItem", ComposeItem)  # type: ignore[no-any-return]
