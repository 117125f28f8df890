"""`tilsvar import` throughput on a generated 100k-message JSON-lines file (SQLite by default), against
the physical baseline: a raw `executemany` insert of the same rows into `messages`, same pragmas,
same batch size. Goal: ≥ 2,000 messages/s without text analysis, within 5× of the baseline.

Encryption at rest (docs/privacy.md) runs on every import: each text is scanned for personal data
before it is stored, and those with some are stored redacted with the original AES-GCM encrypted.
``--pii-share 0.2`` plants an e-mail address or phone number in that share of customer messages, to
measure the sealing itself; the output counts the sealed messages."""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import configure, log, temporary_database
from bench.generate_jsonl import generate


def run_import(path: Path, backend: str, batch_size: int) -> dict[str, float | None]:
    with temporary_database(backend) as (_data_dir, _url):
        from tilsvar.db import get_database
        from tilsvar.importing.run import run_import as tilsvar_import

        database = get_database()
        started = time.perf_counter()
        report = tilsvar_import(database, path, fmt="jsonl", analyze=False, batch_size=batch_size)
        elapsed = time.perf_counter() - started
        assert report.rejected_count == 0, report.rejected[:3]
        sealed = _sealed_count(database)
        return {
            "sealed_messages": sealed,
            "messages": report.imported,
            "seconds": round(elapsed, 2),
            "messages_per_second": round(report.imported / elapsed),
            "conversations": report.conversations_created,
        }


def _sealed_count(database: object) -> int | None:
    """Messages stored sealed (None: a Tilsvar without encryption at rest, for comparison runs)."""
    from sqlalchemy import text

    try:
        with database.engine.connect() as connection:  # type: ignore[attr-defined]
            return int(
                connection.execute(
                    text("SELECT count(*) FROM messages WHERE text_sealed IS NOT NULL")
                ).scalar_one()
            )
    except Exception:
        return None


def plant_personal_data(path: Path, share: float) -> int:
    """Append an e-mail address or a phone number to ``share`` of the customer messages."""
    rng = random.Random(7)
    lines = path.read_text(encoding="utf-8").splitlines()
    planted = 0
    for index, line in enumerate(lines):
        record = json.loads(line)
        if record["direction"] != "in" or rng.random() >= share:
            continue
        if planted % 2:
            record["text"] += f" skriv til kunde{index}@example.org"
        else:
            pairs = " ".join(str(rng.randint(10, 99)) for _ in range(3))
            record["text"] += f" ring +45 2{rng.randint(0, 9)} {pairs}"
        lines[index] = json.dumps(record, ensure_ascii=False)
        planted += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return planted


def raw_baseline(path: Path, batch_size: int, *, index_triggers: bool = True) -> dict[str, float]:
    """The same rows, inserted with sqlite3.executemany into a migrated schema: the floor. With
    ``index_triggers`` false the search index's triggers on ``messages`` are dropped first, to show
    what indexing costs the floor itself."""
    from tilsvar.db import Database
    from tilsvar.migrate import upgrade

    records = [json.loads(line) for line in path.open(encoding="utf-8")]
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "raw.db"
        database = Database(f"sqlite:///{file}")
        upgrade(database.engine)
        database.dispose()
        configure(Path(folder), f"sqlite:///{file}")
        connection = sqlite3.connect(file, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536"):
            connection.execute(f"PRAGMA {pragma}")
        if not index_triggers:
            triggers = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages'"
            ).fetchall()
            for (name,) in triggers:
                connection.execute(f'DROP TRIGGER "{name}"')
        connection.execute(
            "INSERT INTO organizations (id, slug, name, created_at) VALUES (1, 'o', 'o', '2026-01-01')"
        )
        connection.execute(
            "INSERT INTO brands (id, organization_id, slug, name, created_at) "
            "VALUES (1, 1, 'b', 'b', '2026-01-01')"
        )
        connection.execute(
            "INSERT INTO channels (id, brand_id, platform, account, account_key, name, mode, status, "
            "status_reason, config, created_at) VALUES (1, 1, 'x', 'a', 'a', 'a', 'live', 'active', "
            "'', '{}', '2026-01-01')"
        )
        connection.execute(
            "INSERT INTO conversations (id, organization_id, brand_id, channel_id, thread_key, kind, "
            "status, subject, preview, message_count, first_message_at, first_message_inbound, "
            "last_message_at, created_at, updated_at) VALUES (1, 1, 1, 1, 't', 'comment', 'new', '', "
            "'', 0, '2026-01-01', 1, '2026-01-01', '2026-01-01', '2026-01-01')"
        )
        rows = [
            (
                1,
                1,
                f"{r['platform']}:{r['external_id']}",
                r["in_reply_to"],
                r["direction"],
                r["kind"],
                "",
                r["text"],
                r["created_at"],
                r["created_at"],
                0,
                "received",
                "",
                0,
            )
            for r in records
        ]
        sql = (
            "INSERT INTO messages (conversation_id, channel_id, external_id, in_reply_to, direction, kind, "
            "author_name, text, created_at, received_at, is_automatic, delivery_state, delivery_error, "
            "delivery_attempts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        )
        started = time.perf_counter()
        for offset in range(0, len(rows), batch_size):
            connection.execute("BEGIN")
            connection.executemany(sql, rows[offset : offset + batch_size])
            connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        connection.close()
        return {
            "messages": len(rows),
            "seconds": round(elapsed, 2),
            "messages_per_second": round(len(rows) / elapsed),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k messages instead of 100k")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument(
        "--pii-share", type=float, default=0.0, help="plant personal data in this share of customer messages"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw executemany baselines")
    args = parser.parse_args()
    messages, conversations = (10_000, 2_000) if args.quick else (100_000, 20_000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "messages.jsonl"
        generate(path, messages=messages, conversations=conversations)
        planted = plant_personal_data(path, args.pii_share) if args.pii_share else 0
        log(f"generated {messages} messages ({planted} with personal data); importing on {args.backend}")
        imported = run_import(path, args.backend, args.batch_size)
        log(f"import: {imported}")
        result: dict[str, object] = {
            "benchmark": "import_throughput",
            "backend": args.backend,
            "batch_size": args.batch_size,
            "messages_with_personal_data": planted,
            "import": imported,
            "goals": {"messages_per_second": 2000, "slowdown_vs_raw": 5},
        }
        if not args.no_baseline:
            baseline = raw_baseline(path, args.batch_size)
            log(f"raw executemany: {baseline}")
            bare = raw_baseline(path, args.batch_size, index_triggers=False)
            log(f"raw executemany without the search index triggers: {bare}")
            result["raw_executemany_sqlite"] = baseline
            result["raw_executemany_sqlite_without_search_triggers"] = bare
            result["slowdown_vs_raw"] = round(
                baseline["messages_per_second"] / float(imported["messages_per_second"] or 1), 2
            )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
