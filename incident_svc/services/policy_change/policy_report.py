"""When a policy version binds each person, from the evidence (rules: domain.policy).

People are every subject (their account's creation is their joining) and every customer
account's holder. E-mail evidence is the relay's acceptance (``delivery.sent_at``) of the
version's own notice: a delivery of its matter's ``policy_change_notice`` campaign (people)
or ``policy_holder_notice`` campaign (account holders); banner evidence is the first serve of the
version's public banner. Both are read as stored: a later bounce changes neither.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from incident_svc.domain import policy as rules
from incident_svc.domain.csv_cells import safe_cell
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import NotFoundError
from incident_svc.models import Account, Banner, Delivery, PolicyVersion, Subject
from incident_svc.services.files.export_file import export_file
from incident_svc.services.incident.affected_export import export_format
from incident_svc.services.policy_change import policy

COLUMNS = ("ref", "kind", "joined_at", "email_accepted_at", "banner_first_served_at",
           "effective_at", "basis")  # fmt: skip


@dataclass(frozen=True)
class PersonDate:
    ref: str
    kind: str  # "subject" or "account_holder"
    evidence: rules.Evidence
    effective: rules.Effective

    def row(self) -> dict[str, Any]:
        e = self.evidence
        return {
            "ref": self.ref,
            "kind": self.kind,
            "joined_at": _iso(e.joined_at),
            "email_accepted_at": _iso(e.email_accepted_at),
            "banner_first_served_at": _iso(e.banner_first_served_at),
            "effective_at": _iso(self.effective.at),
            "basis": self.effective.basis.value,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def _accepted(version: PolicyVersion, column: str) -> dict[int, datetime]:
    """The first acceptance by the relay per subject (or account) of the version's own
    e-mail: a delivery of its matter's campaign of that kind (the people's, or the account
    holders'; a person's delivery also names their account, and is no holder's evidence)."""
    kind = (
        NoticeKind.POLICY_CHANGE_NOTICE
        if column == "subject_id"
        else NoticeKind.POLICY_HOLDER_NOTICE
    )
    rows = await Delivery.filter(
        campaign__matter_id=version.matter_id,  # type: ignore[attr-defined]
        campaign__kind=kind,
        sent_at__not_isnull=True,
        **{f"{column}__not_isnull": True},
    ).values_list(column, "sent_at")
    first: dict[int, datetime] = {}
    for owner, sent_at in rows:
        if owner not in first or sent_at < first[owner]:
            first[owner] = sent_at
    return first


async def _banner_served(version: PolicyVersion) -> datetime | None:
    if version.banner_id is None:
        return None
    banner = await Banner.get_or_none(id=version.banner_id)
    return banner.first_served_at if banner is not None else None


async def people(version: PolicyVersion, *, subject_ref: str | None = None) -> list[PersonDate]:
    """Every person's effective date (or one subject's or account holder's), ordered by ref."""
    served = await _banner_served(version)
    by_subject = await _accepted(version, "subject_id")
    by_account = await _accepted(version, "account_id")
    subjects = Subject.all() if subject_ref is None else Subject.filter(external_ref=subject_ref)
    accounts = Account.all() if subject_ref is None else Account.filter(account_ref=subject_ref)
    out: list[PersonDate] = []
    for sid, ref, zone, joined in await subjects.values_list(
        "id", "external_ref", "timezone", "created_at"
    ):
        out.append(_dated(version, ref, "subject", joined, by_subject.get(sid), served, zone))
    for aid, ref, joined in await accounts.values_list("id", "account_ref", "created_at"):
        out.append(
            _dated(version, ref, "account_holder", joined, by_account.get(aid), served, "UTC")
        )
    return sorted(out, key=lambda p: (p.ref, p.kind))


def _dated(
    version: PolicyVersion,
    ref: str,
    kind: str,
    joined: datetime,
    email: datetime | None,
    served: datetime | None,
    zone: str,
) -> PersonDate:
    evidence = rules.Evidence(
        published_at=version.published_at,
        joined_at=joined,
        material=version.material,
        email_accepted_at=email,
        banner_first_served_at=served,
        timezone=zone,
    )
    return PersonDate(ref, kind, evidence, rules.effective(evidence))


async def effective_date(*, version: str, subject_ref: str) -> list[PersonDate]:
    """The person's effective date and its evidence (a subject, an account holder, or both
    when a reference names one of each)."""
    found = await people(await policy.get(version), subject_ref=subject_ref)
    if not found:
        raise NotFoundError(f"no subject or account {subject_ref!r}")
    return found


async def status(*, version: str, now: datetime) -> dict[str, Any]:
    """How many people the version binds now, and when the rest will be bound."""
    pv = await policy.get(version)
    everyone = await people(pv)
    bound = [p for p in everyone if p.effective.bound(now)]
    later = sorted(p.effective.at for p in everyone if p.effective.at and p.effective.at > now)
    waiting = sum(1 for p in everyone if p.effective.at is None)
    by_basis: dict[str, int] = {}
    for person in everyone:
        by_basis[person.effective.basis.value] = by_basis.get(person.effective.basis.value, 0) + 1
    return {
        "version": pv.version,
        "material": pv.material,
        "published_at": pv.published_at.isoformat(),
        "people": len(everyone),
        "bound": len(bound),
        "pending": len(later),
        "next_binding_at": later[0].isoformat() if later else None,
        "last_binding_at": later[-1].isoformat() if later else None,
        "without_notice": waiting,
        "by_basis": dict(sorted(by_basis.items())),
    }


async def export(*, version: str, path: Path, fmt: str | None = None, force: bool = False) -> int:
    """Write one row per person (CSV cells formula-safe, or JSON Lines), all or nothing
    (services.files.export_file); returns the count."""
    fmt = export_format(path, fmt)
    rows = [p.row() for p in await people(await policy.get(version))]
    with export_file(path, force=force) as handle:
        for line in _lines(rows, fmt):
            handle.write(line)
    return len(rows)


def _lines(rows: list[dict[str, Any]], fmt: str) -> Iterator[str]:
    if fmt == "jsonl":
        yield from (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        return
    buffer = _LineBuffer()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.take()
    for row in rows:
        writer.writerow([safe_cell("" if row[c] is None else str(row[c])) for c in COLUMNS])
        yield buffer.take()


class _LineBuffer:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def take(self) -> str:
        text, self.text = self.text, ""
        return text
