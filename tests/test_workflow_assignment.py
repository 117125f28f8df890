"""Assignment inside a team, and the one-call inbound plan: nobody is skipped, nothing is unowned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tilsvar.workflow.assignment import AgentSnapshot, AssignmentRequest, TeamSnapshot, assign
from tilsvar.workflow.calendar import calendar_from_hours
from tilsvar.workflow.common import Ref
from tilsvar.workflow.conditions import MessageContext
from tilsvar.workflow.inbound import ConversationState, Workflow, plan_inbound
from tilsvar.workflow.rules import load_rules
from tilsvar.workflow.sla import SlaEvent, SlaPolicy, Target

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
FALLBACK = "unassigned"


def agent(agent_id: int, **fields: object) -> AgentSnapshot:
    fields.setdefault("teams", frozenset({"service"}))
    return AgentSnapshot(id=agent_id, name=f"agent{agent_id}", **fields)  # type: ignore[arg-type]


def request(**fields: object) -> AssignmentRequest:
    fields.setdefault("channel", "social")
    fields.setdefault("arrived_at", NOW)
    fields.setdefault("team", "service")
    return AssignmentRequest(**fields)  # type: ignore[arg-type]


SERVICE_RR = TeamSnapshot("service", members=(1, 2, 3, 4))
SERVICE_LL = TeamSnapshot("service", strategy="least_loaded", members=(1, 2, 3, 4))


def test_round_robin_goes_around_and_skips_unavailable_agents() -> None:
    agents = [agent(1), agent(2, online=False), agent(3), agent(4, active=False)]
    chosen = []
    cursor: Ref | None = None
    for _ in range(4):
        decision = assign(
            request(round_robin_after=cursor), agents=agents, teams=[SERVICE_RR], fallback_team=FALLBACK
        )
        assert decision.reason == "round_robin"
        chosen.append(decision.agent)
        cursor = decision.round_robin_cursor
    assert chosen == [1, 3, 1, 3]
    assert (
        "round robin: agent 'agent3' is next"
        in assign(
            request(round_robin_after=1), agents=agents, teams=[SERVICE_RR], fallback_team=FALLBACK
        ).explain()
    )


def test_round_robin_cursor_on_a_member_who_left_starts_over() -> None:
    decision = assign(
        request(round_robin_after=99), agents=[agent(1), agent(2)], teams=[SERVICE_RR], fallback_team=FALLBACK
    )
    assert decision.agent == 1


def test_least_loaded_respects_capacity_per_channel() -> None:
    agents = [
        agent(1, capacity={"social": 5, "*": 2}, load={"social": 4}),
        agent(2, capacity={"social": 10}, load={"social": 5}),  # 50 %
        agent(3, capacity={"social": 2}, load={"social": 2}),  # full
        agent(
            4, capacity={"social": 4}, load={"social": 2, "email": 9}
        ),  # 50 %, earlier in order? no: 2 first
    ]
    decision = assign(request(), agents=agents, teams=[SERVICE_LL], fallback_team=FALLBACK)
    assert decision.agent == 4  # 50 % like agent 2, but fewer conversations
    assert decision.reason == "least_loaded"
    assert "has 2/4 on social" in decision.explain()
    email = assign(request(channel="email"), agents=agents, teams=[SERVICE_LL], fallback_team=FALLBACK)
    assert email.agent == 1  # 0 of 2 by its "*" capacity; ties go to fewer conversations, then team order
    assert "has 0/2 on email" in email.explain()


def test_everyone_full_or_offline_goes_to_the_team_queue() -> None:
    agents = [
        agent(1, online=False),
        agent(2, capacity={"social": 1}, load={"social": 1}),
        agent(3, languages=frozenset({"sv"})),
    ]
    decision = assign(request(language="da"), agents=agents, teams=[SERVICE_LL], fallback_team=FALLBACK)
    assert decision.team == "service"
    assert decision.agent is None
    assert decision.reason == "queue"
    assert (
        "1 is offline, 1 is at capacity for social, 1 does not speak da, 1 no longer exists"
        in decision.explain()
    )


def test_skills_language_channel_and_topic() -> None:
    agents = [
        agent(1, languages=frozenset({"sv"})),
        agent(2, languages=frozenset({"da", "nb"}), channels=frozenset({"email"})),
        agent(3, languages=frozenset({"da"})),
        agent(4, languages=frozenset({"da"}), topics=frozenset({"refund"})),
    ]
    danish = assign(request(language="da"), agents=agents, teams=[SERVICE_RR], fallback_team=FALLBACK)
    assert danish.agent == 3
    refund = assign(
        request(language="DA", topic="refund"), agents=agents, teams=[SERVICE_RR], fallback_team=FALLBACK
    )
    assert refund.agent == 4
    assert "preferring agents who know 'refund'" in refund.explain()
    unknown_topic = assign(
        request(language="da", topic="lost"), agents=agents, teams=[SERVICE_RR], fallback_team=FALLBACK
    )
    assert unknown_topic.agent == 3
    mail = assign(
        request(language="nb", channel="email"), agents=agents, teams=[SERVICE_RR], fallback_team=FALLBACK
    )
    assert mail.agent == 2


def test_manual_team_always_queues() -> None:
    team = TeamSnapshot("press", strategy="manual", members=(1,))
    decision = assign(request(team="press"), agents=[agent(1)], teams=[team], fallback_team=FALLBACK)
    assert (decision.team, decision.agent, decision.reason) == ("press", None, "queue")


# rules, current assignee, fallbacks ------------------------------------------------------------------


def test_agent_named_by_a_rule_wins_when_available() -> None:
    agents = [agent(1), agent(7, teams=frozenset({"vip"}), capacity={"social": 0})]
    decision = assign(request(agent=7), agents=agents, teams=[SERVICE_RR], fallback_team=FALLBACK)
    assert (decision.agent, decision.reason) == (7, "rule")
    offline = [agent(1), agent(7, online=False)]
    decision = assign(request(agent=7), agents=offline, teams=[SERVICE_RR], fallback_team=FALLBACK)
    assert decision.agent == 1
    assert "agent 'agent7' named by a routing rule is offline" in decision.explain()


def test_current_assignee_is_kept_unless_offline_or_deleted() -> None:
    agents = [agent(1), agent(2)]
    kept = assign(
        request(current_assignee=2, current_team="service"),
        agents=agents,
        teams=[SERVICE_RR],
        fallback_team=FALLBACK,
    )
    assert (kept.agent, kept.reason) == (2, "current")
    deleted = assign(request(current_assignee=9), agents=agents, teams=[SERVICE_RR], fallback_team=FALLBACK)
    assert deleted.agent == 1
    assert "current assignee agent 9 no longer exists" in deleted.explain()
    offline = [agent(1, online=False), agent(2, online=False)]
    queued = assign(request(current_assignee=2), agents=offline, teams=[SERVICE_RR], fallback_team=FALLBACK)
    assert (queued.team, queued.agent) == ("service", None)


def test_current_assignee_outside_an_escalation_team_is_not_kept() -> None:
    press = TeamSnapshot("press", members=(5,))
    agents = [agent(2), agent(5, teams=frozenset({"press"}))]
    decision = assign(
        request(team="press", current_team="service", current_assignee=2),
        agents=agents,
        teams=[SERVICE_RR, press],
        fallback_team=FALLBACK,
    )
    assert (decision.team, decision.agent) == ("press", 5)
    assert "is not in team 'press'" in decision.explain()


def test_missing_team_falls_back_to_current_team_then_fallback_queue() -> None:
    decision = assign(
        request(team="gone", current_team="service"),
        agents=[agent(1)],
        teams=[SERVICE_RR],
        fallback_team=FALLBACK,
    )
    assert (decision.team, decision.agent) == ("service", 1)
    assert "team 'gone' from routing no longer exists" in decision.explain()
    nowhere = assign(request(team=None), agents=[agent(1)], teams=[SERVICE_RR], fallback_team=FALLBACK)
    assert (nowhere.team, nowhere.agent, nowhere.reason) == (FALLBACK, None, "queue")
    assert "fallback queue 'unassigned'" in nowhere.explain()


# sticky owner --------------------------------------------------------------------------------------


STICKY = TeamSnapshot("service", members=(1, 2, 3), sticky_hours=72, sticky_wait_minutes=30)


def test_follow_up_goes_back_to_the_owner_within_the_window() -> None:
    agents = [agent(1), agent(2), agent(3)]
    decision = assign(
        request(previous_owner=3, previous_handled_at=NOW - timedelta(hours=5)),
        agents=agents,
        teams=[STICKY],
        fallback_team=FALLBACK,
    )
    assert (decision.agent, decision.reason) == (3, "sticky")
    assert "handled this customer 5 h ago" in decision.explain()
    stale = assign(
        request(previous_owner=3, previous_handled_at=NOW - timedelta(days=4)),
        agents=agents,
        teams=[STICKY],
        fallback_team=FALLBACK,
    )
    assert stale.reason == "round_robin"


def test_unavailable_owner_is_waited_for_then_released() -> None:
    agents = [agent(1), agent(2), agent(3, online=False)]
    held = assign(
        request(previous_owner=3, previous_handled_at=NOW - timedelta(hours=1)),
        agents=agents,
        teams=[STICKY],
        fallback_team=FALLBACK,
    )
    assert (held.team, held.agent, held.reason) == ("service", None, "reserved")
    assert held.reserved_for == 3
    assert held.reserved_until == NOW + timedelta(minutes=30)
    released = assign(
        request(
            previous_owner=3, previous_handled_at=NOW - timedelta(hours=1), now=NOW + timedelta(minutes=30)
        ),
        agents=agents,
        teams=[STICKY],
        fallback_team=FALLBACK,
    )
    assert released.agent == 1
    assert "sticky owner agent 'agent3' is offline" in released.explain()
    no_wait = TeamSnapshot("service", members=(1, 2, 3), sticky_hours=72)
    direct = assign(
        request(previous_owner=3, previous_handled_at=NOW - timedelta(hours=1)),
        agents=agents,
        teams=[no_wait],
        fallback_team=FALLBACK,
    )
    assert direct.agent == 1


def test_deleted_owner_is_not_waited_for() -> None:
    agents = [agent(1), agent(3, active=False)]
    decision = assign(
        request(previous_owner=3, previous_handled_at=NOW - timedelta(hours=1)),
        agents=agents,
        teams=[STICKY],
        fallback_team=FALLBACK,
    )
    assert decision.agent == 1


# nothing is ever unowned ------------------------------------------------------------------------------

agent_strategy = st.builds(
    AgentSnapshot,
    id=st.integers(min_value=1, max_value=8),
    online=st.booleans(),
    active=st.booleans(),
    languages=st.frozensets(st.sampled_from(["da", "sv", "nb"]), max_size=2),
    channels=st.frozensets(st.sampled_from(["social", "email"]), max_size=1),
    capacity=st.dictionaries(st.sampled_from(["social", "email", "*"]), st.integers(0, 3), max_size=2),
    load=st.dictionaries(st.sampled_from(["social", "email"]), st.integers(0, 4), max_size=2),
)
team_strategy = st.builds(
    TeamSnapshot,
    id=st.sampled_from(["service", "press", "marketing"]),
    strategy=st.sampled_from(["round_robin", "least_loaded", "manual"]),
    members=st.lists(st.integers(min_value=1, max_value=9), max_size=6, unique=True).map(tuple),
    sticky_hours=st.sampled_from([0.0, 24.0]),
    sticky_wait_minutes=st.sampled_from([0.0, 15.0]),
)


@settings(max_examples=300, deadline=None)
@given(
    agents=st.lists(agent_strategy, max_size=8),
    teams=st.lists(team_strategy, max_size=3),
    team=st.sampled_from([None, "service", "press", "gone"]),
    rule_agent=st.sampled_from([None, 1, 5, 42]),
    current=st.sampled_from([None, 2, 42]),
    owner=st.sampled_from([None, 3, 42]),
    channel=st.sampled_from(["social", "email"]),
    language=st.sampled_from([None, "da", "pl"]),
)
def test_every_inbound_conversation_lands_in_some_queue(
    agents: list[AgentSnapshot],
    teams: list[TeamSnapshot],
    team: str | None,
    rule_agent: int | None,
    current: int | None,
    owner: int | None,
    channel: str,
    language: str | None,
) -> None:
    decision = assign(
        request(
            team=team,
            agent=rule_agent,
            current_assignee=current,
            previous_owner=owner,
            previous_handled_at=NOW - timedelta(hours=1),
            channel=channel,
            language=language,
        ),
        agents=agents,
        teams=teams,
        fallback_team=FALLBACK,
    )
    known_teams = {t.id for t in teams} | {FALLBACK}
    assert decision.team in known_teams
    assert decision.explanation
    if decision.agent is not None:
        chosen = {a.id: a for a in agents}[decision.agent]
        assert chosen.active
        assert chosen.online


# the one-call plan ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    rules = load_rules(
        """
        - id: x-to-press
          position: 1
          when: {platform: x}
          then: [{assign_team: press}, {set_priority: high}]
          stop: true
        - id: service
          position: 100
          then: [{assign_team: service}]
        """
    )
    return Workflow.build(
        rules=rules,
        teams=[SERVICE_RR, TeamSnapshot("press", strategy="least_loaded", members=(5, 6))],
        fallback_team=FALLBACK,
        policies=[
            SlaPolicy(id="high", priority="high", first_response=Target(minutes=30)),
            SlaPolicy(id="standard", first_response=Target(minutes=120), next_response=Target(minutes=60)),
        ],
    )


def test_plan_routes_assigns_and_starts_the_clock(workflow: Workflow) -> None:
    calendar = calendar_from_hours(
        "Europe/Copenhagen", {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    agents = [
        agent(1),
        agent(5, teams=frozenset({"press"}), load={"social": 3}),
        agent(6, teams=frozenset({"press"})),
    ]
    press = plan_inbound(
        workflow,
        MessageContext(received_at=NOW, platform="x", text="hello", calendar=calendar),
        agents=agents,
        channel_key="social",
    )
    assert (press.assignment.team, press.assignment.agent) == ("press", 6)
    assert press.priority == "high"
    assert press.policy.id == "high"
    assert press.sla.first_response is not None
    assert press.sla.first_response.due_at == NOW + timedelta(minutes=30)
    assert press.answer_expected_at is None
    text = press.explain()
    assert "rule 'x-to-press'" in text
    assert "least loaded" in text
    assert "SLA policy 'high'" in text

    saturday = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    service = plan_inbound(
        workflow,
        MessageContext(received_at=saturday, platform="facebook", calendar=calendar),
        agents=agents,
        channel_key="social",
        state=ConversationState(round_robin_cursors={"service": 1}),
    )
    assert (service.assignment.team, service.assignment.agent) == ("service", 1)  # the only one online
    assert service.policy.id == "standard"
    assert service.answer_expected_at == datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
    assert service.sla.first_response is not None
    assert service.sla.first_response.due_at == datetime(2026, 3, 16, 10, 0, tzinfo=UTC)


def test_plan_for_a_follow_up_uses_history(workflow: Workflow) -> None:
    earlier = [SlaEvent("inbound", NOW - timedelta(hours=2)), SlaEvent("outbound", NOW - timedelta(hours=1))]
    plan = plan_inbound(
        workflow,
        MessageContext(received_at=NOW, platform="facebook"),
        agents=[agent(1), agent(2)],
        channel_key="social",
        state=ConversationState(events=tuple(earlier), current_team="service", current_assignee=2),
    )
    assert (plan.assignment.agent, plan.assignment.reason) == (2, "current")
    assert plan.sla.next_response is not None
    assert plan.sla.next_response.due_at == NOW + timedelta(minutes=60)
