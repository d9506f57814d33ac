"""One poll of the report mailbox: each unseen message goes to the ingestion, then is marked.

The order is the crash argument: a message is marked (\\Seen, or moved) only after the
ingestion committed. A poll that dies between the two leaves the message unseen; the next
poll ingests it again, which changes nothing (ingestion is idempotent), and marks it. A
message the ingestion cannot read, or one over ``max_message_bytes``, is logged and marked
too, so that one bad message never blocks the mailbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from incident_svc.config import ImapSettings
from incident_svc.errors import ValidationError
from incident_svc.mail.imap_mailbox import ImapMailbox, open_mailbox
from incident_svc.services.bounce_sources.ingest_port import Ingest

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    ingested: int = 0
    unreadable: int = 0
    too_large: int = 0
    left: int = 0  # unseen messages beyond this poll's batch

    @property
    def handled(self) -> int:
        return self.ingested + self.unreadable + self.too_large


async def poll_once(settings: ImapSettings, *, ingest: Ingest) -> PollResult:
    """Take in up to ``batch_size`` unseen messages from the mailbox."""
    result = PollResult()
    async with open_mailbox(settings) as mailbox:
        uids = await mailbox.unseen()
        result.left = max(0, len(uids) - settings.batch_size)
        for uid in uids[: settings.batch_size]:
            await _one(mailbox, uid, settings, ingest, result)
    if result.handled:
        log.info(
            "bounces.imap: %d report(s) ingested, %d unreadable, %d too large, %d left",
            result.ingested, result.unreadable, result.too_large, result.left,
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
        try:
            await ingest(raw, source)
            result.ingested += 1
        except ValidationError as exc:
            log.warning("bounces.imap: message uid %s is not a report we can read: %s", uid, exc)
            result.unreadable += 1
    await mailbox.mark_done(uid)
