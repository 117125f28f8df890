"""Assignment inside a team: which agent gets a conversation, or which team queue holds it.

Routing decides the team; this module picks the person, from a snapshot of agents the caller loads
(who is online, skills, capacity and current load per channel). It never returns "nobody and no
team": when no agent can take the conversation it lands in a team queue, and when the team is gone
it lands in the fallback queue, so every inbound conversation is visible somewhere.

Order of preference:
1. the agent a routing rule named, if that agent is active and online;
2. the conversation's current assignee, if active, online and in the target team;
3. the sticky owner (the agent who last handled this customer) if they handled them within the
   team's sticky window and are available now; if not, and the team waits for owners, the
   conversation is reserved for them in the team queue until the wait ends;
4. the team's strategy among eligible members (active, online, room for this channel, speaking the
   language, working the channel; members with the topic are preferred): round robin or least
   loaded; a "manual" team always queues;
5. the team queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from tilsvar.workflow.common import Ref, require_aware

Strategy = Literal["round_robin", "least_loaded", "manual"]
Reason = Literal["rule", "current", "sticky", "reserved", "round_robin", "least_loaded", "queue"]


@dataclass(frozen=True)
class AgentSnapshot:
    id: Ref
    name: str = ""
    online: bool = True
    active: bool = True  # False for a deleted or deactivated user
    teams: frozenset[Ref] = frozenset()
    languages: frozenset[str] = frozenset()  # empty: any language
    channels: frozenset[str] = frozenset()  # channel keys worked; empty: any
    topics: frozenset[str] = frozenset()  # intents/topics preferred
    capacity: Mapping[str, int] = field(default_factory=dict)  # per channel key; "*" for the rest
    load: Mapping[str, int] = field(default_factory=dict)  # open conversations per channel key

    def with_live_state(self, *, online: bool, active: bool, load: Mapping[str, int]) -> AgentSnapshot:
        """This agent with their current presence, active flag and load: ``dataclasses.replace``
        without running ``__init__`` again (routing makes one per team member a decision looks at,
        where the frozen dataclass's ``__init__`` cost more than the rest of the look)."""
        copy = object.__new__(AgentSnapshot)
        fields = copy.__dict__
        fields.update(self.__dict__)
        fields["online"], fields["active"], fields["load"] = online, active, load
        return copy

    def capacity_for(self, channel: str) -> int | None:
        """None means unlimited."""
        return self.capacity.get(channel, self.capacity.get("*"))

    def load_for(self, channel: str) -> int:
        return self.load.get(channel, 0)

    def has_room(self, channel: str) -> bool:
        cap = self.capacity_for(channel)
        return cap is None or self.load_for(channel) < cap

    def utilisation(self, channel: str) -> float:
        cap = self.capacity_for(channel)
        if cap is None:
            return 0.0  # unlimited: ties are broken by the load itself
        return self.load_for(channel) / cap if cap else 1.0


@dataclass(frozen=True)
class TeamSnapshot:
    id: Ref
    name: str = ""
    strategy: Strategy = "round_robin"
    members: tuple[Ref, ...] = ()  # in round-robin order
    sticky_hours: float = 0.0  # a follow-up within this time goes back to the same agent; 0: off
    sticky_wait_minutes: float = 0.0  # hold it for an unavailable owner this long; 0: don't wait


@dataclass(frozen=True)
class AssignmentRequest:
    channel: str  # the channel key capacity and skills are counted by, e.g. "chat", "email", "social"
    arrived_at: datetime
    now: datetime | None = None  # defaults to arrived_at; later when re-deciding a reservation
    team: Ref | None = None  # from routing (the escalation team wins there)
    agent: Ref | None = None  # from routing: an agent a rule named
    current_team: Ref | None = None
    current_assignee: Ref | None = None
    language: str | None = None
    topic: str | None = None
    previous_owner: Ref | None = None  # who last handled this customer
    previous_handled_at: datetime | None = None
    round_robin_after: Ref | None = None  # the team's round-robin cursor: last agent given one


@dataclass(frozen=True)
class AssignmentDecision:
    team: Ref  # never empty: there is always a queue
    agent: Ref | None
    reason: Reason
    explanation: tuple[str, ...]
    reserved_for: Ref | None = None
    reserved_until: datetime | None = None  # decide again at this time
    round_robin_cursor: Ref | None = None  # store as the team's new cursor when set

    def explain(self) -> str:
        return "; ".join(self.explanation)


def _why_not(
    agent: AgentSnapshot | None, request: AssignmentRequest, *, need_room: bool = True
) -> str | None:
    """Why an agent cannot take the conversation now, or None when they can."""
    if agent is None:
        return "no longer exists"
    if not agent.active:
        return "is deactivated"
    if not agent.online:
        return "is offline"
    if need_room and not agent.has_room(request.channel):
        return f"is at capacity for {request.channel} ({agent.load_for(request.channel)})"
    if agent.channels and request.channel not in agent.channels:
        return f"does not work {request.channel}"
    if request.language and agent.languages and request.language.lower() not in agent.languages:
        return f"does not speak {request.language}"
    return None


def _label(agent_id: Ref, agents: Mapping[Ref, AgentSnapshot]) -> str:
    agent = agents.get(agent_id)
    return f"agent {agent.name or agent_id!r}" if agent else f"agent {agent_id!r}"


def assign(
    request: AssignmentRequest,
    *,
    agents: Iterable[AgentSnapshot] | Mapping[Ref, AgentSnapshot],
    teams: Iterable[TeamSnapshot] | Mapping[Ref, TeamSnapshot],
    fallback_team: Ref,
) -> AssignmentDecision:
    """Decide who gets an inbound conversation (see the module docstring for the order)."""
    # Only read: a mapping is used as it is (copying 100 agents per message cost more than deciding).
    by_id = agents if isinstance(agents, Mapping) else {a.id: a for a in agents}
    team_by_id = teams if isinstance(teams, Mapping) else {t.id: t for t in teams}
    now = require_aware(request.now or request.arrived_at, "now")
    why: list[str] = []

    # The team: routing's choice if it still exists, else the current team, else the fallback queue.
    team_id: Ref = fallback_team
    for candidate, source in ((request.team, "routing"), (request.current_team, "the conversation")):
        if candidate is None:
            continue
        if candidate in team_by_id:
            team_id = candidate
            why.append(f"team {candidate!r} from {source}")
            break
        why.append(f"team {candidate!r} from {source} no longer exists")
    else:
        why.append(f"fallback queue {fallback_team!r}")
    team = team_by_id.get(team_id, TeamSnapshot(team_id, strategy="manual"))
    members = frozenset(team.members)

    def decided(
        agent: Ref | None,
        reason: Reason,
        *,
        reserved_for: Ref | None = None,
        reserved_until: datetime | None = None,
        round_robin_cursor: Ref | None = None,
    ) -> AssignmentDecision:
        return AssignmentDecision(
            team_id, agent, reason, tuple(why), reserved_for, reserved_until, round_robin_cursor
        )

    if request.agent is not None:
        problem = _why_not(by_id.get(request.agent), request, need_room=False)
        if problem is None:
            why.append(f"{_label(request.agent, by_id)} named by a routing rule")
            return decided(request.agent, "rule")
        why.append(f"{_label(request.agent, by_id)} named by a routing rule {problem}")

    if request.current_assignee is not None:
        current = by_id.get(request.current_assignee)
        problem = _why_not(current, request, need_room=False)
        if problem is None and request.current_assignee not in members and team_id != request.current_team:
            problem = f"is not in team {team_id!r}"
        if problem is None:
            why.append(f"kept with current assignee {_label(request.current_assignee, by_id)}")
            return decided(request.current_assignee, "current")
        why.append(f"current assignee {_label(request.current_assignee, by_id)} {problem}")

    owner = request.previous_owner
    if owner is not None and team.sticky_hours > 0 and request.previous_handled_at is not None:
        since = now - require_aware(request.previous_handled_at, "previous_handled_at")
        if since <= timedelta(hours=team.sticky_hours) and owner in members:
            problem = _why_not(by_id.get(owner), request)
            if problem is None:
                why.append(f"sticky: {_label(owner, by_id)} handled this customer {_ago(since)} ago")
                return decided(owner, "sticky")
            wait_until = require_aware(request.arrived_at, "arrived_at") + timedelta(
                minutes=team.sticky_wait_minutes
            )
            owner_snapshot = by_id.get(owner)
            if team.sticky_wait_minutes > 0 and now < wait_until and owner_snapshot and owner_snapshot.active:
                held = f"held for them until {wait_until:%H:%M} UTC"
                why.append(f"sticky owner {_label(owner, by_id)} {problem}; {held}")
                return decided(None, "reserved", reserved_for=owner, reserved_until=wait_until)
            why.append(f"sticky owner {_label(owner, by_id)} {problem}")

    if team.strategy == "manual":
        why.append(f"team {team_id!r} assigns by hand: waiting in its queue")
        return decided(None, "queue")

    eligible: list[AgentSnapshot] = []
    problems: dict[str, int] = {}
    for member in team.members:
        agent = by_id.get(member)
        problem = _why_not(agent, request)
        if problem is None and agent is not None:
            eligible.append(agent)
        else:
            key = (problem or "").split(" (")[0]
            problems[key] = problems.get(key, 0) + 1
    if not eligible:
        summary = ", ".join(f"{count} {text}" for text, count in problems.items()) or "no members"
        why.append(f"nobody in team {team_id!r} can take it ({summary}): waiting in the team queue")
        return decided(None, "queue")
    if request.topic:
        topical = [a for a in eligible if request.topic.lower() in a.topics]
        if topical:
            eligible = topical
            why.append(f"preferring agents who know {request.topic!r}")

    if team.strategy == "least_loaded":
        order = {member: i for i, member in enumerate(team.members)}
        chosen = min(
            eligible,
            key=lambda a: (a.utilisation(request.channel), a.load_for(request.channel), order[a.id]),
        )
        cap = chosen.capacity_for(request.channel)
        load = f"{chosen.load_for(request.channel)}/{cap if cap is not None else '∞'}"
        why.append(f"least loaded: {_label(chosen.id, by_id)} has {load} on {request.channel}")
        return decided(chosen.id, "least_loaded")

    # Round robin: the first eligible member after the cursor, wrapping around.
    chosen_id = eligible[0].id
    if request.round_robin_after in team.members:
        after = team.members.index(request.round_robin_after)
        size = len(team.members)
        rank = {member: (i - after - 1) % size for i, member in enumerate(team.members)}
        chosen_id = min(eligible, key=lambda a: rank[a.id]).id
    why.append(f"round robin: {_label(chosen_id, by_id)} is next")
    return decided(chosen_id, "round_robin", round_robin_cursor=chosen_id)


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} days"
