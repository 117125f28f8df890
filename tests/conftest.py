"""Test harness: every test gets a fresh, migrated, real database — SQLite by default, PostgreSQL when
``TILSVAR_TEST_DATABASE=postgresql`` (``make test`` runs the suite on both) — plus named seed data,
an ASGI client, and, for browser tests, a real server on a free port.

SQLite: the schema is migrated once into a template file, copied for each test. PostgreSQL: one
database per xdist worker, migrated once, emptied with TRUNCATE between tests.
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tilsvar.actions.ingest import do_ingest_messages
from tilsvar.actions.org import (
    do_add_team_member,
    do_create_api_token,
    do_create_brand,
    do_create_channel,
    do_create_organization,
    do_create_team,
    do_create_user,
)
from tilsvar.app import create_app
from tilsvar.channels import Author, InboundMessage
from tilsvar.db import Database, get_database, reset_database
from tilsvar.jobs.worker import Worker
from tilsvar.migrate import upgrade
from tilsvar.models import Base, Brand, Channel, Organization, Team, User, utcnow
from tilsvar.passwords import hash_password
from tilsvar.settings import Settings, get_settings

BACKEND = os.environ.get("TILSVAR_TEST_DATABASE", "sqlite")
PG_SERVER = os.environ.get("TILSVAR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
PASSWORD = "correct-horse-battery"


def _worker_name(config: pytest.Config) -> str:
    return str(getattr(config, "workerinput", {}).get("workerid", "main"))


def _pg_admin_dsn() -> str:
    return PG_SERVER.replace("postgresql+psycopg://", "postgresql://") + "/postgres"


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of this worker's migrated template database (SQLite file or PostgreSQL database)."""
    if BACKEND == "sqlite":
        template = tmp_path_factory.mktemp("template") / "template.db"
        database = Database(f"sqlite:///{template}")
        upgrade(database.engine)
        database.dispose()  # closing the last connection checkpoints the WAL into the file
        yield str(template)
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"TILSVAR_TEST_DATABASE must be sqlite or postgresql, not {BACKEND}")
    name = f"tilsvar_test_{_worker_name(request.config)}_{os.getpid()}"
    with psycopg.connect(_pg_admin_dsn(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER}/{name}"
    database = Database(url)
    upgrade(database.engine)
    database.dispose()
    yield url
    reset_database()
    with psycopg.connect(_pg_admin_dsn(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for one test: its own data dir and a fresh copy of the database."""
    for name in list(os.environ):
        if name.startswith("TILSVAR_") and not name.startswith("TILSVAR_TEST_"):
            monkeypatch.delenv(name)
    if BACKEND == "sqlite":
        copy = tmp_path / "tilsvar.db"
        shutil.copyfile(database_url, copy)
        url = f"sqlite:///{copy}"
    else:
        url = database_url
        engine_db = Database(url)
        # DELETE, children first, then every sequence back to 1: on tables a test left nearly empty
        # this takes milliseconds, where one TRUNCATE of all 63 tables took 0.25-1.3 s per test.
        with engine_db.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(text(f'DELETE FROM "{table.name}"'))
            sequences = (
                "SELECT oid FROM pg_class WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace"
            )
            connection.execute(text(f"SELECT setval(oid, 1, false) FROM ({sequences}) AS s"))
        engine_db.dispose()
    monkeypatch.setenv("TILSVAR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TILSVAR_DATABASE_URL", url)
    monkeypatch.setenv("TILSVAR_JOB_BACKOFF_BASE_SECONDS", "0")
    get_settings.cache_clear()
    reset_database()
    yield get_settings()
    reset_database()
    get_settings.cache_clear()


@pytest.fixture
def database(settings: Settings) -> Database:
    return get_database(settings)


@dataclass
class Seeded:
    """The named organisation every test may use."""

    org: Organization
    rail: Brand
    market: Brand
    service_team: Team
    press_team: Team
    x_channel: Channel
    fb_channel: Channel
    api_channel: Channel
    market_channel: Channel
    admin: User
    supervisor: User
    agent: User
    analyst: User
    readonly: User
    admin_token: str
    agent_token: str
    analyst_token: str
    password: str = PASSWORD


@pytest.fixture(scope="session")
def seed_password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def seeded(database: Database, seed_password_hash: str, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    # Hash the shared seed password once per session (argon2 is slow on purpose); sign-ins still
    # verify it with argon2, and other passwords are hashed for real.
    monkeypatch.setattr(
        "tilsvar.actions.org.hash_password",
        lambda password: seed_password_hash if password == PASSWORD else hash_password(password),
    )
    with database.session() as session:
        org = do_create_organization(session, name="Nordic Rail Group", slug="nordic")
        rail = do_create_brand(session, organization=org, name="Nordic Rail", slug="rail")
        market = do_create_brand(session, organization=org, name="Fjord Market", slug="market")
        service = do_create_team(session, organization=org, name="Customer service")
        press = do_create_team(session, organization=org, name="Press")
        x_channel = do_create_channel(
            session, brand=rail, platform="x", account="NordicRailHelp", mode="simulated", team=press
        )
        fb_channel = do_create_channel(
            session, brand=rail, platform="facebook", account="NordicRail", mode="simulated", team=service
        )
        api_channel = do_create_channel(session, brand=rail, platform="api", account="rail-app", team=service)
        market_channel = do_create_channel(
            session, brand=market, platform="facebook", account="FjordMarket", mode="simulated"
        )
        admin = do_create_user(
            session,
            organization=org,
            email="astrid@nordicrail.example",
            role="admin",
            name="Astrid Admin",
            password=PASSWORD,
        )
        supervisor = do_create_user(
            session,
            organization=org,
            email="sune@nordicrail.example",
            role="supervisor",
            name="Sune Supervisor",
            password=PASSWORD,
        )
        agent = do_create_user(
            session,
            organization=org,
            email="anders@nordicrail.example",
            role="agent",
            name="Anders Agent",
            password=PASSWORD,
            brands=[rail],
        )
        analyst = do_create_user(
            session,
            organization=org,
            email="alma@nordicrail.example",
            role="analyst",
            name="Alma Analyst",
            password=PASSWORD,
        )
        readonly = do_create_user(
            session,
            organization=org,
            email="rut@nordicrail.example",
            role="readonly",
            name="Rut Readonly",
            password=PASSWORD,
        )
        do_add_team_member(session, team=service, user=agent)
        return Seeded(
            org=org,
            rail=rail,
            market=market,
            service_team=service,
            press_team=press,
            x_channel=x_channel,
            fb_channel=fb_channel,
            api_channel=api_channel,
            market_channel=market_channel,
            admin=admin,
            supervisor=supervisor,
            agent=agent,
            analyst=analyst,
            readonly=readonly,
            admin_token=do_create_api_token(session, user=admin, name="test"),
            agent_token=do_create_api_token(session, user=agent, name="test"),
            analyst_token=do_create_api_token(session, user=analyst, name="test"),
        )


IngestFn = Callable[..., int]


@pytest.fixture
def ingest(database: Database) -> IngestFn:
    """Store one message on a channel the way live traffic does; returns the message id."""
    counter = iter(range(1, 1_000_000))

    def _ingest(
        channel: Channel,
        text_: str,
        *,
        external_id: str | None = None,
        author_id: str = "c1",
        author_name: str = "Ola Nordmann",
        direction: str = "in",
        in_reply_to: str | None = None,
        thread_id: str | None = None,
        kind: str = "comment",
        minutes_ago: float = 0,
    ) -> int:
        message = InboundMessage(
            platform=channel.platform,
            account=channel.account,
            external_id=external_id or f"m{next(counter)}",
            direction="in" if direction == "in" else "out",
            kind=kind,
            text=text_,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
            author=Author(id=author_id, handle=f"@{author_id}", name=author_name)
            if direction == "in"
            else None,
            in_reply_to=in_reply_to,
            thread_id=thread_id,
        )
        with database.session() as session:
            result = do_ingest_messages(session, messages=[message])
        return result.stored[0] if result.stored else -1

    return _ingest


@pytest.fixture
def run_jobs(database: Database) -> Callable[[], int]:
    def _run() -> int:
        return Worker(database, worker_id="test-worker").run_until_idle()

    return _run


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(settings, database)
    app.state.start_worker = False
    with TestClient(app) as test_client:
        yield test_client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(settings: Settings, database: Database) -> Iterator[str]:
    """A real uvicorn server (with its in-process worker) on a free port; yields its base URL."""
    import uvicorn

    app = create_app(settings, database)
    app.state.start_worker = True
    port = _free_port()
    # A browser still on a live page holds an event stream open when the server stops (the page
    # fixture is torn down after this one); in a thread uvicorn installs no signal handlers, so the
    # stream never hears of the shutdown: without a timeout every browser test waited out the join.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


def pytest_report_header(config: pytest.Config) -> str:
    return f"tilsvar database backend: {BACKEND}"


@pytest.fixture
def brand_site() -> Iterator[tuple[str, dict[str, str]]]:
    """A brand's own web site: a plain static server on another port (another origin) serving the
    ``pages`` dict, for the web chat widget and its FAQ suggestions."""
    pages: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", pages
    server.shutdown()
    server.server_close()
