"""Due times: a clock start plus an amount of hours, calendar days, business days or months.

Due times are UTC instants. Hours and calendar days are elapsed time (72 hours across a
daylight-saving change are still 72 hours); business days are counted on the calendar of
the rule's jurisdiction, in its time zone: weekdays that are not its public holidays (from
the ``holidays`` package), and the due time keeps the start's local time of day.
"""

from __future__ import annotations

import calendar as _calendar
import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

from incident_svc.domain.compliance.vocabulary import EU, Unit


def due_time(
    start: datetime, amount: int, unit: Unit, *, region: str = EU, zone: str = "UTC"
) -> datetime:
    """The moment ``amount`` ``unit``\\ s after ``start`` (an aware datetime), in UTC."""
    start = start.astimezone(UTC)
    if unit is Unit.HOURS:
        return start + timedelta(hours=amount)
    if unit is Unit.CALENDAR_DAYS:
        return start + timedelta(days=amount)
    if unit is Unit.MONTHS:
        return add_months(start, amount)
    return add_business_days(start, amount, region=region, zone=zone)


def add_months(start: datetime, months: int) -> datetime:
    """The same day and time ``months`` later; the 31st becomes the month's last day."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, _calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def add_business_days(start: datetime, days: int, *, region: str, zone: str) -> datetime:
    """The start's local time on the ``days``-th business day after the start's local date."""
    tz = ZoneInfo(zone)
    local = start.astimezone(tz)
    day = local.date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_business_day(day, region):
            counted += 1
    wall = datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=tz)
    return wall.astimezone(UTC)


def is_business_day(day: date, region: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(region)


def holiday_name(day: date, region: str) -> str | None:
    name = _holidays(region).get(day)
    return None if name is None else str(name)


@functools.cache
def _holidays(region: str) -> holidays.HolidayBase:
    """Public holidays of an ISO code (``US-VT`` uses Vermont's); none known: weekends only."""
    country, _, subdivision = region.partition("-")
    if region == EU:
        return holidays.HolidayBase()
    try:
        return holidays.country_holidays(country, subdiv=subdivision or None)
    except NotImplementedError:
        try:
            return holidays.country_holidays(country)
        except NotImplementedError:
            return holidays.HolidayBase()
