"""What a template sees: plain dicts built from the incident, the reader and the settings.

Templates never receive ORM objects, only strings, numbers, lists, dicts and datetimes, so
the sandbox has little to guard. Names and other one-line values from data are cleaned with
:func:`single_line` (no line breaks, no bidi overrides); HTML escaping is Jinja's job.
A free text missing in every locale is left out, so that a template that uses it fails with
StrictUndefined instead of sending a notice with a hole in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incident_svc.config import OrgSettings
from incident_svc.notices.locales import canonical, fallback_chain
from incident_svc.notices.text import single_line

NOTICE_TEXTS = ("what_happened", "consequences", "measures", "protective_steps", "contact")
UPDATE_TEXTS = ("what_is_new", "what_to_do_now", "contact")  # what an update_notice reads
FREE_TEXTS = (*NOTICE_TEXTS, "what_is_new", "what_to_do_now")
CALIFORNIA = "US-CA"
MASSACHUSETTS = "US-MA"
CREDIT_CATEGORIES = frozenset({"ssn", "drivers_licence"})  # agencies and freezes (US)
MAX_LISTED_PEOPLE = 100


@dataclass(frozen=True)
class IncidentFacts:
    id: int
    ref: str
    title: str
    severity: str
    occurred_from: datetime | None
    occurred_to: datetime | None
    discovered_at: datetime
    texts: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class PersonFacts:
    id: int
    external_ref: str
    name: str
    email: str
    jurisdiction: str
    timezone: str
    categories: tuple[str, ...]
    # False when an email notice of this incident bounced or failed, or the address is marked
    # bounced: the account holder's roll-up lists them (docs/bounces.md)
    reached: bool = True


@dataclass(frozen=True)
class AccountFacts:
    id: int
    account_ref: str
    name: str
    holder_name: str
    holder_email: str
    region: str
    people: tuple[PersonFacts, ...] = field(default=())


def localised_texts(texts: Mapping[str, Mapping[str, str]], locale: str) -> dict[str, str]:
    """Each free text from the first locale along the chain that has it (``en`` last)."""
    by_tag = {canonical(tag): values for tag, values in texts.items()}  # zh_hk -> zh-HK
    out: dict[str, str] = {}
    for key in FREE_TEXTS:
        for candidate in fallback_chain(locale):
            value = by_tag.get(candidate, {}).get(key, "")
            if value.strip():
                out[key] = value.strip()
                break
    return out


def missing_texts(
    texts: Mapping[str, Mapping[str, str]], locale: str, kind: str = "subject_notice"
) -> list[str]:
    """The free texts a notice of ``kind`` in ``locale`` would lack (none along its
    fallback chain)."""
    found = localised_texts(texts, locale)
    needed = UPDATE_TEXTS if kind == "update_notice" else NOTICE_TEXTS
    return [key for key in needed if key not in found]


def incident_view(incident: IncidentFacts, locale: str) -> dict[str, Any]:
    return {
        "ref": incident.ref,
        "title": single_line(incident.title),
        "severity": incident.severity,
        "occurred_from": incident.occurred_from,
        "occurred_to": incident.occurred_to,
        "discovered_at": incident.discovered_at,
        **localised_texts(incident.texts, locale),
    }


def org_view(org: OrgSettings) -> dict[str, str]:
    return {key: single_line(str(value)) for key, value in org.model_dump().items()}


def category_list(codes: Iterable[str], labels: Mapping[str, Any]) -> list[dict[str, str]]:
    """The reader's categories, in a stable order, with the label in the reader's language."""
    names: Mapping[str, str] = labels.get("categories", {})
    return [
        {"code": code, "label": names.get(code, code.replace("_", " "))}
        for code in sorted(set(codes))
    ]


def base_context(
    *,
    incident: IncidentFacts,
    org: OrgSettings,
    labels: Mapping[str, Any],
    locale: str,
    date_locale: str | None = None,
) -> dict[str, Any]:
    """What every notice of one locale shares; ``date_locale`` is the language dates use."""
    return {
        "locale": date_locale or locale,
        "timezone": "UTC",
        "incident": incident_view(incident, locale),
        "org": org_view(org),
        "labels": labels,
        "service_message": labels.get("service_message", ""),
    }


def subject_context(
    base: Mapping[str, Any], person: PersonFacts, labels: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        **base,
        "timezone": person.timezone or "UTC",
        "recipient": _person_view(person),
        "categories": category_list(person.categories, labels),
        "us_ca": person.jurisdiction.upper() == CALIFORNIA,
        # Massachusetts' statements, also for a US reader whose state is unknown
        "us_ma": person.jurisdiction.upper() in (MASSACHUSETTS, "US"),
        "credit_data": _us(person) and bool(CREDIT_CATEGORIES & set(person.categories)),
    }


def _us(person: PersonFacts) -> bool:
    return person.jurisdiction.upper().split("-")[0] == "US"


def account_context(
    base: Mapping[str, Any], account: AccountFacts, labels: Mapping[str, Any], timezone: str
) -> dict[str, Any]:
    people = sorted(account.people, key=lambda p: (p.name.casefold(), p.external_ref))
    unreached = [p for p in people if not p.reached]
    counts = Counter(code for p in people for code in set(p.categories))
    listed = [
        {**_person_view(p), "categories": category_list(p.categories, labels)}
        for p in people[:MAX_LISTED_PEOPLE]
    ]
    by_category = [
        {**entry, "count": counts[entry["code"]]} for entry in category_list(counts, labels)
    ]
    return {
        **base,
        "timezone": timezone,
        "recipient": {"name": single_line(account.holder_name), "email": account.holder_email},
        "account": {"ref": account.account_ref, "name": single_line(account.name)},
        "affected": {
            "count": len(people),
            "people": listed,
            "more": max(0, len(people) - MAX_LISTED_PEOPLE),
            "by_category": by_category,
            "unreached": [_person_view(p) for p in unreached[:MAX_LISTED_PEOPLE]],
            "unreached_count": len(unreached),
        },
        "categories": category_list(counts, labels),
        "us_ca": False,
        "us_ma": False,
        "credit_data": False,
    }


def _person_view(person: PersonFacts) -> dict[str, str]:
    return {
        "name": single_line(person.name),
        "email": person.email,
        "ref": person.external_ref,
        "jurisdiction": person.jurisdiction,
    }


def required_texts(context: Mapping[str, Any]) -> Sequence[str]:
    """The free texts a notice for this context must carry (used by the checks)."""
    incident: Mapping[str, Any] = context["incident"]
    return [str(incident[key]) for key in FREE_TEXTS if key in incident]
