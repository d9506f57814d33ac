"""The words the rules file and the obligations engine share: clock kinds, units, recipients.

Each is a closed list: a rules file that uses a word outside it is refused at load, naming
the entry and field, so that a typo never silently turns an obligation off.
"""

from __future__ import annotations

from enum import StrEnum


class ClockKind(StrEnum):
    """The event that starts a rule's clock; each is an instant the operator records."""

    AWARE = "aware"  # became aware of the breach (GDPR, UK GDPR, NIS2, India)
    DISCOVERED = "discovered"  # discovered the breach (HIPAA, most US states)
    DETERMINED = "determined"  # determined that a breach occurred (CO, FL, TX, NYDFS)
    ASSESSED = "assessed_notifiable"  # assessed as notifiable (Singapore)
    MATERIALITY = "materiality_determined"  # determined material (SEC 8-K)
    SUSPECTED = "suspected"  # first suspected an eligible breach (Australia)
    CLASSIFIED_MAJOR = "classified_major"  # classified as major (DORA)
    # derived: starts when another obligation of the same incident is met
    OBLIGATION_MET = "obligation_met"


# the clock kinds `incident clock` sets, by option name
CLOCK_OPTIONS: dict[str, ClockKind] = {
    "aware": ClockKind.AWARE,
    "discovered": ClockKind.DISCOVERED,
    "determined": ClockKind.DETERMINED,
    "assessed": ClockKind.ASSESSED,
    "materiality": ClockKind.MATERIALITY,
    "suspected": ClockKind.SUSPECTED,
    "classified-major": ClockKind.CLASSIFIED_MAJOR,
}


class Unit(StrEnum):
    HOURS = "hours"  # elapsed hours, counted in UTC (a DST change does not move them)
    CALENDAR_DAYS = "calendar_days"  # 24-hour days from the clock start
    BUSINESS_DAYS = "business_days"  # weekdays that are not public holidays there
    MONTHS = "months"  # the same day and time N calendar months later (NIS2 final report)


class RecipientKind(StrEnum):
    SUPERVISORY_AUTHORITY = "supervisory_authority"
    REGULATOR = "regulator"
    ATTORNEY_GENERAL = "attorney_general"
    INDIVIDUALS = "individuals"  # the affected people themselves
    MEDIA = "media"
    INVESTORS = "investors"
    INTERNAL_REGISTER = "internal_register"


class Confidence(StrEnum):
    HIGH = "H"  # statute or regulator text seen, or two good sources agree
    MEDIUM = "M"  # one secondary source
    LOW = "L"  # not confirmed: counsel must check


class Comparator(StrEnum):
    GT = "gt"  # more than
    GE = "ge"  # at least
    LT = "lt"  # fewer than

    def holds(self, count: int, limit: int) -> bool:
        if self is Comparator.GT:
            return count > limit
        if self is Comparator.GE:
            return count >= limit
        return count < limit

    @property
    def symbol(self) -> str:
        return {"gt": ">", "ge": ">=", "lt": "<"}[self.value]


class Flag(StrEnum):
    """Facts about an incident that the operator assesses (unset means not assessed yet)."""

    HIGH_RISK = "high_risk"  # likely high risk to people's rights (GDPR Art. 34)
    ENCRYPTED = "encrypted"  # the data were encrypted or otherwise unintelligible
    SIGNIFICANT = "significant"  # significant harm / significant incident (SG, NIS2)
    BAD_INTENT = "bad_intent"  # suspected wrongful intent (Japan APPI)
    SERIOUS = "serious"  # a serious incident (Hong Kong Cap. 653)
    MATERIAL = "material"  # material to investors (SEC 8-K)


class FanOut(StrEnum):
    """One obligation per place where affected people live, instead of one for the rule."""

    NONE = "none"
    MEMBER_STATE = "member_state"  # each EU member state (no EU establishment: EDPB 9/2022)
    US_STATE = "us_state"  # each US state (HIPAA media notice)


class Status(StrEnum):
    OPEN = "open"
    MET = "met"
    LATE = "late"
    NOT_APPLICABLE = "not_applicable"
    NO_FIXED_DEADLINE = "no_fixed_deadline"


class Applicability(StrEnum):
    APPLIES = "applies"
    # applies only if people whose state is unknown (a bare `US`), or a flag not yet assessed,
    # turn out to meet the rule: shown, never dropped
    POSSIBLE = "possible"
    NO = "no"


EU = "EU"
STATE_UNKNOWN = "state unknown"
