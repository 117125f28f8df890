"""Business-hours calendars: when a team is staffed, in its own time zone, with public holidays.

SLA targets in business time ("answer within 4 staffed hours") and the "we'll answer at ..." auto-reply
both need to know when a team is open. A calendar is described by a serializable `CalendarSpec`
(weekly staffed hours, time zone, holiday countries, extra closed and extra open dates) and compiled
into a `BusinessCalendar` that answers questions about aware datetimes quickly.

How it stays fast: the open intervals of whole years are computed once (in local wall-clock time,
converted to UTC microseconds, so DST days are 23 or 25 hours long) together with a running sum of
open time before each interval. Adding business time or measuring it between two instants is then
two binary searches, never a walk minute by minute or day by day.

All inputs must be aware datetimes; all outputs are aware UTC datetimes. Intervals are half-open:
a team open 09:00-17:00 is open at 09:00 and closed at 17:00.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_US_PER_MINUTE = 60_000_000
_MINUTES_PER_DAY = 24 * 60
# How far ahead a calendar looks for open time before it declares itself never open.
_MAX_LOOKAHEAD_YEARS = 10
_RANGE_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_ANNUAL_RE = re.compile(r"^(\d{2})-(\d{2})$")


class CalendarError(ValueError):
    """A calendar that cannot be built, or a question it cannot answer."""


def parse_range(text: str) -> tuple[int, int]:
    """'09:00-17:00' -> (540, 1020), minutes after local midnight; '24:00' may end a range."""
    match = _RANGE_RE.match(text)
    if not match:
        raise ValueError(f"hours must look like '09:00-17:00', not {text!r}")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{text!r} is not a time range within one day")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts (split a range across midnight in two days)")
    return start, end


def _check_ranges(ranges: Sequence[str]) -> list[str]:
    parsed = sorted(parse_range(text) for text in ranges)
    for (_, end), (start, _) in pairwise(parsed):
        if start < end:
            raise ValueError(f"staffed hours {list(ranges)} overlap")
    return [f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in parsed]


@lru_cache(maxsize=1)
def supported_holiday_countries() -> frozenset[str]:
    return frozenset(holidays.list_supported_countries())


@lru_cache(maxsize=256)
def _holiday_dates(code: str, year: int, categories: tuple[str, ...]) -> dict[date, str]:
    country, _, subdivision = code.partition("-")
    found = holidays.country_holidays(country, subdiv=subdivision or None, years=year, categories=categories)
    return {day: str(name) for day, name in found.items()}


class CalendarSpec(BaseModel):
    """What a calendar is, as stored in the database or written in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    timezone: str = "UTC"
    # Staffed hours per weekday; a weekday that is missing is closed. Several ranges a day are allowed.
    hours: dict[Weekday, list[str]] = Field(default_factory=dict)
    # Countries whose public holidays close the team, e.g. "DK", "NO"; "ES-MD" names a subdivision.
    holidays: list[str] = Field(default_factory=list)
    # The `holidays` package's categories: "public" by default; DK "optional" adds Constitution Day
    # and Christmas Eve, days many Danish offices close.
    holiday_categories: list[str] = Field(default_factory=lambda: ["public"])
    closed_dates: list[date] = Field(default_factory=list)
    # Closed every year on these days, "MM-DD" (e.g. "12-24" for Christmas Eve).
    closed_annually: list[str] = Field(default_factory=list)
    # Open on these dates with these hours, whatever the weekday or holidays say ([] means closed).
    open_dates: dict[date, list[str]] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: dict[Weekday, list[str]]) -> dict[Weekday, list[str]]:
        return {day: _check_ranges(ranges) for day, ranges in value.items()}

    @field_validator("open_dates")
    @classmethod
    def _valid_open_dates(cls, value: dict[date, list[str]]) -> dict[date, list[str]]:
        return {day: _check_ranges(ranges) for day, ranges in value.items()}

    @field_validator("holidays")
    @classmethod
    def _known_countries(cls, value: list[str]) -> list[str]:
        result = []
        for code in value:
            country, _, subdivision = code.upper().partition("-")
            if country not in supported_holiday_countries():
                raise ValueError(f"no public holidays known for country {code!r}")
            if subdivision:
                try:
                    holidays.country_holidays(country, subdiv=subdivision)
                except NotImplementedError as error:
                    raise ValueError(f"unknown subdivision {code!r}") from error
            result.append(code.upper())
        return result

    @model_validator(mode="after")
    def _known_categories(self) -> CalendarSpec:
        for code in self.holidays:
            country = code.partition("-")[0]
            supported = holidays.country_holidays(country).supported_categories
            unknown = set(self.holiday_categories) - set(supported)
            if unknown:
                raise ValueError(
                    f"holiday categories {sorted(unknown)} unknown for {country}: {sorted(supported)}"
                )
        return self

    @field_validator("closed_annually")
    @classmethod
    def _valid_annual(cls, value: list[str]) -> list[str]:
        for text in value:
            match = _ANNUAL_RE.match(text)
            if not match:
                raise ValueError(f"yearly closed days look like '12-24', not {text!r}")
            try:
                date(2024, int(match.group(1)), int(match.group(2)))
            except ValueError as error:
                raise ValueError(f"{text!r} is not a day of the year") from error
        return value

    @model_validator(mode="after")
    def _no_conflicts(self) -> CalendarSpec:
        both = set(self.closed_dates) & set(self.open_dates)
        if both:
            raise ValueError(f"dates both closed and open: {sorted(str(d) for d in both)}")
        return self


