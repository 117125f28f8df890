"""Business-hours calendars: staffed hours, holidays, exceptions, DST, and the SLA arithmetic on them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tilsvar.workflow.calendar import BusinessCalendar, CalendarError, CalendarSpec, calendar_from_hours

CPH = ZoneInfo("Europe/Copenhagen")
OSLO = ZoneInfo("Europe/Oslo")
WEEKDAYS_9_17 = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


@pytest.fixture(scope="module")
def dk() -> BusinessCalendar:
    """Copenhagen office: two shifts with a lunch break on weekdays, Saturday mornings, DK holidays."""
    hours = {day: ["08:00-12:00", "12:30-16:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    hours["sat"] = ["10:00-14:00"]
    return calendar_from_hours("Europe/Copenhagen", hours, holiday_countries=["DK"], name="dk")


@pytest.fixture(scope="module")
def no() -> BusinessCalendar:
    return calendar_from_hours("Europe/Oslo", WEEKDAYS_9_17, holiday_countries=["NO"], name="no")


def test_due_time_within_one_day(dk: BusinessCalendar) -> None:
    start = local(CPH, 2026, 3, 10, 9, 0)  # Tuesday
    assert dk.add_business_minutes(start, 60) == local(CPH, 2026, 3, 10, 10, 0)
    # the morning shift ends at 12:00; after the lunch break counting resumes at 12:30
    assert dk.add_business_minutes(start, 180) == local(CPH, 2026, 3, 10, 12, 0)
    assert dk.add_business_minutes(start, 181) == local(CPH, 2026, 3, 10, 12, 31)
    assert dk.add_business_minutes(start, 240) == local(CPH, 2026, 3, 10, 13, 30)


def test_message_outside_staffed_hours_counts_from_the_opening(dk: BusinessCalendar) -> None:
    evening = local(CPH, 2026, 3, 10, 22, 15)
    assert dk.add_business_minutes(evening, 30) == local(CPH, 2026, 3, 11, 8, 30)
    lunch = local(CPH, 2026, 3, 10, 12, 10)
    assert dk.add_business_minutes(lunch, 30) == local(CPH, 2026, 3, 10, 13, 0)
    assert not dk.is_open(lunch)
    assert dk.next_opening(lunch) == local(CPH, 2026, 3, 10, 12, 30)


def test_weekend_is_skipped_and_saturday_counts(dk: BusinessCalendar) -> None:
    friday = local(CPH, 2026, 3, 13, 15, 0)
    # Friday 15-16 (60) + Saturday 10-14 (240) -> Monday 08:00 + 20
    assert dk.add_business_minutes(friday, 320) == local(CPH, 2026, 3, 16, 8, 20)
    assert dk.business_minutes_between(friday, local(CPH, 2026, 3, 16, 8, 20)) == 320


def test_320_minutes_across_easter(dk: BusinessCalendar) -> None:
    # Wednesday before Easter 2026; Maundy Thursday, Good Friday, Easter Saturday (not a holiday),
    # Easter Sunday and Monday follow.
    start = local(CPH, 2026, 4, 1, 15, 0)
    assert dk.holiday_name(date(2026, 4, 2)) == "Maundy Thursday"
    assert dk.is_open(local(CPH, 2026, 4, 4, 11, 0))  # Easter Saturday is an ordinary Saturday
    # Wed 15-16 (60) + Sat 10-14 (240) -> Tuesday 7 April 08:20
    assert dk.add_business_minutes(start, 320) == local(CPH, 2026, 4, 7, 8, 20)


def test_norwegian_holidays_differ_from_danish(no: BusinessCalendar, dk: BusinessCalendar) -> None:
    labour_day = date(2026, 5, 1)  # a Friday: a holiday in Norway, a working day in Denmark
    assert no.holiday_name(labour_day) == "Labor Day"
    assert dk.holiday_name(labour_day) is None
    assert not no.is_open(local(OSLO, 2026, 5, 1, 10, 0))
    assert dk.is_open(local(CPH, 2026, 5, 1, 10, 0))
    assert no.holiday_name(date(2027, 5, 17)) == "Constitution Day; Pentecost Monday"


def test_optional_danish_holidays_by_category() -> None:
    spec = {"timezone": "Europe/Copenhagen", "hours": WEEKDAYS_9_17, "holidays": ["DK"]}
    public = BusinessCalendar.from_dict(spec)
    with_optional = BusinessCalendar.from_dict({**spec, "holiday_categories": ["public", "optional"]})
    constitution_day = local(CPH, 2026, 6, 5, 10, 0)  # Friday
    assert public.is_open(constitution_day)
    assert not with_optional.is_open(constitution_day)
    with pytest.raises(ValidationError, match="categories"):
        BusinessCalendar.from_dict({**spec, "holiday_categories": ["bank-ish"]})


@pytest.mark.parametrize(
    ("country", "day"),
    [
        ("DK", date(2026, 5, 14)),  # Ascension Day
        ("SE", date(2026, 6, 6)),  # National Day
        ("NO", date(2026, 5, 17)),
        ("PL", date(2026, 11, 11)),  # Independence Day
        ("FI", date(2026, 12, 6)),  # Independence Day
    ],
)
def test_nordic_and_polish_holidays_close_the_day(country: str, day: date) -> None:
    calendar = calendar_from_hours(
        "UTC",
        {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        holiday_countries=[country],
    )
    assert calendar.holiday_name(day)
    assert calendar.local_hours(day) == ()
    assert not calendar.is_open(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12))


def test_extra_closed_and_open_dates() -> None:
    calendar = BusinessCalendar(
        CalendarSpec(
            timezone="Europe/Copenhagen",
            hours=WEEKDAYS_9_17,
            holidays=["DK"],
            closed_dates=[date(2026, 3, 11)],
            closed_annually=["12-24"],
            open_dates={date(2026, 3, 15): ["10:00-12:00"], date(2026, 4, 6): ["09:00-11:00"]},
        )
    )
    assert not calendar.is_open(local(CPH, 2026, 3, 11, 10, 0))  # a closed Wednesday
    assert calendar.is_open(local(CPH, 2026, 3, 15, 11, 0))  # an open Sunday
    assert not calendar.is_open(local(CPH, 2026, 3, 15, 13, 0))
    assert calendar.is_open(local(CPH, 2026, 4, 6, 10, 0))  # open on Easter Monday after all
    assert not calendar.is_open(local(CPH, 2026, 4, 6, 12, 0))
    assert not calendar.is_open(local(CPH, 2030, 12, 24, 10, 0))  # Christmas Eve, every year
    # Tuesday 10 March 16:00 + 120 min: 60 on Tuesday, Wednesday closed, 60 on Thursday
    assert calendar.add_business_minutes(local(CPH, 2026, 3, 10, 16, 0), 120) == local(
        CPH, 2026, 3, 12, 10, 0
    )


def test_dst_spring_forward_copenhagen(dk: BusinessCalendar) -> None:
    # Last Sunday of March 2026 is the 29th: clocks go from 02:00 CET to 03:00 CEST.
    friday = local(CPH, 2026, 3, 27, 15, 0)
    due = dk.add_business_minutes(friday, 120)
    # Friday 15-16 (60) + Saturday 10-11 (60): still winter time on Saturday
    assert due == local(CPH, 2026, 3, 28, 11, 0)
    assert due == datetime(2026, 3, 28, 10, 0, tzinfo=UTC)
    monday_due = dk.add_business_minutes(friday, 60 + 240 + 60)
    assert monday_due == local(CPH, 2026, 3, 30, 9, 0)
    assert monday_due == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # summer time: UTC+2
    # wall clock 16:00 Friday -> 08:00 Monday is 63 real hours but no staffed time
    assert dk.business_minutes_between(local(CPH, 2026, 3, 27, 16, 0), local(CPH, 2026, 3, 28, 10, 0)) == 0


def test_dst_day_is_23_and_25_hours_on_a_24_7_calendar() -> None:
    calendar = BusinessCalendar.always_open("Europe/Oslo")
    spring = (local(OSLO, 2026, 3, 29, 0, 0), local(OSLO, 2026, 3, 30, 0, 0))
    autumn = (local(OSLO, 2026, 10, 25, 0, 0), local(OSLO, 2026, 10, 26, 0, 0))
    assert calendar.business_minutes_between(*spring) == 23 * 60
    assert calendar.business_minutes_between(*autumn) == 25 * 60
    start = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert calendar.add_business_minutes(start, 3 * 24 * 60) == start + timedelta(days=3)
    assert len(calendar.open_intervals(start, start + timedelta(days=5))) == 1


def test_staffed_hours_over_the_dst_change_stay_wall_clock() -> None:
    """A Sunday shift 00:00-06:00 on DST days is 5 hours in spring and 7 in autumn."""
    calendar = calendar_from_hours("Europe/Copenhagen", {"sun": ["00:00-06:00"]})
    spring = local(CPH, 2026, 3, 29, 0, 0)
    assert calendar.business_minutes_between(spring, spring + timedelta(hours=12)) == 5 * 60
    autumn = local(CPH, 2026, 10, 25, 0, 0)
    assert calendar.business_minutes_between(autumn, autumn + timedelta(hours=12)) == 7 * 60
    # 02:30 does not exist on 29 March: a range starting in the gap starts when the clock jumps
    gap = calendar_from_hours("Europe/Copenhagen", {"sun": ["02:30-04:00"]})
    assert gap.business_minutes_between(spring, spring + timedelta(hours=12)) == 30


def test_dst_autumn_oslo_message_before_the_change(no: BusinessCalendar) -> None:
    friday = local(OSLO, 2026, 10, 23, 16, 30)  # CEST
    due = no.add_business_minutes(friday, 60)
    assert due == local(OSLO, 2026, 10, 26, 9, 30)  # CET
    assert due == datetime(2026, 10, 26, 8, 30, tzinfo=UTC)


def test_next_opening_and_closing(no: BusinessCalendar) -> None:
    saturday = local(OSLO, 2026, 12, 19, 12, 0)
    assert no.next_opening(saturday) == local(OSLO, 2026, 12, 21, 9, 0)
    christmas_eve_evening = local(OSLO, 2026, 12, 24, 20, 0)  # 25 and 26 are holidays, then weekend
    assert no.next_opening(christmas_eve_evening) == local(OSLO, 2026, 12, 28, 9, 0)
    open_moment = local(OSLO, 2026, 12, 21, 10, 0)
    assert no.next_opening(open_moment) == open_moment
    assert no.next_closing(open_moment) == local(OSLO, 2026, 12, 21, 17, 0)
    assert no.next_closing(saturday) is None
    assert no.local(open_moment).hour == 10


def test_intervals_are_half_open(dk: BusinessCalendar) -> None:
    assert dk.is_open(local(CPH, 2026, 3, 10, 8, 0))
    assert not dk.is_open(local(CPH, 2026, 3, 10, 16, 0))
    end = dk.add_business_minutes(local(CPH, 2026, 3, 10, 15, 0), 60)
    assert end == local(CPH, 2026, 3, 10, 16, 0)  # due at the closing minute, not next morning


def test_zero_and_negative_amounts(dk: BusinessCalendar) -> None:
    night = local(CPH, 2026, 3, 10, 23, 0)
    assert dk.add_business_minutes(night, 0) == night
    with pytest.raises(CalendarError):
        dk.add_business_minutes(night, -1)
    later = local(CPH, 2026, 3, 11, 9, 0)
    assert dk.business_minutes_between(later, night) == -60


def test_naive_datetimes_are_refused(dk: BusinessCalendar) -> None:
    with pytest.raises(CalendarError, match="naive"):
        dk.is_open(datetime(2026, 3, 10, 9, 0))


def test_year_boundaries_and_far_dates(dk: BusinessCalendar) -> None:
    new_years_eve = local(CPH, 2026, 12, 31, 15, 0)
    # 31 Dec (Thursday) 15-16, 1 Jan holiday (Friday), Saturday 2 Jan 10-14
    assert dk.add_business_minutes(new_years_eve, 120) == local(CPH, 2027, 1, 2, 11, 0)
    far = local(CPH, 2031, 6, 3, 9, 0)
    assert dk.is_open(far)
    assert dk.business_minutes_between(local(CPH, 2026, 3, 10, 9, 0), far) > 0


def test_never_open_calendar_is_reported() -> None:
    closed = BusinessCalendar(CalendarSpec(timezone="UTC"))
    with pytest.raises(CalendarError):
        closed.add_business_minutes(datetime(2026, 1, 1, tzinfo=UTC), 10)
    only_past = BusinessCalendar(CalendarSpec(open_dates={date(2020, 1, 1): ["09:00-10:00"]}))
    with pytest.raises(CalendarError, match="no staffed hours ahead"):
        only_past.add_business_minutes(datetime(2026, 1, 1, tzinfo=UTC), 10)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"timezone": "Europe/Nowhere"}, "unknown time zone"),
        ({"hours": {"mon": ["9-17"]}}, "09:00-17:00"),
        ({"hours": {"mon": ["17:00-09:00"]}}, "ends before it starts"),
        ({"hours": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "overlap"),
        ({"hours": {"monday": ["09:00-12:00"]}}, "monday"),
        ({"holidays": ["XX"]}, "no public holidays"),
        ({"closed_annually": ["24-12"]}, "not a day of the year"),
        ({"closed_dates": ["2026-01-02"], "open_dates": {"2026-01-02": []}}, "both closed and open"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_specs_are_rejected(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BusinessCalendar.from_dict(spec)


def test_round_trip_through_dict(dk: BusinessCalendar) -> None:
    again = BusinessCalendar.from_dict(dk.to_dict())
    assert again.spec == dk.spec
    assert again.to_dict()["holidays"] == ["DK"]


# properties ------------------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=300, deadline=None)
@given(start=instants, minutes=st.integers(min_value=1, max_value=20_000))
def test_add_and_between_are_inverse(dk: BusinessCalendar, start: datetime, minutes: int) -> None:
    due = dk.add_business_minutes(start, minutes)
    assert due > start
    assert dk.business_minutes_between(start, due) == minutes
    # the due time is never in closed time: the last minute before it was staffed
    assert dk.is_open(due - timedelta(seconds=1))


@settings(max_examples=300, deadline=None)
@given(start=instants, end=instants)
def test_between_is_additive_and_bounded(no: BusinessCalendar, start: datetime, end: datetime) -> None:
    a, b = sorted((start, end))
    middle = a + (b - a) / 2
    total = no.business_minutes_between(a, b)
    assert total == pytest.approx(
        no.business_minutes_between(a, middle) + no.business_minutes_between(middle, b)
    )
    assert 0 <= total <= (b - a) / timedelta(minutes=1)


@settings(max_examples=200, deadline=None)
@given(start=instants, end=instants)
def test_adding_the_measured_time_lands_on_open_end(
    dk: BusinessCalendar, start: datetime, end: datetime
) -> None:
    a, b = sorted((start, end))
    measured = dk.business_time_between(a, b)
    if measured > timedelta() and dk.is_open(b):
        assert dk.add_business_time(a, measured) == b


@settings(max_examples=200, deadline=None)
@given(moment=instants)
def test_next_opening_is_open_and_nothing_before_it_is(dk: BusinessCalendar, moment: datetime) -> None:
    opening = dk.next_opening(moment)
    assert opening >= moment
    assert dk.is_open(opening)
    assert dk.business_minutes_between(moment, opening) == 0
