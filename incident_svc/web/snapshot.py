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
    public_edges: tuple[datetime, ...] = ()
    fingerprint: object = None
    loaded_at: datetime | None = None
    has_targeted: bool = field(default=False)

    @classmethod
    def of(
        cls, cards: Iterable[BannerCard], *, fingerprint: object, loaded_at: datetime
    ) -> Snapshot:
        ordered = tuple(sorted(cards, key=lambda c: (c.starts_at, c.id)))
        return cls(
            cards=ordered,
            edges=_edges(ordered),
            public_edges=_edges(c for c in ordered if c.is_public),
            fingerprint=fingerprint,
            loaded_at=loaded_at,
            has_targeted=any(not c.is_public for c in ordered),
        )

    def seconds_to_next_edge(self, now: datetime, *, public: bool) -> float | None:
        """Seconds until the next start or end; for public answers, of public banners only
        (so that a public answer's max-age never hints at a targeted banner's window)."""
        edges = self.public_edges if public else self.edges
        index = bisect.bisect_right(edges, now)
        if index >= len(edges):
            return None
        return (edges[index] - now).total_seconds()


def _edges(cards: Iterable[BannerCard]) -> tuple[datetime, ...]:
    found = {e for c in cards for e in (c.starts_at, c.ends_at, c.withdrawn_at) if e is not None}
    return tuple(sorted(found))


class SnapshotStore:
    """Holds the current snapshot; replacing it is one reference assignment."""

    def __init__(self) -> None:
        self.current = Snapshot()

    def replace(self, snapshot: Snapshot) -> None:
        self.current = snapshot
