"""Inbox listing latency through the API, and the server's idle memory, with 100k conversations.

Fills a fresh database through `tilsvar import` (a generated file: 100k conversations, 130k messages on
five platforms), starts `tilsvar serve` in its own process, and asks it for the first page of the
unanswered inbox, sorted by waiting time (50 rows), many times with a real HTTP client on loopback.
Also reads the page after a cursor (the second page) and the `recent` sort. Then lets the server sit idle
and reads its resident memory (VmRSS of the server process).

Goals (issue 2): p95 ≤ 30 ms on SQLite and PostgreSQL; RSS ≤ 300 MB at idle after importing 100k
messages.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, percentiles, server, temporary_database
from bench.generate_jsonl import generate


def rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def fill(path: Path, *, conversations: int, messages: int, batch_size: int) -> dict[str, float]:
    from tilsvar.db import get_database
    from tilsvar.importing.run import run_import

    generate(path, messages=messages, conversations=conversations)
    started = time.perf_counter()
    report = run_import(get_database(), path, fmt="jsonl", analyze=False, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    database = get_database()
    if not database.is_sqlite:
        # What autovacuum would do soon after a bulk load: give the planner its statistics.
        with database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    return {"messages": report.imported, "conversations": report.conversations_created, "seconds": elapsed}


def api_token() -> str:
    environment_cli = [sys.executable, "-m", "tilsvar", "users"]
    subprocess.run(
        [*environment_cli, "create", "--email", "bench@tilsvar.invalid", "--role", "admin"],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [*environment_cli, "token", "--email", "bench@tilsvar.invalid"],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def timed_gets(client: httpx.Client, url: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=130_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument(
        "--worker-in-process",
        choices=["auto", "yes", "no"],
        default="no",
        help="no (default): measure the API node alone, as in a deployment with separate workers; "
        "auto: SQLite's default, where the server's own worker catches up on the import's rollups",
    )
    args = parser.parse_args()
    with temporary_database(args.backend) as (data_dir, url), tempfile.TemporaryDirectory() as folder:
        filled = fill(
            Path(folder) / "inbox.jsonl",
            conversations=args.conversations,
            messages=args.messages,
            batch_size=2000,
        )
        log(f"filled: {filled}")
        token = api_token()
        with server(data_dir, url, TILSVAR_WORKER_IN_PROCESS=args.worker_in_process) as (base, process):
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                first_url = "/api/v1/conversations?view=unanswered&sort=waiting&limit=50"
                first = client.get(first_url).json()
                assert len(first["items"]) == 50, first
                timed_gets(client, first_url, 20)  # warm-up: connection pool, caches
                first_page = timed_gets(client, first_url, args.requests)
                second_url = f"{first_url}&cursor={first['next_cursor']}"
                second_page = timed_gets(client, second_url, args.requests // 3)
                recent = timed_gets(client, "/api/v1/conversations?view=all&sort=recent&limit=50", 100)
            time.sleep(args.idle_seconds)
            idle_rss = rss_megabytes(process.pid)
    result = {
        "benchmark": "inbox_latency",
        "backend": args.backend,
        "database": {
            "conversations": filled["conversations"],
            "messages": filled["messages"],
            "import_seconds": round(filled["seconds"], 1),
        },
        "unanswered_waiting_first_page_ms": percentiles(first_page),
        "unanswered_waiting_second_page_ms": percentiles(second_page),
        "all_recent_first_page_ms": percentiles(recent),
        "server_idle_rss_mb": idle_rss,
        "worker_in_process": args.worker_in_process,
        "goals": {"p95_ms": 30, "idle_rss_mb": 300},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
