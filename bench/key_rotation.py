"""Key rotation: how fast ``tilsvar keys reencrypt`` rewrites ciphertexts after a new primary key.

Imports a generated JSON-lines file (100k messages, 20k conversations by default, ``--pii-share`` of
the customer messages with a planted e-mail address or phone number, so that many are sealed),
stores one raw payload per sealed message, adds a key to the ring, and times the re-encryption pass
(every column, 500 rows a transaction) and a second, idle pass. Prints one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, temporary_database
from bench.generate_jsonl import generate
from bench.import_throughput import plant_personal_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--pii-share", type=float, default=0.2)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, temporary_database(args.backend) as (_data_dir, _url):
        path = Path(folder) / "messages.jsonl"
        generate(path, messages=args.messages, conversations=args.messages // 5)
        plant_personal_data(path, args.pii_share)
        from sqlalchemy import insert, select

        from tilsvar.crypto import append_key
        from tilsvar.db import get_database
        from tilsvar.importing.run import run_import
        from tilsvar.models import Message, RawEvent
        from tilsvar.models.base import table_of
        from tilsvar.privacy.keys import reencrypt, total_rows
        from tilsvar.privacy.sealing import seal_raw
        from tilsvar.settings import get_settings

        database = get_database()
        run_import(database, path, fmt="jsonl", analyze=False)
        with database.session() as session:
            sealed = list(session.scalars(select(Message.id).where(Message.text_sealed.is_not(None))))
            session.execute(
                insert(table_of(RawEvent)),
                [{"source": "bench", "body": seal_raw(b'{"text": "x"}' * 20), "headers": {}} for _ in sealed],
            )
        rows = total_rows(database)
        log(f"{len(sealed)} sealed messages, {rows} encrypted rows; rotating")
        append_key(get_settings().effective_secret_key_file)
        started = time.perf_counter()
        rewritten = reencrypt(database)
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        again = reencrypt(database)
        idle = time.perf_counter() - started
    print(
        json.dumps(
            {
                "benchmark": "key_rotation",
                "backend": args.backend,
                "messages": args.messages,
                "encrypted_rows": rows,
                "rewritten": rewritten,
                "seconds": round(elapsed, 2),
                "rows_per_second": round(sum(rewritten.values()) / elapsed),
                "second_pass_rewritten": sum(again.values()),
                "second_pass_seconds": round(idle, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
