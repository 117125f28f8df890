"""A real `tilsvar worker` process killed mid-delivery: the reply is delivered by the next worker once
the lease expires, nothing is lost, and the receiver can tell the two attempts are one reply (same
Idempotency-Key, signed body)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import select

from tilsvar.actions.org import do_create_channel
from tilsvar.actions.replies import do_reply
from tilsvar.channels.generic_api import SIGNATURE_HEADER, sign
from tilsvar.db import Database
from tilsvar.models import Conversation, Job, Message, User
from tilsvar.settings import Settings

from conftest import IngestFn, Seeded


class Receiver:
    """An HTTP endpoint that hangs on the first delivery and accepts the next ones."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                if len(receiver.requests) == 1:
                    receiver.first_arrived.set()
                    receiver.release.wait(30)
                    return
                payload = json.dumps({"id": "cb-1"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/replies"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *args: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def start_worker(settings: Settings, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TILSVAR_") or k.startswith("TILSVAR_TEST")
    }
    env.update(
        TILSVAR_DATA_DIR=str(settings.data_dir),
        TILSVAR_DATABASE_URL=settings.effective_database_url,
        TILSVAR_JOB_LEASE_SECONDS="2",
        TILSVAR_WORKER_POLL_SECONDS="0.1",
        TILSVAR_JOB_BACKOFF_BASE_SECONDS="0.2",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "tilsvar", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def test_killed_worker_loses_nothing_and_the_reply_is_sent_once(
    settings: Settings,
    database: Database,
    seeded: Seeded,
    ingest: IngestFn,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    with database.session() as session:
        channel = do_create_channel(
            session,
            brand=seeded.rail,
            platform="api",
            account="shop-app",
            config={"callback_url": receiver.url},
            credentials={"callback_secret": "s3cret"},
        )
    ingest(channel, "Hvor er min pakke?", external_id="q1")
    with database.session() as session:
        conversation = session.scalars(select(Conversation)).one()
        user = session.get_one(User, seeded.agent.id)
        reply_id = do_reply(session, user=user, conversation=conversation, text="Den er på vej!").id

    log = (tmp_path / "workers.log").open("wb")
    first = start_worker(settings, log)
    try:
        assert receiver.first_arrived.wait(30), "the first worker never tried to deliver"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    second = start_worker(settings, log)
    try:
        deadline = time.monotonic() + 40
        state = ""
        while time.monotonic() < deadline:
            with database.reader() as session:
                state = session.get_one(Message, reply_id).delivery_state
            if state == "sent":
                break
            time.sleep(0.2)
        assert state == "sent"
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
        log.close()
    assert second.returncode == 0, (tmp_path / "workers.log").read_text()

    with database.reader() as session:
        message = session.get_one(Message, reply_id)
        job = session.scalars(select(Job).where(Job.kind == "outbound.send")).one()
    assert message.external_id == "cb-1"
    assert (job.status, job.attempts) == ("done", 2)
    assert len(receiver.requests) == 2
    keys = {headers["Idempotency-Key"] for headers, _ in receiver.requests}
    assert len(keys) == 1
    for headers, body in receiver.requests:
        assert headers[SIGNATURE_HEADER] == sign("s3cret", body)
        assert json.loads(body)["text"] == "Den er på vej!"
