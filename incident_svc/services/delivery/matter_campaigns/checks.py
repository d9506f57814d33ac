"""The content checks of matter notices, run on a probe reader in every language the
templates are written in, before a campaign is made and before its notices are composed.

A policy-change notice must say what changes, when it takes effect and where to read the full
policy; a disclosure notice what was disclosed, to whom, when and on what basis, and none of
the parts counsel withheld (notices.matter_notices). A template (an operator's override, say)
that fails is refused with the first finding named, and nothing is sent.
"""

from __future__ import annotations

from typing import Any

from incident_svc.config import OrgSettings
from incident_svc.domain.enums import NoticeKind
from incident_svc.domain.times import utcnow
from incident_svc.errors import ValidationError
from incident_svc.models import Disclosure
from incident_svc.notices import matter_notices as mn
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.checks import Finding
from incident_svc.notices.rendering import render_email
from incident_svc.services.delivery.matter_campaigns import facts
from incident_svc.services.delivery.matter_campaigns.context import context_for

LOCALES = ("en", "zh-Hant-HK")  # the templates' languages (templates/email/<kind>/)


def findings(
    catalog: TemplateCatalog,
    kind: NoticeKind,
    part: dict[str, Any],
    org: OrgSettings,
    withheld_values: list[str],
) -> list[tuple[str, Finding]]:
    """(locale, finding) for each thing a probe notice fails to say, or says but must not."""
    found: list[tuple[str, Finding]] = []
    for locale in LOCALES:
        reader = mn.Reader("Probe Reader", "probe@example.invalid", "PROBE", locale, "UTC")
        context = context_for(
            part, reader, org=org, labels=catalog.labels(locale), now=utcnow(),
            banner_served=None,
        )  # fmt: skip
        notice = render_email(catalog, str(kind), locale, context)
        if part["matter"] == "policy_change":
            found += [(locale, f) for f in mn.check_policy_notice(context, notice)]
        else:
            context = {**context, "withheld_values": withheld_values}
            found += [(locale, f) for f in mn.check_disclosure_notice(context, notice)]
    return found


async def require(
    catalog: TemplateCatalog, kind: NoticeKind, part: dict[str, Any], org: OrgSettings
) -> None:
    """Raise ValidationError naming the first finding, if any."""
    withheld: list[str] = []
    if part["matter"] == "disclosure":
        disclosure = await Disclosure.get_or_none(ref=part["disclosure"])
        withheld = facts.withheld_values(disclosure) if disclosure is not None else []
    found = findings(catalog, kind, part, org, withheld)
    if found:
        locale, first = found[0]
        raise ValidationError(
            f"the {kind} template ({locale}, {first.part}) fails its content check: "
            f"{first.message} ({len(found)} finding(s))",
            field="templates",
        )
