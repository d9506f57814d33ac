"""``notice preview`` and ``notice check``: read-only use cases on the composer's own path.

Both compose through :class:`~incident_svc.notices.composer.Composer`, the same code the
dispatcher sends with, so what is previewed and checked is what people receive (only Date
and Message-ID differ from the real send).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime

from incident_svc.compliance_rules import load_rules
from incident_svc.config import Settings
from incident_svc.domain.compliance import RecipientKind
from incident_svc.domain.enums import NoticeKind
from incident_svc.domain.notice_history import PERSON_KINDS
from incident_svc.domain.times import utcnow
from incident_svc.errors import TemplateError, ValidationError
from incident_svc.models import Account, Subject
from incident_svc.notices import linkcheck, loading, sampling
from incident_svc.notices.addresses import address_findings
from incident_svc.notices.checks import (
    Finding,
    check_notice,
    html_links,
    text_links,
)
from incident_svc.notices.composer import ComposeItem, Composer, Prepared, load_composer
from incident_svc.notices.context import missing_texts
from incident_svc.notices.errors import ComposeItemError, TemplateRenderError
from incident_svc.notices.locales import canonical
from incident_svc.notices.rendering import RenderedNotice
from incident_svc.notices.residence_checks import (
    fields_by_residence,
    fields_for,
    residence_findings,
)

PREVIEW_MESSAGE_ID = "<preview.{ref}.{recipient}@incident-svc.invalid>"


@dataclass(frozen=True)
class Preview:
    incident_ref: str
    recipient: str
    locale: str
    kind: NoticeKind
    template_hash: str
    templates: tuple[str, ...]
    subject: str
    text: str  # decoded back from the message bytes, exactly as a mail app shows it
    html: str
    eml: bytes
    sha256: str


async def preview_notice(
    *,
    incident_ref: str,
    kind: NoticeKind,
    settings: Settings,
    subject_ref: str | None = None,
    account_ref: str | None = None,
    locale: str | None = None,
) -> Preview:
    """Compose the notice one person or account holder would receive, without sending it."""
    incident = await loading.load_incident_by_ref(incident_ref)
    composer = await load_composer(incident_id=incident.id, kind=kind, settings=settings)
    recipient = subject_ref or account_ref or ""
    item = await _preview_item(kind, recipient, locale, incident_ref)
    missing = missing_texts(incident.texts, item.locale, str(kind))
    if missing:  # said plainly, not as the template's undefined variable
        raise TemplateError(
            f"{incident_ref} has no {', '.join(k.replace('_', ' ') for k in missing)} text for "
            f"{item.locale}: set them with `{set_text_command(incident_ref, item.locale, missing)}`"
        )
    try:
        [prepared] = await composer.prepare([item])
    except ComposeItemError as exc:
        raise ValidationError(
            exc.reason, field="--subject" if subject_ref else "--account"
        ) from None
    rendered = composer.render(prepared)
    message = composer.assemble(prepared, rendered, format_datetime(utcnow()))
    parsed = BytesParser(policy=policy.default).parsebytes(message.data)
    return Preview(
        incident_ref=incident_ref,
        recipient=recipient,
        locale=item.locale,
        kind=kind,
        template_hash=composer.template_hash,
        templates=rendered.templates,
        subject=str(parsed["Subject"]),
        text=_part(parsed, "plain"),
        html=_part(parsed, "html"),
        eml=message.data,
        sha256=message.sha256,
    )


async def _preview_item(
    kind: NoticeKind, recipient: str, locale: str | None, incident_ref: str
) -> ComposeItem:
    message_id = PREVIEW_MESSAGE_ID.format(ref=incident_ref, recipient=_id_safe(recipient))
    if kind in PERSON_KINDS:
        subject = await Subject.get_or_none(external_ref=recipient)
        if subject is None:
            raise ValidationError(f"no subject {recipient!r}", field="--subject")
        return ComposeItem(0, subject.id, None, subject.email, locale or subject.locale, message_id)
    account = await Account.get_or_none(account_ref=recipient)
    if account is None:
        raise ValidationError(f"no account {recipient!r}", field="--account")
    return ComposeItem(
        0, None, account.id, account.holder_email, locale or account.locale, message_id
    )


def _id_safe(value: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in value)


def _part(parsed: EmailMessage, subtype: str) -> str:
    part = parsed.get_body((subtype,))
    return str(part.get_content()) if part is not None else ""


@dataclass
class LocaleReport:
    locale: str
    samples: list[str] = field(default_factory=list)
    findings: list[tuple[str, Finding]] = field(default_factory=list)  # (recipient, finding)


@dataclass
class CheckReport:
    incident_ref: str
    kind: NoticeKind
    template_hash: str
    locales: dict[str, LocaleReport]

    @property
    def ok(self) -> bool:
        return bool(self.locales) and not any(r.findings for r in self.locales.values())


async def check_incident(
    *,
    incident_ref: str,
    kind: NoticeKind,
    settings: Settings,
    per_locale: int = 3,
    online_links: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> CheckReport:
    """Render the notice for a sample of affected people in each locale in use and check it.

    With ``online_links`` every distinct http(s) link is also fetched once; ``progress``
    is told (done, total) after each sample.
    """
    incident = await loading.load_incident_by_ref(incident_ref)
    composer = await load_composer(incident_id=incident.id, kind=kind, settings=settings)
    samples = await sampling.sample(incident.id, kind, per_locale=per_locale)
    by_residence = people_rule_fields(settings)
    report = CheckReport(incident_ref, kind, composer.template_hash, {})
    links: list[tuple[LocaleReport, str, str, str]] = []  # (entry, recipient, part, url)
    for n, sample in enumerate(samples, start=1):
        item = ComposeItem(
            n,
            sample.subject_id,
            sample.account_id,
            sample.address,
            sample.locale,
            f"<check.{n}@incident-svc.invalid>",
        )
        entry = report.locales.get(canonical(sample.locale))
        if entry is None:
            entry = report.locales[canonical(sample.locale)] = LocaleReport(sample.locale)
            entry.findings += _missing_text_findings(
                incident_ref, incident.texts, sample.locale, str(kind)
            )
        entry.samples.append(sample.ref)
        if any(f.code == "missing_text" for _, f in entry.findings):
            continue  # rendering would only repeat it as an undefined variable
        findings, rendered = await _check_one(composer, item, by_residence)
        entry.findings += [(sample.ref, f) for f in findings]
        if rendered is not None:
            links += [(entry, sample.ref, part, url) for part, url in _links(rendered)]
        if progress is not None:
            progress(n, len(samples))
    for recipient, finding in await address_findings(incident.id, kind, settings):
        entry = report.locales.setdefault(
            canonical(recipient.locale), LocaleReport(recipient.locale)
        )
        entry.findings.append((recipient.ref, finding))
    if online_links:
        await _follow(links)
    return report


def set_text_command(incident_ref: str, locale: str, keys: list[str]) -> str:
    options = " ".join(f"--{key.replace('_', '-')} TEXT" for key in keys)
    return f"incident-svc incident update {incident_ref} --locale {locale} {options}"


def _missing_text_findings(
    incident_ref: str, texts: Mapping[str, Mapping[str, str]], locale: str, kind: str
) -> list[tuple[str, Finding]]:
    """One finding per notice text the locale lacks, with the command that sets it."""
    return [
        (
            "-",
            Finding(
                "missing_text",
                key,
                f"{incident_ref} has no {key.replace('_', ' ')} text for {locale}: "
                f"{set_text_command(incident_ref, locale, [key])}",
            ),
        )
        for key in missing_texts(texts, locale, kind)
    ]


def _links(rendered: RenderedNotice) -> list[tuple[str, str]]:
    return [("html", u) for u in html_links(rendered.html)] + [
        ("text", u) for u in text_links(rendered.text)
    ]


async def _follow(links: list[tuple[LocaleReport, str, str, str]]) -> None:
    dead = await linkcheck.unreachable(url for *_, url in links)
    reported: set[tuple[int, str, str, str]] = set()
    for entry, recipient, part, url in links:
        key = (id(entry), recipient, part, url)
        if url in dead and key not in reported:
            reported.add(key)
            entry.findings.append((recipient, Finding("broken_link", part, f"{url}: {dead[url]}")))


def people_rule_fields(settings: Settings) -> dict[str, set[str]]:
    """The content fields of the rules in force for the people, by jurisdiction."""
    today = utcnow().date()
    return fields_by_residence(
        (rule.jurisdiction, rule.content)
        for rule in load_rules(settings)
        if rule.recipient_kind is RecipientKind.INDIVIDUALS and rule.in_force_on(today)
    )


async def _check_one(
    composer: Composer, item: ComposeItem, by_residence: dict[str, set[str]]
) -> tuple[list[Finding], RenderedNotice | None]:
    [prepared] = await composer.prepare([item])
    try:
        rendered = composer.render(prepared)
    except TemplateRenderError as exc:
        return [Finding(_code(exc), exc.file or "template", str(exc))], None
    except TemplateError as exc:
        return [Finding("template_error", "template", str(exc))], None
    findings = check_notice(prepared.context, rendered, kind=str(composer.kind))
    where = str(prepared.context.get("recipient", {}).get("jurisdiction", ""))
    if where:
        fields = fields_for(where, by_residence)
        findings += residence_findings(prepared.context, rendered, fields)
    return findings + _assembly_findings(composer, prepared, rendered), rendered


def _code(exc: TemplateRenderError) -> str:
    return "undefined_variable" if exc.kind == "undefined" else "template_error"


def _assembly_findings(
    composer: Composer, prepared: Prepared, rendered: RenderedNotice
) -> list[Finding]:
    try:
        composer.assemble(prepared, rendered, format_datetime(utcnow()))
    except ValidationError as exc:
        return [Finding("bad_header", exc.field or "header", str(exc))]
    return []
