"""Speed of the workflow engines per inbound message: routing (200 rules) + assignment (100 agents) +
SLA computation, and SLA due-time computation on a business-hours calendar with public holidays.
Goals (issue 6): ≤ 2 ms median per message; ≤ 50 µs per due-time call. Pure Python, no database."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log
from tilsvar.workflow.assignment import AgentSnapshot, TeamSnapshot
from tilsvar.workflow.calendar import BusinessCalendar, calendar_from_hours
from tilsvar.workflow.conditions import MessageContext
from tilsvar.workflow.inbound import ConversationState, Workflow, plan_inbound
from tilsvar.workflow.rules import RuleSet, load_rules
from tilsvar.workflow.sla import SlaEvent, SlaPolicy, Target

_VOCABULARY = """tog forsinket billet pris refusion aflyst perron kontrol bøde app betaling kort rabat tilbud
opóźnienie pociąg bilet zwrot försenad biljett återbetalning forsinkelse billett refusjon tack
mange hej hello delayed refund ticket train station københavn malmö oslo gdańsk skandale"""
WORDS = tuple(_VOCABULARY.split())
PLATFORMS = ("facebook", "instagram", "x", "linkedin", "youtube", "email", "chat")
KINDS = ("comment", "dm", "email", "chat", "post")
LANGUAGES = ("da", "sv", "nb", "pl", "fi", "en")
INTENTS = ("question", "complaint", "lead", "praise", "abuse", "refund")
TEAMS = ("service", "press", "marketing", "sales", "social")


def make_rules(count: int, rng: random.Random) -> RuleSet:
    """A realistic mix: each rule combines two or three conditions (a platform and keywords, a language
    and an intent, a score and a kind ...), with keyword lists, wildcards, combinators and regexes."""
    rules: list[dict[str, Any]] = []
    for i in range(count):
        parts: list[dict[str, Any]] = []
        shape = i % 6
        if shape == 0:
            parts.append({"platform": rng.choice(PLATFORMS)})
            parts.append({"text": [*rng.sample(WORDS, 4), rng.choice(WORDS)[:4] + "*"]})
        elif shape == 1:
            parts.append({"platform": rng.sample(PLATFORMS, 2)})
            parts.append({"language": rng.choice(LANGUAGES)})
        elif shape == 2:
            parts.append({"any": [{"language": rng.choice(LANGUAGES)}, {"intent": rng.choice(INTENTS)}]})
            parts.append({"not": {"kind": rng.choice(KINDS)}})
            parts.append({"sentiment": rng.choice(("negative", "neutral", "positive"))})
        elif shape == 3:
            parts.append({"field": "sentiment_score", "op": "lt", "value": round(rng.uniform(-1, -0.5), 2)})
            parts.append({"kind": rng.choice(KINDS)})
        elif shape == 4:
            parts.append({"intent": rng.choice(INTENTS)})
            parts.append({"platform": rng.choice(PLATFORMS)})
        else:
            parts.append({"field": "text", "op": "matches", "value": rf"\b{rng.choice(WORDS)[:3]}\w*\d+"})
            parts.append({"customer_tags": ["vip"]})
        actions: list[dict[str, Any]] = [{"add_tag": f"t{i % 17}"}]
        if i % 3 == 0:
            actions.append({"assign_team": rng.choice(TEAMS)})
        if i % 11 == 0:
            actions.append({"set_priority": rng.choice(["normal", "high", "urgent"])})
        rules.append({"id": f"r{i}", "position": i, "when": {"all": parts}, "then": actions})
    rules.append({"id": "catch-all", "position": 10_000, "then": [{"assign_team": "service"}]})
    return load_rules(rules)


def make_agents(count: int, rng: random.Random) -> tuple[list[AgentSnapshot], list[TeamSnapshot]]:
    agents = []
    members: dict[str, list[int]] = {team: [] for team in TEAMS}
    for i in range(count):
        team = TEAMS[i % len(TEAMS)]
        members[team].append(i)
        agents.append(
            AgentSnapshot(
                id=i,
                online=rng.random() < 0.7,
                teams=frozenset({team}),
                languages=frozenset(rng.sample(LANGUAGES, 3)),
                topics=frozenset(rng.sample(INTENTS, 2)),
                capacity={"social": 8, "email": 20, "*": 5},
                load={"social": rng.randrange(0, 9), "email": rng.randrange(0, 15)},
            )
        )
    teams = [
        TeamSnapshot(
            team,
            strategy="round_robin" if i % 2 else "least_loaded",
            members=tuple(members[team]),
            sticky_hours=72,
        )
        for i, team in enumerate(TEAMS)
    ]
    return agents, teams


def make_calendar() -> BusinessCalendar:
    weekdays = {d: ["08:00-12:00", "12:30-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    weekdays["sat"] = ["10:00-16:00"]
    return calendar_from_hours("Europe/Copenhagen", weekdays, holiday_countries=["DK"], name="nordic-rail")


def make_messages(count: int, rng: random.Random, calendar: BusinessCalendar) -> list[MessageContext]:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    messages = []
    for _ in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(5, 40)))
        messages.append(
            MessageContext(
                received_at=start + timedelta(minutes=rng.randrange(0, 365 * 24 * 60)),
                text=text.capitalize() + "?",
                brand=1,
                channel=rng.randrange(1, 8),
                platform=rng.choice(PLATFORMS),
                kind=rng.choice(KINDS),
                language=rng.choice(LANGUAGES),
                intent=rng.choice(INTENTS),
                sentiment=rng.choice(("negative", "neutral", "positive")),
                sentiment_score=rng.uniform(-1, 1),
                customer_tags=frozenset({"vip"}) if rng.random() < 0.05 else frozenset(),
                calendar=calendar,
            )
        )
    return messages


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--due-calls", type=int, default=50_000)
    args = parser.parse_args()
    rng = random.Random(6)

    calendar = make_calendar()
    started = time.perf_counter()
    ruleset = make_rules(args.rules, rng)
    compile_ms = (time.perf_counter() - started) * 1000
    agents, teams = make_agents(args.agents, rng)
    policies = [
        SlaPolicy(
            id="urgent",
            priority="urgent",
            first_response=Target(minutes=30),
            next_response=Target(minutes=20),
        ),
        SlaPolicy(id="high", priority="high", first_response=Target(minutes=120)),
        *(
            SlaPolicy(
                id=f"channel-{c}",
                channel=c,
                first_response=Target(minutes=320),
                resolution=Target(minutes=2880),
            )
            for c in range(1, 8)
        ),
    ]
    workflow = Workflow.build(rules=ruleset, teams=teams, fallback_team="unassigned", policies=policies)
    messages = make_messages(args.messages, rng, calendar)
    log(f"{len(ruleset.rules)} rules compiled in {compile_ms:.1f} ms; {len(agents)} agents")

    # A follow-up history for every third message: an earlier question and answer, then this one.
    timings: list[float] = []
    for i, context in enumerate(messages):
        state = None
        if i % 3 == 0:
            earlier = context.received_at - timedelta(hours=3)
            state = ConversationState(
                events=(SlaEvent("inbound", earlier), SlaEvent("outbound", earlier + timedelta(minutes=40))),
                previous_owner=i % args.agents,
                previous_handled_at=earlier + timedelta(minutes=40),
            )
        begin = time.perf_counter()
        plan = plan_inbound(workflow, context, agents=agents, channel_key="social", state=state)
        timings.append((time.perf_counter() - begin) * 1e6)
        assert plan.assignment.team is not None

    routing_only = []
    matched = []
    for context in messages[:1000]:
        begin = time.perf_counter()
        decision = ruleset.evaluate(context)
        routing_only.append((time.perf_counter() - begin) * 1e6)
        matched.append(len(decision.matches))

    instants = [
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(0, 2 * 365 * 86400))
        for _ in range(args.due_calls)
    ]
    cold = make_calendar()
    begin = time.perf_counter()
    cold.add_business_minutes(instants[0], 320)
    first_call_ms = (time.perf_counter() - begin) * 1000
    begin = time.perf_counter()
    for moment in instants:
        calendar.add_business_minutes(moment, 320)
    due_us = (time.perf_counter() - begin) / len(instants) * 1e6
    begin = time.perf_counter()
    for moment in instants[:10_000]:
        calendar.business_minutes_between(moment, moment + timedelta(days=3))
    between_us = (time.perf_counter() - begin) / 10_000 * 1e6

    print(
        json.dumps(
            {
                "rules": len(ruleset.rules),
                "agents": len(agents),
                "messages": len(messages),
                "per_message_us": {
                    "median": round(statistics.median(timings), 1),
                    "p95": round(percentile(timings, 0.95), 1),
                    "max": round(max(timings), 1),
                },
                "routing_only_us": {
                    "median": round(statistics.median(routing_only), 1),
                    "p95": round(percentile(routing_only, 0.95), 1),
                },
                "rules_matched_per_message": round(statistics.mean(matched), 1),
                "rule_compile_ms": round(compile_ms, 1),
                "due_time_us_per_call": round(due_us, 2),
                "business_minutes_between_us_per_call": round(between_us, 2),
                "calendar_first_call_ms": round(first_call_ms, 1),
                "goals": {"per_message_median_us": 2000, "due_time_us": 50},
                "python": sys.version.split()[0],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
