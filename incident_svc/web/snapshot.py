"""The feed's in-memory view of the banners, refreshed from the database in the background.

Requests read :attr:`SnapshotStore.current` and never touch the database. The snapshot holds
every banner that is or will be active, so window edges are exact at request time; only new
and withdrawn banners wait for the next refresh (``feed.snapshot_seconds``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from incident_svc.domain.banner_rules import BannerCard


@dataclass(frozen=True)
class Snapshot:
    cards: tuple[BannerCard, ...] = ()
    edges: tuple[datetime, ...] = ()
    fingerprint: object = None
    loaded_at: datetime | None = None
    has_targeted: bool = field(default=False)

    @classmethod
    def of(
        cls, cards: Iterable[BannerCard], *, fingerprint: object, loaded_at: datetime
    ) -> Snapshot:
        ordered = tuple(sorted(cards, key=lambda c: (c.starts_at, c.id)))
        edges = sorted(
            {e for c in ordered for e in (c.starts_at, c.ends_at, c.withdrawn_at) if e is not None}
        )
        return cls(
            cards=ordered,
            edges=tuple(edges),
            fingerprint=fingerprint,
            loaded_at=loaded_at,
            has_targeted=any(not c.is_public for c in ordered),
        )

    def seconds_to_next_edge(self, now: datetime) -> float | None:
        index = bisect.bisect_right(self.edges, now)
        if index >= len(self.edges):
            return None
        return (self.edges[index] - now).total_seconds()


class SnapshotStore:
    """Holds the current snapshot; replacing it is one reference assignment."""

    def __init__(self) -> None:
        self.current = Snapshot()

    def replace(self, snapshot: Snapshot) -> None:
        self.current = snapshot
