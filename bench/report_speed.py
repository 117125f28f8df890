"""Analytics at scale: the weekly report and the dashboard API over 1,000,000 messages, and what keeping
the KPI rollups current costs per inbound message.

Builds a migrated temporary database (SQLite by default, `--backend postgresql`) with `--messages`
messages (default 1,000,000) in about 300,000 conversations over ten weeks, written with bulk SQL (the
search index triggers are dropped first: they are not what is measured), then:
- rebuilds the KPI facts and rollups from scratch (`rebuild_seconds`);
- builds the weekly report for the last whole week (with the week before, HTML rendered):
  `weekly_report_seconds` (goal ≤ 2 s), and its PDF (`weekly_pdf_seconds`);
- computes the dashboard's figures (last 7 days) in process without the cache:
  `dashboard_uncached_ms`; then starts `tilsvar serve` and asks `GET /api/v1/dashboard` many times over
  HTTP (the figures are cached while the rollups stand still; "waiting now" is read live each time):
  `dashboard_ms` p50/p95 (goal p95 ≤ 200 ms);
- ingests `--inbound` new customer messages through the live path (events included) and times the
  rollup refresh that follows: `rollup_ms_per_inbound_message`.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, percentiles, server, temporary_database

INTENTS = ["question", "complaint", "refund", "delay", "praise", "other", "lost_item", "booking"]
SENTIMENTS = ["negative", "neutral", "positive"]
LANGUAGES = ["da", "sv", "nb", "en", "pl"]


def build(messages: int, *, seed: int = 11) -> dict[str, float]:
    from sqlalchemy import func, select, text

    from tilsvar.actions.org import (
        do_add_team_member,
        do_create_brand,
        do_create_channel,
        do_create_organization,
        do_create_team,
        do_create_user,
    )
    from tilsvar.db import bulk_insert, get_database
    from tilsvar.models import Contact, Conversation, Message
    from tilsvar.models.base import table_of

    rng = random.Random(seed)
    database = get_database()
    started = time.perf_counter()
    with database.session() as session:
        for name in ("search_messages_insert", "search_messages_update", "search_messages_delete"):
            session.execute(
                text(f"DROP TRIGGER IF EXISTS {name}" + ("" if database.is_sqlite else " ON messages"))
            )
        org = do_create_organization(session, name="Bench Group", slug="bench")
        teams = [do_create_team(session, organization=org, name=f"Team {n}") for n in range(4)]
        agents = []
        for n in range(12):
            agent = do_create_user(
                session, organization=org, email=f"agent{n}@bench.invalid", role="agent", name=f"Agent {n}"
            )
            do_add_team_member(session, team=teams[n % 4], user=agent)
            agents.append(agent.id)
        channels: list[tuple[int, int, int, int | None]] = []
        for b in range(3):
            brand = do_create_brand(session, organization=org, name=f"Brand {b}", slug=f"brand{b}")
            for platform in ("facebook", "x", "instagram", "email"):
                channel = do_create_channel(
                    session,
                    brand=brand,
                    platform=platform,
                    account=f"{platform}{b}",
                    mode="simulated",
                    team=teams[(b + len(channels)) % 4],
                )
                channels.append((channel.id, brand.id, org.id, channel.team_id))
        org_id = org.id
    now = datetime.now(UTC).replace(microsecond=0)
    span = timedelta(days=70)
    conversation_count = max(messages * 10 // 33, 1)
    with database.session() as session:
        contact_start = int(session.scalar(select(func.coalesce(func.max(Contact.id), 0))) or 0) + 1
        bulk_insert(
            session,
            table_of(Contact),
            [
                {"id": contact_start + n, "organization_id": org_id, "display_name": f"Customer {n}"}
                for n in range(50_000)
            ],
        )
    message_id = 1
    written = 0
    batch_conversations: list[dict[str, object]] = []
    batch_messages: list[dict[str, object]] = []

    def flush() -> None:
        with database.session() as session:
            bulk_insert(session, table_of(Conversation), batch_conversations)
            bulk_insert(session, table_of(Message), batch_messages)
        batch_conversations.clear()
        batch_messages.clear()

    for conversation_id in range(1, conversation_count + 1):
        remaining = messages - written
        left = conversation_count - conversation_id + 1
        size = (
            remaining
            if left == 1
            else max(1, min(remaining - (left - 1), rng.choice((1, 2, 3, 3, 4, 4, 5, 6))))
        )
        channel_id, brand_id, _, team_id = rng.choice(channels)
        first = now - span + timedelta(seconds=rng.random() * span.total_seconds())
        when = first
        rows = []
        first_response = None
        last_out = None
        waiting: datetime | None = None
        author = rng.choice(agents)
        for index in range(size):
            inbound = index % 2 == 0 or rng.random() < 0.15
            if index:
                when = when + timedelta(minutes=rng.expovariate(1 / (90 if not inbound else 600)))
            if when > now:
                when = now - timedelta(seconds=size - index)
            if not inbound and first_response is None:
                first_response = when
            if inbound and waiting is None:
                waiting = when
            if not inbound:
                waiting, last_out = None, when
            rows.append(
                {
                    "id": message_id,
                    "conversation_id": conversation_id,
                    "channel_id": channel_id,
                    "external_id": f"m{message_id}",
                    "direction": "in" if inbound else "out",
                    "kind": "comment",
                    "author_user_id": None if inbound else author,
                    "author_name": "",
                    "text": "bench",
                    "created_at": when,
                    "received_at": when,
                    "is_automatic": False,
                    "delivery_state": "received" if inbound else "sent",
                    "has_pii": inbound and rng.random() < 0.01,
                    "moderation_state": "hidden" if inbound and rng.random() < 0.005 else "",
                    "intent": rng.choice(INTENTS) if inbound else None,
                }
            )
            message_id += 1
        written += size
        batch_messages.extend(rows)
        batch_conversations.append(
            {
                "id": conversation_id,
                "organization_id": org_id,
                "brand_id": brand_id,
                "channel_id": channel_id,
                "thread_key": f"t{conversation_id}",
                "kind": "comment",
                "contact_id": contact_start + rng.randrange(50_000),
                "team_id": team_id,
                "status": "open" if waiting else "resolved",
                "message_count": size,
                "first_message_at": first,
                "first_message_inbound": True,
                "first_inbound_at": first,
                "first_response_at": first_response,
                "last_inbound_at": first,
                "last_outbound_at": last_out,
                "last_message_at": when,
                "waiting_since": waiting,
                "resolved_at": when if not waiting and rng.random() < 0.7 else None,
                "created_at": first,
                "updated_at": when,
                "intent": rng.choice(INTENTS),
                "sentiment": rng.choice(SENTIMENTS),
                "language": rng.choice(LANGUAGES),
                "pii_exposed": False,
                "flagged": False,
            }
        )
        if len(batch_messages) >= 50_000:
            flush()
            log(f"  {written} messages")
    flush()
    if not database.is_sqlite:  # the rows above carry their ids: move the sequences past them
        with database.session() as session:
            for table in ("contacts", "conversations", "messages"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    return {
        "messages": written,
        "conversations": conversation_count,
        "build_seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--inbound", type=int, default=2000)
    args = parser.parse_args()
    result: dict[str, object] = {"backend": args.backend}
    with temporary_database(args.backend) as (data_dir, url):
        log(f"building {args.messages} messages ...")
        result.update(build(args.messages))
        from sqlalchemy import select

        from tilsvar.actions.ingest import do_ingest_messages
        from tilsvar.actions.org import do_create_api_token
        from tilsvar.channels import Author, InboundMessage
        from tilsvar.db import get_database
        from tilsvar.models import Brand, Channel, User
        from tilsvar.reports.rollups import rebuild_rollups, refresh_rollups
        from tilsvar.reports.weekly import build_report, week_before

        database = get_database()
        log("rebuilding the KPI facts and rollups ...")
        started = time.perf_counter()
        rebuild_rollups(database)
        result["rebuild_seconds"] = round(time.perf_counter() - started, 2)

        period = week_before(datetime.now(UTC), "UTC")
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            with database.reader() as session:
                brand_ids = list(session.scalars(select(Brand.id)))
                report = build_report(session, period=period, brand_ids=brand_ids, title="Bench weekly")
                html = report.html()
            timings.append(time.perf_counter() - started)
        result["weekly_report_seconds"] = round(sorted(timings)[len(timings) // 2], 3)
        result["weekly_report_inquiries"] = report.data["current"]["inquiries"]
        assert len(html) > 1000
        started = time.perf_counter()
        report.pdf()
        result["weekly_pdf_seconds"] = round(time.perf_counter() - started, 3)

        from tilsvar.reports.dashboard import dashboard_data, default_days
        from tilsvar.reports.engine import Scope
        from tilsvar.reports.kpis import Period

        week = Period.from_dates(*default_days(datetime.now(UTC).date()))
        cold = []
        for _ in range(max(args.requests // 5, 5)):
            started = time.perf_counter()
            with database.reader() as session:
                dashboard_data(session, period=week, scope=Scope(tuple(brand_ids)), use_cache=False)
            cold.append((time.perf_counter() - started) * 1000)
        result["dashboard_uncached_ms"] = percentiles(cold)
        with database.session() as session:
            admin = session.scalars(select(User)).first()
            assert admin is not None
            admin.role = "admin"
            token = do_create_api_token(session, user=admin, name="bench")
        log("dashboard API over HTTP ...")
        with server(data_dir, url, TILSVAR_WORKER_IN_PROCESS="no") as (base, _process):
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                assert client.get("/api/v1/dashboard").status_code == 200
                samples = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    response = client.get("/api/v1/dashboard")
                    samples.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                result["dashboard_ms"] = percentiles(samples)
                result["dashboard_inquiries_7d"] = response.json()["current"]["inquiries"]

        log("rollup maintenance per inbound message ...")
        with database.reader() as session:
            channels = [(c.platform, c.account) for c in session.scalars(select(Channel))]
        refresh_rollups(database)
        now = datetime.now(UTC)
        rng = random.Random(5)
        inbound = [
            InboundMessage(
                platform=channels[n % len(channels)][0],
                account=channels[n % len(channels)][1],
                external_id=f"live{n}",
                direction="in",
                kind="comment",
                text="live bench message",
                created_at=now - timedelta(seconds=args.inbound - n),
                author=Author(id=f"live-author-{rng.randrange(500)}"),
                in_reply_to=f"m{rng.randrange(1, 1000)}" if n % 3 == 0 else None,
            )
            for n in range(args.inbound)
        ]
        refresh_seconds = 0.0
        ingest_seconds = 0.0
        for offset in range(0, len(inbound), 50):  # live traffic: small batches, a refresh after each
            started = time.perf_counter()
            with database.session() as session:
                do_ingest_messages(session, messages=inbound[offset : offset + 50])
            ingest_seconds += time.perf_counter() - started
            started = time.perf_counter()
            refresh_rollups(database)
            refresh_seconds += time.perf_counter() - started
        result["ingest_ms_per_inbound_message"] = round(ingest_seconds * 1000 / len(inbound), 3)
        result["rollup_ms_per_inbound_message"] = round(refresh_seconds * 1000 / len(inbound), 3)
    for key in ("build_seconds",):
        result[key] = round(float(result[key]), 1)  # type: ignore[arg-type]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
