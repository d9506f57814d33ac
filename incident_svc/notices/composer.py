"""Claimed deliveries in, complete RFC 5322 messages out: the one path from data to bytes.

The delivery dispatcher and ``notice preview`` both go through :class:`Composer`, so a preview
is exactly what is sent (apart from Date and Message-ID). One composer serves one incident and
one notice kind: it compiles each template once, builds the static MIME parts once, and per
batch loads what it needs with a few set-based queries.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from incident_svc.config import OrgSettings, Settings
from incident_svc.domain.enums import NoticeKind
from incident_svc.domain.notice_history import PERSON_KINDS
from incident_svc.domain.times import utcnow
from incident_svc.domain.verp import ReturnPaths
from incident_svc.errors import ValidationError
from incident_svc.mail import mime
from incident_svc.mail.dkim import DkimSigner, load_signer
from incident_svc.mail.smtp_transaction import wire_form
from incident_svc.notices import context as ctx
from incident_svc.notices import loading
from incident_svc.notices.catalog import (
    DEFAULT_RENDER_SECONDS,
    TemplateCatalog,
    email_prefixes,
)
from incident_svc.notices.compose_worker import ComposeWorker
from incident_svc.notices.errors import ComposeItemError, TemplateRenderError
from incident_svc.notices.rendering import EmailStencils, RenderedNotice, render_email

log = logging.getLogger(__name__)
EMAIL_KINDS = (*PERSON_KINDS, NoticeKind.ACCOUNT_HOLDER_NOTICE)
# Messages composed between two turns of the event loop: composing a whole batch at once
# would leave the SMTP connections of the other batch in flight idle for tens of ms.
YIELD_EVERY = 25


@dataclass(frozen=True)
class ComposeItem:
    """One claimed delivery."""

    delivery_id: int
    subject_id: int | None  # subject_notice
    account_id: int | None  # account_holder_notice
    address: str
    locale: str
    message_id: str  # stable per delivery, given by the caller, e.g. "<...@example.com>"


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: int
    message_id: str
    data: bytes  # the complete RFC 5322 message, CRLF line endings
    sha256: str  # hex digest of data
    # data as the DATA command sends it (dot-stuffed, terminated), prepared where it was
    # composed (in the worker process past a campaign's first messages) rather than in the
    # sending process; None if data is not in wire form
    wire: bytes | None = None
    # the envelope sender (MAIL FROM) of this message: its own return path (VERP), or None
    # for the address of mail_from
    envelope_sender: str | None = None


Fact = ctx.PersonFacts | ctx.AccountFacts
Facts = tuple[ComposeItem, Fact]


@dataclass(frozen=True)
class ComposerSpec:
    """Everything a composer is made of, in a form that can be sent to another process."""

    incident: ctx.IncidentFacts
    kind: NoticeKind
    templates_dir: Path | None
    org: OrgSettings
    sender: mime.Mailbox
    reply_to: mime.Mailbox | None
    signer: DkimSigner | None
    skeleton: mime.MimeSkeleton
    render_seconds: float = DEFAULT_RENDER_SECONDS
    return_paths: ReturnPaths | None = None

    def build(self) -> Composer:
        return Composer(
            incident=self.incident,
            kind=self.kind,
            catalog=TemplateCatalog(self.templates_dir, render_seconds=self.render_seconds),
            org=self.org,
            sender=self.sender,
            reply_to=self.reply_to,
            signer=self.signer,
            skeleton=self.skeleton,
            return_paths=self.return_paths,
        )


@dataclass(frozen=True)
class Prepared:
    """One item with the template context built for it."""

    item: ComposeItem
    context: Mapping[str, Any]
    to_name: str


class Composer:
    """Renders and assembles the notices of one incident and kind."""

    def __init__(
        self,
        *,
        incident: ctx.IncidentFacts,
        kind: NoticeKind,
        catalog: TemplateCatalog,
        org: OrgSettings,
        sender: mime.Mailbox,
        reply_to: mime.Mailbox | None,
        signer: DkimSigner | None,
        skeleton: mime.MimeSkeleton | None = None,
        worker_from: int | None = None,
        return_paths: ReturnPaths | None = None,
    ) -> None:
        self.incident = incident
        self.kind = kind
        self.catalog = catalog
        self.org = org
        self.sender = sender
        self.reply_to = reply_to
        self.signer = signer
        self.return_paths = return_paths
        self.skeleton = skeleton or mime.build_skeleton(sender=sender, reply_to=reply_to)
        self.template_hash: str = catalog.content_hash(*email_prefixes(str(kind)))
        self._bases: dict[str, dict[str, Any]] = {}
        self.stencils: EmailStencils | None = EmailStencils(catalog)  # None: all in full
        self.worker_from = worker_from  # messages composed here before a worker takes over
        self._worker: ComposeWorker | None = None
        self.composed = 0

    async def compose_batch(self, items: Sequence[ComposeItem]) -> list[OutgoingMessage]:
        """Render and assemble every item.

        One item that cannot be composed raises :class:`ComposeItemError` naming its
        ``delivery_id`` (the cause is chained), so the caller can set that one aside. A
        template that does not compile is no one item's fault: its error goes up as it is.
        Past ``worker_from`` messages the rendering moves to a worker process, so that it
        runs on the other core while this process sends.
        """
        facts = await self.load_facts(items)
        date = format_datetime(utcnow())
        messages = await self._compose_in_worker(facts, date)
        if messages is None:
            messages = await self._compose_here(facts, date)
        self.composed += len(messages)
        return messages

    async def _compose_in_worker(
        self, facts: Sequence[Facts], date: str
    ) -> list[OutgoingMessage] | None:
        """The batch composed in the worker; None while it is not ready, or once it died."""
        worker = self._worker_to_use()
        if worker is None:
            return None
        try:
            return await worker.compose(facts, date)
        except BrokenProcessPool:
            log.warning("the compose worker process died; composing in the sending process")
            return None

    def _worker_to_use(self) -> ComposeWorker | None:
        """The worker process to compose in, once it has started (it starts at
        ``worker_from`` messages, in the background)."""
        due = self.worker_from is not None and self.composed >= self.worker_from
        if self._worker is None and due:
            self._worker = ComposeWorker(self.spec())
            self._worker.start()
        if self._worker is not None and self._worker.ready:
            return self._worker
        return None

    async def start_worker(self) -> None:
        """Start the worker process now and wait until it can take batches (wrap the call in
        ``asyncio.timeout`` to bound the wait)."""
        self.worker_from = 0
        self._worker_to_use()
        assert self._worker is not None
        await self._worker.wait_ready()

    async def _compose_here(self, facts: Sequence[Facts], date: str) -> list[OutgoingMessage]:
        messages = []
        for n, (item, fact) in enumerate(facts, start=1):
            messages.append(self.compose_one(item, fact, date))
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the batch in flight read its replies meanwhile
        return messages

    def compose_facts(self, facts: Sequence[Facts], date: str) -> list[OutgoingMessage]:
        """The messages of ``facts``, all in one go (what the worker process runs)."""
        return [self.compose_one(item, fact, date) for item, fact in facts]

    def compose_one(self, item: ComposeItem, fact: Fact, date: str) -> OutgoingMessage:
        prepared = self.prepared(item, fact)
        try:
            return self.assemble(prepared, self.render(prepared), date)
        except (TemplateRenderError, ValidationError) as exc:
            if isinstance(exc, TemplateRenderError) and exc.kind == "syntax":
                raise
            raise ComposeItemError(item.delivery_id, str(exc)) from exc

    async def close(self) -> None:
        """Stop the worker process, if one was started."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def spec(self) -> ComposerSpec:
        """What a worker process needs to compose exactly as this composer does."""
        return ComposerSpec(
            incident=self.incident,
            kind=self.kind,
            templates_dir=self.catalog.operator_dir,
            org=self.org,
            sender=self.sender,
            reply_to=self.reply_to,
            signer=self.signer,
            skeleton=self.skeleton,
            render_seconds=self.catalog.render_seconds,
            return_paths=self.return_paths,
        )

    async def prepare(self, items: Sequence[ComposeItem]) -> list[Prepared]:
        return [self.prepared(item, fact) for item, fact in await self.load_facts(items)]

    async def load_facts(self, items: Sequence[ComposeItem]) -> list[Facts]:
        """Each item with what its notice is about, read with a few queries per batch."""
        if self.kind in PERSON_KINDS:
            return await self._subject_facts(items)
        return await self._account_facts(items)

    async def _subject_facts(self, items: Sequence[ComposeItem]) -> list[Facts]:
        ids = [_required(item.subject_id, "subject_id", item) for item in items]
        people = await loading.load_people(self.incident.id, ids)
        facts: list[Facts] = []
        for item, subject_id in zip(items, ids, strict=True):
            person = people.get(subject_id)
            if person is None:
                who = await loading.reference_of("subject", subject_id)
                raise ComposeItemError(
                    item.delivery_id, f"{who} is not affected by incident {self.incident.ref}"
                )
            facts.append((item, person))
        return facts

    async def _account_facts(self, items: Sequence[ComposeItem]) -> list[Facts]:
        ids = [_required(item.account_id, "account_id", item) for item in items]
        accounts = await loading.load_accounts(self.incident.id, ids)
        facts: list[Facts] = []
        for item, account_id in zip(items, ids, strict=True):
            account = accounts.get(account_id)
            if account is None:
                who = await loading.reference_of("account", account_id)
                raise ComposeItemError(
                    item.delivery_id,
                    f"account {who} is not affected by incident {self.incident.ref}",
                )
            facts.append((item, account))
        return facts

    def prepared(self, item: ComposeItem, fact: Fact) -> Prepared:
        """The template context of one item."""
        labels = self.catalog.labels(item.locale)
        if isinstance(fact, ctx.PersonFacts):
            context = ctx.subject_context(self._base(item.locale), fact, labels)
        else:
            zone = loading.region_zone(fact.region)
            context = ctx.account_context(self._base(item.locale), fact, labels, zone)
        return Prepared(item, context, context["recipient"]["name"])

    def _base(self, locale: str) -> dict[str, Any]:
        if locale not in self._bases:
            labels = self.catalog.labels(locale)
            self._bases[locale] = ctx.base_context(
                incident=self.incident,
                org=self.org,
                labels=labels,
                locale=locale,
                date_locale=self.catalog.date_locale(f"email/{self.kind}", "body.txt.j2", locale),
            )
        return self._bases[locale]

    def render(self, prepared: Prepared) -> RenderedNotice:
        locale = prepared.item.locale
        return render_email(
            self.catalog,
            str(self.kind),
            locale,
            prepared.context,
            stencils=self.stencils,
            shared=self._base(locale),
        )

    def assemble(self, prepared: Prepared, rendered: RenderedNotice, date: str) -> OutgoingMessage:
        item = prepared.item
        data = mime.assemble(
            self.skeleton,
            to=mime.Mailbox(name=prepared.to_name, addr=item.address),
            subject=rendered.subject,
            date=date,
            message_id=item.message_id,
            text=rendered.text,
            html=rendered.html,
        )
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


