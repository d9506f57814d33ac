"""What happens when what an approval covers has changed: the campaign goes back to draft.

Called before a campaign starts (services.delivery.campaign_start) and when a dispatcher takes up a
sending campaign (services.delivery.dispatcher). The refusal and the return to draft are two audit
events written in the caller's transaction, with the status change; re-approval freezes a
new snapshot.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain.enums import CampaignStatus
from incident_svc.errors import ConflictError
from incident_svc.models import Campaign
from incident_svc.services.delivery import approval_snapshot, campaign_matter, campaigns


def refusal(campaign_id: int, change: str) -> ConflictError:
    return ConflictError(
        f"campaign {campaign_id} not started: {change} since it was approved; "
        "it is a draft again and needs a new approval"
    )


async def return_to_draft(
    conn: BaseDBAsyncClient, campaign: Campaign, change: str, *, actor: str, key: bytes | None
) -> None:
    """Refuse the start, drop the approval, and audit both, inside ``conn``."""
    previous, digest = campaign.status, campaign.approval_digest
    campaign.status = CampaignStatus.DRAFT
    campaign.approved_by = None  # type: ignore[assignment]
    campaign.approved_at = None
    campaign.approver_identity = campaign.approver_principal = None
    campaign.approval_snapshot = None  # type: ignore[assignment]
    campaign.approval_digest = None  # type: ignore[assignment]
    await campaign.save(using_db=conn)
    for action, details in (
        ("campaign.start_refused", {"changed": change, "approval_digest": digest}),
        ("campaign.returned_to_draft", {"from": previous.value, "reason": change}),
    ):
        await campaigns.audit_event(conn, campaign, actor, key, action, details)


async def check_sending(
    campaign: Campaign, settings: Settings, *, actor: str, key: bytes | None
) -> None:
    """Before a process sends a campaign's notices: refuse (back to draft) if the template
    files or the message settings differ from the approved ones."""
    change = approval_snapshot.changes_while_sending(campaign, settings)
    if change is None:
        return
    async with write_transaction() as conn:
        locked = (
            await Campaign.filter(id=campaign.id)
            .using_db(conn)
            .select_for_update()
            .prefetch_related(*campaign_matter.RELATED)
            .first()
        )
        if locked is not None and locked.status is CampaignStatus.SENDING:
            await return_to_draft(conn, locked, change, actor=actor, key=key)
    raise refusal(campaign.id, change)
