"""Routing + assignment + SLA per inbound message THROUGH THE DATABASE PATH: 200 rules (+ a catch-all),
100 agents in 5 teams with profiles and open-conversation load, 9 SLA policies, a Copenhagen calendar
with DK holidays on every channel. Each message is ingested (its own transaction, like a webhook),
labelled as the pipeline would, then ``do_route_conversations`` runs in its own transaction — loading
the configuration (cached per process), the agents' snapshot and load, the conversation's history,
evaluating the engines, writing team/assignee/explanation/SLA state/timeline and committing. A third of
the messages are follow-ups in existing conversations. The figure is the median of that second step;
``route_assign_sla_in_caller_transaction_ms_median`` is the same call without opening and committing
its own transaction (in the product it runs inside the transaction that stores the pipeline's labels).

Then the realistic case: an ingest batch (a pipeline job, a poller's page, an import) of ``--batch``
messages stored in one call, labelled, and routed with ONE ``do_route_conversations`` call; the figure
is that call's time divided by the batch size (median over ``--batches`` batches).

Wall time and this process's CPU time are both reported: on the shared, loaded development machine the
wall time of a 0.5-second batch includes long waits for a core; with SQLite (in process) the CPU time is
the work itself. With PostgreSQL the server's CPU time is not in it.

    .venv/bin/python bench/routing_per_message.py [--messages 600] [--batch 100] [--batches 6]
        [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, temporary_database
from bench.workflow_speed import INTENTS, LANGUAGES, TEAMS, WORDS, make_rules, percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    rng = random.Random(6)
    with temporary_database(args.backend):
        result = run(args.messages, args.rules, args.agents, rng, args.batch, args.batches)
    result["backend"] = args.backend
    print(json.dumps(result, indent=2))


def run(
    count: int, rule_count: int, agent_count: int, rng: random.Random, batch: int = 100, batches: int = 6
) -> dict[str, object]:
    from sqlalchemy import select, update

    from tilsvar.actions.ingest import do_ingest_messages
    from tilsvar.actions.org import (
        do_add_team_member,
        do_create_brand,
        do_create_channel,
        do_create_organization,
        do_create_team,
        do_create_user,
    )
    from tilsvar.actions.routing import do_route_conversations
    from tilsvar.actions.workflow_config import (
        do_save_calendar,
        do_save_routing_rules,
        do_save_sla_policies,
        do_set_agent_profile,
        do_set_channel_workflow,
        do_set_team_workflow,
    )
    from tilsvar.channels import Author, InboundMessage
    from tilsvar.db import get_database
    from tilsvar.models import Message, utcnow

    database = get_database()
    platforms = ("facebook", "instagram", "x", "linkedin", "youtube", "email", "webchat")
    with database.session() as session:
        org = do_create_organization(session, name="Bench", slug="bench")
        brand = do_create_brand(session, organization=org, name="Nordic Rail", slug="rail")
        teams = {slug: do_create_team(session, organization=org, name=slug) for slug in TEAMS}
        admin = do_create_user(
            session, organization=org, email="admin@bench.example", role="admin", name="Admin"
        )
        channels = [
            do_create_channel(
                session, brand=brand, platform=p, account=f"acct-{p}", mode="simulated", team=teams["service"]
            )
            for p in platforms
        ]
        for index, slug in enumerate(TEAMS):
            do_set_team_workflow(
                session, user=admin, team=teams[slug], strategy="round_robin" if index % 2 else "least_loaded"
            )
        for i in range(agent_count):
            agent = do_create_user(
                session, organization=org, email=f"agent{i}@bench.example", role="agent", name=f"Agent {i}"
            )
            do_add_team_member(session, team=teams[TEAMS[i % len(TEAMS)]], user=agent)
            do_set_agent_profile(
                session,
                user=admin,
                agent=agent,
                online=rng.random() < 0.7,
                languages=rng.sample(LANGUAGES, 3),
                topics=rng.sample(INTENTS, 2),
                capacity={"social": 8, "email": 20, "*": 5},
            )
        do_save_routing_rules(session, user=admin, rules=make_rules(rule_count, rng).to_data())
        calendar = do_save_calendar(
            session,
            user=admin,
            spec={
                "name": "Copenhagen",
                "timezone": "Europe/Copenhagen",
                "hours": {
                    **{d: ["08:00-12:00", "12:30-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                    "sat": ["10:00-16:00"],
                },
                "holidays": ["DK"],
            },
        )
        for channel in channels:
            do_set_channel_workflow(session, user=admin, channel=channel, calendar_id=calendar.id)
        policies = [{"id": "default-320", "first_response": {"minutes": 320, "business_hours": False}}]
        for priority in ("low", "normal", "high", "urgent"):
            policies.append(
                {
                    "id": f"p-{priority}",
                    "priority": priority,
                    "first_response": {"minutes": 240, "business_hours": True},
                    "next_response": {"minutes": 120, "business_hours": True},
                    "resolution": {"minutes": 2880, "business_hours": True},
                }
            )
        for platform in ("x", "facebook", "email", "webchat"):
            policies.append(
                {
                    "id": f"c-{platform}",
                    "channel": f"{platform}:acct-{platform}",
                    "first_response": {"minutes": 60},
                }
            )
        do_save_sla_policies(session, user=admin, policies=policies)
        channel_rows = [(c.platform, c.account) for c in channels]

    timings: list[float] = []
    cpu_timings: list[float] = []
    # The same call without opening and committing its transaction: in the product, routing runs
    # inside the transaction that stores the pipeline's labels (``do_store_analysis``).
    in_transaction: list[float] = []
    threads: list[tuple[str, str, str, str]] = []  # platform, account, root id, author
    started = utcnow() - timedelta(days=2)
    log(f"routing {count} messages through the database ...")

    def make_message(n: int) -> InboundMessage:
        follow_up = bool(threads) and rng.random() < 0.33
        if follow_up:
            platform, account, root, author = rng.choice(threads)
        else:
            platform, account = rng.choice(channel_rows)
            root, author = f"m{n}", f"c{rng.randrange(0, count // 2 + 1)}"
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(5, 40))).capitalize() + "?"
        return InboundMessage(
            platform=platform,
            account=account,
            external_id=f"m{n}",
            direction="in",
            kind="email" if platform == "email" else rng.choice(("comment", "dm")),
            text=text,
            created_at=started + timedelta(seconds=90 * n),
            author=Author(id=author, handle=f"@{author}", name=f"Customer {author}"),
            in_reply_to=root if follow_up else None,
        )

    def remember(message: InboundMessage) -> None:
        author = message.author.id if message.author else ""
        threads.append((message.platform, message.account, message.external_id, author))

    def label(session: Any, message_ids: list[int]) -> list[int]:
        """What the pipeline would store (actions.analysis without its routing call)."""
        for message_id in message_ids:
            session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(
                    language=rng.choice(LANGUAGES),
                    intent=rng.choice(INTENTS),
                    sentiment=rng.choice(("negative", "neutral", "positive")),
                    sentiment_score=rng.uniform(-1, 1),
                    priority=rng.choice(("normal", "normal", "high")),
                )
            )
        return sorted(
            {
                int(cid)
                for cid in session.scalars(select(Message.conversation_id).where(Message.id.in_(message_ids)))
                if cid is not None
            }
        )

    for n in range(count):
        message = make_message(n)
        with database.session() as session:
            stored = do_ingest_messages(session, messages=[message], enqueue_pipeline=True)
            conversation_ids = label(session, stored.stored)
        if message.in_reply_to is None:
            threads.append(
                (
                    message.platform,
                    message.account,
                    message.external_id,
                    message.author.id if message.author else "",
                )
            )
        begin, cpu = time.perf_counter(), time.process_time()
        with database.session() as session:
            inner = time.perf_counter()
            do_route_conversations(session, conversation_ids=conversation_ids)
            in_transaction.append((time.perf_counter() - inner) * 1000)
        timings.append((time.perf_counter() - begin) * 1000)
        cpu_timings.append((time.process_time() - cpu) * 1000)
    log(f"routing {batches} ingest batches of {batch} messages ...")
    per_message: list[float] = []
    cpu_per_message: list[float] = []
    n = count
    for _ in range(batches):
        messages = []
        for _ in range(batch):
            messages.append(make_message(n))
            n += 1
        with database.session() as session:
            stored = do_ingest_messages(session, messages=messages, enqueue_pipeline=True)
            conversation_ids = label(session, stored.stored)
        for message in messages:
            if message.in_reply_to is None:
                threads.append(
                    (
                        message.platform,
                        message.account,
                        message.external_id,
                        message.author.id if message.author else "",
                    )
                )
        begin, cpu = time.perf_counter(), time.process_time()
        with database.session() as session:
            do_route_conversations(session, conversation_ids=conversation_ids)
        per_message.append((time.perf_counter() - begin) * 1000 / batch)
        cpu_per_message.append((time.process_time() - cpu) * 1000 / batch)
    warm = timings[20:] if len(timings) > 40 else timings
    return {
        "messages": count,
        "rules": rule_count + 1,
        "agents": agent_count,
        "route_assign_sla_ms_median": round(statistics.median(warm), 2),
        "route_assign_sla_ms_p95": round(percentile(warm, 0.95), 2),
        "route_assign_sla_cpu_ms_median": round(statistics.median(cpu_timings[20:] or cpu_timings), 2),
        "route_assign_sla_in_caller_transaction_ms_median": round(
            statistics.median(in_transaction[20:] or in_transaction), 2
        ),
        "first_call_ms": round(timings[0], 1),
        "batch_size": batch,
        "batches": batches,
        "batch_ms_per_message_median": round(statistics.median(per_message), 3) if per_message else None,
        "batch_ms_per_message_max": round(max(per_message), 3) if per_message else None,
        "batch_cpu_ms_per_message_median": round(statistics.median(cpu_per_message), 3)
        if cpu_per_message
        else None,
        "goal_ms_median": 2.0,
    }


if __name__ == "__main__":
    main()
