"""Erasure time for one customer with 1,000 messages in a 1,000,000-message SQLite database
(issue 5). Prints one JSON object.

The database is built with set-based SQL (recursive CTEs) into a migrated temporary database, with
the search triggers on, so the FTS5 index and facet rows hold every message as production would.
Background conversations have ten messages each (customers and brand replies, a small vocabulary
plus a long tail of numbers); the customer to erase wrote ``--customer-messages`` messages, each in
its own conversation with a brand reply. Timed: the erasure transaction (``do_erase_subject``), the
FTS5 ``optimize`` merge, ``VACUUM`` and the WAL checkpoint, separately and in total.

    python bench/privacy_erase.py                        # 1,000,000 messages, 1,000 of theirs
    python bench/privacy_erase.py --messages 100000 --no-vacuum
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import log, temporary_database

START = "2026-01-01 00:00:00"
WORDS = "'toget','bussen','billet','refusion','forsinket','aflyst','perron','kort','app','kontrol'"


def build(url: str, *, messages: int, customer_messages: int) -> None:
    """Fill the database: the seed org, background traffic and the customer to erase."""
    from tilsvar.actions.org import do_create_brand, do_create_channel, do_create_organization
    from tilsvar.db import Database

    database = Database(url)
    with database.session() as session:
        org = do_create_organization(session, name="Bench", slug="bench")
        brand = do_create_brand(session, organization=org, name="Rail", slug="rail")
        channel = do_create_channel(session, brand=brand, platform="x", account="RailHelp", mode="simulated")
        ids = {"org": org.id, "brand": brand.id, "channel": channel.id}
    background = max(messages - 2 * customer_messages, 0) // 10
    customers = 10_000
    with database.engine.begin() as connection:
        run = connection.exec_driver_sql
        run(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO contacts (id, organization_id, display_name, created_at) "
            "SELECT i, ?, 'Customer ' || i, ? FROM n",
            (customers + 1, ids["org"], START),
        )
        run(
            "INSERT INTO identities (organization_id, contact_id, platform, external_id, handle, name, "
            "created_at) SELECT organization_id, id, 'x', 'cust' || id, '@cust' || id, display_name, "
            "created_at FROM contacts",
        )
        # Conversations: background ones (contact i % customers + 1), then the customer's (contact
        # customers + 1), numbered 1..background+customer_messages.
        total = background + customer_messages
        run(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO conversations (id, organization_id, brand_id, channel_id, thread_key, kind, "
            "contact_id, status, subject, preview, message_count, first_message_at, first_message_inbound, "
            "last_message_at, created_at, updated_at) SELECT i, ?, ?, ?, 't' || i, 'comment', "
            "CASE WHEN i > ? THEN ? ELSE i % ? + 1 END, 'resolved', '', 'preview ' || i, "
            "CASE WHEN i > ? THEN 2 ELSE 10 END, datetime(?, '+' || i || ' minutes'), 1, "
            "datetime(?, '+' || i || ' minutes'), datetime(?, '+' || i || ' minutes'), "
            "datetime(?, '+' || i || ' minutes') FROM n",
            (
                total,
                ids["org"],
                ids["brand"],
                ids["channel"],
                background,
                customers + 1,
                customers,
                background,
                START,
                START,
                START,
                START,
            ),
        )
        log(f"{total} conversations")
        started = time.perf_counter()
        run(
            "WITH RECURSIVE n(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM n WHERE j < ?) "
            "INSERT INTO messages (conversation_id, channel_id, external_id, direction, kind, "
            "author_identity_id, author_name, text, created_at, received_at, is_automatic, delivery_state, "
            "delivery_error, delivery_attempts, platform_state) "
            "SELECT j / 10 + 1, ?, 'b' || j, CASE WHEN j % 2 = 0 THEN 'in' ELSE 'out' END, 'comment', "
            "CASE WHEN j % 2 = 0 THEN (j / 10) % ? + 1 END, '', "
            f"json_extract(json_array({WORDS}), '$[' || (j % 10) || ']') || ' ' || "
            f"json_extract(json_array({WORDS}), '$[' || (j / 10 % 10) || ']') || ' nr ' || (j % 9973), "
            "datetime(?, '+' || (j / 10 + 1) || ' minutes'), "
            "datetime(?, '+' || (j / 10 + 1) || ' minutes'), "
            "0, 'received', '', 0, '' FROM n",
            (background * 10 - 1, ids["channel"], customers, START, START),
        )
        log(f"{background * 10} background messages in {time.perf_counter() - started:.0f}s")
        run(
            "WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < ?) "
            "INSERT INTO messages (conversation_id, channel_id, external_id, direction, kind, "
            "author_identity_id, author_name, text, created_at, received_at, is_automatic, delivery_state, "
            "delivery_error, delivery_attempts, platform_state) "
            "SELECT ? + k / 2 + 1, ?, 'c' || k, CASE WHEN k % 2 = 0 THEN 'in' ELSE 'out' END, 'comment', "
            "CASE WHEN k % 2 = 0 THEN (SELECT id FROM identities WHERE contact_id = ?) END, "
            "CASE WHEN k % 2 = 0 THEN 'Secret Customer' ELSE '' END, "
            "CASE WHEN k % 2 = 0 THEN 'secretmarker toget er forsinket ' || k ELSE 'Vi beklager ' || k END, "
            "datetime(?, '+' || (? + k / 2 + 1) || ' minutes'), "
            "datetime(?, '+' || (? + k / 2 + 1) || ' minutes'), "
            "0, 'received', '', 0, '' FROM n",
            (
                2 * customer_messages - 1,
                background,
                ids["channel"],
                customers + 1,
                START,
                background,
                START,
                background,
            ),
        )
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages in the database in all")
    parser.add_argument(
        "--customer-messages", type=int, default=1_000, help="messages the erased customer wrote"
    )
    parser.add_argument("--no-vacuum", action="store_true", help="skip VACUUM (secure_delete still zeroes)")
    args = parser.parse_args()
    with temporary_database("sqlite") as (data_dir, url):
        started = time.perf_counter()
        build(url, messages=args.messages, customer_messages=args.customer_messages)
        build_seconds = time.perf_counter() - started
        from sqlalchemy import func, select

        from tilsvar.actions.privacy import compact_after_erasure, do_erase_subject
        from tilsvar.db import get_database
        from tilsvar.models import Message

        database = get_database()
        with database.reader() as session:
            count = session.scalar(select(func.count()).select_from(Message)) or 0
        size_before = (data_dir / "bench.db").stat().st_size
        log(f"built {count} messages in {build_seconds:.0f}s, erasing")
        started = time.perf_counter()
        with database.session() as session:
            result = do_erase_subject(session, platform="x", author_id="cust10001", actor="bench")
        transaction = time.perf_counter() - started
        timings = compact_after_erasure(database, vacuum=not args.no_vacuum)
        total = time.perf_counter() - started
        marker = b"secretmarker"
        leftover = sum(path.read_bytes().count(marker) for path in data_dir.glob("bench.db*"))
        print(
            json.dumps(
                {
                    "backend": "sqlite",
                    "messages": count,
                    "customer_messages": args.customer_messages,
                    "messages_erased": result.counts.get("messages", 0),
                    "conversations_erased": result.counts.get("conversations", 0),
                    "erase_transaction_s": round(transaction, 3),
                    **{f"{name}_s": round(value, 3) for name, value in timings.items()},
                    "total_s": round(total, 3),
                    "database_mb": round(size_before / 1e6, 1),
                    "marker_left_in_files": leftover,
                    "build_s": round(build_seconds, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
