"""One entry of a rules file: one obligation (or one phase of one), with its provenance.

Field checks live here (pydantic); checks across fields and across entries live in
:mod:`ruleset`, so that every problem can name its field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from incident_svc.domain.codes import normalise_jurisdiction, normalise_timezone
from incident_svc.domain.compliance.content import ContentField
from incident_svc.domain.compliance.vocabulary import (
    EU,
    ClockKind,
    Comparator,
    Confidence,
    FanOut,
    Flag,
    RecipientKind,
    Unit,
)
from incident_svc.domain.enums import DataCategory

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
Text = Annotated[
    str, StringConstraints(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")
]
Sector = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Due(_Strict):
    """A fixed time: ``amount`` ``unit``\\ s after the clock start."""

    amount: int = Field(gt=0, le=100_000)
    unit: Unit


class Threshold(_Strict):
    """Residents of the rule's jurisdiction (affected by the incident) it takes to apply."""

    residents: int = Field(ge=0, le=10**12)
    comparator: Comparator
    # "everyone": the law counts every affected person, wherever they live (HIPAA, PDPA, APPI)
    counts: Literal["residents", "everyone"] = "residents"


class Conditions(_Strict):
    """What else must hold. Each list is optional; an empty list tests nothing."""

    categories_any: tuple[DataCategory, ...] = ()  # one of these categories is involved
    flags_all: tuple[Flag, ...] = ()  # each of these flags is set
    flags_any: tuple[Flag, ...] = ()  # one of these flags is set
    flags_none: tuple[Flag, ...] = ()  # none of these flags is set
    sectors_any: tuple[Sector, ...] = ()  # the organisation is in one of these sectors


class Rule(_Strict):
    id: RuleId
    regime: Text
    jurisdiction: str
    recipient_kind: RecipientKind
    recipient: Text
    clock: ClockKind
    after: RuleId | None = None  # with clock = "obligation_met": the rule whose meeting starts it
    due: Due | None = None
    standard: Text | None = None  # "without undue delay": a standard, not a due time
    not_later_than: RuleId | None = None  # due no later than when that obligation is met
    timezone: str = "UTC"  # where business days are counted
    holiday_calendar: str | None = (
        None  # ISO code whose public holidays count; default: jurisdiction
    )
    threshold: Threshold | None = None
    trigger: Literal["all", "any"] = "all"  # "any": threshold OR a listed category OR flag
    residence_required: bool = True  # False: applies by sector alone (SEC, NYDFS, NIS2)
    fan_out: FanOut = FanOut.NONE
    conditions: Conditions = Conditions()
    law_enforcement_delay: bool = False  # a law-enforcement delay postpones the due time
    voluntary: bool = False
    content: tuple[ContentField, ...] = ()
    citation: Text
    confidence: Confidence
    reviewed_by: Text
    reviewed_at: date
    effective_from: date
    effective_to: date | None = None
    retention_years: int | None = Field(default=None, ge=0, le=100)
    notes: str = Field(default="", max_length=2000)
    enabled: bool = True

    @field_validator("jurisdiction", "holiday_calendar")
    @classmethod
    def _iso_code(cls, value: str | None) -> str | None:
        if value is None or value.strip().upper() == EU:
            return None if value is None else EU
        return normalise_jurisdiction(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return normalise_timezone(value)

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    @property
    def calendar(self) -> str:
        return self.holiday_calendar or self.jurisdiction
