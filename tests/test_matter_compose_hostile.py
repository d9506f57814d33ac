"""Hostile content on the way into a matter notice: any summary, authority, legal basis or
reader name either composes a message whose headers stay single lines and whose content
checks hold, or is refused with one of our errors; never a traceback."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy

from hypothesis import given, settings
from hypothesis import strategies as st

from incident_svc.config import OrgSettings, load_settings
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import IncidentSvcError
from incident_svc.mail import mime
from incident_svc.models import Disclosure, Matter
from incident_svc.notices import matter_notices as mn
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.composer import ComposeItem
from incident_svc.services.delivery.matter_campaigns import facts
from incident_svc.services.delivery.matter_campaigns.composer import MatterComposer
from incident_svc.services.delivery.matter_campaigns.create import check_policy_templates
from incident_svc.services.delivery.matter_campaigns.facts import Frozen

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
CATALOG = TemplateCatalog(None)
CONFIG = load_settings(overrides={"database_url": "sqlite://:memory:"})
hostile = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=80
) | st.sampled_from(["a\r\nBcc: x@evil.test", "<script>alert(1)</script>", "{{ 7*7 }}", "\u202e"])


def _composer(kind: NoticeKind, part: dict[str, object]) -> MatterComposer:
    return MatterComposer(
        kind=kind, frozen=Frozen(dict(part)), catalog=CATALOG, org=OrgSettings(),
        sender=mime.parse_mailbox("mail_from", "notices@example.com"), reply_to=None,
        signer=None, return_paths=None,
    )  # fmt: skip


def _message(composer: MatterComposer, name: str, locale: str) -> bytes | None:
    reader = mn.Reader(name, "p1@example.org", "P1", locale, "Asia/Hong_Kong")
    try:
        rendered = composer.render(reader, NOW)
        item = ComposeItem(1, 1, None, reader.email, locale, "<c1.d1.x@example.com>")
        return composer.assemble(item, name, rendered, "Wed, 02 Dec 2026 12:00:00 +0000").data
    except IncidentSvcError:
        return None


def _single_line_headers(data: bytes) -> None:
    parsed = message_from_bytes(data, policy=email_policy.default)
    assert parsed["Bcc"] is None
    for value in parsed.values():
        assert "\n" not in str(value) and "\r" not in str(value)


@settings(max_examples=30, deadline=None)
@given(summary=hostile, name=hostile, locale=st.sampled_from(["en", "zh-Hant-HK", "fr"]))
def test_hostile_policy_summary_and_reader(summary: str, name: str, locale: str) -> None:
    config = CONFIG
    part = {"ref": "POLICY-1", "matter": "policy_change", "version": "1", "banner": None,
            "url": "https://www.example.com/privacy", "summaries": {"en": summary}}  # fmt: skip
    try:
        check_policy_templates(config, ref="POLICY-1", version="1", summaries={"en": summary},
                               url="https://www.example.com/privacy")  # fmt: skip
    except IncidentSvcError:
        return  # refused at publication with our error: nothing is made
    data = _message(_composer(NoticeKind.POLICY_CHANGE_NOTICE, part), name, locale)
    if data is not None:
        _single_line_headers(data)


@settings(max_examples=40, deadline=None)
@given(authority=hostile, basis=hostile, withheld=st.sets(st.sampled_from(mn.DISCLOSURE_PARTS)))
def test_hostile_disclosure_parts(authority: str, basis: str, withheld: set[str]) -> None:
    """Withheld parts never reach the snapshot, so never a message (a marked value is
    looked for in the composed bytes); whatever the rest says, headers stay single lines."""
    marked = {"authority": f"MARK-A {authority}", "legal_basis": f"MARK-B {basis}"}
    disclosure = Disclosure(
        ref="DIS-2026-0001", authority=marked["authority"], legal_basis=marked["legal_basis"],
        received_at=datetime(2026, 11, 2, 2, tzinfo=UTC), categories=["contact"],
        withheld=sorted(withheld),
    )  # fmt: skip
    part = facts.disclosure_part(Matter(reference="DIS-2026-0001"), disclosure)
    assert all(part["told"].get(p) is None for p in withheld)
    data = _message(_composer(NoticeKind.DISCLOSURE_NOTICE, part), "Reader", "en")
    if data is None:
        return
    _single_line_headers(data)
    parsed = message_from_bytes(data, policy=email_policy.default)
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert ("MARK-A" in text) == ("authority" not in withheld)
    assert ("MARK-B" in text) == ("legal_basis" not in withheld)
