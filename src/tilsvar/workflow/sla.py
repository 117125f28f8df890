"""SLA policies and clocks: when an answer (or a resolution) is due, and whether it came in time.

Helpdesks get SLAs wrong at the edges (weekends, holidays, DST, pending, reopen, a priority raised
mid-conversation), so the clock here is a pure function of a conversation's event history: replaying
the same events always gives the same due times, warnings and breaches. The actions layer stores
events; it calls `evaluate_sla` after each one and schedules the next check at `next_check_at`.

Semantics (docs/workflow.md has the long form):

- first response: starts at the first inbound message, stops at the first non-automatic reply.
- next response: starts at a customer message that arrives when nobody is waiting for an answer (after
  the first response), and at a reopen; stops at the next non-automatic reply. Several cycles are kept.
- resolution: runs from the first inbound message until resolved; resumes when reopened.
- every clock pauses while the conversation is pending on the customer (and, when the policy says
  so, while snoozed); a customer message ends pending and snooze. Resolving stops every clock; a
  response clock stopped by a resolve without a reply is "cancelled", not met.
- a policy change applies the new targets to the running clocks from their original start; a clock
  that is already past the new target breaches at the moment of the change, and a breach under the
  old policy stays a breach.
- business-time targets count only staffed time of the channel's calendar.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tilsvar.workflow.calendar import BusinessCalendar
from tilsvar.workflow.common import Priority, Ref, require_aware

Metric = Literal["first_response", "next_response", "resolution"]
METRICS: tuple[Metric, ...] = ("first_response", "next_response", "resolution")
EventKind = Literal[
    "inbound", "outbound", "pending", "unpending", "snoozed", "unsnoozed", "resolved", "reopened",
    "policy_changed",
]  # fmt: skip
ClockState = Literal["running", "paused", "met", "missed", "cancelled"]
Level = Literal["ok", "warning", "breached", "paused", "met", "missed", "cancelled", "none"]

_MINUTE = timedelta(minutes=1)
_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


class Target(BaseModel):
    """One SLA target: so many minutes, counted in staffed (business) time or around the clock."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    minutes: float = Field(gt=0)
    business_hours: bool = True


