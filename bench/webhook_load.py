"""Webhook load: signed deliveries at a fixed rate against `tilsvar serve` on loopback (SQLite).

Starts `tilsvar serve` (with its worker as a child process, or `--worker in-process` as a thread) on a
fresh SQLite database with a Facebook Page, an Instagram account, an X handle and a LinkedIn
organisation connected, signs in as an agent and follows the live stream (`/events`, server-sent
events, as the inbox page does), then has `bench/webhook_sender.py` -- its own process, raw kept-alive
sockets, requests built and signed beforehand -- send the simulator's traffic at `--rate` requests
per second for `--seconds` seconds with a fixed-rate scheduler (latency counted from when a request
was due). A share of the requests (`--redeliver`) repeat an earlier delivery byte for byte, as
platforms do.

Measures:
- acknowledgement latency of `POST /webhooks/*` (p50/p95/p99); goal p99 ≤ 50 ms;
- lost and duplicated events: after the run, the stored raw deliveries and messages are counted
  against what was accepted (goal: zero and zero);
- time from a webhook POST (when it was due) to the `message.received` event for its message on the
  live SSE stream of a signed-in web session (p50/p95); goal p95 ≤ 1 s.

Only loopback; bounded in count (rate × seconds) and time. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, server, temporary_database

PASSWORD = "bench-password-1"  # noqa: S105  (a throwaway user in a throwaway database)
SECRETS = {"facebook": "bench-meta-secret", "x": "bench-x-secret", "linkedin": "bench-li-secret"}


def setup() -> list[Any]:
    """Channels on all four webhook platforms and a signed-in-able agent; returns the targets."""
    from tilsvar.actions.org import (
        do_create_brand,
        do_create_channel,
        do_create_organization,
        do_create_user,
    )
    from tilsvar.db import get_database
    from tilsvar.demo.traffic import Target

    targets = [
        Target("facebook", "BenchRail", "448242228374517", SECRETS["facebook"]),
        Target("instagram", "benchrail", "17841474524784050", SECRETS["facebook"]),
        Target("x", "BenchRailHelp", "2975699229", SECRETS["x"]),
        Target("linkedin", "bench-rail", "urn:li:organization:2414183", SECRETS["linkedin"], "prefixed"),
    ]
    signed_with = {"facebook": "app_secret", "instagram": "app_secret", "x": "consumer_secret"}
    with get_database().session() as session:
        organization = do_create_organization(session, name="Bench", slug="bench")
        brand = do_create_brand(session, organization=organization, name="Bench Rail", slug="rail")
        for target in targets:
            do_create_channel(
                session,
                brand=brand,
                platform=target.platform,
                account=target.account,
                credentials={signed_with.get(target.platform, "client_secret"): target.secret},
                config={"account_id": target.account_id},
            )
        do_create_user(
            session, organization=organization, email="agent@bench.invalid", role="agent", password=PASSWORD
        )
    return targets


class LiveStream(threading.Thread):
    """Follows `/events` for a signed-in session; records when each message.received arrived."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True, name="sse")
        self.base = base
        self.seen: dict[int, float] = {}
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error = ""

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.base, timeout=httpx.Timeout(10, read=None)) as client:
                answer = client.post("/login", data={"email": "agent@bench.invalid", "password": PASSWORD})
                if answer.status_code >= 400:
                    raise RuntimeError(f"sign-in failed: {answer.status_code}")
                with client.stream("GET", "/events", headers={"Accept": "text/event-stream"}) as stream:
                    self.ready.set()
                    kind = ""
                    for line in stream.iter_lines():
                        if self.stop.is_set():
                            return
                        if line.startswith("event:"):
                            kind = line[6:].strip()
                        elif line.startswith("data:") and kind == "message.received":
                            event = json.loads(line[5:])
                            self.seen.setdefault(int(event["message_id"]), time.monotonic())
        except Exception as error:  # reported in the result, not swallowed (unless we were stopping)
            if not self.stop.is_set():
                self.error = f"{type(error).__name__}: {error}"
            self.ready.set()


