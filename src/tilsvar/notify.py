"""Wake this process's live views when another process commits events (PostgreSQL LISTEN/NOTIFY).

Actions write events in their transaction and, on PostgreSQL, ``NOTIFY tilsvar_events`` in the same
transaction (delivered only if it commits). Each web node listens on its own connection and wakes the
event hub, so an event written by a worker or another node reaches browsers at once instead of at the
next poll. Correctness never depends on it: live views also poll the event log.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy.engine import make_url

from tilsvar.events import hub

log = logging.getLogger(__name__)
CHANNEL = "tilsvar_events"
RECONNECT_SECONDS = 2.0


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


def start_listener(database_url: str, stop: threading.Event) -> threading.Thread | None:
    """Start the listener thread on PostgreSQL; None on SQLite (one process writes and serves)."""
    if make_url(database_url).get_backend_name() != "postgresql":
        return None
    thread = threading.Thread(target=listen, args=(database_url, stop), name="tilsvar-listen", daemon=True)
    thread.start()
    return thread