def _required(value: int | None, name: str, item: ComposeItem) -> int:
    if value is None:
        raise ComposeItemError(item.delivery_id, f"no {name} for a {name[:-3]} notice")
    return value


async def load_composer(
    *,
    incident_id: int,
    kind: NoticeKind,
    settings: Settings,
    return_paths: ReturnPaths | None = None,
) -> Composer:
    """A composer for one incident and email kind, with the operator's templates if any."""
    if kind not in EMAIL_KINDS:
        raise ValidationError(f"{kind} is not an email notice", field="kind")
    return build_composer(
        incident=await loading.load_incident(incident_id),
        kind=kind,
        settings=settings,
        return_paths=return_paths,
    )


def build_composer(
    *,
    incident: ctx.IncidentFacts,
    kind: NoticeKind,
    settings: Settings,
    return_paths: ReturnPaths | None = None,
) -> Composer:
    """A composer for these incident facts (as stored, or as an approval froze them)."""
    if kind not in EMAIL_KINDS:
        raise ValidationError(f"{kind} is not an email notice", field="kind")
    reply_to = settings.reply_to
    return Composer(
        incident=incident,
        kind=kind,
        catalog=TemplateCatalog(
            settings.templates_dir, render_seconds=settings.templates.render_seconds
        ),
        org=settings.org,
        sender=mime.parse_mailbox("mail_from", settings.mail_from),
        reply_to=mime.parse_mailbox("reply_to", reply_to) if reply_to else None,
        signer=load_signer(settings.dkim),
        worker_from=settings.delivery.compose_worker_from,
        return_paths=return_paths,
    )
