"""Composing a claimed batch: the messages, and the items that cannot be composed."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from incident_svc.domain.enums import AttemptOutcome
from incident_svc.services.delivery import leases, outbox
from incident_svc.services.delivery.composing import (
    ComposeItem,
    ComposeItemError,
    Composer,
    Outgoing,
)

log = logging.getLogger(__name__)


async def compose_each(
    composer: Composer, items: Sequence[ComposeItem]
) -> tuple[Sequence[Outgoing], list[ComposeItemError]]:
    """The batch's messages, and why each item that cannot be composed could not be.

    The batch is composed in one go; only when one item spoils it (a person no longer
    affected, a template that fails on one person's data, an address MIME refuses) is it
    composed again item by item, so the others are still sent. Anything else the composer
    raises (a template that does not compile, ...) concerns the whole campaign and goes up.
    """
    try:
        return await composer.compose_batch(items), []
    except ComposeItemError:
        pass
    messages: list[Outgoing] = []
    failures: list[ComposeItemError] = []
    for item in items:
        try:
            messages.extend(await composer.compose_batch([item]))
        except ComposeItemError as exc:
            log.warning("delivery %s not composed: %s", item.delivery_id, exc.reason)
            failures.append(exc)
    return messages, failures


def not_composed(claimed: leases.Claimed, reason: str) -> outbox.Outcome:
    """A permanent failure that is nobody's address fault: no subject is marked bounced."""
    return outbox.Outcome(
        claimed.delivery_id,
        claimed.attempts + 1,
        AttemptOutcome.PERMANENT,
        None,
        f"not composed: {reason}",
    )
