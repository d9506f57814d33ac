"""What the dispatcher needs from the notices composer (incident_svc.notices.composer).

The composer turns claimed deliveries into finished message bytes; the dispatcher only moves
bytes. The loader is a parameter of the dispatcher so that tests and benchmarks can hand in
a composer of their own; the real one is the default.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from incident_svc.config import Settings
from incident_svc.domain.enums import NoticeKind
from incident_svc.models import Campaign
from incident_svc.notices.composer import ComposeItem, build_composer, load_composer
from incident_svc.notices.errors import ComposeItemError
from incident_svc.services.bounce import return_paths
from incident_svc.services.delivery import approval_snapshot
from incident_svc.services.delivery.matter_campaigns import composer as matter_composer

__all__ = [
    "ComposeItem",
    "ComposeItemError",
    "Composer",
    "ComposerLoader",
    "Outgoing",
    "close_composer",
    "envelope_sender",
    "frozen_composer",
    "item_factory",
    "load_default_composer",
]


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
    @property
    def wire(self) -> bytes | None: ...  # data as DATA sends it, if the composer prepared it


def envelope_sender(message: Outgoing, default: str) -> str:
    """The MAIL FROM of ``message``: its own return path (VERP) when the composer gave it one
    (the real one does when ``bounces.domain`` is set), else ``default``."""
    own = getattr(message, "envelope_sender", None)
    return own if isinstance(own, str) and own else default


class Composer(Protocol):
    """Composes batches; one item that cannot be composed raises :class:`ComposeItemError`.

    Any other error means the campaign as a whole cannot be composed (its templates do not
    compile, its incident is gone, ...): the dispatcher then sets the campaign aside.
    """

    @property
    def template_hash(self) -> str: ...

    async def compose_batch(self, items: Sequence[ComposeItem]) -> Sequence[Outgoing]: ...


ComposerLoader = Callable[[int, NoticeKind, Settings], Awaitable[Composer]]


async def load_default_composer(incident_id: int, kind: NoticeKind, settings: Settings) -> Composer:
    """The notices composer for one incident and email kind."""
    return await load_composer(
        incident_id=incident_id,
        kind=kind,
        settings=settings,
        return_paths=return_paths.return_paths(settings),
    )


async def frozen_composer(campaign: Campaign, settings: Settings) -> Composer:
    """The composer of a campaign's notices: from its approval snapshot (incident texts and
    message settings as approved), or, for a campaign from before snapshots, as stored now."""
    if campaign.incident is None:  # a policy change's or a disclosure's
        return await matter_composer.load(campaign, settings)
    snapshot = approval_snapshot.stored(campaign)
    if snapshot is None:
        return await load_default_composer(campaign.incident.id, campaign.kind, settings)
    frozen = snapshot["settings"]
    as_approved = settings.model_copy(
        update={
            "mail_from": frozen["mail_from"],
            "reply_to": frozen["reply_to"],
            "org": approval_snapshot.frozen_org(snapshot),
        }
    )
    incident = approval_snapshot.frozen_incident(campaign, snapshot)
    return build_composer(
        incident=incident,
        kind=campaign.kind,
        settings=as_approved,
        return_paths=return_paths.return_paths(settings),
    )


async def close_composer(composer: Composer) -> None:
    """Let a composer stop what it started (the real one: its worker process), if it can."""
    close = getattr(composer, "close", None)
    if close is not None:
        await close()


def item_factory() -> type[ComposeItem]:
    """The composer's item class (kept for callers written before the composer landed)."""
    return ComposeItem