class SlaPolicy(BaseModel):
    """Targets for conversations of a brand / channel / priority; None criteria match anything."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = ""
    brand: Ref | None = None
    channel: Ref | None = None
    priority: Priority | None = None
    first_response: Target | None = Target(minutes=320, business_hours=False)
    next_response: Target | None = None
    resolution: Target | None = None
    # Warn this many minutes (in the target's own time) before a breach; else this share of the target.
    warning_minutes: float | None = Field(default=None, ge=0)
    warning_fraction: float = Field(default=0.2, ge=0, le=1)
    pause_when_snoozed: bool = False

    @model_validator(mode="after")
    def _has_a_target(self) -> SlaPolicy:
        if self.first_response is None and self.next_response is None and self.resolution is None:
            raise ValueError(f"policy {self.id!r} has no target")
        return self

    def target(self, metric: Metric) -> Target | None:
        if metric == "first_response":
            return self.first_response
        if metric == "next_response":
            return self.next_response
        return self.resolution

    def warning_threshold(self, target: Target) -> timedelta:
        minutes = (
            self.warning_minutes
            if self.warning_minutes is not None
            else target.minutes * self.warning_fraction
        )
        return timedelta(minutes=min(minutes, target.minutes))

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        """More matching criteria first; then channel, priority, brand (a channel implies its brand)."""
        channel, priority, brand = self.channel is not None, self.priority is not None, self.brand is not None
        return (channel + priority + brand, int(channel), int(priority), int(brand))


# The railway's target (KPIS.md): first response within 320 minutes, around the clock.
DEFAULT_POLICY = SlaPolicy(id="default", name="Default: first response within 320 minutes")


def select_policy(
    policies: Iterable[SlaPolicy],
    *,
    brand: Ref | None = None,
    channel: Ref | None = None,
    priority: Priority | None = None,
    default: SlaPolicy = DEFAULT_POLICY,
) -> SlaPolicy:
    """The most specific policy matching the conversation; earlier policies win ties."""
    best: SlaPolicy | None = None
    for policy in policies:
        if policy.brand is not None and policy.brand != brand:
            continue
        if policy.channel is not None and policy.channel != channel:
            continue
        if policy.priority is not None and policy.priority != priority:
            continue
        if best is None or policy.specificity > best.specificity:
            best = policy
    return best if best is not None else default


@dataclass(frozen=True)
class SlaEvent:
    """Something that happened to a conversation that SLA clocks care about."""

    kind: EventKind
    at: datetime
    until: datetime | None = None  # snoozed: until when
    policy: SlaPolicy | None = None  # policy_changed: the new policy
    automatic: bool = False  # outbound: auto-replies and surveys never count as answers

    def __post_init__(self) -> None:
        require_aware(self.at, "event time")
        if self.kind == "policy_changed" and self.policy is None:
            raise ValueError("a policy_changed event needs the new policy")
        if self.kind == "snoozed" and self.until is not None:
            require_aware(self.until, "snooze end")


@dataclass(frozen=True)
class Breach:
    metric: Metric
    started_at: datetime
    breached_at: datetime


@dataclass(frozen=True)
class ClockStatus:
    """One clock as of `now` (or as of when it stopped)."""

    metric: Metric
    state: ClockState
    started_at: datetime
    target_minutes: float | None
    business_hours: bool
    elapsed_minutes: float
    remaining_minutes: float | None  # negative when overdue; None without a target
    due_at: datetime | None  # None while paused, without a target, or when stopped before it
    warning_at: datetime | None
    warning: bool
    breached: bool
    breached_at: datetime | None
    completed_at: datetime | None

    @property
    def level(self) -> Level:
        """What the UI colours a countdown by."""
        if self.state in ("met", "missed", "cancelled"):
            return self.state
        if self.target_minutes is None:
            return "none"
        if self.breached:
            return "breached"
        if self.state == "paused":
            return "paused"
        return "warning" if self.warning else "ok"


@dataclass(frozen=True)
class SlaReport:
    policy: SlaPolicy
    now: datetime
    first_response: ClockStatus | None
    next_response: ClockStatus | None  # the current or latest cycle
    resolution: ClockStatus | None
    history: tuple[ClockStatus, ...]  # earlier next-response cycles and cancelled first responses
    breaches: tuple[Breach, ...]  # every breach so far, oldest first
    paused: bool
    next_check_at: datetime | None  # the next instant a warning or breach can begin

    @property
    def clocks(self) -> tuple[ClockStatus, ...]:
        return tuple(c for c in (self.first_response, self.next_response, self.resolution) if c is not None)

    @property
    def running(self) -> tuple[ClockStatus, ...]:
        return tuple(c for c in self.clocks if c.state == "running")

    @property
    def next_due_at(self) -> datetime | None:
        """The earliest due time of a running clock (for sorting an inbox by urgency)."""
        dues = [c.due_at for c in self.running if c.due_at is not None]
        return min(dues) if dues else None


@dataclass
class _Clock:
    metric: Metric
    started_at: datetime
    active_since: datetime | None
    segments: list[tuple[datetime, datetime]] = field(default_factory=list)
    breached_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled: bool = False

    @property
    def live(self) -> bool:
        return self.completed_at is None

    def pause(self, at: datetime) -> None:
        if self.active_since is not None:
            if at > self.active_since:
                self.segments.append((self.active_since, at))
            self.active_since = None

    def resume(self, at: datetime) -> None:
        if self.live and self.active_since is None:
            self.active_since = at

    def stop(self, at: datetime, *, cancelled: bool = False) -> None:
        self.pause(at)
        self.completed_at = at
        self.cancelled = cancelled


class _Replay:
    """Replays events in order, keeping the clocks and the state that pauses them."""

    def __init__(self, policy: SlaPolicy, calendar: BusinessCalendar | None) -> None:
        self.policy = policy
        self.policy_since = _BEGINNING
        self.calendar = calendar
        self.first: _Clock | None = None
        self.next: _Clock | None = None
        self.resolution: _Clock | None = None
        self.history: list[_Clock] = []
        self.breaches: list[Breach] = []
        self.first_met = False
        self.pending = False
        self.snoozed_until: datetime | None = None
        self.snoozed = False
        self.resolved = False

    # time measures ---------------------------------------------------------------------------------

    def _business(self, target: Target) -> bool:
        return target.business_hours and self.calendar is not None

    def measure(self, target: Target, start: datetime, end: datetime) -> timedelta:
        if self._business(target):
            assert self.calendar is not None
            return self.calendar.business_time_between(start, end)
        return end - start

    def add(self, target: Target, start: datetime, amount: timedelta) -> datetime:
        if self._business(target):
            assert self.calendar is not None
            return self.calendar.add_business_time(start, amount)
        return start + amount

    def elapsed(self, clock: _Clock, target: Target, now: datetime) -> timedelta:
        total = sum((self.measure(target, a, b) for a, b in clock.segments), timedelta())
        if clock.active_since is not None and now > clock.active_since:
            total += self.measure(target, clock.active_since, now)
        return total

    def crossing(self, clock: _Clock, target: Target, amount: timedelta) -> datetime | None:
        """When the clock's counted time reaches `amount`, if it has or will while running."""
        counted = timedelta()
        for start, end in clock.segments:
            length = self.measure(target, start, end)
            if counted + length >= amount:
                return self.add(target, start, amount - counted)
            counted += length
        if clock.active_since is not None:
            return self.add(target, clock.active_since, amount - counted)
        return None

    # state ---------------------------------------------------------------------------------------

    def clocks(self) -> list[_Clock]:
        return [c for c in (self.first, self.next, self.resolution) if c is not None and c.live]

    @property
    def paused(self) -> bool:
        return self.pending or (self.snoozed and self.policy.pause_when_snoozed)

    def checkpoint(self, at: datetime) -> None:
        """Record breaches that happened before `at` under the policy in force until `at`."""
        for clock in self.clocks():
            target = self.policy.target(clock.metric)
            if clock.breached_at is not None or target is None:
                continue
            due = self.crossing(clock, target, timedelta(minutes=target.minutes))
            if due is not None and due < at:
                clock.breached_at = max(due, self.policy_since, clock.started_at)
                self.breaches.append(Breach(clock.metric, clock.started_at, clock.breached_at))

    def set_paused(self, was_paused: bool, at: datetime) -> None:
        if was_paused and not self.paused:
            for clock in self.clocks():
                clock.resume(at)
        elif self.paused and not was_paused:
            for clock in self.clocks():
                clock.pause(at)

    def expire_snooze(self, upto: datetime) -> None:
        if self.snoozed and self.snoozed_until is not None and self.snoozed_until <= upto:
            at = self.snoozed_until
            self.checkpoint(at)
            was = self.paused
            self.snoozed, self.snoozed_until = False, None
            self.set_paused(was, at)

    def start_response(self, at: datetime) -> None:
        """A customer is now waiting for an answer (unless they already were)."""
        if (self.first is not None and self.first.live) or (self.next is not None and self.next.live):
            return
        clock_paused = self.paused
        if not self.first_met:
            if self.first is not None:  # resolved without an answer earlier: start afresh
                self.history.append(self.first)
            self.first = _Clock("first_response", at, None if clock_paused else at)
        else:
            if self.next is not None:
                self.history.append(self.next)
            self.next = _Clock("next_response", at, None if clock_paused else at)

    def apply(self, event: SlaEvent) -> None:
        at = event.at
        was = self.paused
        if event.kind == "inbound":
            self.pending, self.snoozed, self.snoozed_until = False, False, None
            self.resolved = False
            self.set_paused(was, at)
            if self.resolution is None:
                self.resolution = _Clock("resolution", at, at)
            elif not self.resolution.live:
                self.resolution.completed_at, self.resolution.cancelled = None, False
                self.resolution.resume(at)
            self.start_response(at)
        elif event.kind == "outbound":
            if event.automatic:
                return
            if self.first is not None and self.first.live:
                self.first.stop(at)
                self.first_met = True
            if self.next is not None and self.next.live:
                self.next.stop(at)
        elif event.kind == "pending":
            self.pending = True
            self.set_paused(was, at)
        elif event.kind == "unpending":
            self.pending = False
            self.set_paused(was, at)
        elif event.kind == "snoozed":
            self.snoozed, self.snoozed_until = True, event.until
            self.set_paused(was, at)
        elif event.kind == "unsnoozed":
            self.snoozed, self.snoozed_until = False, None
            self.set_paused(was, at)
        elif event.kind == "resolved":
            if self.resolved:
                return
            self.resolved = True
            for clock in (self.first, self.next):
                if clock is not None and clock.live:
                    clock.stop(at, cancelled=True)
            if self.resolution is not None and self.resolution.live:
                self.resolution.stop(at)
            self.pending, self.snoozed, self.snoozed_until = False, False, None
        elif event.kind == "reopened":
            if not self.resolved:
                return
            self.resolved = False
            if self.resolution is not None:
                self.resolution.completed_at = None
                self.resolution.resume(at)
            if self.resolution is not None or self.first_met:
                self.start_response(at)
        elif event.kind == "policy_changed":
            assert event.policy is not None
            self.policy, self.policy_since = event.policy, at
            self.set_paused(was, at)

    # reporting -----------------------------------------------------------------------------------

    def status(self, clock: _Clock, now: datetime) -> ClockStatus:
        target = self.policy.target(clock.metric)
        end = clock.completed_at or now
        if target is None:
            elapsed = self.elapsed(clock, Target(minutes=1, business_hours=False), end)
            remaining = due = warning_at = None
            warning = False
        else:
            amount = timedelta(minutes=target.minutes)
            elapsed = self.elapsed(clock, target, end)
            remaining = (amount - elapsed) / _MINUTE
            due = self.crossing(clock, target, amount) if clock.active_since is not None else None
            threshold = self.policy.warning_threshold(target)
            warning_at = (
                self.crossing(clock, target, amount - threshold)
                if clock.active_since is not None and threshold > timedelta()
                else None
            )
            warning = clock.live and clock.breached_at is None and amount - elapsed <= threshold
        state: ClockState
        if not clock.live:
            state = "cancelled" if clock.cancelled else ("missed" if clock.breached_at else "met")
        else:
            state = "running" if clock.active_since is not None else "paused"
        return ClockStatus(
            metric=clock.metric,
            state=state,
            started_at=clock.started_at,
            target_minutes=target.minutes if target else None,
            business_hours=bool(target and self._business(target)),
            elapsed_minutes=elapsed / _MINUTE,
            remaining_minutes=remaining,
            due_at=due,
            warning_at=warning_at,
            warning=warning,
            breached=clock.breached_at is not None,
            breached_at=clock.breached_at,
            completed_at=clock.completed_at,
        )


