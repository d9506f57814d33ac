"""Compose the notices of a matter campaign from its approval snapshot.

The same contract as the incident composer (services.delivery.composing.Composer): claimed deliveries
in, finished RFC 5322 messages out, one item that cannot be composed raised as
``ComposeItemError``. The facts come from the snapshot (what was approved), the reader's name,
language and time zone from the subject or account row; the MIME assembly, DKIM and return
paths are the incident notices' own. Before a composer is handed out, its templates pass the
content checks (services.delivery.matter_campaigns.checks) in every language they are written in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

from incident_svc.config import OrgSettings, Settings
from incident_svc.domain.enums import NoticeKind
from incident_svc.domain.times import utcnow
from incident_svc.domain.verp import ReturnPaths
from incident_svc.errors import ValidationError
from incident_svc.mail import mime
from incident_svc.mail.dkim import DkimSigner, load_signer
from incident_svc.mail.smtp_transaction import wire_form
from incident_svc.models import Account, Campaign, Subject
from incident_svc.notices import matter_notices as mn
from incident_svc.notices.catalog import TemplateCatalog, email_prefixes
from incident_svc.notices.composer import ComposeItem, OutgoingMessage
from incident_svc.notices.errors import ComposeItemError, TemplateRenderError
from incident_svc.notices.loading import region_zone
from incident_svc.notices.rendering import EmailStencils, RenderedNotice, render_email
from incident_svc.services.bounce import return_paths
from incident_svc.services.delivery import approval_snapshot
from incident_svc.services.delivery.matter_campaigns import checks, facts
from incident_svc.services.delivery.matter_campaigns.context import context_for
from incident_svc.services.delivery.matter_campaigns.kinds import HOLDER_KINDS

# the part of a context every reader of one locale has in common
SHARED_KEYS = ("locale", "org", "labels", "service_message")


@dataclass
class MatterComposer:
    """Renders and assembles the notices of one matter campaign."""

    kind: NoticeKind
    frozen: facts.Frozen
    catalog: TemplateCatalog
    org: OrgSettings
    sender: mime.Mailbox
    reply_to: mime.Mailbox | None
    signer: DkimSigner | None
    return_paths: ReturnPaths | None
    banner_served: datetime | None = None

    def __post_init__(self) -> None:
        self.skeleton = mime.build_skeleton(sender=self.sender, reply_to=self.reply_to)
        self.template_hash: str = self.catalog.content_hash(*email_prefixes(str(self.kind)))
        self.stencils = EmailStencils(self.catalog)
        self._shared: dict[str, dict[str, Any]] = {}

    async def compose_batch(self, items: Sequence[ComposeItem]) -> list[OutgoingMessage]:
        readers = await self._readers(items)
        now = utcnow()
        date = format_datetime(now)
        # "takes effect at the latest" counts from the end of this minute: the relay accepts
        # after composing, and readers of one minute share one stencil shape
        now = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return [self._compose(item, readers, now, date) for item in items]

    async def _readers(self, items: Sequence[ComposeItem]) -> dict[int, tuple[str, str, str]]:
        """(name, reference, time zone) per subject or account id of the batch."""
        if self.kind in HOLDER_KINDS:
            ids = [i.account_id for i in items if i.account_id is not None]
            rows = await Account.filter(id__in=ids).values_list(
                "id", "holder_name", "account_ref", "region"
            )
            return {int(r[0]): (str(r[1]), str(r[2]), region_zone(str(r[3]))) for r in rows}
        ids = [i.subject_id for i in items if i.subject_id is not None]
        rows = await Subject.filter(id__in=ids).values_list(
            "id", "name", "external_ref", "timezone"
        )
        return {int(r[0]): (str(r[1]), str(r[2]), str(r[3] or "UTC")) for r in rows}

    def _compose(
        self,
        item: ComposeItem,
        readers: dict[int, tuple[str, str, str]],
        now: datetime,
        date: str,
    ) -> OutgoingMessage:
        owner = item.account_id if self.kind in HOLDER_KINDS else item.subject_id
        found = readers.get(owner) if owner is not None else None
        if found is None:
            raise ComposeItemError(item.delivery_id, "its subject or account no longer exists")
        name, ref, zone = found
        reader = mn.Reader(name, item.address, ref, item.locale, zone)
        try:
            rendered = self.render(reader, now)
            return self.assemble(item, name, rendered, date)
        except (TemplateRenderError, ValidationError) as exc:
            if isinstance(exc, TemplateRenderError) and exc.kind == "syntax":
                raise
            raise ComposeItemError(item.delivery_id, str(exc)) from exc

    def render(self, reader: mn.Reader, now: datetime) -> RenderedNotice:
        context = context_for(
            self.frozen.part, reader, org=self.org, labels=self.catalog.labels(reader.locale),
            now=now, banner_served=self.banner_served,
        )  # fmt: skip
        shared = self._shared.setdefault(reader.locale, {key: context[key] for key in SHARED_KEYS})
        context.update(shared)  # the same objects for every reader: what stencils compare
        return render_email(
            self.catalog, str(self.kind), reader.locale, context,
            stencils=self.stencils, shared=shared,
        )  # fmt: skip

    def assemble(
        self, item: ComposeItem, name: str, rendered: RenderedNotice, date: str
    ) -> OutgoingMessage:
        data = mime.assemble(
            self.skeleton, to=mime.Mailbox(name=name, addr=item.address),
            subject=rendered.subject, date=date, message_id=item.message_id,
            text=rendered.text, html=rendered.html,
        )  # fmt: skip
        if self.signer is not None:
            data = self.signer.sign(data)
        return OutgoingMessage(
            delivery_id=item.delivery_id,
            message_id=item.message_id,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            wire=wire_form(data),
            envelope_sender=(
                self.return_paths.address(item.delivery_id) if self.return_paths else None
            ),
        )


async def load(campaign: Campaign, settings: Settings) -> MatterComposer:
    """The composer of a matter campaign, from its snapshot (the message settings as
    approved); refused (ValidationError) when its templates fail the content checks."""
    snapshot = approval_snapshot.stored(campaign)
    if snapshot is None:
        raise ValidationError(f"campaign {campaign.id} has no approval snapshot to compose from")
    frozen_settings = snapshot["settings"]
    reply_to = frozen_settings["reply_to"]
    part = facts.Frozen(snapshot["incident"])
    catalog = TemplateCatalog(
        settings.templates_dir, render_seconds=settings.templates.render_seconds
    )
    served = await facts.banner_first_served(part.part.get("banner")) if part.is_policy else None
    composer = MatterComposer(
        kind=campaign.kind,
        frozen=part,
        catalog=catalog,
        org=approval_snapshot.frozen_org(snapshot),
        sender=mime.parse_mailbox("mail_from", frozen_settings["mail_from"]),
        reply_to=mime.parse_mailbox("reply_to", reply_to) if reply_to else None,
        signer=load_signer(settings.dkim),
        return_paths=return_paths.return_paths(settings),
        banner_served=served,
    )
    await checks.require(composer.catalog, campaign.kind, part.part, composer.org)
    return composer
