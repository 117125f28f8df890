"""SLA clocks of stored conversations: replay each conversation's history through the pure engine
(``workflow.sla.evaluate_sla``), store the due times the inbox sorts and colours by, announce each
warning and breach once (event, timeline, notification), and schedule the next check.

The history is the conversation's messages (customer messages; sent replies, automatic ones marked so
they never count) plus the status changes and policy changes in its timeline, so the clock is always
recomputed from facts, never nudged incrementally — a late-arriving message or a reopen gives the same
answer as if it had come in order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

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


def status_events(entry: TimelineEntry) -> list[SlaEvent]:
    """The SLA events one status change means."""
    details = entry.details or {}
    before, after = details.get("from"), details.get("to")
    if details.get("by") == "customer":
        return []  # the customer's message itself ends pending/snooze and reopens
    events: list[SlaEvent] = []
    if before == "pending" and after != "pending":
        events.append(SlaEvent("unpending", entry.at))
    if before == "snoozed" and after != "snoozed":
        events.append(SlaEvent("unsnoozed", entry.at))
    if before in REOPENED_FROM and after not in REOPENED_FROM:
        events.append(SlaEvent("reopened", entry.at))
    if after == "pending":
        events.append(SlaEvent("pending", entry.at))
    elif after == "snoozed":
        until = details.get("until")
        events.append(SlaEvent("snoozed", entry.at, until=datetime.fromisoformat(until) if until else None))
    elif after in REOPENED_FROM and before not in REOPENED_FROM:
        events.append(SlaEvent("resolved", entry.at))
    return events


def sla_history(
    session: Session, conversation: Conversation, config: CompiledConfig
) -> tuple[SlaPolicy | None, list[SlaEvent]]:
    """The conversation's SLA events in time order, and the policy first chosen for it (if any)."""
    answers = set(
        session.scalars(
            select(CsatSurvey.answer_message_id).where(
                CsatSurvey.conversation_id == conversation.id, CsatSurvey.answer_message_id.is_not(None)
            )
        )
    )
    timed: list[tuple[datetime, int, SlaEvent]] = []
    for message_id, direction, created_at, automatic, state in session.execute(
        select(
            Message.id, Message.direction, Message.created_at, Message.is_automatic, Message.delivery_state
        )
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.created_at, Message.id)
    ):
        if direction == "in":
            if message_id not in answers:
                timed.append((created_at, 1, SlaEvent("inbound", created_at)))
        elif state == "sent":
            timed.append((created_at, 1, SlaEvent("outbound", created_at, automatic=automatic)))
    first_policy: SlaPolicy | None = None
    for entry in session.scalars(
        select(TimelineEntry)
        .where(
            TimelineEntry.conversation_id == conversation.id,
            TimelineEntry.kind.in_(("status", "sla_policy")),
        )
        .order_by(TimelineEntry.at, TimelineEntry.id)
    ):
        if entry.kind == "status":
            timed.extend((entry.at, 2, event) for event in status_events(entry))
            continue
        key = str((entry.details or {}).get("policy", "default"))
        policy = config.policy_by_key.get(key, DEFAULT_POLICY)
        if first_policy is None:
            first_policy = policy
        else:
            timed.append((entry.at, 0, SlaEvent("policy_changed", entry.at, policy=policy)))
    timed.sort(key=lambda item: (item[0], item[1]))
    return first_policy, [event for _, _, event in timed]


def current_policy(config: CompiledConfig, conversation: Conversation) -> SlaPolicy:
    priority = conversation.priority if conversation.priority in ("low", "normal", "high", "urgent") else None
    return select_policy(
        config.policies,
        brand=conversation.brand_id,
        channel=conversation.channel_id,
        priority=priority,  # type: ignore[arg-type]
    )


def _clock_json(clock: ClockStatus | None) -> dict[str, Any] | None:
    if clock is None:
        return None
    return {
        "state": clock.state,
        "level": clock.level,
        "started_at": clock.started_at.isoformat(),
        "target_minutes": clock.target_minutes,
        "business_hours": clock.business_hours,
        "elapsed_minutes": round(clock.elapsed_minutes, 2),
        "remaining_minutes": round(clock.remaining_minutes, 2)
        if clock.remaining_minutes is not None
        else None,
        "due_at": clock.due_at.isoformat() if clock.due_at else None,
        "warning_at": clock.warning_at.isoformat() if clock.warning_at else None,
        "breached_at": clock.breached_at.isoformat() if clock.breached_at else None,
    }


