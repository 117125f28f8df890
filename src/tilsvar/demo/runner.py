"""``tilsvar demo``: a fresh demo database, seeded, served, and fed with simulated traffic until Ctrl-C."""

from __future__ import annotations

import threading

import uvicorn
from rich.console import Console
from rich.table import Table

from tilsvar.app import create_app
from tilsvar.db import Database, reset_database
from tilsvar.demo.seed import seed_demo
from tilsvar.demo.simulator import TrafficSimulator
from tilsvar.migrate import upgrade
from tilsvar.settings import Settings, get_settings


def run_demo(settings: Settings, *, host: str, port: int) -> None:
    """Recreate ``<data_dir>/demo.db`` (never the configured database), seed it and serve it."""
    demo_db = settings.data_dir / "demo.db"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    reset_database()
    for suffix in ("", "-wal", "-shm"):
        demo_db.with_name(demo_db.name + suffix).unlink(missing_ok=True)
    settings = settings.model_copy(
        update={
            "database_url": f"sqlite:///{demo_db}",
            "worker_in_process": "yes",
            "host": host,
            "port": port,
        }
    )
    get_settings.cache_clear()
    database = Database(settings.effective_database_url)
    upgrade(database.engine)
    logins = seed_demo(database)

    console = Console()
    shown_host = "localhost" if host in {"127.0.0.1", "0.0.0.0"} else host  # noqa: S104
    url = f"http://{shown_host}:{port}"
    table = Table("e-mail", "password", "role", title="Demo logins")
    for email, password, role in logins.users:
        table.add_row(email, password, role)
    console.print(f"\n[bold]Tilsvar demo[/bold] is starting at [link={url}]{url}[/link]")
    console.print(table)
    console.print(f"API token (admin): {logins.api_token}")
    console.print(f"Try: curl -H 'Authorization: Bearer {logins.api_token}' {url}/api/v1/conversations")
    console.print("Simulated customers write every few seconds. Stop with Ctrl-C.\n")

    stop = threading.Event()
    simulator = TrafficSimulator(database, messages_per_minute=settings.demo_messages_per_minute)
    thread = threading.Thread(target=simulator.run, args=(stop,), name="tilsvar-demo-traffic", daemon=True)
    thread.start()
    try:
        uvicorn.run(create_app(settings, database), host=host, port=port, log_level="warning")
    finally:
        stop.set()
        thread.join(timeout=5)
        database.dispose()