def _to_us(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CalendarError(f"naive datetime {moment.isoformat()}: pass an aware datetime")
    return (moment - EPOCH) // _US


def _from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


class _Table(NamedTuple):
    """Precomputed open intervals of whole local years, replaced as one object (safe across threads)."""

    first_year: int
    last_year: int
    lo: int  # covered span in UTC microseconds, [lo, hi)
    hi: int
    starts: list[int]
    ends: list[int]
    cum: list[int]  # open time before interval i
    cum_end: list[int]  # open time up to the end of interval i

    def open_before(self, moment_us: int) -> int:
        """Open microseconds from the start of the covered span to the moment."""
        i = bisect_right(self.starts, moment_us) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(moment_us, self.ends[i]) - self.starts[i]


class BusinessCalendar:
    """A compiled calendar. Safe to share between threads; it extends its precomputed years on demand."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.zone = ZoneInfo(spec.timezone)
        self._weekly: tuple[tuple[tuple[int, int], ...], ...] = tuple(
            tuple(parse_range(text) for text in spec.hours.get(day, [])) for day in WEEKDAYS
        )
        self._open_dates = {
            day: tuple(parse_range(t) for t in ranges) for day, ranges in spec.open_dates.items()
        }
        self._closed_dates = frozenset(spec.closed_dates)
        self._closed_annually = frozenset((int(text[:2]), int(text[3:])) for text in spec.closed_annually)
        self._table = _Table(0, -1, 0, 0, [], [], [], [])
        self._never_open = not any(self._weekly) and not any(self._open_dates.values())

    # construction helpers -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        return cls(CalendarSpec.model_validate(dict(data)))

    def to_dict(self) -> dict[str, Any]:
        return self.spec.model_dump(mode="json", exclude_defaults=True)

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        """24/7: business time equals calendar time."""
        return cls(CalendarSpec(timezone=timezone, hours={day: ["00:00-24:00"] for day in WEEKDAYS}))

    # what a day looks like --------------------------------------------------------------------------

    def holiday_name(self, day: date) -> str | None:
        categories = tuple(self.spec.holiday_categories)
        names = [
            n for code in self.spec.holidays if (n := _holiday_dates(code, day.year, categories).get(day))
        ]
        return "; ".join(names) if names else None

    def local_hours(self, day: date) -> tuple[tuple[int, int], ...]:
        """The staffed ranges of a local date, in minutes after midnight, after every exception."""
        if day in self._open_dates:
            return self._open_dates[day]
        if day in self._closed_dates or (day.month, day.day) in self._closed_annually:
            return ()
        if self.holiday_name(day) is not None:
            return ()
        return self._weekly[day.weekday()]

    def _day_intervals(self, day: date) -> list[tuple[int, int]]:
        result = []
        for start, end in self.local_hours(day):
            begin = datetime.combine(day, time(start // 60, start % 60), self.zone)
            if end == _MINUTES_PER_DAY:
                finish = datetime.combine(day + timedelta(days=1), time(0), self.zone)
            else:
                finish = datetime.combine(day, time(end // 60, end % 60), self.zone)
            begin_us, finish_us = _to_us(begin), _to_us(finish)
            if finish_us > begin_us:  # a range inside a DST gap has no length
                result.append((begin_us, finish_us))
        return result

    # precomputation --------------------------------------------------------------------------------

    def _build(self, first_year: int, last_year: int) -> _Table:
        starts: list[int] = []
        ends: list[int] = []
        day = date(first_year, 1, 1)
        stop = date(last_year + 1, 1, 1)
        while day < stop:
            for begin, finish in self._day_intervals(day):
                if ends and begin <= ends[-1]:  # touching or overlapping: one interval (24/7 stays one)
                    ends[-1] = max(ends[-1], finish)
                else:
                    starts.append(begin)
                    ends.append(finish)
            day += timedelta(days=1)
        cum: list[int] = []
        cum_end: list[int] = []
        total = 0
        for begin, finish in zip(starts, ends, strict=True):
            cum.append(total)
            total += finish - begin
            cum_end.append(total)
        lo = _to_us(datetime.combine(date(first_year, 1, 1), time(0), self.zone))
        hi = _to_us(datetime.combine(date(last_year + 1, 1, 1), time(0), self.zone))
        self._table = _Table(first_year, last_year, lo, hi, starts, ends, cum, cum_end)
        return self._table

    def _cover(self, *moments_us: int) -> _Table:
        """The table, extended (if needed) so that it covers every moment given."""
        table = self._table
        if all(table.lo <= moment < table.hi for moment in moments_us):
            return table
        years = [_from_us(moment).astimezone(self.zone).year for moment in moments_us]
        if table.last_year < table.first_year:
            return self._build(min(years) - 1, max(years) + 1)
        return self._build(min(table.first_year, min(years) - 1), max(table.last_year, max(years) + 1))

    def _extend_forward(self, table: _Table) -> _Table:
        if table.last_year - table.first_year > _MAX_LOOKAHEAD_YEARS + 2:
            raise CalendarError(f"calendar {self.spec.name!r} has no staffed hours ahead")
        return self._build(table.first_year, table.last_year + 2)

    # questions -------------------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        moment = _to_us(at)
        table = self._cover(moment)
        i = bisect_right(table.starts, moment) - 1
        return i >= 0 and moment < table.ends[i]

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when open, else the next instant the team opens (for "we'll answer at ...")."""
        moment = _to_us(at)
        if self._never_open:
            raise CalendarError(f"calendar {self.spec.name!r} is never open")
        table = self._cover(moment)
        while True:
            i = bisect_right(table.starts, moment)
            if i > 0 and moment < table.ends[i - 1]:
                return at.astimezone(UTC)
            if i < len(table.starts):
                return _from_us(table.starts[i])
            table = self._extend_forward(table)

    def next_closing(self, at: datetime) -> datetime | None:
        """When the current staffed interval ends, or None when closed at `at`."""
        moment = _to_us(at)
        table = self._cover(moment)
        i = bisect_right(table.starts, moment) - 1
        if i >= 0 and moment < table.ends[i]:
            return _from_us(table.ends[i])
        return None

    def add_business_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which `amount` of staffed time has passed since `start` (an SLA due time).

        From closed time the count begins at the next opening; zero returns `start` itself. The
        result is always inside or at the end of a staffed interval, never in closed time.
        """
        begin = _to_us(start)
        wanted = amount // _US
        if wanted < 0:
            raise CalendarError("cannot add negative business time")
        if wanted == 0:
            return start.astimezone(UTC)
        if self._never_open:
            raise CalendarError(f"calendar {self.spec.name!r} is never open")
        table = self._cover(begin)
        while True:
            # The first year never moves when extending forward, so running sums stay comparable.
            target = table.open_before(begin) + wanted
            j = bisect_left(table.cum_end, target)
            if j < len(table.cum_end):
                return _from_us(table.starts[j] + target - table.cum[j])
            table = self._extend_forward(table)

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        return self.add_business_time(start, timedelta(minutes=minutes))

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Staffed time in [start, end); negative when end is before start."""
        a, b = _to_us(start), _to_us(end)
        if b < a:
            return -self.business_time_between(end, start)
        table = self._cover(a, b)
        return timedelta(microseconds=table.open_before(b) - table.open_before(a))

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        return self.business_time_between(start, end) / timedelta(minutes=1)

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The staffed intervals overlapping [start, end), clipped to it (for display and tests)."""
        a, b = _to_us(start), _to_us(end)
        table = self._cover(a, b)
        i = max(bisect_right(table.starts, a) - 1, 0)
        result = []
        while i < len(table.starts) and table.starts[i] < b:
            lo, hi = max(table.starts[i], a), min(table.ends[i], b)
            if hi > lo:
                result.append((_from_us(lo), _from_us(hi)))
            i += 1
        return result

    def local(self, at: datetime) -> datetime:
        """The instant on the calendar's wall clock (for messages such as "we'll answer at 09:00")."""
        return at.astimezone(self.zone)


def calendar_from_hours(
    timezone: str,
    hours: Mapping[str, Sequence[str]],
    *,
    holiday_countries: Iterable[str] = (),
    closed_dates: Iterable[date] = (),
    open_dates: Mapping[date, Sequence[str]] | None = None,
    name: str = "",
) -> BusinessCalendar:
    """A shorthand for code and tests: `calendar_from_hours("Europe/Copenhagen", {"mon": [...]})`."""
    spec = CalendarSpec.model_validate(
        {
            "name": name,
            "timezone": timezone,
            "hours": {day: list(ranges) for day, ranges in hours.items()},
            "holidays": list(holiday_countries),
            "closed_dates": list(closed_dates),
            "open_dates": {day: list(ranges) for day, ranges in (open_dates or {}).items()},
        }
    )
    return BusinessCalendar(spec)
