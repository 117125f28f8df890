"""SLA policies and clocks at the edges: weekends, holidays, DST, pending, reopen, policy changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tilsvar.workflow.calendar import BusinessCalendar, calendar_from_hours
from tilsvar.workflow.sla import (
    DEFAULT_POLICY,
    EventKind,
    SlaEvent,
    SlaPolicy,
    SlaReport,
    Target,
    due_at,
    evaluate_sla,
    select_policy,
)

CPH = ZoneInfo("Europe/Copenhagen")
OSLO = ZoneInfo("Europe/Oslo")


def cph(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CPH).astimezone(UTC)


def oslo(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=OSLO).astimezone(UTC)


@pytest.fixture(scope="module")
def office() -> BusinessCalendar:
    weekdays = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    return calendar_from_hours("Europe/Copenhagen", weekdays, holiday_countries=["DK"])


@pytest.fixture(scope="module")
def oslo_office() -> BusinessCalendar:
    weekdays = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    return calendar_from_hours("Europe/Oslo", weekdays, holiday_countries=["NO"])


POLICY = SlaPolicy(
    id="service",
    first_response=Target(minutes=60),
    next_response=Target(minutes=30),
    resolution=Target(minutes=480),
    warning_minutes=15,
)


def ev(kind: EventKind, at: datetime, **extra: object) -> SlaEvent:
    return SlaEvent(kind, at, **extra)  # type: ignore[arg-type]


def run(
    events: list[SlaEvent], now: datetime, calendar: BusinessCalendar | None, policy: SlaPolicy = POLICY
) -> SlaReport:
    return evaluate_sla(events, policy=policy, now=now, calendar=calendar)


# the default ----------------------------------------------------------------------------------------


def test_default_policy_is_320_minutes_around_the_clock() -> None:
    start = datetime(2026, 3, 14, 22, 0, tzinfo=UTC)  # a Saturday night
    report = evaluate_sla([ev("inbound", start)], now=start)
    assert report.policy is DEFAULT_POLICY
    first = report.first_response
    assert first is not None
    assert first.target_minutes == 320
    assert not first.business_hours
    assert first.due_at == start + timedelta(minutes=320)
    assert first.state == "running"
    assert first.level == "ok"
    assert report.next_response is None
    assert report.resolution is not None
    assert report.resolution.target_minutes is None
    assert report.resolution.level == "none"


def test_reply_in_time_is_met_and_exactly_at_due_is_met() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    due = start + timedelta(minutes=320)
    report = evaluate_sla([ev("inbound", start), ev("outbound", due)], now=due + timedelta(hours=5))
    assert report.first_response is not None
    assert report.first_response.state == "met"
    assert report.first_response.elapsed_minutes == 320
    assert report.breaches == ()
    late = evaluate_sla(
        [ev("inbound", start), ev("outbound", due + timedelta(seconds=1))], now=due + timedelta(hours=5)
    )
    assert late.first_response is not None
    assert late.first_response.state == "missed"
    assert late.breaches[0].breached_at == due


def test_automatic_replies_do_not_count() -> None:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    report = evaluate_sla(
        [ev("inbound", start), ev("outbound", start + timedelta(minutes=1), automatic=True)],
        now=start + timedelta(minutes=10),
    )
    assert report.first_response is not None
    assert report.first_response.state == "running"


# business hours -------------------------------------------------------------------------------------


def test_message_outside_staffed_hours_is_due_after_opening(office: BusinessCalendar) -> None:
    saturday_night = cph(2026, 3, 14, 22, 0)
    report = run([ev("inbound", saturday_night)], saturday_night, office)
    first = report.first_response
    assert first is not None
    assert first.business_hours
    assert first.due_at == cph(2026, 3, 16, 10, 0)
    assert first.warning_at == cph(2026, 3, 16, 9, 45)
    assert report.next_check_at == cph(2026, 3, 16, 9, 45)
    # Monday 08:00: nothing has counted yet
    early = run([ev("inbound", saturday_night)], cph(2026, 3, 16, 8, 0), office)
    assert early.first_response is not None
    assert early.first_response.elapsed_minutes == 0


def test_weekend_splits_the_target(office: BusinessCalendar) -> None:
    friday = cph(2026, 3, 13, 16, 40)
    report = run([ev("inbound", friday)], friday, office)
    assert report.first_response is not None
    assert report.first_response.due_at == cph(2026, 3, 16, 9, 40)
    saturday = run([ev("inbound", friday)], cph(2026, 3, 14, 12, 0), office)
    assert saturday.first_response is not None
    assert saturday.first_response.remaining_minutes == 40
    assert not saturday.first_response.breached


def test_easter_holidays_are_skipped(office: BusinessCalendar) -> None:
    wednesday = cph(2026, 4, 1, 16, 30)  # then Maundy Thursday .. Easter Monday
    report = run([ev("inbound", wednesday)], wednesday, office)
    assert report.first_response is not None
    assert report.first_response.due_at == cph(2026, 4, 7, 9, 30)
    report = run([ev("inbound", wednesday)], cph(2026, 4, 6, 23, 0), office)
    assert report.first_response is not None
    assert report.first_response.state == "running"
    assert report.breaches == ()


@pytest.mark.parametrize(
    ("start", "due", "utc_due"),
    [
        # Copenhagen, last Sunday of March 2026 (29th): Friday CET -> Monday CEST
        (cph(2026, 3, 27, 16, 30), cph(2026, 3, 30, 9, 30), datetime(2026, 3, 30, 7, 30, tzinfo=UTC)),
        # Copenhagen, last Sunday of October 2026 (25th): Friday CEST -> Monday CET
        (cph(2026, 10, 23, 16, 30), cph(2026, 10, 26, 9, 30), datetime(2026, 10, 26, 8, 30, tzinfo=UTC)),
    ],
)
def test_due_over_a_dst_weekend_keeps_wall_clock_hours(
    office: BusinessCalendar, start: datetime, due: datetime, utc_due: datetime
) -> None:
    report = run([ev("inbound", start)], start, office)
    assert report.first_response is not None
    assert report.first_response.due_at == due == utc_due


@pytest.mark.parametrize(
    ("start", "real_minutes"),
    [(oslo(2026, 3, 29, 1, 0), 320), (oslo(2026, 10, 25, 1, 0), 320)],
)
def test_calendar_time_targets_count_real_minutes_over_dst(
    oslo_office: BusinessCalendar, start: datetime, real_minutes: int
) -> None:
    policy = SlaPolicy(id="p", first_response=Target(minutes=320, business_hours=False))
    report = run([ev("inbound", start)], start, oslo_office, policy)
    assert report.first_response is not None
    assert report.first_response.due_at == start + timedelta(minutes=real_minutes)


def test_oslo_sunday_message_over_autumn_dst(oslo_office: BusinessCalendar) -> None:
    sunday = oslo(2026, 10, 25, 2, 30)  # the ambiguous hour
    report = run([ev("inbound", sunday)], sunday, oslo_office)
    assert report.first_response is not None
    assert report.first_response.due_at == oslo(2026, 10, 26, 10, 0)


def test_without_calendar_business_targets_count_around_the_clock() -> None:
    start = datetime(2026, 3, 14, 22, 0, tzinfo=UTC)
    report = run([ev("inbound", start)], start, None)
    assert report.first_response is not None
    assert report.first_response.due_at == start + timedelta(minutes=60)
    assert not report.first_response.business_hours


# warnings and breaches -----------------------------------------------------------------------------


def test_warning_then_breach(office: BusinessCalendar) -> None:
    start = cph(2026, 3, 10, 9, 0)
    events = [ev("inbound", start)]
    fine = run(events, cph(2026, 3, 10, 9, 40), office)
    assert fine.first_response is not None
    assert fine.first_response.level == "ok"
    assert fine.next_check_at == cph(2026, 3, 10, 9, 45)
    warn = run(events, cph(2026, 3, 10, 9, 50), office)
    assert warn.first_response is not None
    assert warn.first_response.level == "warning"
    assert warn.first_response.remaining_minutes == 10
    assert warn.next_check_at == cph(2026, 3, 10, 10, 0)
    late = run(events, cph(2026, 3, 10, 10, 5), office)
    first = late.first_response
    assert first is not None
    assert first.level == "breached"
    assert first.breached_at == cph(2026, 3, 10, 10, 0)
    assert first.remaining_minutes == -5
    assert [b.metric for b in late.breaches] == ["first_response"]
    assert late.next_check_at == cph(2026, 3, 10, 16, 45)  # the resolution warning is next


def test_warning_fraction_default() -> None:
    policy = SlaPolicy(id="p", first_response=Target(minutes=100, business_hours=False))
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    report = evaluate_sla([ev("inbound", start)], policy=policy, now=start)
    assert report.first_response is not None
    assert report.first_response.warning_at == start + timedelta(minutes=80)


# pending, snooze --------------------------------------------------------------------------------------


def test_pending_pauses_and_unpending_resumes(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("pending", cph(2026, 3, 10, 9, 20)),
        ev("unpending", cph(2026, 3, 10, 13, 0)),
    ]
    paused = run(events[:2], cph(2026, 3, 10, 12, 0), office)
    first = paused.first_response
    assert first is not None
    assert first.state == "paused"
    assert first.level == "paused"
    assert first.due_at is None
    assert first.remaining_minutes == 40
    assert paused.paused
    assert paused.next_check_at is None
    resumed = run(events, cph(2026, 3, 10, 13, 0), office)
    assert resumed.first_response is not None
    assert resumed.first_response.due_at == cph(2026, 3, 10, 13, 40)
    assert resumed.resolution is not None
    assert resumed.resolution.elapsed_minutes == 20


def test_pending_over_a_weekend_does_not_breach(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 13, 10, 0)),
        ev("outbound", cph(2026, 3, 13, 10, 10)),
        ev("pending", cph(2026, 3, 13, 10, 11)),
    ]
    report = run(events, cph(2026, 3, 20, 10, 0), office)
    assert report.breaches == ()
    assert report.resolution is not None
    assert report.resolution.state == "paused"
    assert report.resolution.elapsed_minutes == 11


def test_customer_reply_ends_pending_and_starts_next_response(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("outbound", cph(2026, 3, 10, 9, 10)),
        ev("pending", cph(2026, 3, 10, 9, 11)),
        ev("inbound", cph(2026, 3, 10, 11, 0)),
    ]
    report = run(events, cph(2026, 3, 10, 11, 0), office)
    assert not report.paused
    nxt = report.next_response
    assert nxt is not None
    assert nxt.started_at == cph(2026, 3, 10, 11, 0)
    assert nxt.due_at == cph(2026, 3, 10, 11, 30)
    assert report.resolution is not None
    assert report.resolution.elapsed_minutes == 11  # paused 9:11-11:00


def test_snooze_does_not_pause_unless_the_policy_says_so(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("snoozed", cph(2026, 3, 10, 9, 10), until=cph(2026, 3, 10, 11, 0)),
    ]
    plain = run(events, cph(2026, 3, 10, 10, 30), office)
    assert plain.first_response is not None
    assert plain.first_response.breached
    pausing = POLICY.model_copy(update={"pause_when_snoozed": True})
    snoozed = run(events, cph(2026, 3, 10, 10, 30), office, pausing)
    assert snoozed.first_response is not None
    assert snoozed.first_response.state == "paused"
    assert snoozed.next_check_at == cph(2026, 3, 10, 11, 0)  # the snooze ends
    woke = run(events, cph(2026, 3, 10, 11, 30), office, pausing)
    assert woke.first_response is not None
    assert woke.first_response.state == "running"
    assert woke.first_response.due_at == cph(2026, 3, 10, 11, 50)
    early = run([*events, ev("inbound", cph(2026, 3, 10, 9, 30))], cph(2026, 3, 10, 9, 40), office, pausing)
    assert early.first_response is not None
    assert early.first_response.state == "running"


# resolve and reopen ------------------------------------------------------------------------------------


def test_resolve_stops_every_clock(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("outbound", cph(2026, 3, 10, 9, 30)),
        ev("resolved", cph(2026, 3, 10, 10, 0)),
    ]
    report = run(events, cph(2026, 3, 20, 9, 0), office)
    assert report.first_response is not None
    assert report.first_response.state == "met"
    assert report.resolution is not None
    assert report.resolution.state == "met"
    assert report.resolution.elapsed_minutes == 60
    assert report.running == ()
    assert report.next_check_at is None


def test_resolved_without_reply_is_cancelled_not_met(office: BusinessCalendar) -> None:
    events = [ev("inbound", cph(2026, 3, 10, 9, 0)), ev("resolved", cph(2026, 3, 10, 9, 5))]
    report = run(events, cph(2026, 3, 11, 9, 0), office)
    assert report.first_response is not None
    assert report.first_response.state == "cancelled"
    assert report.breaches == ()


def test_customer_message_after_resolve_reopens_with_next_response(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("outbound", cph(2026, 3, 10, 9, 10)),
        ev("resolved", cph(2026, 3, 10, 9, 30)),
        ev("inbound", cph(2026, 3, 12, 10, 0)),
    ]
    report = run(events, cph(2026, 3, 12, 10, 0), office)
    assert report.first_response is not None
    assert report.first_response.state == "met"
    nxt = report.next_response
    assert nxt is not None
    assert nxt.due_at == cph(2026, 3, 12, 10, 30)
    resolution = report.resolution
    assert resolution is not None
    assert resolution.state == "running"
    assert resolution.elapsed_minutes == 30  # the days while resolved do not count
    assert resolution.due_at == cph(2026, 3, 13, 9, 30)  # 420 minutes on Thursday, 30 on Friday


def test_explicit_reopen_restarts_next_response(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("outbound", cph(2026, 3, 10, 9, 10)),
        ev("resolved", cph(2026, 3, 10, 9, 30)),
        ev("reopened", cph(2026, 3, 10, 14, 0)),
        ev("inbound", cph(2026, 3, 10, 14, 0)),  # same instant: one clock, not two
    ]
    report = run(events, cph(2026, 3, 10, 14, 45), office)
    nxt = report.next_response
    assert nxt is not None
    assert nxt.started_at == cph(2026, 3, 10, 14, 0)
    assert nxt.breached_at == cph(2026, 3, 10, 14, 30)
    assert report.history == ()


def test_reopen_of_an_unanswered_conversation_starts_a_fresh_first_response(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("resolved", cph(2026, 3, 10, 9, 5)),
        ev("reopened", cph(2026, 3, 10, 12, 0)),
    ]
    report = run(events, cph(2026, 3, 10, 12, 0), office)
    assert report.first_response is not None
    assert report.first_response.started_at == cph(2026, 3, 10, 12, 0)
    assert report.first_response.due_at == cph(2026, 3, 10, 13, 0)
    assert [c.state for c in report.history] == ["cancelled"]


def test_reopen_when_not_resolved_and_double_resolve_are_harmless(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("reopened", cph(2026, 3, 10, 9, 1)),
        ev("outbound", cph(2026, 3, 10, 9, 10)),
        ev("resolved", cph(2026, 3, 10, 9, 30)),
        ev("resolved", cph(2026, 3, 10, 9, 40)),
    ]
    report = run(events, cph(2026, 3, 10, 12, 0), office)
    assert report.resolution is not None
    assert report.resolution.completed_at == cph(2026, 3, 10, 9, 30)
    assert report.next_response is None


def test_next_response_cycles_and_waiting_customer_does_not_restart(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("outbound", cph(2026, 3, 10, 9, 10)),
        ev("inbound", cph(2026, 3, 10, 10, 0)),
        ev("inbound", cph(2026, 3, 10, 10, 20)),  # still waiting: the clock keeps its start
        ev("outbound", cph(2026, 3, 10, 10, 45)),  # 45 > 30: missed
        ev("inbound", cph(2026, 3, 10, 11, 0)),
        ev("outbound", cph(2026, 3, 10, 11, 5)),
    ]
    report = run(events, cph(2026, 3, 10, 12, 0), office)
    assert report.next_response is not None
    assert report.next_response.state == "met"
    assert [c.state for c in report.history] == ["missed"]
    assert report.history[0].started_at == cph(2026, 3, 10, 10, 0)
    assert [(b.metric, b.breached_at) for b in report.breaches] == [
        ("next_response", cph(2026, 3, 10, 10, 30))
    ]


def test_outbound_before_any_inbound_is_not_a_first_response() -> None:
    post = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    report = evaluate_sla(
        [ev("outbound", post), ev("inbound", post + timedelta(hours=1))], now=post + timedelta(hours=1)
    )
    assert report.first_response is not None
    assert report.first_response.state == "running"
    assert report.next_response is None


# policy changes ----------------------------------------------------------------------------------------


URGENT = SlaPolicy(
    id="urgent", priority="urgent", first_response=Target(minutes=15), next_response=Target(minutes=10)
)
RELAXED = SlaPolicy(id="relaxed", first_response=Target(minutes=240))


def test_tighter_policy_applies_from_the_original_start(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("policy_changed", cph(2026, 3, 10, 9, 5), policy=URGENT),
    ]
    report = run(events, cph(2026, 3, 10, 9, 5), office)
    assert report.policy is URGENT
    assert report.first_response is not None
    assert report.first_response.due_at == cph(2026, 3, 10, 9, 15)
    assert report.resolution is not None
    assert report.resolution.target_minutes is None


def test_policy_change_past_the_new_target_breaches_at_the_change(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("policy_changed", cph(2026, 3, 10, 9, 30), policy=URGENT),
    ]
    before = run(events, cph(2026, 3, 10, 9, 29), office)
    assert before.first_response is not None
    assert not before.first_response.breached
    for now in (cph(2026, 3, 10, 9, 30), cph(2026, 3, 10, 9, 31)):
        report = run(events, now, office)
        assert report.first_response is not None
        assert report.first_response.breached_at == cph(2026, 3, 10, 9, 30)
        assert [b.breached_at for b in report.breaches] == [cph(2026, 3, 10, 9, 30)]


def test_breach_under_old_policy_survives_a_relaxed_policy(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("policy_changed", cph(2026, 3, 10, 10, 30), policy=RELAXED),
    ]
    report = run(events, cph(2026, 3, 10, 11, 0), office)
    first = report.first_response
    assert first is not None
    assert first.breached_at == cph(2026, 3, 10, 10, 0)
    assert first.target_minutes == 240
    assert first.remaining_minutes == 120
    assert first.level == "breached"


def test_relaxed_policy_before_breach_moves_the_due_time(office: BusinessCalendar) -> None:
    events = [
        ev("inbound", cph(2026, 3, 10, 9, 0)),
        ev("policy_changed", cph(2026, 3, 10, 9, 30), policy=RELAXED),
    ]
    report = run(events, cph(2026, 3, 10, 11, 0), office)
    assert report.first_response is not None
    assert not report.first_response.breached
    assert report.first_response.due_at == cph(2026, 3, 10, 13, 0)


def test_policy_switching_to_calendar_time(office: BusinessCalendar) -> None:
    around_the_clock = SlaPolicy(id="24h", first_response=Target(minutes=120, business_hours=False))
    events = [
        ev("inbound", cph(2026, 3, 13, 16, 30)),
        ev("policy_changed", cph(2026, 3, 13, 16, 45), policy=around_the_clock),
    ]
    report = run(events, cph(2026, 3, 13, 16, 45), office)
    assert report.first_response is not None
    assert report.first_response.due_at == cph(2026, 3, 13, 18, 30)
    assert not report.first_response.business_hours


# selection and validation ---------------------------------------------------------------------------


def test_most_specific_policy_wins() -> None:
    brand = SlaPolicy(id="brand", brand=1)
    channel = SlaPolicy(id="channel", channel=7)
    urgent = SlaPolicy(id="urgent", priority="urgent")
    brand_urgent = SlaPolicy(id="brand-urgent", brand=1, priority="urgent")
    other_brand = SlaPolicy(id="other", brand=2, channel=9, priority="urgent")
    policies = [brand, channel, urgent, brand_urgent, other_brand]
    assert select_policy(policies, brand=1, channel=7, priority="urgent").id == "brand-urgent"
    assert select_policy(policies, brand=1, channel=7, priority="normal").id == "channel"
    assert select_policy(policies, brand=1, channel=8, priority="normal").id == "brand"
    assert select_policy(policies, brand=3, channel=8, priority="urgent").id == "urgent"
    assert select_policy(policies, brand=3, channel=8, priority=None) is DEFAULT_POLICY
    twin = SlaPolicy(id="twin", brand=1)
    assert select_policy([brand, twin], brand=1).id == "brand"  # ties: the earlier policy


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "p", "first_response": None}, "no target"),
        ({"id": "p", "first_response": {"minutes": 0}}, "greater than 0"),
        ({"id": "p", "priority": "asap"}, "priority"),
        ({"id": "p", "colour": "red"}, "colour"),
        ({"id": "p", "warning_fraction": 2}, "warning_fraction"),
    ],
)
def test_invalid_policies_are_rejected(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SlaPolicy.model_validate(data)


def test_events_are_validated() -> None:
    with pytest.raises(ValueError, match="aware"):
        SlaEvent("inbound", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="new policy"):
        SlaEvent("policy_changed", datetime(2026, 1, 1, tzinfo=UTC))


def test_due_at_helper(office: BusinessCalendar) -> None:
    assert due_at(cph(2026, 3, 13, 16, 30), Target(minutes=60), office) == cph(2026, 3, 16, 9, 30)
    assert due_at(cph(2026, 3, 13, 16, 30), Target(minutes=60, business_hours=False), office) == cph(
        2026, 3, 13, 17, 30
    )


def test_events_after_now_and_out_of_order_input(office: BusinessCalendar) -> None:
    events = [ev("outbound", cph(2026, 3, 10, 9, 30)), ev("inbound", cph(2026, 3, 10, 9, 0))]
    report = run(events, cph(2026, 3, 10, 9, 20), office)
    assert report.first_response is not None
    assert report.first_response.state == "running"
    report = run(events, cph(2026, 3, 10, 9, 40), office)
    assert report.first_response is not None
    assert report.first_response.state == "met"


# properties ------------------------------------------------------------------------------------------

KINDS: list[EventKind] = ["inbound", "outbound", "pending", "unpending", "resolved", "reopened", "snoozed"]
event_lists = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(min_value=0, max_value=7 * 24 * 60)),
    min_size=1,
    max_size=12,
)
BASE = cph(2026, 3, 23, 8, 0)  # the week of the DST change


def _events(raw: list[tuple[EventKind, int]]) -> list[SlaEvent]:
    result = []
    for kind, minute in sorted(raw, key=lambda pair: pair[1]):
        at = BASE + timedelta(minutes=minute)
        until = at + timedelta(hours=3) if kind == "snoozed" else None
        result.append(SlaEvent(kind, at, until=until))
    return result


@settings(max_examples=150, deadline=None)
@given(raw=event_lists, later=st.integers(min_value=1, max_value=3 * 24 * 60))
def test_breaches_never_disappear_as_time_passes(
    office: BusinessCalendar, raw: list[tuple[EventKind, int]], later: int
) -> None:
    events = _events(raw)
    now = events[-1].at + timedelta(minutes=1)
    first = run(events, now, office)
    second = run(events, now + timedelta(minutes=later), office)
    assert second.breaches[: len(first.breaches)] == first.breaches
    for clock in second.clocks:
        assert clock.elapsed_minutes >= 0
        if clock.due_at is not None:
            assert clock.due_at >= clock.started_at
            # a business-time due time is never in closed time
            assert office.is_open(clock.due_at - timedelta(seconds=1))
        if clock.remaining_minutes is not None and clock.target_minutes is not None:
            assert clock.remaining_minutes == pytest.approx(clock.target_minutes - clock.elapsed_minutes)


@settings(max_examples=150, deadline=None)
@given(raw=event_lists)
def test_breach_happens_exactly_at_the_reported_due_time(
    office: BusinessCalendar, raw: list[tuple[EventKind, int]]
) -> None:
    events = _events(raw)
    now = events[-1].at
    report = run(events, now, office)
    for clock in report.running:
        if clock.due_at is None or clock.breached:
            continue
        at_due = run(events, clock.due_at, office)
        after = run(events, clock.due_at + timedelta(seconds=1), office)
        assert not any(b.metric == clock.metric and b.started_at == clock.started_at for b in at_due.breaches)
        assert any(b.breached_at == clock.due_at for b in after.breaches)
