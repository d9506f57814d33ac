"""Serve counts kept in memory per banner and handed to the database in batches."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from incident_svc.services.website.banners import ServeTally


class ServeCounter:
    def __init__(self) -> None:
        self._tallies: dict[int, ServeTally] = {}

    def add(self, banner_ids: Iterable[int], now: datetime) -> None:
        for banner_id in banner_ids:
            tally = self._tallies.get(banner_id)
            if tally is None:
                self._tallies[banner_id] = ServeTally(count=1, first=now, last=now)
            else:
                tally.count += 1
                tally.last = now

    def drain(self) -> dict[int, ServeTally]:
        """Everything counted since the last drain; the counter starts again from zero."""
        tallies, self._tallies = self._tallies, {}
        return tallies

    def restore(self, tallies: dict[int, ServeTally]) -> None:
        """Put back a batch that could not be written, so that no serve is lost."""
        for banner_id, old in tallies.items():
            new = self._tallies.get(banner_id)
            if new is None:
                self._tallies[banner_id] = old
            else:
                self._tallies[banner_id] = ServeTally(
                    count=old.count + new.count, first=old.first, last=new.last
                )
