"""SLA clocks of stored conversations: replay each conversation's history through the pure engine
(``workflow.sla.evaluate_sla``), store the due times the inbox sorts and colours by, announce each
warning and breach once (event, timeline, notification), and schedule the next check.

The history is the conversation's messages (customer messages; sent replies, automatic ones marked so
they never count) plus the status changes and policy changes in its timeline, so the clock is always
recomputed from facts, never nudged incrementally — a late-arriving message or a reopen gives the same
answer as if it had come in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsvar.actions.timeline import add_timeline, notify, owners
from tilsvar.actions.workflow_config import CompiledConfig, load_config
from tilsvar.events import SlaAlert, record_events
from tilsvar.jobs.queue import enqueue
from tilsvar.models import Conversation, Message, utcnow
from tilsvar.models.workflow import ConversationWorkflowState, CsatSurvey, TimelineEntry
from tilsvar.workflow.sla import (
    DEFAULT_POLICY,
    ClockStatus,
    SlaEvent,
    SlaPolicy,
    SlaReport,
    evaluate_sla,
    select_policy,
)

LEVEL_ORDER = {"breached": 5, "warning": 4, "ok": 3, "paused": 2, "none": 1}
REOPENED_FROM = frozenset({"resolved", "closed"})


def workflow_state(session: Session, conversation: Conversation) -> ConversationWorkflowState:
    state = session.get(ConversationWorkflowState, conversation.id)
    if state is None:
        state = ConversationWorkflowState(
            conversation_id=conversation.id,
            status_seen=conversation.status,
            explanation="",
            routing={},
            announced=[],
            sla={},
            policy_key="default",
            sla_level="none",
            requires_approval=False,
        )
        session.add(state)
        session.flush()
    return state


def status_events(at: datetime, details: dict[str, Any] | None) -> list[SlaEvent]:
    """The SLA events one status change (a timeline entry's time and details) means."""
    details = details or {}
    before, after = details.get("from"), details.get("to")
    if details.get("by") == "customer":
        return []  # the customer's message itself ends pending/snooze and reopens
    events: list[SlaEvent] = []
    if before == "pending" and after != "pending":
        events.append(SlaEvent("unpending", at))
    if before == "snoozed" and after != "snoozed":
        events.append(SlaEvent("unsnoozed", at))
    if before in REOPENED_FROM and after not in REOPENED_FROM:
        events.append(SlaEvent("reopened", at))
    if after == "pending":
        events.append(SlaEvent("pending", at))
    elif after == "snoozed":
        until = details.get("until")
        events.append(SlaEvent("snoozed", at, until=datetime.fromisoformat(until) if until else None))
    elif after in REOPENED_FROM and before not in REOPENED_FROM:
        events.append(SlaEvent("resolved", at))
    return events


MessageRow = tuple[int, str, datetime, bool, str]  # id, direction, created_at, is_automatic, delivery_state
TimelineRow = tuple[datetime, str, dict[str, Any]]  # at, kind (status | sla_policy), details; in time order


def events_from_rows(
    messages: list[MessageRow], answers: set[int], timeline: list[TimelineRow], config: CompiledConfig
) -> tuple[SlaPolicy | None, list[SlaEvent]]:
    """The conversation's SLA events in time order, and the policy first chosen for it (if any), from
    its messages (survey answers left out) and its status and policy timeline entries."""
    timed: list[tuple[datetime, int, SlaEvent]] = []
    for message_id, direction, created_at, automatic, delivery in messages:
        if direction == "in":
            if message_id not in answers:
                timed.append((created_at, 1, SlaEvent("inbound", created_at)))
        elif delivery == "sent":
            timed.append((created_at, 1, SlaEvent("outbound", created_at, automatic=automatic)))
    first_policy: SlaPolicy | None = None
    for at, kind, details in timeline:
        if kind == "status":
            timed.extend((at, 2, event) for event in status_events(at, details))
            continue
        key = str((details or {}).get("policy", "default"))
        policy = config.policy_by_key.get(key, DEFAULT_POLICY)
        if first_policy is None:
            first_policy = policy
        else:
            timed.append((at, 0, SlaEvent("policy_changed", at, policy=policy)))
    timed.sort(key=lambda item: (item[0], item[1]))
    return first_policy, [event for _, _, event in timed]


def sla_history(
    session: Session, conversation: Conversation, config: CompiledConfig
) -> tuple[SlaPolicy | None, list[SlaEvent]]:
    """The conversation's SLA events in time order, and the policy first chosen for it (if any)."""
    answers = {
        answer
        for answer in session.scalars(
            select(CsatSurvey.answer_message_id).where(
                CsatSurvey.conversation_id == conversation.id, CsatSurvey.answer_message_id.is_not(None)
            )
        )
        if answer is not None
    }
    messages: list[MessageRow] = [
        (row[0], row[1], row[2], row[3], row[4])
        for row in session.execute(
            select(
                Message.id,
                Message.direction,
                Message.created_at,
                Message.is_automatic,
                Message.delivery_state,
            )
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.created_at, Message.id)
        )
    ]
    timeline: list[TimelineRow] = [
        (row[0], row[1], row[2] or {})
        for row in session.execute(
            select(TimelineEntry.at, TimelineEntry.kind, TimelineEntry.details)
            .where(
                TimelineEntry.conversation_id == conversation.id,
                TimelineEntry.kind.in_(("status", "sla_policy")),
            )
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
    ]
    return events_from_rows(messages, answers, timeline, config)


def current_policy(config: CompiledConfig, conversation: PolicyTarget) -> SlaPolicy:
    priority = conversation.priority if conversation.priority in ("low", "normal", "high", "urgent") else None
    return select_policy(
        config.policies,
        brand=conversation.brand_id,
        channel=conversation.channel_id,
        priority=priority,  # type: ignore[arg-type]
    )


class _IsoTexts(dict[tuple[datetime, Any], str]):
    """Each instant's ``isoformat`` once per plan: a plan writes the same few instants (the customer's
    message starts two or three clocks) a dozen times, and routing plans one per message."""

    def __call__(self, moment: datetime) -> str:
        key = (moment, moment.tzinfo)  # (equal instants in other zones are written differently)
        text = self.get(key)
        if text is None:
            text = self[key] = moment.isoformat()
        return text


def _clock_json(clock: ClockStatus | None, iso: _IsoTexts) -> dict[str, Any] | None:
    if clock is None:
        return None
    return {
        "state": clock.state,
        "level": clock.level,
        "started_at": iso(clock.started_at),
        "target_minutes": clock.target_minutes,
        "business_hours": clock.business_hours,
        "elapsed_minutes": round(clock.elapsed_minutes, 2),
        "remaining_minutes": round(clock.remaining_minutes, 2)
        if clock.remaining_minutes is not None
        else None,
        "due_at": iso(clock.due_at) if clock.due_at else None,
        "warning_at": iso(clock.warning_at) if clock.warning_at else None,
        "breached_at": iso(clock.breached_at) if clock.breached_at else None,
    }


def _live_due(clock: ClockStatus | None) -> datetime | None:
    return clock.due_at if clock is not None and clock.state == "running" else None


class PolicyTarget(Protocol):
    """What policy selection reads of a conversation (an ORM row or routing's in-memory copy)."""

    id: int
    brand_id: int
    channel_id: int
    priority: str


@dataclass
class SlaOutcome:
    """What recomputing one conversation's clocks decided, for the caller to store (ORM or Core)."""

    report: SlaReport
    values: dict[str, Any]  # conversation_workflow columns to set
    timeline: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # kind, summary, details
    alerts: list[tuple[str, str, datetime | None, str]] = field(
        default_factory=list
    )  # level, metric, due, text
    check_at: datetime | None = None  # schedule an ``sla.check`` job then (None: nothing new to schedule)


def plan_sla(
    *,
    conversation: PolicyTarget,
    policy_key: str,
    announced: list[str] | None,
    next_check_at: datetime | None,
    config: CompiledConfig,
    first_policy: SlaPolicy | None,
    events: list[SlaEvent],
    now: datetime,
) -> SlaOutcome:
    """Evaluate the clocks from the history and decide what to store and announce (no database)."""
    policy = current_policy(config, conversation)
    timeline: list[tuple[str, str, dict[str, Any]]] = []
    if first_policy is None or policy.id != policy_key:
        timeline.append(
            (
                "sla_policy",
                f"SLA policy {policy.id!r}" + (f" ({policy.name})" if policy.name else ""),
                {"policy": policy.id},
            )
        )
        if first_policy is None:
            first_policy = policy
        else:
            events = [*events, SlaEvent("policy_changed", now, policy=policy)]
    calendar_id = config.channel_calendar.get(conversation.channel_id)
    calendar = config.calendars.get(calendar_id) if calendar_id is not None else None
    report = evaluate_sla(events, policy=first_policy, now=now, calendar=calendar)
    running_levels = [clock.level for clock in report.clocks if clock.state in ("running", "paused")]
    iso = _IsoTexts()
    values: dict[str, Any] = {
        "policy_key": policy.id,
        "sla": {
            "policy": report.policy.id,
            "policy_name": report.policy.name,
            "paused": report.paused,
            "first_response": _clock_json(report.first_response, iso),
            "next_response": _clock_json(report.next_response, iso),
            "resolution": _clock_json(report.resolution, iso),
            "breaches": [
                {
                    "metric": b.metric,
                    "started_at": iso(b.started_at),
                    "breached_at": iso(b.breached_at),
                }
                for b in report.breaches
            ],
            "evaluated_at": iso(now),
        },
        "sla_level": max(running_levels, key=lambda level: LEVEL_ORDER.get(level, 0), default="none"),
        "first_response_due_at": _live_due(report.first_response),
        "next_response_due_at": _live_due(report.next_response),
        "resolution_due_at": _live_due(report.resolution),
        "next_due_at": report.next_due_at,
        "next_check_at": report.next_check_at,
    }
    outcome = SlaOutcome(report=report, values=values, timeline=timeline)
    announced_now = list(announced or [])
    news: list[tuple[str, str, datetime | None]] = []
    for clock in report.clocks:
        key = f"warning:{clock.metric}:{iso(clock.started_at)}"
        if clock.state == "running" and clock.warning and not clock.breached and key not in announced_now:
            announced_now.append(key)
            news.append(("warning", clock.metric, clock.due_at))
    for breach in report.breaches:
        key = f"breach:{breach.metric}:{iso(breach.started_at)}"
        if key not in announced_now:
            announced_now.append(key)
            news.append(("breach", breach.metric, breach.breached_at))
    if news:
        values["announced"] = announced_now
    for level, metric, due in news:
        label = METRIC_LABELS.get(metric, metric)
        when = due.strftime("%Y-%m-%d %H:%M UTC") if due else ""
        text = (
            f"SLA warning: {label} due {when}"
            if level == "warning"
            else f"SLA breached: {label} was due {when}"
        )
        outcome.alerts.append((level, metric, due, text))
        timeline.append((f"sla_{level}", text, {"metric": metric, "due_at": iso(due) if due else None}))
    check = report.next_check_at
    if check is not None and check != next_check_at:
        outcome.check_at = check
    return outcome


def refresh_sla(
    session: Session,
    *,
    conversation: Conversation,
    state: ConversationWorkflowState | None = None,
    config: CompiledConfig | None = None,
    now: datetime | None = None,
) -> SlaReport:
    """Recompute the conversation's SLA clocks, store them, announce news, schedule the next check.

    One conversation through the ORM (replies, status changes, the scheduled check); routing does the
    same for a whole batch with set-based statements (``actions.routing``)."""
    now = now or utcnow()
    config = config or load_config(session, conversation.organization_id)
    state = state or workflow_state(session, conversation)
    first_policy, events = sla_history(session, conversation, config)
    outcome = plan_sla(
        conversation=conversation,
        policy_key=state.policy_key,
        announced=state.announced,
        next_check_at=state.next_check_at,
        config=config,
        first_policy=first_policy,
        events=events,
        now=now,
    )
    for name, value in outcome.values.items():
        setattr(state, name, value)
    for kind, summary, details in outcome.timeline:
        add_timeline(
            session,
            conversation=conversation,
            kind=kind,
            summary=summary,
            details=details,
            at=now if kind == "sla_policy" else None,
        )
    if outcome.alerts:
        record_events(
            session,
            [
                SlaAlert(
                    organization_id=conversation.organization_id,
                    brand_id=conversation.brand_id,
                    conversation_id=conversation.id,
                    metric=metric,
                    level=level,
                    due_at=due.isoformat() if due else None,
                )
                for level, metric, due, _ in outcome.alerts
            ],
        )
        people = owners(session, conversation)
        for level, _, _, text in outcome.alerts:
            notify(session, user_ids=people, kind=f"sla_{level}", text=text, conversation=conversation)
    if outcome.check_at is not None:
        enqueue(
            session,
            queue="workflow",
            kind="sla.check",
            payload={"conversation_id": conversation.id},
            run_at=outcome.check_at + timedelta(seconds=1),
        )
    return outcome.report


METRIC_LABELS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


def do_check_sla(session: Session, *, conversation_id: int, now: datetime | None = None) -> SlaReport | None:
    """The scheduled re-evaluation (job ``sla.check``)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    return refresh_sla(session, conversation=conversation, now=now)
