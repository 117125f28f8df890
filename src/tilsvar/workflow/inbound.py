"""Everything the workflow decides for one inbound message, in one call: routing, assignment, SLA.

The actions layer calls `plan_inbound` inside the transaction that stores a message and writes what
it returns (team, assignee, priority, tags, due times, the explanation). Keeping the composition here
means the order (rules first, then the person, then the clock with the priority the rules set) is
tested and benchmarked once, without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tilsvar.workflow.assignment import (
    AgentSnapshot,
    AssignmentDecision,
    AssignmentRequest,
    TeamSnapshot,
    assign,
)
from tilsvar.workflow.common import PRIORITIES, Priority, Ref
from tilsvar.workflow.conditions import MessageContext
from tilsvar.workflow.rules import RoutingDecision, RuleSet
from tilsvar.workflow.sla import DEFAULT_POLICY, SlaEvent, SlaPolicy, SlaReport, evaluate_sla, select_policy


@dataclass(frozen=True)
class Workflow:
    """One organisation's compiled configuration; build it once and reuse it for every message."""

    rules: RuleSet
    teams: Mapping[Ref, TeamSnapshot]
    fallback_team: Ref
    policies: tuple[SlaPolicy, ...] = ()
    default_policy: SlaPolicy = DEFAULT_POLICY

    @classmethod
    def build(
        cls,
        *,
        rules: RuleSet,
        teams: Iterable[TeamSnapshot],
        fallback_team: Ref,
        policies: Iterable[SlaPolicy] = (),
        default_policy: SlaPolicy = DEFAULT_POLICY,
    ) -> Workflow:
        return cls(rules, {t.id: t for t in teams}, fallback_team, tuple(policies), default_policy)


@dataclass(frozen=True)
class ConversationState:
    """What is already known about the conversation and the customer before this message."""

    events: tuple[SlaEvent, ...] = ()
    current_team: Ref | None = None
    current_assignee: Ref | None = None
    previous_owner: Ref | None = None
    previous_handled_at: datetime | None = None
    round_robin_cursors: Mapping[Ref, Ref] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundPlan:
    routing: RoutingDecision
    assignment: AssignmentDecision
    priority: Priority | None
    policy: SlaPolicy
    sla: SlaReport
    answer_expected_at: datetime | None  # outside staffed hours: when the team opens (for the auto-reply)

    def explain(self) -> str:
        lines = [self.routing.explain(), "Assignment: " + self.assignment.explain() + "."]
        lines.append(
            f"SLA policy {self.policy.id!r}" + (f" ({self.policy.name})" if self.policy.name else "") + "."
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class RoutingPlan:
    """Routing and assignment for one message, and the SLA policy they select (clocks not evaluated:
    the database path replays the conversation's whole history for those)."""

    routing: RoutingDecision
    assignment: AssignmentDecision
    priority: Priority | None
    policy: SlaPolicy

    def explain(self) -> str:
        lines = [self.routing.explain(), "Assignment: " + self.assignment.explain() + "."]
        lines.append(
            f"SLA policy {self.policy.id!r}" + (f" ({self.policy.name})" if self.policy.name else "") + "."
        )
        return "\n".join(lines)


def plan_routing(
    workflow: Workflow,
    context: MessageContext,
    *,
    agents: Iterable[AgentSnapshot] | Mapping[Ref, AgentSnapshot],
    channel_key: str,
    state: ConversationState | None = None,
) -> RoutingPlan:
    """Route and assign one inbound message and pick its SLA policy."""
    state = state or ConversationState()
    routing = workflow.rules.evaluate(context)
    team = routing.target_team
    resolved_team = team if team is not None else state.current_team
    request = AssignmentRequest(
        channel=channel_key,
        arrived_at=context.received_at,
        team=team,
        agent=routing.agent,
        current_team=state.current_team,
        current_assignee=state.current_assignee,
        language=context.language,
        topic=context.intent,
        previous_owner=state.previous_owner,
        previous_handled_at=state.previous_handled_at,
        round_robin_after=state.round_robin_cursors.get(resolved_team) if resolved_team is not None else None,
    )
    assignment = assign(request, agents=agents, teams=workflow.teams, fallback_team=workflow.fallback_team)
    priority = routing.priority or _priority(context.priority)
    policy = select_policy(
        workflow.policies,
        brand=context.brand,
        channel=context.channel,
        priority=priority,
        default=workflow.default_policy,
    )
    return RoutingPlan(routing, assignment, priority, policy)


def plan_inbound(
    workflow: Workflow,
    context: MessageContext,
    *,
    agents: Iterable[AgentSnapshot] | Mapping[Ref, AgentSnapshot],
    channel_key: str,
    state: ConversationState | None = None,
) -> InboundPlan:
    """Route, assign and start the SLA clocks for one inbound message."""
    state = state or ConversationState()
    plan = plan_routing(workflow, context, agents=agents, channel_key=channel_key, state=state)
    events = (*state.events, SlaEvent("inbound", context.received_at))
    sla = evaluate_sla(events, policy=plan.policy, now=context.received_at, calendar=context.calendar)
    calendar = context.calendar
    expected = None
    if calendar is not None and not calendar.is_open(context.received_at):
        expected = calendar.next_opening(context.received_at)
    return InboundPlan(plan.routing, plan.assignment, plan.priority, plan.policy, sla, expected)


def _priority(value: str | None) -> Priority | None:
    return next((name for name in PRIORITIES if name == value), None)