def evaluate_sla(
    events: Sequence[SlaEvent],
    *,
    policy: SlaPolicy = DEFAULT_POLICY,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> SlaReport:
    """Replay a conversation's events (in time order; same-time events in the order given) up to `now`.

    `policy` is in force from the start; `policy_changed` events replace it. `calendar` is the
    channel's business-hours calendar; without one, business-time targets count around the clock.
    """
    now = require_aware(now, "now")
    replay = _Replay(policy, calendar)
    ordered = sorted((e for e in events if e.at.astimezone(UTC) <= now), key=lambda e: e.at.astimezone(UTC))
    for event in ordered:
        at = event.at.astimezone(UTC)
        replay.expire_snooze(at)
        replay.checkpoint(at)
        replay.apply(event if event.at.tzinfo is UTC else _in_utc(event))
    replay.expire_snooze(now)
    # Breaches strictly before now are recorded; a due time equal to now is not yet a breach.
    replay.checkpoint(now)

    def report(clock: _Clock | None) -> ClockStatus | None:
        return replay.status(clock, now) if clock is not None else None

    # Each clock's status once (computing one costs calendar arithmetic).
    first, next_response, resolution = report(replay.first), report(replay.next), report(replay.resolution)
    statuses = [s for s in (first, next_response, resolution) if s]
    checks = [
        moment
        for s in statuses
        if s.state == "running" and not s.breached
        for moment in (s.warning_at, s.due_at)
        if moment is not None and moment > now
    ]
    if replay.snoozed_until is not None and replay.snoozed_until > now and replay.policy.pause_when_snoozed:
        checks.append(replay.snoozed_until)
    return SlaReport(
        policy=replay.policy,
        now=now,
        first_response=first,
        next_response=next_response,
        resolution=resolution,
        history=tuple(replay.status(c, now) for c in replay.history),
        breaches=tuple(sorted(replay.breaches, key=lambda b: b.breached_at)),
        paused=replay.paused,
        next_check_at=min(checks) if checks else None,
    )


def _in_utc(event: SlaEvent) -> SlaEvent:
    return SlaEvent(
        kind=event.kind,
        at=event.at.astimezone(UTC),
        until=event.until.astimezone(UTC) if event.until else None,
        policy=event.policy,
        automatic=event.automatic,
    )


def due_at(start: datetime, target: Target, calendar: BusinessCalendar | None = None) -> datetime:
    """When a target counted from `start` falls due (no pauses): the SLA due time of a new message."""
    start = require_aware(start, "start")
    if target.business_hours and calendar is not None:
        return calendar.add_business_minutes(start, target.minutes)
    return start + timedelta(minutes=target.minutes)
