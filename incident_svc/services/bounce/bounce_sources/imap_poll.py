"""One poll of the report mailbox: each unseen message goes to the ingestion, then is marked.

The order is the crash argument: a message is marked (\\Seen, or moved) only after the
ingestion committed. A poll that dies between the two leaves the message unseen; the next
poll ingests it again, which changes nothing (ingestion is idempotent), and marks it. A
message the ingestion cannot use (unreadable, unmatched, a forged return path: it records
why) or one over ``max_message_bytes`` is logged and marked too, so that one bad message
never blocks the mailbox.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from incident_svc.config_bounces import ImapSettings
from incident_svc.mail.imap_mailbox import ImapMailbox, open_mailbox
from incident_svc.services.bounce.bounce_sources.ingest_port import Ingest

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    statuses: Counter[str] = field(default_factory=Counter)  # IngestResult.status -> count
    too_large: int = 0
    left: int = 0  # unseen messages beyond this poll's batch

    @property
    def ingested(self) -> int:
        """Messages the ingestion took (recorded, duplicate, unmatched, refused, unreadable)."""
        return sum(self.statuses.values())

    @property
    def handled(self) -> int:
        return self.ingested + self.too_large


async def poll_once(settings: ImapSettings, *, ingest: Ingest) -> PollResult:
    """Take in up to ``batch_size`` unseen messages from the mailbox."""
    result = PollResult()
    async with open_mailbox(settings) as mailbox:
        uids = await mailbox.unseen()
        result.left = max(0, len(uids) - settings.batch_size)
        for uid in uids[: settings.batch_size]:
            await _one(mailbox, uid, settings, ingest, result)
    if result.handled:
        said = ", ".join(f"{n} {status}" for status, n in sorted(result.statuses.items()))
        log.info(
            "bounces.imap: %d message(s): %s; %d too large, %d left",
            result.handled, said or "none ingested", result.too_large, result.left,
        )  # fmt: skip
    return result


async def _one(
    mailbox: ImapMailbox, uid: str, settings: ImapSettings, ingest: Ingest, result: PollResult
) -> None:
    size = await mailbox.size(uid)
    if size is None:
        return  # expunged by someone else meanwhile
    source = f"imap:{settings.host}/{settings.mailbox}"
    if size > settings.max_message_bytes:
        log.warning("bounces.imap: message uid %s is %d bytes, over the limit: skipped", uid, size)
        result.too_large += 1
    else:
        raw = await mailbox.read(uid)
        if raw is None:
            return
        ingested = await ingest(raw, source)
        result.statuses[ingested.status] += 1
        if ingested.bad:
            log.warning(
                "bounces.imap: message uid %s %s: %s", uid, ingested.status, ingested.reason
            )
    await mailbox.mark_done(uid)
