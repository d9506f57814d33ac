"""What policy-change and disclosure notices show, and what each must say (pure).

A policy-change notice must say what changes (the summary in the reader's language, or the
English one), when it takes effect (the latest date, in the reader's time zone) and where to
read the full policy. A disclosure notice must say what was disclosed, to whom, when and on
what basis, except the parts counsel marked as withheld, which it must NOT contain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.dates import format_date

from incident_svc.config import OrgSettings
from incident_svc.notices.checks import Finding, html_to_text, normalise
from incident_svc.notices.context import category_list, org_view
from incident_svc.notices.filters import zone
from incident_svc.notices.locales import babel_locale, fallback_chain
from incident_svc.notices.rendering import RenderedNotice
from incident_svc.notices.text import single_line

POLICY_KIND = "policy_change_notice"
DISCLOSURE_KIND = "disclosure_notice"
DISCLOSURE_PARTS = ("authority", "legal_basis", "received_at", "categories")


@dataclass(frozen=True)
class Reader:
    name: str
    email: str
    ref: str
    locale: str
    timezone: str


def _base(reader: Reader, org: OrgSettings, labels: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "locale": reader.locale,
        "timezone": reader.timezone or "UTC",
        "org": org_view(org),
        "labels": labels,
        "service_message": labels.get("service_message", ""),
        "recipient": {"name": single_line(reader.name), "email": reader.email, "ref": reader.ref},
    }


def policy_context(
    *,
    reader: Reader,
    org: OrgSettings,
    labels: Mapping[str, Any],
    version: str,
    summaries: Mapping[str, str],
    url: str,
    takes_effect: datetime,
) -> dict[str, Any]:
    """A policy-change notice's context; the summary in the reader's language or English."""
    summary = next(summaries[t] for t in (*fallback_chain(reader.locale), "en") if t in summaries)
    return {
        **_base(reader, org, labels),
        "policy": {
            "version": version,
            "summary": summary,
            "url": url,
            "takes_effect": takes_effect,
        },
    }


def disclosure_context(
    *,
    reader: Reader,
    org: OrgSettings,
    labels: Mapping[str, Any],
    ref: str,
    authority: str,
    legal_basis: str,
    received_at: datetime,
    categories: Sequence[str],
    withheld: Iterable[str] = (),
) -> dict[str, Any]:
    """A disclosure notice's context; a withheld part is None (an empty list for categories)."""
    hidden = set(withheld)
    shown: dict[str, Any] = {
        "ref": ref,
        "authority": None if "authority" in hidden else single_line(authority),
        "legal_basis": None if "legal_basis" in hidden else legal_basis,
        "received_at": None if "received_at" in hidden else received_at,
        "categories": [] if "categories" in hidden else category_list(categories, labels),
    }
    return {**_base(reader, org, labels), "disclosure": shown, "withheld": sorted(hidden)}


def _date_spellings(moment: datetime, context: Mapping[str, Any]) -> set[str]:
    local = moment.astimezone(zone(str(context["timezone"])))
    loc = babel_locale(str(context["locale"]))
    return {local.date().isoformat()} | {
        normalise(str(format_date(local, width, locale=loc)))
        for width in ("full", "long", "medium", "short")
    }


def _bodies(notice: RenderedNotice) -> list[tuple[str, str]]:
    return [("text", normalise(notice.text)), ("html", normalise(html_to_text(notice.html)))]


def check_policy_notice(context: Mapping[str, Any], notice: RenderedNotice) -> list[Finding]:
    policy = context["policy"]
    found: list[Finding] = []
    for part, body in _bodies(notice):
        folded = body.casefold()
        if normalise(policy["summary"]).casefold() not in folded:
            found.append(Finding("missing_element", part, "what changes: the summary"))
        if not any(d in body for d in _date_spellings(policy["takes_effect"], context)):
            found.append(Finding("missing_element", part, "when it takes effect: no date"))
        if policy["url"].casefold() not in folded:
            found.append(Finding("missing_element", part, f"where to read it: {policy['url']}"))
    return found


def check_disclosure_notice(context: Mapping[str, Any], notice: RenderedNotice) -> list[Finding]:
    """Every part not withheld is there; no withheld part leaks (its value is passed in the
    context's ``withheld_values`` by the caller that knows them)."""
    shown = context["disclosure"]
    found: list[Finding] = []
    for part, body in _bodies(notice):
        folded = body.casefold()
        for key in ("authority", "legal_basis"):
            if shown[key] and normalise(shown[key]).casefold() not in folded:
                found.append(Finding("missing_element", part, f"disclosure {key}"))
        if shown["received_at"] and not any(
            d in body for d in _date_spellings(shown["received_at"], context)
        ):
            found.append(Finding("missing_element", part, "when: no date"))
        for category in shown["categories"]:
            if normalise(category["label"]).casefold() not in folded:
                found.append(Finding("missing_element", part, f"what: {category['label']!r}"))
        for secret in context.get("withheld_values", ()):
            if secret and normalise(str(secret)).casefold() in folded:
                found.append(Finding("withheld_shown", part, "a part counsel withheld is shown"))
    return found