@contextlib.contextmanager
def worker_process(data_dir: Path, url: str, env: dict[str, str], *, run: bool) -> Iterator[None]:
    """A `tilsvar worker` beside the server (when ``run``), stopped afterwards."""
    if not run:
        yield
        return
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TILSVAR_")}
    environment.update(
        TILSVAR_DATA_DIR=str(data_dir), TILSVAR_DATABASE_URL=url, TILSVAR_LOG_LEVEL="WARNING", **env
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "tilsvar", "worker"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_processed(seconds: float) -> dict[str, int]:
    """Wait until no delivery awaits processing (stored, or still in the receipt spool); return
    raw_events by status."""
    from sqlalchemy import func, select

    from tilsvar.api.webhook_receipts import spool_for
    from tilsvar.db import get_database
    from tilsvar.models import RawEvent

    database = get_database()
    spool = spool_for(database)
    deadline = time.monotonic() + seconds
    while True:
        with database.reader() as session:
            counts = dict(
                session.execute(select(RawEvent.status, func.count()).group_by(RawEvent.status)).all()
            )
        spooled = 0
        if spool is not None and spool.path.exists():
            connection = spool.connect()
            spooled = int(connection.execute("SELECT count(*) FROM spooled").fetchone()[0])
            connection.close()
        if (not counts.get("stored") and not spooled) or time.monotonic() > deadline:
            return {str(key): int(value) for key, value in counts.items()}
        time.sleep(0.5)


def wait_drained(seconds: float) -> dict[str, Any]:
    """Wait until no job is due or running (the analysis, routing and trends backlog the burst left);
    return how long that took and what was left if the time ran out."""
    from sqlalchemy import func, or_, select

    from tilsvar.db import get_database
    from tilsvar.models import Job, utcnow

    database = get_database()
    started = time.monotonic()
    while True:
        with database.reader() as session:
            left = dict(
                session.execute(
                    select(Job.kind, func.count())
                    .where(or_(Job.status == "running", (Job.status == "queued") & (Job.run_at <= utcnow())))
                    .group_by(Job.kind)
                ).all()
            )
        waited = time.monotonic() - started
        if not left or waited > seconds:
            return {"seconds": round(waited, 1), "drained": not left, "jobs_left": left}
        time.sleep(0.5)


def _epoch(moment: Any) -> float:
    """Seconds since the epoch of a stored UTC timestamp (naive on SQLite)."""
    from datetime import UTC

    return float(moment.replace(tzinfo=UTC).timestamp() if moment.tzinfo is None else moment.timestamp())


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {
        "p50": round(ordered[len(ordered) // 2], 1),
        "p95": round(ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)], 1),
        "max": round(ordered[-1], 1),
    }


def count_messages(expected: set[tuple[str, str]]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from tilsvar.db import get_database
    from tilsvar.models import Channel, Message

    with get_database().reader() as session:
        rows = session.execute(
            select(Message.id, Channel.platform, Message.external_id, Message.received_at)
            .join(Channel, Channel.id == Message.channel_id)
            .where(Message.direction == "in")
        ).all()
        duplicates = session.scalar(
            select(func.count()).select_from(
                select(Message.channel_id, Message.external_id)
                .group_by(Message.channel_id, Message.external_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
    stored = {(platform, external_id): message_id for message_id, platform, external_id, _ in rows}
    stored_at = {message_id: _epoch(received_at) for message_id, _, _, received_at in rows}
    return {
        "stored": stored,
        "stored_at": stored_at,
        "messages": len(rows),
        "lost": len(expected - set(stored)),
        "unexpected": len(set(stored) - expected),
        "duplicated": int(duplicates or 0),
    }


@contextlib.contextmanager
def profiled(pid: int, output: str) -> Iterator[None]:
    """Sample the server with py-spy (if ``output`` is given and py-spy is installed) while sending."""
    if not output:
        yield
        return
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy"))
            if Path(sys.executable).with_name("py-spy").exists()
            else "py-spy",
            "record",
            "--nonblocking",
            "--subprocesses",
            "--pid",
            str(pid),
            "--rate",
            "100",
            "--format",
            "speedscope" if output.endswith(".json") else "raw",
            "--output",
            output,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.send_signal(2)
        spy.wait(60)


def build_deliveries(generator: Any, total: int, redeliver_share: float) -> list[Any]:
    """Every request of the run, built and signed before the clock starts (as the simulator would
    send them: a share repeat an earlier delivery byte for byte)."""
    from tilsvar.demo.traffic import redelivery

    rng = random.Random(5)
    sent: list[Any] = []
    deliveries = []
    for _ in range(total):
        if sent and rng.random() < redeliver_share:
            deliveries.append(redelivery(rng.choice(sent[-200:])))
        else:
            delivery = generator.next()
            sent.append(delivery)
            deliveries.append(delivery)
    return deliveries


def send_from_own_process(base: str, deliveries: list[Any], *, rate: float, connections: int) -> Any:
    """Run ``bench/webhook_sender.py`` (raw kept-alive sockets, its own interpreter) and read back
    when each request was due and answered, as a ``SimulationReport``."""
    from tilsvar.demo.webhook_simulator import SendRecord, SimulationReport

    with tempfile.TemporaryDirectory(prefix="tilsvar-sender-") as folder:
        requests_file, results_file = Path(folder) / "requests", Path(folder) / "results"
        requests_file.write_bytes(
            pickle.dumps([(delivery.path, delivery.headers, delivery.body) for delivery in deliveries])
        )
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("webhook_sender.py")),
                f"--url={base}",
                f"--rate={rate}",
                f"--input={requests_file}",
                f"--output={results_file}",
                f"--connections={connections}",
            ],
            check=True,
        )
        results = pickle.loads(results_file.read_bytes())  # noqa: S301  (written by our own sender)
    report = SimulationReport()
    for delivery, (due, answered, status) in zip(deliveries, results, strict=True):
        record = SendRecord(delivery=delivery, due=due, sent_at_wall=0.0, answered=answered, status=status)
        if status != 200:
            record.error = f"status {status}"
        report.records.append(record)
    dues = [record.due for record in report.records if record.due]
    report.seconds = (max(dues) - min(dues) + 1 / rate) if dues else time.monotonic() - started
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=300.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to send")
    parser.add_argument(
        "--redeliver", type=float, default=0.02, help="share of requests that are redeliveries"
    )
    parser.add_argument("--connections", type=int, default=16, help="kept-alive connections of the sender")
    parser.add_argument("--profile", default="", help="write a py-spy profile of the server here")
    parser.add_argument("--scenario", default="steady", choices=["steady", "burst", "chorus", "abuse"])
    parser.add_argument("--settle", type=float, default=120.0, help="longest wait for processing afterwards")
    parser.add_argument(
        "--no-pipeline", dest="pipeline", action="store_false", help="turn the understanding pipeline off"
    )
    parser.add_argument(
        "--worker",
        choices=["in-process", "separate"],
        default="separate",
        help="a `tilsvar worker` process beside the server (default) or a thread inside `tilsvar serve`",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=600.0,
        help="seconds to wait, after the last live event, for the job backlog (analysis etc.) to drain",
    )
    args = parser.parse_args()
    if args.rate * args.seconds > 100_000:
        parser.error("bounded: at most 100000 requests")

    from tilsvar.demo.traffic import TrafficGenerator

    with temporary_database("sqlite") as (data_dir, url):
        targets = setup()
        env = {"TILSVAR_PIPELINE_ENABLED": "true" if args.pipeline else "false"}
        # `separate`: the default of `tilsvar serve` on SQLite, a `tilsvar worker` child process.
        env["TILSVAR_WORKER_IN_PROCESS"] = "process" if args.worker == "separate" else "thread"
        with (
            server(data_dir, url, **env) as (base, server_process),
            worker_process(data_dir, url, env, run=False),
        ):
            assert base.startswith("http://127.0.0.1:"), "loopback only"
            live = LiveStream(base)
            live.start()
            live.ready.wait(30)
            time.sleep(0.5)
            generator = TrafficGenerator(targets, scenario=args.scenario, rng=random.Random(4))
            deliveries = build_deliveries(generator, int(args.rate * args.seconds), args.redeliver)
            log(f"sending {len(deliveries)} requests at {args.rate}/s to {base} (sender process)")
            with profiled(server_process.pid, args.profile):
                report = send_from_own_process(base, deliveries, rate=args.rate, connections=args.connections)
            sent_at = time.monotonic()
            log(f"sent: {report.summary()['statuses']}; waiting for processing")
            raw = wait_processed(args.settle)
            # Requests that timed out on our side (status 0) may still have been stored: they count
            # as sent, but only requests acknowledged with 200 must have arrived.
            expected = {
                (record.delivery.platform, external_id)
                for record in report.records
                if record.status in {0, 200}
                for external_id in record.delivery.external_ids
            }
            counted = count_messages(expected)
            accepted = report.expected_ids
            counted["lost"] = len(accepted - set(counted["stored"]))
            time.sleep(2.0)  # the last live events
            live.stop.set()  # before the server stops and cuts the stream
            drain = wait_drained(args.drain)
            drain["seconds_after_last_request"] = round(time.monotonic() - sent_at, 1)
        due = {
            (record.delivery.platform, external_id): record.due
            for record in report.records
            if record.status == 200 and not record.delivery.redelivery
            for external_id in record.delivery.external_ids
        }
        stored_ids = counted.pop("stored")
        stored_at = counted.pop("stored_at")
        visible = sorted(
            (live.seen[message_id] - due[key]) * 1000
            for key, message_id in stored_ids.items()
            if key in due and message_id in live.seen
        )
        # The wall clock the worker stamps rows with, on the monotonic clock the sender uses.
        wall_offset = time.time() - time.monotonic()
        stored_ms = [
            (stored_at[message_id] - wall_offset - due[key]) * 1000
            for key, message_id in stored_ids.items()
            if key in due
        ]
        # The slowest store of each second of the run: shows whether the tail is steady or in stalls.
        first_due = min(due.values()) if due else 0.0
        slowest_by_second: dict[int, float] = {}
        for key, message_id in stored_ids.items():
            if key in due:
                second = int(due[key] - first_due)
                late = (stored_at[message_id] - wall_offset - due[key]) * 1000
                slowest_by_second[second] = max(slowest_by_second.get(second, 0.0), late)
        stored_to_visible_ms = [
            (live.seen[message_id] - (stored_at[message_id] - wall_offset)) * 1000
            for key, message_id in stored_ids.items()
            if key in due and message_id in live.seen
        ]
    summary = report.summary()
    unique_accepted = sum(
        1 for record in report.records if record.status == 200 and not record.delivery.redelivery
    )
    unique_sent = len({record.delivery.body for record in report.records if record.status in {0, 200}})
    result = {
        "benchmark": "webhook_load",
        "backend": "sqlite",
        "rate": args.rate,
        "seconds": args.seconds,
        "scenario": args.scenario,
        "pipeline": args.pipeline,
        "worker": args.worker,
        "requests": summary["requests"],
        "redeliveries": summary["redeliveries"],
        "statuses": summary["statuses"],
        "achieved_rate": summary["achieved_rate"],
        "ack_ms": summary["ack_ms"],
        "raw_events": raw,
        "unique_deliveries_accepted": unique_accepted,
        "unique_deliveries_sent": unique_sent,
        "timed_out_on_the_client": summary["statuses"].get("0", 0),
        "lost_raw_events": max(unique_accepted - sum(raw.values()), 0),
        "duplicated_raw_events": max(sum(raw.values()) - unique_sent, 0),
        "messages": counted,
        "stored_ms": _percentiles(stored_ms),
        "stored_to_visible_ms": _percentiles(stored_to_visible_ms),
        "slowest_store_ms_by_second": [round(slowest_by_second[k]) for k in sorted(slowest_by_second)],
        "visible_via": "SSE /events (signed-in web session), message.received",
        "visible_ms": {"count": len(visible), **_percentiles(visible)},
        "backlog_drain": drain,
        "live_stream_error": live.error,
        "errors": summary["errors"],
        "goals": {"ack_p99_ms": 50, "visible_p95_ms": 1000, "lost": 0, "duplicated": 0},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
