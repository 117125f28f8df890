"""`tilsvar serve` as deployed: a real server process over real HTTP. On SQLite it delivers replies
with its in-process worker; on PostgreSQL it leaves them to `tilsvar worker` processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tilsvar.settings import Settings

from conftest import BACKEND, Seeded
from helpers import auth


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_process_ingests_replies_and_delivers(
    settings: Settings, seeded: Seeded, tmp_path: Path
) -> None:
    port = _free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TILSVAR_") or k.startswith("TILSVAR_TEST")
    }
    env.update(
        TILSVAR_DATA_DIR=str(settings.data_dir),
        TILSVAR_DATABASE_URL=settings.effective_database_url,
        TILSVAR_WORKER_POLL_SECONDS="0.1",
    )
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "tilsvar", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=10) as http:
                # the worker thread loads the pipeline's models at start-up: a few seconds of the GIL,
                # much longer on a loaded machine
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if http.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise AssertionError(log_path.read_text())
                headers = auth(seeded.admin_token)
                posted = http.post(
                    "/api/v1/inbound",
                    json={"account": "rail-app", "external_id": "s1", "author": {"id": "u1"}, "text": "Hej"},
                    headers=headers,
                )
                assert posted.status_code == 201
                conversation_id = posted.json()["conversation_id"]
                reply = http.post(
                    f"/api/v1/conversations/{conversation_id}/replies", json={"text": "Hej!"}, headers=headers
                )
                assert reply.status_code == 202
                state = ""
                # on SQLite the server's worker sends it, once its model warm-up (several seconds of
                # the GIL, longer on a loaded machine) is over; on PostgreSQL it stays queued
                deadline = time.monotonic() + (60 if BACKEND == "sqlite" else 5)
                while time.monotonic() < deadline:
                    thread = http.get(f"/api/v1/conversations/{conversation_id}", headers=headers).json()
                    state = thread["messages"][-1]["delivery"]["state"]
                    if state == "sent":
                        break
                    time.sleep(0.1)
                if BACKEND == "sqlite":
                    assert state == "sent"
                else:
                    assert state == "queued"  # no worker inside the server on PostgreSQL
                assert http.get("/docs").status_code == 200
        finally:
            server.terminate()
            server.wait(15)
    # uvicorn shuts down gracefully, then re-raises SIGTERM as its exit status
    assert server.returncode in (0, -signal.SIGTERM), log_path.read_text()
    assert "Application shutdown complete" in log_path.read_text()
