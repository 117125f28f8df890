"""Wake this process's live views when another process commits events (PostgreSQL LISTEN/NOTIFY,
a log watcher on SQLite).

Actions write events in their transaction and, on PostgreSQL, ``NOTIFY tilsvar_events`` in the same
transaction (delivered only if it commits). Each web node listens on its own connection and wakes the
event hub, so an event written by a worker or another node reaches browsers at once instead of at the
next poll. Correctness never depends on it: live views also poll the event log.

On SQLite the worker is a child process of ``tilsvar serve`` and has no way to notify, so a watcher
thread reads the newest event id every ``WATCH_SECONDS`` (one lookup at the end of the primary key,
the same query for any number of open streams) and wakes the hub when it grew: a message the worker
stored reaches the inbox within about a tenth of a second of its commit instead of at the streams' next
poll (``events_poll_seconds``, 1 s).
"""

from __future__ import annotations

import logging
import sqlite3
import threading

import psycopg
from sqlalchemy.engine import make_url

from tilsvar.events import hub

log = logging.getLogger(__name__)
CHANNEL = "tilsvar_events"
RECONNECT_SECONDS = 2.0
# How often the SQLite watcher looks for events written by another process.
WATCH_SECONDS = 0.05


def _dsn(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def listen(database_url: str, stop: threading.Event) -> None:
    """Wake the hub on every notification until ``stop`` is set; reconnects after errors."""
    while not stop.is_set():
        try:
            with psycopg.connect(_dsn(database_url), autocommit=True) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                hub.wake()  # anything committed while we were not listening
                while not stop.is_set():
                    for _ in connection.notifies(timeout=1.0, stop_after=100):
                        hub.wake()
        except psycopg.Error as error:
            log.warning("event listener lost its connection (%s); reconnecting", error)
            stop.wait(RECONNECT_SECONDS)


def watch_sqlite(path: str, stop: threading.Event) -> None:
    """Wake the hub whenever the newest ``domain_events`` id grows, until ``stop`` is set."""
    latest = -1
    while not stop.is_set():
        try:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5, isolation_level=None)
            try:
                while not stop.is_set():
                    row = connection.execute("SELECT coalesce(max(id), 0) FROM domain_events").fetchone()
                    if row[0] != latest:
                        if latest >= 0:
                            hub.wake()
                        latest = int(row[0])
                    stop.wait(WATCH_SECONDS)
            finally:
                connection.close()
        except sqlite3.Error as error:
            log.warning("event watcher failed (%s); retrying", error)
            stop.wait(RECONNECT_SECONDS)


def start_listener(database_url: str, stop: threading.Event) -> threading.Thread | None:
    """Start the listener thread (PostgreSQL) or the event-log watcher (SQLite file); None for an
    in-memory SQLite database (only this process can write it)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        thread = threading.Thread(
            target=listen, args=(database_url, stop), name="tilsvar-listen", daemon=True
        )
    elif url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        thread = threading.Thread(
            target=watch_sqlite, args=(url.database, stop), name="tilsvar-watch", daemon=True
        )
    else:
        return None
    thread.start()
    return thread
