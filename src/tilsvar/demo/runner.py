"""``tilsvar demo``: a fresh demo database, seeded, served, and fed with simulated traffic until Ctrl-C."""

from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)

# Account ids and secrets the demo's webhook channels get with --via-webhooks (demo data only).
WEBHOOK_DEMO = {
    "NordicRail": ("448242228374517", "app_secret"),
    "NordicRailUng": ("448242228374518", "app_secret"),
    "nordicrail": ("17841474524784050", "app_secret"),
    "NordicRailHelp": ("2975699229", "consumer_secret"),
    "FjordMarket": ("448242228374519", "app_secret"),
    "FjordMarketHelp": ("2975699230", "consumer_secret"),
}
DEMO_WEBHOOK_SECRET = "tilsvar-demo-webhook-secret"  # noqa: S105  (demo data only)


def prepare_webhook_channels(database: Database) -> None:
    """Give the demo's Facebook, Instagram and X channels account ids and signing secrets, so the
    simulator's signed webhooks reach them (replies still stay on the machine: the channels remain
    simulated unless pointed at the fake platform server)."""
    from sqlalchemy import select

    from tilsvar.actions.channel_admin import do_update_channel
    from tilsvar.models import Channel

    with database.session() as session:
        for channel in session.scalars(select(Channel)):
            if channel.account in WEBHOOK_DEMO:
                account_id, secret_name = WEBHOOK_DEMO[channel.account]
                do_update_channel(
                    session,
                    channel=channel,
                    config={"account_id": account_id},
                    credentials={secret_name: DEMO_WEBHOOK_SECRET},
                )


def webhook_traffic(database: Database, url: str, rate_per_minute: float, stop: threading.Event) -> None:
    """Signed webhook traffic to the demo server itself, a few deliveries at a time, until ``stop``."""
    import asyncio
    import random

    from tilsvar.demo.traffic import TrafficGenerator
    from tilsvar.demo.webhook_simulator import simulate, targets_from_database

    with database.reader() as session:
        generator = TrafficGenerator(targets_from_database(session), rng=random.Random())
    rate = max(rate_per_minute / 60.0, 0.05)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per delivery would drown the demo's log
    stop.wait(3.0)  # let the server start
    while not stop.is_set():
        try:
            report = asyncio.run(simulate(url, generator, rate=rate, count=5))
            if report.statuses.get(200, 0) < len(report.records):
                log.warning("demo webhooks: %s", report.summary())
        except Exception:  # the demo keeps going; the server may be restarting
            log.exception("demo webhooks failed; trying again")
            stop.wait(5.0)


def run_demo(settings: Settings, *, host: str, port: int, via_webhooks: bool = False) -> None:
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
    if via_webhooks:
        prepare_webhook_channels(database)
        console.print("Customer messages arrive as signed webhooks (the simulator of `tilsvar simulate`).\n")
        target = f"http://127.0.0.1:{port}" if host in {"0.0.0.0", "::"} else f"http://{host}:{port}"  # noqa: S104
        thread = threading.Thread(
            target=webhook_traffic,
            args=(database, target, settings.demo_messages_per_minute, stop),
            name="tilsvar-demo-webhooks",
            daemon=True,
        )
    else:
        simulator = TrafficSimulator(
            database,
            messages_per_minute=settings.demo_messages_per_minute,
            chorus_every_minutes=settings.demo_chorus_every_minutes,
        )
        thread = threading.Thread(
            target=simulator.run, args=(stop,), name="tilsvar-demo-traffic", daemon=True
        )
    thread.start()
    try:
        uvicorn.run(create_app(settings, database), host=host, port=port, log_level="warning")
    finally:
        stop.set()
        thread.join(timeout=5)
        database.dispose()
