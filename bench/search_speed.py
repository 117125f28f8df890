"""Search latency with facets over a large message table (SQLite FTS5 or PostgreSQL), the index build
rate, and what the index triggers cost an insert. Prints one JSON object.

The corpus is realistic rather than uniform: every message is one or two of the demo's customer or
brand sentences in da/sv/nb/pl/en (so domain words like *forsinket* or *refund* match several percent
of all messages, as they would in a railway's inbox), plus a long tail: order numbers, names and
Zipf-distributed rare words. Rows go in with bulk inserts into a migrated temporary database, with
the triggers on, so the index is built the way production builds it.

The queries are a mix of what people type: a rare word or an order number, a common domain word, a
phrase, boolean queries, and field filters with and without words. Each runs with facets (platform,
brand, language, intent, sentiment, status: the total and every count), newest first, 20 results.

    python bench/search_speed.py                       # 1,000,000 messages on SQLite
    python bench/search_speed.py --backend postgresql --messages 200000
    python bench/search_speed.py --backend postgresql --keep bench_pg_1m   # build once, then reuse

Goal (issue 8): p95 ≤ 50 ms with facets over 1,000,000 messages.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import kept_database, log, percentiles, temporary_database

LANGUAGES = ("da", "sv", "nb", "pl", "en")
INTENTS = ("complaint", "question", "praise", "sales_lead", "press", "feedback", "other")
SENTIMENTS = ("negative", "neutral", "positive")
STATUSES = ("new", "open", "pending", "resolved", "closed")
PLATFORM_ACCOUNTS = [
    ("x", "NordicRailHelp", 0),
    ("facebook", "NordicRail", 0),
    ("instagram", "nordicrail", 0),
    ("email", "kundeservice@nordicrail.example", 0),
    ("webchat", "nordicrail-web", 0),
    ("facebook", "FjordMarket", 1),
    ("x", "FjordMarket", 1),
]
SYLLABLES = ["ka", "lo", "mi", "ne", "sa", "tu", "ri", "be", "do", "fa", "gu", "hi", "jo", "ky", "ly", "mo"]
SYLLABLES += ["nu", "po", "ra", "se", "ti", "vu", "wa", "ze", "an", "el", "is", "or", "un"]


def tail_words(rng: random.Random, count: int) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))))
    return sorted(words)


def corpus(rng: random.Random) -> tuple[dict[str, list[str]], list[str], list[float]]:
    from tilsvar.demo.phrases import BRAND, CUSTOMER

    sentences = {language: CUSTOMER[language] + BRAND.get(language, []) for language in LANGUAGES}
    rare = tail_words(rng, 50_000)
    weights = [1 / (rank + 1) for rank in range(len(rare))]  # Zipf
    return sentences, rare, weights


def make_text(
    rng: random.Random,
    language: str,
    sentences: dict[str, list[str]],
    rare: list[str],
    cumulative: list[float],
) -> str:
    parts = [rng.choice(sentences[language])]
    if rng.random() < 0.4:
        parts.append(rng.choice(sentences[language]))
    extra = rng.choices(rare, cum_weights=cumulative, k=rng.randint(0, 3))
    if rng.random() < 0.3:
        extra.append(f"ordre {rng.randint(100000, 999999)}")
    return " ".join(parts + extra)


def fill(messages: int, *, seed: int = 8, batch: int = 20_000) -> dict[str, Any]:
    """Bulk-insert ``messages`` messages (about 3 per conversation) with the index triggers on."""
    from itertools import accumulate

    from tilsvar.actions.org import do_create_brand, do_create_channel, do_create_organization
    from tilsvar.db import bulk_insert, get_database
    from tilsvar.models import Conversation, Message
    from tilsvar.models.base import table_of

    rng = random.Random(seed)
    sentences, rare, weights = corpus(rng)
    cumulative = list(accumulate(weights))
    database = get_database()
    with database.session() as session:
        org = do_create_organization(session, name="Bench", slug="bench")
        brands = [
            do_create_brand(session, organization=org, name="Nordic Rail", slug="rail"),
            do_create_brand(session, organization=org, name="Fjord Market", slug="market"),
        ]
        channels = [
            (
                do_create_channel(
                    session, brand=brands[brand], platform=platform, account=account, mode="simulated"
                ),
                brands[brand],
            )
            for platform, account, brand in PLATFORM_ACCOUNTS
        ]
        org_id = org.id
        channel_rows = [(channel.id, brand.id, channel.platform) for channel, brand in channels]
    conversations_table, messages_table = table_of(Conversation), table_of(Message)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    conversation_id = 0
    message_id = 0
    written = 0
    started = time.perf_counter()
    while written < messages:
        conversation_rows: list[dict[str, Any]] = []
        message_rows: list[dict[str, Any]] = []
        while len(message_rows) < batch and written + len(message_rows) < messages:
            conversation_id += 1
            channel_id, brand_id, platform = rng.choice(channel_rows)
            language = rng.choice(LANGUAGES)
            count = min(rng.choice((1, 1, 2, 3, 4, 6)), messages - written - len(message_rows))
            at = start + timedelta(minutes=rng.uniform(0, 300 * 24 * 60))
            first = at
            for position in range(count):
                message_id += 1
                inbound = position == 0 or rng.random() < 0.55
                body = make_text(rng, language, sentences, rare, cumulative)
                has_pii = rng.random() < 0.02
                message_rows.append(
                    {
                        "id": message_id,
                        "conversation_id": conversation_id,
                        "channel_id": channel_id,
                        "external_id": f"{platform}-{message_id}",
                        "in_reply_to": None,
                        "direction": "in" if inbound else "out",
                        "kind": "comment",
                        "author_name": f"Kunde {rng.randint(1, 200_000)}" if inbound else "Agent",
                        "text": body + (" CPR 010190-1234" if has_pii else ""),
                        "redacted_text": body + " CPR [CPR]" if has_pii else None,
                        "has_pii": has_pii,
                        "created_at": at,
                        "received_at": at,
                        "delivery_state": "received" if inbound else "sent",
                        "language": language,
                        "intent": rng.choice(INTENTS) if inbound else None,
                        "sentiment": rng.choice(SENTIMENTS) if inbound else None,
                    }
                )
                at += timedelta(minutes=rng.expovariate(1 / 60))
            conversation_rows.append(
                {
                    "id": conversation_id,
                    "organization_id": org_id,
                    "brand_id": brand_id,
                    "channel_id": channel_id,
                    "thread_key": f"t{conversation_id}",
                    "kind": "comment",
                    "status": rng.choice(STATUSES),
                    "subject": "",
                    "preview": "",
                    "message_count": count,
                    "first_message_at": first,
                    "last_message_at": at,
                    "created_at": first,
                    "updated_at": at,
                }
            )
        with database.session() as session:
            bulk_insert(session, conversations_table, conversation_rows)
            bulk_insert(session, messages_table, message_rows)
        written += len(message_rows)
        if written % 200_000 < batch:
            log(f"  {written:,} messages")
    seconds = time.perf_counter() - started
    return {
        "messages": written,
        "conversations": conversation_id,
        "seconds": round(seconds, 1),
        "messages_per_second": round(written / seconds),
    }


def rebuild_rate(backend: str) -> dict[str, Any]:
    """Rebuild the whole index (full text and facet rows) from the messages table, as migration 0011
    does for existing data."""
    import importlib

    from sqlalchemy import text

    from tilsvar.db import get_database

    migration: Any = importlib.import_module("tilsvar.migrations.versions.0011_search_facets")
    database = get_database()
    with database.session() as session:
        count = int(session.execute(text("SELECT count(*) FROM messages")).scalar_one())
        started = time.perf_counter()
        if backend == "sqlite":
            session.execute(text("INSERT INTO search_messages (search_messages) VALUES ('delete-all')"))
            session.execute(text("DELETE FROM search_facets"))
            session.execute(
                text(
                    f"INSERT INTO search_facets ({migration.FACET_COLUMNS}) SELECT "
                    f"{migration._sqlite_facet_values('m')} "
                    "FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                )
            )
            session.execute(
                text(
                    f"INSERT INTO search_messages (rowid, body) SELECT {migration._sqlite_key('messages')}, "
                    f"{migration._previous._sqlite_fold('messages')} FROM messages ORDER BY 1"
                )
            )
        else:
            session.execute(text("TRUNCATE search_messages"))
            session.execute(
                text(
                    f"INSERT INTO search_messages ({migration.PG_COLUMNS}) "
                    f"SELECT {migration._pg_values('m')} "
                    "FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                )
            )
    seconds = time.perf_counter() - started
    if backend == "postgresql":
        # As autovacuum would soon after a bulk load: statistics, and the visibility map.
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    return {"messages": count, "seconds": round(seconds, 1), "messages_per_second": round(count / seconds)}


def trigger_cost(backend: str, rows: int = 20_000, rounds: int = 3) -> dict[str, Any]:
    """Insert the same messages with and without the index triggers (interleaved, best of ``rounds``)."""
    from sqlalchemy import text

    from tilsvar.db import bulk_insert, get_database
    from tilsvar.models import Message
    from tilsvar.models.base import table_of

    database = get_database()
    table = table_of(Message)
    with database.reader() as session:
        top = int(session.execute(text("SELECT max(id) FROM messages")).scalar_one())
        template = [
            dict(row._mapping)
            for row in session.execute(
                text(
                    "SELECT conversation_id, channel_id, direction, kind, author_name, text, created_at, "
                    f"received_at FROM messages ORDER BY id LIMIT {rows}"
                )
            )
        ]
    timings: dict[str, list[float]] = {"with_triggers": [], "without_triggers": []}
    next_id = top + 1
    for _ in range(rounds):
        for mode in ("with_triggers", "without_triggers"):
            batch = []
            for row in template:
                batch.append(
                    {
                        **row,
                        "id": next_id,
                        "external_id": f"tc-{next_id}",
                        "created_at": _instant(row["created_at"]),
                        "received_at": _instant(row["received_at"]),
                    }
                )
                next_id += 1
            with database.session() as session:
                if mode == "without_triggers":
                    _drop_insert_trigger(session, backend)
                started = time.perf_counter()
                bulk_insert(session, table, batch)
                timings[mode].append(time.perf_counter() - started)
                session.rollback()
    best = {mode: min(values) for mode, values in timings.items()}
    return {
        "rows": rows,
        "with_triggers_per_second": round(rows / best["with_triggers"]),
        "without_triggers_per_second": round(rows / best["without_triggers"]),
        "slowdown": round(best["with_triggers"] / best["without_triggers"], 2),
    }


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _drop_insert_trigger(session: Any, backend: str) -> None:
    from sqlalchemy import text

    if backend == "sqlite":
        session.execute(text("DROP TRIGGER search_messages_insert"))
    else:
        session.execute(text("DROP TRIGGER search_messages_insert ON messages"))


def queries(rng: random.Random) -> list[tuple[str, str]]:
    _sentences, rare, _weights = corpus(random.Random(8))
    mixes: list[tuple[str, str]] = []
    for word in rng.sample(rare[:200], 10) + rng.sample(rare[200:5000], 10):
        mixes.append(("rare word", word))
    for number in rng.sample(range(100000, 999999), 5):
        mixes.append(("order number", f"ordre {number}"))
    for word in (
        "forsinket",
        "refusion",
        "wifi",
        "billet",
        "appen",
        "försenat",
        "biljett",
        "opóźniony",
        "refund",
        "cykel",
    ):
        mixes.append(("common word", word))
    for phrase in (
        '"toget er forsinket"',
        '"pociąg jest opóźniony"',
        '"train is delayed"',
        '"tåget till Malmö"',
    ):
        mixes.append(("phrase", phrase))
    for query in (
        "wifi OR internet -vogn",
        "refusion billet -appen",
        "(cykel OR hund) tog",
        "zwrot pieniędzy",
    ):
        mixes.append(("boolean", query))
    for query in (
        "forsinket lang:da channel:x",
        "refund status:open sentiment:negative",
        "wifi brand:market",
        "billet from:2026-03-01 to:2026-03-31",
        "has:pii lang:pl",
        "intent:press channel:facebook",
    ):
        mixes.append(("filters", query))
    return mixes


def measure(repeats: int) -> dict[str, Any]:
    from sqlalchemy import select

    from tilsvar.db import get_database
    from tilsvar.models import Brand
    from tilsvar.search import search

    database = get_database()
    with database.reader() as session:
        brand_ids = list(session.scalars(select(Brand.id)))
    mix = queries(random.Random(3))
    samples: list[float] = []
    by_kind: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    sampled: list[str] = []
    for round_ in range(repeats + 1):
        for kind, query in mix:
            with database.reader() as session:
                started = time.perf_counter()
                result = search(session, brand_ids=brand_ids, query=query, limit=20)
                elapsed = (time.perf_counter() - started) * 1000
            if round_ == 0:
                totals[query] = result.total  # the first round warms the cache
                if result.facets_are_estimates:
                    sampled.append(query)
                continue
            samples.append(elapsed)
            by_kind.setdefault(kind, []).append(elapsed)
    slowest = sorted(totals, key=lambda query: -totals[query])[:3]
    return {
        "queries": len(mix),
        "repeats": repeats,
        "ms": percentiles(samples),
        "ms_by_kind": {kind: percentiles(values) for kind, values in by_kind.items()},
        "largest_result_sets": {query: totals[query] for query in slowest},
        "facets_estimated_for": len(sampled),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="keep the database (PostgreSQL database NAME, or SQLite file NAME) and, if it exists already, "
        "reuse it: only migrate and measure the searches (no fill, rebuild or trigger cost)",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    filled: dict[str, Any] | None = None
    rebuilt: dict[str, Any] | None = None
    triggers: dict[str, Any] | None = None
    database = kept_database(args.backend, args.keep) if args.keep else _fresh(args.backend)
    with database as (_data_dir, _url, existed):
        if existed:
            log(f"reusing {args.keep}")
        else:
            log(f"filling {args.messages:,} messages on {args.backend}")
            filled = fill(args.messages)
            log(f"filled: {filled}")
            rebuilt = rebuild_rate(args.backend)
            log(f"index rebuild: {rebuilt}")
        timing = measure(args.repeats)
        log(f"search: {timing['ms']}")
        if not existed:
            triggers = trigger_cost(args.backend)
        messages, conversations = _size()
    result = {
        "benchmark": "search_speed",
        "backend": args.backend,
        "messages": messages,
        "conversations": conversations,
        "bulk_insert_with_index": filled,
        "index_rebuild": rebuilt,
        "search_with_facets": timing,
        "insert_trigger_cost": triggers,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "goals": {"p95_ms": 50},
    }
    print(json.dumps(result))


@contextlib.contextmanager
def _fresh(backend: str) -> Iterator[tuple[Path, str, bool]]:
    with temporary_database(backend) as (data_dir, url):
        yield data_dir, url, False


def _size() -> tuple[int, int]:
    from sqlalchemy import text

    from tilsvar.db import get_database

    with get_database().reader() as session:
        messages = int(session.execute(text("SELECT count(*) FROM messages")).scalar_one())
        conversations = int(session.execute(text("SELECT count(*) FROM conversations")).scalar_one())
    return messages, conversations


if __name__ == "__main__":
    main()
