"""Background work of the feed: keep the snapshot fresh, flush serve counts, bounce banners.

One task, three clocks. A failed round (the database restarting, say) is logged and tried
again on the next tick: the feed keeps serving its last good snapshot meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time

from incident_svc.config import Settings
from incident_svc.domain.times import utcnow
from incident_svc.services.bounce import substitute
from incident_svc.services.website import banners
from incident_svc.web.feed import FeedView
from incident_svc.web.serve_counter import ServeCounter
from incident_svc.web.snapshot import Snapshot, SnapshotStore

log = logging.getLogger(__name__)
FULL_RELOAD_SECONDS = 60.0


class Refresher:
    def __init__(
        self,
        *,
        settings: Settings,
        store: SnapshotStore,
        view: FeedView,
        counter: ServeCounter,
        audit_key: bytes | None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.view = view
        self.counter = counter
        self.audit_key = audit_key
        self._last_full = 0.0
        self._last_flush = time.monotonic()
        self._last_bounce = 0.0

    async def refresh(self) -> bool:
        """Reload the snapshot when the banners changed (or a minute passed); True if reloaded."""
        fingerprint = await banners.fingerprint()
        stale = time.monotonic() - self._last_full >= FULL_RELOAD_SECONDS
        if fingerprint == self.store.current.fingerprint and not stale:
            return False
        now = utcnow()
        cards = await banners.load_cards(now=now)
        self.store.replace(Snapshot.of(cards, fingerprint=fingerprint, loaded_at=now))
        self.view.forget()
        self._last_full = time.monotonic()
        return True

    async def flush(self) -> None:
        """Write the serve counts gathered so far; on failure keep them for the next try."""
        tallies = self.counter.drain()
        try:
            await banners.record_serves(tallies=tallies, key=self.audit_key)
        except BaseException:
            self.counter.restore(tallies)
            raise

    async def bounce_banners(self) -> None:
        created = await substitute.publish(settings=self.settings, key=self.audit_key)
        if created:
            log.info("published %d personal banners for bounced addresses", len(created))

    async def tick(self) -> None:
        now = time.monotonic()
        if now - self._last_flush >= self.settings.feed.flush_seconds:
            self._last_flush = now
            await self.flush()
        if self.settings.banners.personal_on_bounce and (
            now - self._last_bounce >= self.settings.banners.bounce_check_seconds
        ):
            self._last_bounce = now
            await self.bounce_banners()
        await self.refresh()

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.feed.snapshot_seconds)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                # keep serving the last good snapshot; the next tick tries again
                log.exception(
                    "banner feed refresh failed; retrying in %ss",
                    self.settings.feed.snapshot_seconds,
                )