def _live_due(clock: ClockStatus | None) -> datetime | None:
    return clock.due_at if clock is not None and clock.state == "running" else None


def refresh_sla(
    session: Session,
    *,
    conversation: Conversation,
    state: ConversationWorkflowState | None = None,
    config: CompiledConfig | None = None,
    now: datetime | None = None,
) -> SlaReport:
    """Recompute the conversation's SLA clocks, store them, announce news, schedule the next check."""
    now = now or utcnow()
    config = config or load_config(session, conversation.organization_id)
    state = state or workflow_state(session, conversation)
    policy = current_policy(config, conversation)
    first_policy, events = sla_history(session, conversation, config)
    if first_policy is None or policy.id != state.policy_key:
        add_timeline(
            session,
            conversation=conversation,
            kind="sla_policy",
            summary=f"SLA policy {policy.id!r}" + (f" ({policy.name})" if policy.name else ""),
            details={"policy": policy.id},
            at=now,
        )
        if first_policy is None:
            first_policy = policy
        else:
            events.append(SlaEvent("policy_changed", now, policy=policy))
        state.policy_key = policy.id
    calendar_id = config.channel_calendar.get(conversation.channel_id)
    calendar = config.calendars.get(calendar_id) if calendar_id is not None else None
    report = evaluate_sla(events, policy=first_policy, now=now, calendar=calendar)
    running_levels = [clock.level for clock in report.clocks if clock.state in ("running", "paused")]
    state.sla = {
        "policy": report.policy.id,
        "policy_name": report.policy.name,
        "paused": report.paused,
        "first_response": _clock_json(report.first_response),
        "next_response": _clock_json(report.next_response),
        "resolution": _clock_json(report.resolution),
        "breaches": [
            {
                "metric": b.metric,
                "started_at": b.started_at.isoformat(),
                "breached_at": b.breached_at.isoformat(),
            }
            for b in report.breaches
        ],
        "evaluated_at": now.isoformat(),
    }
    state.sla_level = max(running_levels, key=lambda level: LEVEL_ORDER.get(level, 0), default="none")
    state.first_response_due_at = _live_due(report.first_response)
    state.next_response_due_at = _live_due(report.next_response)
    state.resolution_due_at = _live_due(report.resolution)
    state.next_due_at = report.next_due_at
    _announce(session, conversation=conversation, state=state, report=report)
    check = report.next_check_at
    if check is not None and check != state.next_check_at:
        enqueue(
            session,
            queue="workflow",
            kind="sla.check",
            payload={"conversation_id": conversation.id},
            run_at=check + timedelta(seconds=1),
        )
    state.next_check_at = check
    return report


METRIC_LABELS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


def _announce(
    session: Session, *, conversation: Conversation, state: ConversationWorkflowState, report: SlaReport
) -> None:
    announced = list(state.announced or [])
    news: list[tuple[str, str, datetime | None]] = []
    for clock in report.clocks:
        key = f"warning:{clock.metric}:{clock.started_at.isoformat()}"
        if clock.state == "running" and clock.warning and not clock.breached and key not in announced:
            announced.append(key)
            news.append(("warning", clock.metric, clock.due_at))
    for breach in report.breaches:
        key = f"breach:{breach.metric}:{breach.started_at.isoformat()}"
        if key not in announced:
            announced.append(key)
            news.append(("breach", breach.metric, breach.breached_at))
    if not news:
        return
    state.announced = announced
    people = owners(session, conversation)
    for level, metric, due in news:
        label = METRIC_LABELS.get(metric, metric)
        when = due.strftime("%Y-%m-%d %H:%M UTC") if due else ""
        text = (
            f"SLA warning: {label} due {when}"
            if level == "warning"
            else f"SLA breached: {label} was due {when}"
        )
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
            ],
        )
        add_timeline(
            session,
            conversation=conversation,
            kind=f"sla_{level}",
            summary=text,
            details={"metric": metric, "due_at": due.isoformat() if due else None},
        )
        notify(session, user_ids=people, kind=f"sla_{level}", text=text, conversation=conversation)


def do_check_sla(session: Session, *, conversation_id: int, now: datetime | None = None) -> SlaReport | None:
    """The scheduled re-evaluation (job ``sla.check``)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    return refresh_sla(session, conversation=conversation, now=now)
