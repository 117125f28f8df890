"""Shared benchmark plumbing: temporary databases and environments, a server process, timing."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg

PG_SERVER = os.environ.get("TILSVAR_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def configure(data_dir: Path, database_url: str) -> None:
    """Point this process's Tilsvar at a database (before or after tilsvar modules are imported)."""
    os.environ["TILSVAR_DATA_DIR"] = str(data_dir)
    os.environ["TILSVAR_DATABASE_URL"] = database_url
    from tilsvar.db import reset_database
    from tilsvar.settings import get_settings

    get_settings.cache_clear()
    reset_database()


@contextlib.contextmanager
def kept_database(backend: str, name: str) -> Iterator[tuple[Path, str, bool]]:
    """A migrated database that is kept afterwards, for re-running a bench on the same data: a
    PostgreSQL database ``name`` or a SQLite file ``name``. Yields (data dir, URL, whether it existed
    already); an existing one is upgraded to the newest migration, not emptied."""
    from tilsvar.db import Database, reset_database
    from tilsvar.migrate import upgrade

    data_dir = Path(tempfile.mkdtemp(prefix="tilsvar-bench-"))
    if backend == "sqlite":
        path = Path(name).resolve()
        existed = path.exists()
        url = f"sqlite:///{path}"
    else:
        with psycopg.connect(PG_SERVER.replace("+psycopg", "") + "/postgres", autocommit=True) as admin:
            existed = (
                admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
            )
            if not existed:
                admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_SERVER}/{name}"
    database = Database(url)
    upgrade(database.engine)
    database.dispose()
    configure(data_dir, url)
    try:
        yield data_dir, url, existed
    finally:
        reset_database()


@contextlib.contextmanager
def temporary_database(backend: str) -> Iterator[tuple[Path, str]]:
    """A migrated, empty database (and data dir) that is removed afterwards."""
    from tilsvar.db import Database
    from tilsvar.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="tilsvar-bench-") as folder:
        data_dir = Path(folder)
        if backend == "sqlite":
            url = f"sqlite:///{data_dir / 'bench.db'}"
            name = None
        else:
            name = f"tilsvar_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_SERVER.replace("+psycopg", "") + "/postgres", autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            url = f"{PG_SERVER}/{name}"
        database = Database(url)
        upgrade(database.engine)
        database.dispose()
        configure(data_dir, url)
        try:
            yield data_dir, url
        finally:
            from tilsvar.db import reset_database

            reset_database()
            if name:
                with psycopg.connect(
                    PG_SERVER.replace("+psycopg", "") + "/postgres", autocommit=True
                ) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(data_dir: Path, database_url: str, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`tilsvar serve` in its own process; yields (base URL, process)."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TILSVAR_")}
    environment.update(
        TILSVAR_DATA_DIR=str(data_dir), TILSVAR_DATABASE_URL=database_url, TILSVAR_LOG_LEVEL="WARNING", **env
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "tilsvar", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        yield base, process
    finally:
        process.terminate()
        process.wait(20)


def percentiles(samples: list[float]) -> dict[str, float]:
    from tilsvar.reports.stats import percentile

    return {f"p{q}": round(percentile(samples, q), 3) for q in (50, 95, 99)} | {"max": round(max(samples), 3)}
